"""Lexical scores: BM25 of every chunk (or of some sentences) for a question's tokens, with corpus-wide statistics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from qa.indexing.postings import Postings
from qa.indexing.store import Index

K1, B = 1.2, 0.75


def bm25(segments: Sequence[Postings], query_tokens: Sequence[str], *, k1: float = K1, b: float = B) -> np.ndarray:
    """BM25 (Lucene's IDF, Robertson's term weight, as bm25s's `lucene` method) of every text of every segment, in
    order, with document frequencies and the average length taken over all the segments together."""
    sizes = [s.size for s in segments]
    scores = np.zeros(sum(sizes), dtype=np.float32)
    if not scores.size:
        return scores
    n = float(scores.size)
    avg = float(sum(float(s.lengths.sum()) for s in segments)) / n or 1.0
    offsets = np.cumsum([0, *sizes[:-1]])
    norms = [k1 * (1 - b + b * s.lengths / avg) for s in segments]
    for term in query_tokens:
        df = sum(s.df(term) for s in segments)
        if not df:
            continue
        idf = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        for segment, offset, norm in zip(segments, offsets, norms, strict=True):
            rows, tf = segment.column(term)
            if rows.size:
                scores[offset + rows] += idf * tf / (tf + norm[rows])
    return scores


def lexical_scores(index: Index, query_tokens: Sequence[str]) -> np.ndarray:
    """BM25 of every chunk row of the index (rows of removed documents score 0)."""
    scores = bm25(index.postings, query_tokens)
    scores[~index.live] = 0.0
    return scores


def idf(index: Index, term: str) -> float:
    """Lucene IDF of a term over the index's chunks."""
    n = float(sum(p.size for p in index.postings))
    df = sum(p.df(term) for p in index.postings)
    return float(np.log(1 + (n - df + 0.5) / (df + 0.5))) if df else 0.0


def sentence_bm25(
    index: Index, counts: Sequence[Counter[str]], query_tokens: Sequence[str], *, k1: float = K1, b: float = B
) -> np.ndarray:
    """BM25 of some sentences (given as token counts) for the query, with the chunks' IDF: a sentence is scored
    as a short text of the corpus, without an index of its own."""
    lengths = np.asarray([sum(c.values()) for c in counts], dtype=np.float32)
    avg = float(lengths.mean()) if lengths.size and lengths.mean() > 0 else 1.0
    norm = k1 * (1 - b + b * lengths / avg)
    scores = np.zeros(len(counts), dtype=np.float32)
    for term in query_tokens:
        weight = idf(index, term)
        if weight:
            tf = np.asarray([c.get(term, 0) for c in counts], dtype=np.float32)
            scores += weight * tf / (tf + norm)
    return scores

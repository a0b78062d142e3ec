"""Lexical scores: BM25 of every chunk (or of some sentences) for a question's tokens, with corpus-wide statistics."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from qa.indexing.index import Index
from qa.indexing.postings import Postings

K1, B = 1.2, 0.75


def bm25(segments: Sequence[Postings], query_tokens: Sequence[str], *, k1: float = K1, b: float = B) -> np.ndarray:
    """BM25 (Lucene's IDF, Robertson's term weight, as bm25s's `lucene` method) of every text of every segment, in
    order, with document frequencies and the average length taken over all the segments together. A term's rows
    are gathered from every segment and scored at once (a loop over segments per term cost ~7 ms a question over
    26 segments)."""
    corpus = _corpus(segments, k1, b)
    scores = np.zeros(int(corpus.n), dtype=np.float32)
    if not scores.size:
        return scores

    def score(term: str) -> TermScores | None:
        return _term_scores(segments, corpus.offsets, term, corpus.n, corpus.norm)

    for term in query_tokens:
        found = corpus.terms.get_or(term, score)
        if found is not None:
            rows, add = found
            scores[rows] += add
    return scores


# How many rows of term scores the newest corpus keeps: 8 bytes a row, ~48 MB (a hundred questions at 10,000
# articles reach ~5 M rows of terms not asked before them).
TERM_ROWS_KEPT = 6_000_000

TermScores = tuple[np.ndarray, np.ndarray]


class _Kept(dict[str, TermScores | None]):
    """Each term's scores once computed, by term, the least recently asked for forgotten first when they would hold
    more than `limit` rows in all. Questions answered in several threads (answer_threads, /search) share it: a lock
    keeps its order and its count of rows right (uncontended, ~0.1 us a term)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit, self.rows = limit, 0
        self._lock = threading.Lock()

    def get_or(self, term: str, make: Callable[[str], TermScores | None]) -> TermScores | None:
        """The term's scores, made and kept when not kept yet (a term no row holds is kept as None)."""
        with self._lock:
            try:
                found = self.pop(term)  # and put back last: the most recently asked for
            except KeyError:
                found = make(term)
                self.rows += _rows(found)
                while self.rows > self.limit and self:
                    self.rows -= _rows(self.pop(next(iter(self))))
            self[term] = found
            return found

    def clear(self) -> None:
        """Forget every term's scores."""
        with self._lock:
            super().clear()
            self.rows = 0


def _rows(found: TermScores | None) -> int:
    return 0 if found is None else int(found[0].size)


@dataclass(frozen=True)
class _Corpus:
    """What BM25 needs of some segments that no question changes: how many texts, where each segment's rows start,
    and each text's length normaliser k1 * (1 - b + b * length / average length). And, kept as they are asked for,
    what each term adds to the score of each row holding it, which no question changes either: gathered from every
    segment and scored, a term costs ~40 us and ~30 ns a row, and at 10,000 articles a question reaches ~97,000
    rows, half of them (0.47) through terms an earlier one of a hundred questions had asked for."""

    n: float
    offsets: list[int]
    norm: np.ndarray
    terms: _Kept = field(default_factory=lambda: _Kept(TERM_ROWS_KEPT), compare=False, repr=False)


# The last few segment tuples' _Corpus, by the ids of their postings (each entry holds its postings, so that no id
# is reused while it is kept). Made once per index, not per question (~0.35 ms at 10,000 articles).
_corpora: dict[tuple[float, ...], tuple[tuple[Postings, ...], _Corpus]] = {}
_CORPORA_KEPT = 4
# Request threads (answer_threads, /search) look corpora up while an index that was just swapped in adds one: a
# lookup that iterated the dict as another thread grew it failed with a 500 (`dictionary changed size`).
_corpora_lock = threading.Lock()


def _corpus(segments: Sequence[Postings], k1: float, b: float) -> _Corpus:
    key = (k1, b, *map(id, segments))
    with _corpora_lock:
        found = _corpora.get(key)
        if (
            found is not None
            and len(found[0]) == len(segments)
            and all(x is y for x, y in zip(found[0], segments, strict=True))
        ):
            return found[1]
        corpus = _measure(segments, k1, b)
        for _, older in _corpora.values():  # an index that is replaced keeps no term scores (it may still be asked)
            older.terms.clear()
        if len(_corpora) >= _CORPORA_KEPT:
            _corpora.clear()
        _corpora[key] = (tuple(segments), corpus)
        return corpus


def _measure(segments: Sequence[Postings], k1: float, b: float) -> _Corpus:
    sizes = [s.size for s in segments]
    n = float(sum(sizes))
    if not n:
        return _Corpus(0.0, [], np.zeros(0, dtype=np.float32))
    avg = float(sum(float(s.lengths.sum(dtype=np.float64)) for s in segments)) / n or 1.0
    offsets = np.cumsum([0, *sizes[:-1]]).tolist()
    norm = np.concatenate([k1 * (1 - b + b * s.lengths / avg) for s in segments])
    return _Corpus(n, offsets, norm)


def _term_scores(
    segments: Sequence[Postings], offsets: Sequence[int], term: str, n: float, norm: np.ndarray
) -> TermScores | None:
    """The rows holding a term, over all segments, and what the term adds to each row's score."""
    rows_of, tf_of, shift = [], [], []
    for segment, offset in zip(segments, offsets, strict=True):
        col = segment.vocab.get(term)
        if col is not None:
            rows, tf = segment.column_at(col)
            rows_of.append(rows)
            tf_of.append(tf)
            shift.append(offset)
    df = sum(r.size for r in rows_of)
    if not df:
        return None
    idf = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
    rows = np.concatenate(rows_of) + np.repeat(shift, [r.size for r in rows_of])
    tf = np.concatenate(tf_of)
    # int32 rows (half the memory kept; an index has fewer than 2**31 texts) pick the same rows.
    return rows.astype(np.int32), idf * tf / (tf + norm[rows])


def lexical_scores(index: Index, query_tokens: Sequence[str]) -> np.ndarray:
    """BM25 of every chunk row of the index (rows of removed documents score 0)."""
    scores = bm25(index.postings, query_tokens)
    scores[~index.live] = 0.0
    return scores


def idf(index: Index, term: str) -> float:
    """Lucene IDF of a term over the index's chunks."""
    return _idf(float(sum(p.size for p in index.postings)), index.term_df(term))


def _idf(n: float, df: int) -> float:
    return float(np.log(1 + (n - df + 0.5) / (df + 0.5))) if df else 0.0


def sentence_bm25(
    index: Index, positions: Sequence[int], query_tokens: Sequence[str], *, k1: float = K1, b: float = B
) -> np.ndarray:
    """BM25 of some sentences (by position in the index's sentences) for the query, with the chunks' IDF: a
    sentence is scored as a short text of the corpus, without an index of its own."""
    terms = list(dict.fromkeys(query_tokens))
    counts, lengths = index.sentence_counts(positions, terms)
    avg = float(lengths.mean()) if lengths.size and lengths.mean() > 0 else 1.0
    norm = k1 * (1 - b + b * lengths / avg)
    scores = np.zeros(len(positions), dtype=np.float32)
    column = {t: j for j, t in enumerate(terms)}
    n = float(sum(p.size for p in index.postings))
    weights = {t: _idf(n, index.term_df(t)) for t in terms}
    for term in query_tokens:
        weight = weights[term]
        if weight:
            tf = counts[:, column[term]]
            scores += weight * tf / (tf + norm)
    return scores

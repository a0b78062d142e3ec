"""Segments: an index is a list of them. Each holds some documents whole, with their chunks, BM25 postings, dense
vectors and lexicon entries, and is written once; adding a document writes one new segment, and a periodic merge
folds small segments (and removed documents) away. Nothing in a segment depends on the others."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import faiss
import numpy as np

from qa.indexing.chunking import ChunkerSettings, chunk_document
from qa.indexing.lexicon import build_lexicon
from qa.indexing.postings import Postings
from qa.indexing.sentences import SentenceTable
from qa.indexing.vectors import DenseIndex
from qa.text.folding import fold
from qa.text.injection import looks_like_instruction
from qa.text.tokens import folded_tokens, tokens
from qa.types import Chunk, Document, Embedder


@dataclass(frozen=True)
class Segment:
    """Documents with everything search needs about them; rows of postings and vectors follow `chunks`."""

    id: str
    documents: dict[str, Document]
    chunks: tuple[Chunk, ...]
    postings: Postings
    # Dense vectors of the chunks the model can read, keyed by chunk row (a chunk without one scores 0).
    vectors: DenseIndex
    lexicon: dict[str, list[str]]
    # Every sentence's folded text and tokens, in chunk order (the order of Index.sentences within the segment).
    sentences: SentenceTable
    # Mean share of the chunks' word pieces the embedding model knows, and how many chunks were embedded.
    coverage: float
    embedded: int
    origin: str = "seeds"
    # Sentences that address an AI system rather than the reader: never evidence, never shown to the LLM as a fact.
    withheld: frozenset[str] = frozenset()
    _chunk_rows: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_chunk_rows", {c.id: i for i, c in enumerate(self.chunks)})

    @cached_property
    def pair_chars(self) -> frozenset[str]:
        """A superset of the characters of the segment's character-pair terms (`#xy`): those of its sentences and of
        its chunks' headings, whose tokens its chunks' are (found once: a segment never changes)."""
        headings = "".join(fold(h) for h in {c.heading for c in self.chunks if c.heading})
        return self.sentences.characters() | frozenset(headings)

    @cached_property
    def sizes(self) -> dict[str, tuple[int, int]]:
        """Each document's chunks and sentences (counted once: a segment never changes)."""
        out: dict[str, tuple[int, int]] = {}
        for chunk in self.chunks:
            chunks, sentences = out.get(chunk.doc, (0, 0))
            out[chunk.doc] = (chunks + 1, sentences + len(chunk.sentences))
        return out

    @property
    def chars(self) -> int:
        """Characters of text in the segment's documents."""
        return sum(len(d.text) for d in self.documents.values())

    def describe(self) -> dict[str, Any]:
        """What the index manifest records of the segment."""
        return {
            "id": self.id,
            "origin": self.origin,
            "documents": list(self.documents),
            "chunks": len(self.chunks),
            "chars": self.chars,
            "embedded": self.embedded,
            "coverage": round(self.coverage, 4),
        }


def build_segment(
    segment_id: str,
    documents: Sequence[Document],
    embedder: Embedder,
    *,
    chunker: ChunkerSettings | None = None,
    embed_floor: float = 0.4,
    origin: str = "seeds",
) -> Segment:
    """Chunk, tokenise and (when the model can read them) embed documents into one segment.

    The chunks get vectors only when the model knows at least `embed_floor` of their word pieces on average: the
    fusion gives a model that knows less of the corpus no weight (RetrievalSettings.coverage_floor), so embedding
    them would only cost build time. The bundled MiniLM knows about 0.3 of Chinese news text, so a Chinese archive
    is built without vectors; English text, or any text with a multilingual model, gets them. Without a vector a
    chunk scores 0 on the dense side.
    """
    chunker = chunker or ChunkerSettings()
    chunks = tuple(c for d in documents for c in chunk_document(d, chunker))
    texts = [c.index_text for c in chunks]
    folded = [fold(t.text) for c in chunks for t in c.sentences]
    sentence_tokens = [folded_tokens(f) for f in folded]
    postings = Postings.build(_chunk_tokens(chunks, sentence_tokens))
    coverages = np.asarray([embedder.coverage(t) for t in texts], dtype=np.float32)
    coverage = float(coverages.mean()) if coverages.size else 0.0
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(embedder.dim))
    if texts and coverage >= embed_floor:
        vectors = embedder.embed(texts)
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.arange(len(texts), dtype=np.int64))
    return Segment(
        id=segment_id,
        documents={d.id: d for d in documents},
        chunks=chunks,
        postings=postings,
        vectors=DenseIndex(index),
        lexicon=build_lexicon([d.text for d in documents]),
        sentences=SentenceTable.build(folded, sentence_tokens, postings.vocab),
        coverage=coverage,
        embedded=int(index.ntotal),
        origin=origin,
        withheld=frozenset(t.id for c in chunks for t in c.sentences if looks_like_instruction(t.text)),
    )


def _chunk_tokens(chunks: Sequence[Chunk], sentence_tokens: Sequence[list[str]]) -> list[list[str]]:
    """Each chunk's BM25 tokens: its heading's, then its sentences' (the tokens of its whole text: a Chinese run
    never crosses a sentence's end, so cutting the sentences alone cuts the same words)."""
    out: list[list[str]] = []
    rest = iter(sentence_tokens)
    for chunk in chunks:
        found = tokens(chunk.heading) if chunk.heading else []
        for _ in chunk.sentences:
            found.extend(next(rest))
        out.append(found)
    return out


def merge_segments(segment_id: str, segments: Sequence[Segment], removed: frozenset[str] = frozenset()) -> Segment:
    """One segment holding the documents of several, less the removed ones (`segment/document` keys), without
    re-reading any text."""
    keeps = [np.asarray([f"{s.id}/{c.doc}" not in removed for c in s.chunks], dtype=bool) for s in segments]
    postings = Postings.concat([s.postings.rows(k) for s, k in zip(segments, keeps, strict=True)])
    sentences = SentenceTable.concat(
        [
            s.sentences.take(_sentence_rows(s.chunks, keep), postings.remap(s.postings.vocab))
            for s, keep in zip(segments, keeps, strict=True)
        ]
    )
    chunks = tuple(
        c for s, k in zip(segments, keeps, strict=True) for c, alive in zip(s.chunks, k, strict=True) if alive
    )
    dim = segments[0].vectors.dim if segments else 0
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    offset = 0
    for segment, keep in zip(segments, keeps, strict=True):
        new_rows = np.cumsum(keep) - 1 + offset
        ids, vectors = stored_vectors(segment.vectors)
        kept = keep[ids] if ids.size else np.zeros(0, dtype=bool)
        if kept.any():
            index.add_with_ids(np.ascontiguousarray(vectors[kept]), new_rows[ids[kept]].astype(np.int64))
        offset += int(keep.sum())
    lexicon: dict[str, set[str]] = {}
    for segment in segments:
        for key, words in segment.lexicon.items():
            lexicon.setdefault(key, set()).update(words)
    # Weighted by the chunks kept: a removed document's do not count (a segment's coverage is its chunks' mean).
    total = sum(int(k.sum()) for k in keeps) or 1
    return Segment(
        id=segment_id,
        documents={d.id: d for s in segments for d in s.documents.values() if f"{s.id}/{d.id}" not in removed},
        chunks=chunks,
        postings=postings,
        vectors=DenseIndex(index),
        lexicon={k: sorted(v) for k, v in lexicon.items()},
        sentences=sentences,
        coverage=sum(s.coverage * int(k.sum()) for s, k in zip(segments, keeps, strict=True)) / total,
        embedded=int(index.ntotal),
        origin="merged" if len({s.origin for s in segments}) > 1 else segments[0].origin,
        withheld=frozenset().union(*(s.withheld for s in segments)),
    )


def _sentence_rows(chunks: Sequence[Chunk], keep: np.ndarray) -> list[int]:
    """The sentence rows of the kept chunks."""
    rows: list[int] = []
    at = 0
    for chunk, alive in zip(chunks, keep.tolist(), strict=True):
        if alive:
            rows.extend(range(at, at + len(chunk.sentences)))
        at += len(chunk.sentences)
    return rows


def stored_vectors(vectors: DenseIndex) -> tuple[np.ndarray, np.ndarray]:
    """The chunk rows that have a vector, and the vectors, as stored in an ID-mapped flat FAISS index."""
    index: Any = vectors.faiss  # an IndexIDMap2 over an IndexFlatIP (build_segment makes it so)
    if not index.ntotal:
        return np.empty(0, dtype=np.int64), np.empty((0, index.d), dtype=np.float32)
    flat: Any = faiss.downcast_index(index.index)
    stored = faiss.vector_to_array(flat.codes).view(np.float32).reshape(-1, index.d)
    return faiss.vector_to_array(index.id_map).astype(np.int64), stored

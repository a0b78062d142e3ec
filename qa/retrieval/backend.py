"""The search backend interface: where the lexical (BM25) and dense sides of a search find their chunks."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

import numpy as np

from qa.indexing.segments import Segment, stored_vectors
from qa.text.tokens import tokens
from qa.types import Chunk


class SearchBackend(Protocol):
    """Finds chunks for a question: the lexical (BM25) and dense sides, best first, optionally within some documents."""

    def lexical(self, tokens: Sequence[str], k: int, docs: Collection[str] | None = None) -> list[tuple[str, float]]:
        """The k chunks with the best BM25 score for the query tokens, as (chunk id, BM25 score), best first."""
        ...

    def dense(self, vector: np.ndarray, k: int, docs: Collection[str] | None = None) -> list[tuple[str, float]]:
        """The k chunks whose vectors are nearest the query vector, as (chunk id, cosine), best first."""
        ...

    def add(
        self,
        chunks: Sequence[Chunk],
        tokens: Sequence[Sequence[str]],
        vectors: np.ndarray | None,
        present: Sequence[bool] | None = None,
    ) -> None:
        """Rows for new chunks: their BM25 tokens and, unless vectors is None, their dense vectors (one row each;
        `present` marks the rows that have one, when only some do)."""
        ...

    def remove(self, doc_id: str) -> None:
        """Every chunk of one document."""
        ...

    def count(self) -> int:
        """Number of chunks held."""
        ...

    def reset(self) -> None:
        """Empty the backend (before filling it from a rebuilt index)."""
        ...


def fill(backend: SearchBackend, segments: Sequence[Segment], removed: Collection[str] = ()) -> int:
    """Add every live chunk of the segments to a backend, in one write (Milvus keeps BM25 statistics per write
    segment: one write keeps them the corpus's), with its vector where the segment has one; returns the count."""
    chunks: list[Chunk] = []
    rows: list[np.ndarray | None] = []
    for segment in segments:
        stored, vectors = stored_vectors(segment.vectors)
        vector_of = {int(r): vectors[i] for i, r in enumerate(stored)}
        for i, chunk in enumerate(segment.chunks):
            if f"{segment.id}/{chunk.doc}" not in removed:
                chunks.append(chunk)
                rows.append(vector_of.get(i))
    if not chunks:
        return 0
    dims = {r.shape[0] for r in rows if r is not None}
    matrix = None
    if dims:
        dim = dims.pop()
        matrix = np.stack([r if r is not None else np.zeros(dim, dtype=np.float32) for r in rows])
    backend.add(chunks, [tokens(c.index_text) for c in chunks], matrix, [r is not None for r in rows])
    return len(chunks)

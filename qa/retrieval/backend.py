"""The search backend interface: where the lexical (BM25) and dense sides of a search find their chunks."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np

from qa.indexing.index import Index
from qa.indexing.segments import Segment, stored_vectors
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

    # Whether the backend's BM25 statistics are those of each write rather than of all it holds (Milvus Lite): a
    # change is then written as a rewrite of everything, in one write.
    per_write_statistics: bool

    def state(self) -> str:
        """The state of the index the backend's rows were written from ("" when none was recorded)."""
        ...

    def set_state(self, state: str) -> None:
        """Record the state of the index the rows now hold."""
        ...

    def rewritten(self) -> AbstractContextManager[None]:
        """Rows added within replace all the backend holds, in one step when the block ends."""
        ...


def fill(backend: SearchBackend, segments: Sequence[Segment], removed: Collection[str] = ()) -> int:
    """Add every live chunk of the segments to a backend, in one write (Milvus keeps BM25 statistics per write
    segment: one write keeps them the corpus's), with its vector where the segment has one; returns the count."""
    chunks: list[Chunk] = []
    counted: list[list[str]] = []
    rows: list[np.ndarray | None] = []
    for segment in segments:
        stored, vectors = stored_vectors(segment.vectors)
        vector_of = {int(r): vectors[i] for i, r in enumerate(stored)}
        live = [i for i, chunk in enumerate(segment.chunks) if f"{segment.id}/{chunk.doc}" not in removed]
        if not live:
            continue
        # The tokens the segment's postings counted (tokenising ~3,000 chunks again took 2.9 s).
        token_lists = segment.postings.token_lists()
        for i in live:
            chunks.append(segment.chunks[i])
            counted.append(token_lists[i])
            rows.append(vector_of.get(i))
    if not chunks:
        return 0
    dims = {r.shape[0] for r in rows if r is not None}
    matrix = None
    if dims:
        dim = dims.pop()
        matrix = np.stack([r if r is not None else np.zeros(dim, dtype=np.float32) for r in rows])
    backend.add(chunks, counted, matrix, [r is not None for r in rows])
    return len(chunks)


def live_keys(index: Index) -> frozenset[str]:
    """The index's live documents, each as `segment/document` (a replaced document is another key)."""
    return frozenset(f"{s.id}/{d}" for s in index.segments for d in s.sizes) - index.removed


def index_state(keys: frozenset[str]) -> str:
    """A digest of an index's live documents and of the segments holding them (its live_keys)."""
    return hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()


def sync(backend: SearchBackend, index: Index, *, since: Index | None = None, force: bool = False) -> str:
    """Make the backend hold the index's live chunks, unless it records their state already; returns what was done
    ("", "updated", "rewritten").

    Given the index the backend held before (`since`), only what changed is written: documents no longer live
    removed, segments not held before added. Otherwise, or when forced, or where the backend's statistics are each
    write's (Milvus Lite), everything is rewritten in one write."""
    now = live_keys(index)
    state = index_state(now)
    if not force and backend.state() == state:
        return ""
    if since is not None and not force and not backend.per_write_statistics:
        for doc in sorted({key.split("/", 1)[1] for key in live_keys(since) - now}):
            backend.remove(doc)  # gone, or replaced: the new version comes with its new segment
        held = {s.id for s in since.segments}
        fill(backend, [s for s in index.segments if s.id not in held], index.removed)
        done = "updated"
    else:
        with backend.rewritten():
            fill(backend, index.segments, index.removed)
        done = "rewritten"
    backend.set_state(state)
    return done

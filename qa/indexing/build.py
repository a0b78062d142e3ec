"""Building an index: every source document, cut into segments, with a manifest of what the index depends on."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.errors import IndexUnusable
from qa.indexing.chunking import ChunkerSettings
from qa.indexing.index import Index
from qa.indexing.segments import Segment, build_segment
from qa.indexing.sources import Sources, Unreadable, as_sources
from qa.indexing.store import FORMAT_VERSION, read_manifest, replaceable, write_lock, write_streamed
from qa.text.tokens import tokenizer_signature
from qa.types import Document, Embedder

log = logging.getLogger(__name__)

# Documents go into segments of about this many characters: small enough to build and hold one at a time,
# large enough that a query fans out over few of them.
SEGMENT_CHARS = 2_000_000
# A segment whose word pieces the model knows less than this share of gets no vectors (see build_segment): the
# fusion's coverage floor, under which the dense side has no weight anyway.
EMBED_FLOOR = 0.4


def new_segment_id() -> str:
    """A segment id that sorts by creation time and never repeats."""
    return f"s{time.time_ns():x}-{uuid.uuid4().hex[:6]}"


def base_manifest(sources: Sources, embedder: Embedder, chunker: ChunkerSettings) -> dict[str, Any]:
    """What an index depends on: its sources, model, chunker and tokenizer (segments are added on save)."""
    return {
        "format_version": FORMAT_VERSION,
        "generation": 0,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sources": sources.fingerprint(),
        "embedding": {
            "model_id": embedder.model_id,
            "dim": embedder.dim,
            "policy": f"segments whose word pieces the model knows at least {EMBED_FLOOR} of, on average, get vectors "
            "(the dense side has no weight under that); the others none",
        },
        "chunker": chunker.as_dict(),
        "tokenizer": tokenizer_signature(),
    }


def build(
    sources: Sources | Path, embedder: Embedder, *, chunker: ChunkerSettings | None = None, progress: bool = False
) -> Index:
    """Chunk, tokenise and (where the model can read them) embed every source document, held in memory."""
    chunker = chunker or ChunkerSettings()
    sources = as_sources(sources)
    started = time.perf_counter()
    documents, skipped = _readable(sources)
    segments = tuple(_segments(documents, embedder, chunker, progress))
    manifest = {**base_manifest(sources, embedder, chunker), "skipped": [u.as_dict() for u in skipped]}
    manifest["build_seconds"] = round(time.perf_counter() - started, 3)
    return Index(manifest, segments)


def build_into(
    index_dir: Path,
    sources: Sources | Path,
    embedder: Embedder,
    *,
    chunker: ChunkerSettings | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Build the index straight into index_dir, one segment at a time (each written, then let go: memory stays
    that of one segment however large the corpus), swapped in whole at the end. Returns the manifest."""
    chunker = chunker or ChunkerSettings()
    sources = as_sources(sources)
    started = time.perf_counter()
    # A folder no index may replace is refused before its lock is taken: the lock's file beside it (`.seeds.lock` for
    # `--index-dir seeds`) was left in the project. The swap checks again, under the lock.
    replaceable(index_dir)
    # Under the folder's write lock, which adds and removals take too: a document added by another worker while this
    # build read the sources would be lost when the build is swapped in.
    with write_lock(index_dir):
        # Additions and removals a crash cut short are finished or undone first, by the manifest being replaced.
        try:
            committed = read_manifest(index_dir).get("sources", {})
        except IndexUnusable:
            committed = {}
        for line in sources.settle(committed):
            log.warning("library: %s", line)
        documents, skipped = _readable(sources)
        base = {**base_manifest(sources, embedder, chunker), "skipped": [u.as_dict() for u in skipped]}
        manifest = write_streamed(base, _segments(documents, embedder, chunker, progress), index_dir)
    log.info("index built in %.1fs", time.perf_counter() - started)
    return manifest


def _readable(sources: Sources) -> tuple[list[tuple[Document, str]], list[Unreadable]]:
    """The documents to index, and the files left out (each logged: the index serves the others)."""
    documents, skipped = sources.documents()
    for u in skipped:
        log.error("source file %s is not indexed: %s", u.file, u.reason)
    return documents, skipped


def _segments(
    documents: list[tuple[Document, str]], embedder: Embedder, chunker: ChunkerSettings, progress: bool
) -> Iterator[Segment]:
    done = 0
    for origin, batch in _batches(documents):
        yield build_segment(new_segment_id(), batch, embedder, chunker=chunker, embed_floor=EMBED_FLOOR, origin=origin)
        done += len(batch)
        if progress:
            log.info("built a segment of %d documents (%d so far)", len(batch), done)


def build_one(documents: Sequence[Document], embedder: Embedder, *, chunker: ChunkerSettings | None = None) -> Segment:
    """A segment for documents being added to a served index."""
    return build_segment(
        new_segment_id(), documents, embedder, chunker=chunker, embed_floor=EMBED_FLOOR, origin="library"
    )


def _batches(documents: list[tuple[Document, str]]) -> Iterator[tuple[str, list[Document]]]:
    """Documents grouped by origin into runs of about SEGMENT_CHARS characters."""
    batch: list[Document] = []
    size, origin = 0, None
    for doc, where in documents:
        if batch and (where != origin or size + len(doc.text) > SEGMENT_CHARS):
            yield str(origin), batch
            batch, size = [], 0
        batch.append(doc)
        size += len(doc.text)
        origin = where
    if batch:
        yield str(origin), batch

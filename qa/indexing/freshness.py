"""Whether an index on disk still fits its sources, model and settings; load it, or rebuild or refuse."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from qa.errors import IndexUnusable, IndexWriteError
from qa.indexing.build import build_into
from qa.indexing.chunking import ChunkerSettings
from qa.indexing.index import Index
from qa.indexing.sources import Sources, as_sources
from qa.indexing.store import check_writable, load, read_manifest, verify_files, write_lock
from qa.text.tokens import tokenizer_signature
from qa.types import Embedder

log = logging.getLogger(__name__)
REBUILD_HINT = "run `qa index build` (or set QA_ON_INDEX_MISMATCH=rebuild)"
OnMismatch = Literal["rebuild", "refuse"]


def check(index_dir: Path, sources: Sources | Path, model_id: str, chunker: ChunkerSettings | None = None) -> None:
    """Raise IndexUnusable saying why the index cannot serve as it is (missing, damaged or stale)."""
    try:
        problem = staleness(verify_files(index_dir), as_sources(sources), model_id, chunker or ChunkerSettings())
    except IndexUnusable as exc:
        problem = str(exc)
    if problem:
        raise IndexUnusable(f"{problem}; {REBUILD_HINT}")


def staleness(manifest: dict[str, Any], sources: Sources | Path, model_id: str, chunker: ChunkerSettings) -> str | None:
    """Why an index no longer fits the sources, model or settings; None when it fits."""
    sources = as_sources(sources)
    if manifest.get("sources") != sources.fingerprint():
        return f"the sources in {sources.seeds_dir} or {sources.library_dir} changed since the index was built"
    if manifest.get("embedding", {}).get("model_id") != model_id:
        return (
            f"the index was built with embedding model {manifest.get('embedding', {}).get('model_id')!r}, "
            f"the service is configured with {model_id!r}"
        )
    if manifest.get("chunker") != chunker.as_dict():
        return "the chunker settings changed since the index was built"
    if manifest.get("tokenizer") != tokenizer_signature():
        return "the tokenizer (or its alias table) changed since the index was built"
    return None


def _checked(
    index_dir: Path, sources: Sources, model_id: str, chunker: ChunkerSettings
) -> tuple[Index | None, str | None]:
    try:
        index = load(index_dir)
    except IndexUnusable as exc:
        return None, str(exc)
    return index, staleness(index.manifest, sources, model_id, chunker)


def settle_library(index_dir: Path, sources: Sources) -> bool:
    """Under the index's write lock, finish or undo the library side of writes a crash interrupted (Sources.settle,
    by the manifest on disk). False when the lock cannot be taken (a read-only folder): nothing was looked at."""
    try:
        with write_lock(index_dir):
            done = sources.settle(read_manifest(index_dir).get("sources", {}))
    except (IndexWriteError, IndexUnusable, OSError) as exc:
        log.warning("library writes in flight not settled: %s", exc)
        return False
    for line in done:
        log.warning("library: %s", line)
    return True


def open_index(
    index_dir: Path,
    sources: Sources | Path,
    embedder: Embedder,
    *,
    on_mismatch: OnMismatch = "rebuild",
    chunker: ChunkerSettings | None = None,
) -> Index:
    """Load index_dir if it fits the sources and the model; otherwise rebuild it, or refuse."""
    chunker = chunker or ChunkerSettings()
    sources = as_sources(sources)
    index, problem = _checked(index_dir, sources, embedder.model_id, chunker)
    # Seen while another process wrote (its manifest renamed, its file not yet moved), or a write a crash cut short:
    # looked at again under the write lock, once any writer is done and the library is settled. Leftovers that do not
    # make the index look stale (a write killed before its manifest) are settled too, and change nothing it holds.
    settled = (problem is not None or sources.unsettled()) and index is not None and settle_library(index_dir, sources)
    if settled and problem is not None:
        index, problem = _checked(index_dir, sources, embedder.model_id, chunker)
    if problem is None and index is not None:
        return index
    if on_mismatch == "refuse":
        raise IndexUnusable(f"{problem}; {REBUILD_HINT}")
    log.warning("rebuilding the index: %s", problem)
    check_writable(index_dir)  # a read-only or full disk fails now, not after the whole build (retried at start-up)
    build_into(index_dir, sources, embedder, chunker=chunker)
    return load(index_dir)

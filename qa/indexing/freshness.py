"""Whether an index on disk still fits its sources, model and settings; load it, or rebuild or refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from qa.errors import IndexUnusable
from qa.indexing.build import build
from qa.indexing.chunking import ChunkerSettings
from qa.indexing.documents import fingerprint
from qa.indexing.store import Index, load, log, save, verify
from qa.text.tokens import tokenizer_signature
from qa.types import Embedder

REBUILD_HINT = "run `qa index build` (or set QA_ON_INDEX_MISMATCH=rebuild)"
OnMismatch = Literal["rebuild", "refuse"]


def check(index_dir: Path, seeds_dir: Path, model_id: str, chunker: ChunkerSettings | None = None) -> None:
    """Raise IndexUnusable saying why the index cannot serve as it is (missing, damaged or stale)."""
    try:
        problem = staleness(verify(index_dir), seeds_dir, model_id, chunker or ChunkerSettings())
    except IndexUnusable as exc:
        problem = str(exc)
    if problem:
        raise IndexUnusable(f"{problem}; {REBUILD_HINT}")


def staleness(manifest: dict[str, Any], seeds_dir: Path, model_id: str, chunker: ChunkerSettings) -> str | None:
    """Why an index no longer fits the sources, model or settings; None when it fits."""
    if manifest.get("sources") != fingerprint(seeds_dir):
        return f"the sources in {seeds_dir} changed since the index was built"
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


def open_index(
    index_dir: Path,
    seeds_dir: Path,
    embedder: Embedder,
    *,
    on_mismatch: OnMismatch = "rebuild",
    chunker: ChunkerSettings | None = None,
) -> Index:
    """Load index_dir if it fits the sources and the model; otherwise rebuild it, or refuse."""
    chunker = chunker or ChunkerSettings()
    try:
        index = load(index_dir)
        problem = staleness(index.manifest, seeds_dir, embedder.model_id, chunker)
    except IndexUnusable as exc:
        problem = str(exc)
    if problem is None:
        return index
    if on_mismatch == "refuse":
        raise IndexUnusable(f"{problem}; {REBUILD_HINT}")
    log.warning("rebuilding the index: %s", problem)
    index = build(seeds_dir, embedder, chunker=chunker)
    save(index, index_dir)
    return load(index_dir)

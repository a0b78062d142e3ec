"""The index on disk: segments under `segments/`, and a manifest that names them, written last and atomically.

A reader that loads the manifest sees whole segments only: adding a document writes its segment first, then
replaces the manifest with one that names it (one rename), so a query never sees half a document. Every file of a
segment is listed with its checksum in the segment's manifest, whose own checksum the index manifest records.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from qa.errors import IndexUnusable, IndexWriteError, ReindexBusy
from qa.indexing.durable import mode_for, remove_tree, sync_dir, sync_file, write_atomic
from qa.indexing.frequencies import LARGE_SEGMENT_CHARS
from qa.indexing.index import Index, live_coverage
from qa.indexing.segment_files import load_segment, save_segment, verify_segment
from qa.indexing.segments import Segment, merge_segments

FORMAT_VERSION = 4
MANIFEST = "manifest.json"
SEGMENTS = "segments"
log = logging.getLogger(__name__)


def new_manifest(base: dict[str, Any], segments: list[tuple[Segment, str]], removed: frozenset[str]) -> dict[str, Any]:
    """The index manifest over segments (each with its manifest's sha256), keeping base's other entries."""
    return manifest_of(base, [{**s.describe(), "sha256": d} for s, d in segments], removed, segments)


def manifest_of(
    base: dict[str, Any],
    entries: list[dict[str, Any]],
    removed: frozenset[str] = frozenset(),
    segments: list[tuple[Segment, str]] | None = None,
) -> dict[str, Any]:
    """The manifest from segment entries (what describe() gives, plus sha256); counts from the segments when held."""
    if segments is not None:
        counts = Index(base, tuple(s for s, _ in segments), removed).counts()
    else:
        counts = {k: sum(e.get(k, 0) for e in entries) for k in ("documents", "chunks", "sentences")}
        counts["segments"] = len(entries)
    if segments is not None:
        coverage = live_coverage([s for s, _ in segments], removed)
    else:
        total = sum(e["chunks"] for e in entries)
        coverage = sum(e["coverage"] * e["chunks"] for e in entries) / total if total else 0.0
    return {
        **base,
        "format_version": FORMAT_VERSION,
        "generation": int(base.get("generation", 0)) + 1,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "segments": entries,
        "removed": sorted(removed),
        "counts": counts,
        "embedding": {**base.get("embedding", {}), "corpus_coverage": round(coverage, 4)},
    }


def write_streamed(base: dict[str, Any], segments: Iterable[Segment], index_dir: Path) -> dict[str, Any]:
    """Write segments as they come (each built, written and let go: the build never holds the whole corpus), then
    the manifest, into a new folder swapped in for index_dir. Returns the manifest."""
    entries: list[dict[str, Any]] = []

    def fill(tmp: Path) -> dict[str, Any]:
        for segment in segments:
            digest = save_segment(segment, tmp / SEGMENTS / segment.id)
            entries.append({**segment.describe(), "sha256": digest, **_counts(segment)})
        manifest = manifest_of(base, entries)
        _write_json(tmp / MANIFEST, manifest)
        return manifest

    return _swap_in(index_dir, fill)


def _counts(segment: Segment) -> dict[str, int]:
    return {"documents": len(segment.documents), "sentences": sum(len(c.sentences) for c in segment.chunks)}


def save(index: Index, index_dir: Path) -> Index:
    """Write a whole index to a temporary folder beside index_dir, then swap it in by rename. IndexWriteError
    when the disk refuses (full, read-only, no permission): the index already there is left as it was."""

    def fill(tmp: Path) -> dict[str, Any]:
        written = [(s, save_segment(s, tmp / SEGMENTS / s.id)) for s in index.segments]
        manifest = new_manifest(index.manifest, written, index.removed)
        _write_json(tmp / MANIFEST, manifest)
        return manifest

    return Index(_swap_in(index_dir, fill), index.segments, index.removed)


def replaceable(index_dir: Path) -> None:
    """Refuse (IndexWriteError) to build into a path that holds anything but an index: a build replaces the whole
    folder, and `--index-dir` pointed at the project, the seeds or the library (or `""`, the current folder) would
    have deleted them. An index folder holds its manifest and its segments only; a damaged one (either missing) or
    an empty folder may be replaced."""
    if not index_dir.exists():
        return
    if not index_dir.is_dir():
        raise IndexWriteError(f"cannot write the index at {index_dir}: it is a file, not a folder")
    try:
        foreign = sorted(p.name for p in index_dir.iterdir() if p.name not in (MANIFEST, SEGMENTS))
    except OSError as exc:
        raise _write_error(exc, index_dir) from exc
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise IndexWriteError(
            f"will not write the index at {index_dir}: the folder holds files an index does not ({shown}), which "
            "building it would delete; give the index a folder of its own (new or empty)"
        )


def _swap_in(index_dir: Path, fill: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Fill a temporary folder beside index_dir, then swap it in by rename (the old one back on failure); a folder
    that holds anything but an index is never replaced (replaceable)."""
    index_dir = index_dir.resolve()
    replaceable(index_dir)
    try:
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        mode = mode_for(index_dir, folder=True)  # given to the new folder once it is filled
        tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
    except OSError as exc:
        raise _write_error(exc, index_dir) from exc
    try:
        manifest = fill(tmp)
        sync_file(tmp / MANIFEST)  # its segments were synced as they were written
        os.chmod(tmp, mode)
        sync_dir(tmp)
        old = index_dir.with_name(f".{index_dir.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        moved = index_dir.exists()
        if moved:
            index_dir.rename(old)
        try:
            tmp.rename(index_dir)
        except OSError:
            if moved:  # put the previous index back: a restart must still find one
                old.rename(index_dir)
            raise
        sync_dir(index_dir.parent)
        remove_tree(old)
    except OSError as exc:
        raise _write_error(exc, index_dir) from exc
    finally:
        remove_tree(tmp)
    return manifest


def append(
    index: Index,
    index_dir: Path,
    segment: Segment,
    *,
    sources: dict[str, str],
    skipped: list[dict[str, str]] | None = None,
    replacing: Collection[str] = (),
) -> Index:
    """Add a segment to the index on disk and in memory: the segment's folder first, then the manifest (which
    also takes out the older copies of the documents being replaced, in the same write). `sources`: the new source
    fingerprint; `skipped`: the source files left out, when that changes too."""
    folder = index_dir / SEGMENTS / segment.id
    removed = index.removed
    for doc_id in replacing:
        removed = removal(Index(index.manifest, index.segments, removed), doc_id)
    try:
        digest = save_segment(segment, folder)
        written = [*_digests(index), (segment, digest)]
        manifest = new_manifest(_based(index, sources, skipped), written, removed)
        _replace_manifest(index_dir, manifest)
    except OSError as exc:
        remove_tree(folder)
        raise _write_error(exc, index_dir) from exc
    return Index.grown(index, manifest, segment, removed)


def removal(index: Index, doc_id: str) -> frozenset[str]:
    """The removed keys after taking a document out (its rows stay in their segment, unseen, until a merge)."""
    return index.removed | {f"{s.id}/{doc_id}" for s in index.segments if doc_id in s.documents}


def remove(
    index: Index, index_dir: Path, doc_id: str, *, sources: dict[str, str], skipped: list[dict[str, str]] | None = None
) -> Index:
    """Take a document out of the index on disk and in memory (`sources`, `skipped` as for append)."""
    removed = removal(index, doc_id)
    manifest = new_manifest(_based(index, sources, skipped), _digests(index), removed)
    try:
        _replace_manifest(index_dir, manifest)
    except OSError as exc:
        raise _write_error(exc, index_dir) from exc
    return Index(manifest, index.segments, removed)


def _based(index: Index, sources: dict[str, str], skipped: list[dict[str, str]] | None) -> dict[str, Any]:
    """The index's manifest with a new source fingerprint (and list of source files left out)."""
    return {**index.manifest, "sources": sources, **({} if skipped is None else {"skipped": skipped})}


def merge_small(
    index: Index, index_dir: Path, *, max_segments: int, segment_id: str, small_chars: int = LARGE_SEGMENT_CHARS
) -> Index:
    """The periodic merge: past max_segments small segments (documents added one by one), fold them into one,
    dropping the rows of removed documents they hold, so that a query never fans out over many tiny segments. The
    large segments a build wrote are left as they are: a merge costs what the small segments hold, never a rewrite
    of the archive."""
    small = [s for s in index.segments if s.chars < small_chars]
    if len(small) <= max_segments:
        return index
    fold = small
    keep = [s for s in index.segments if s not in fold]
    merged = merge_segments(segment_id, fold, index.removed)
    kept_ids = {s.id for s in keep}
    still_removed = frozenset(key for key in index.removed if key.split("/", 1)[0] in kept_ids)
    written = [(s, d) for s, d in _digests(index) if s in keep]
    try:
        written.append((merged, save_segment(merged, index_dir / SEGMENTS / merged.id)))
        manifest = new_manifest(index.manifest, written, still_removed)
        _replace_manifest(index_dir, manifest)
    except OSError as exc:  # a full disk: the folded segments stay; no half-written merged one is left behind
        remove_tree(index_dir / SEGMENTS / merged.id)
        raise _write_error(exc, index_dir) from exc
    for segment in fold:
        remove_tree(index_dir / SEGMENTS / segment.id)
    return Index(manifest, tuple(s for s, _ in written), still_removed)


def _digests(index: Index) -> list[tuple[Segment, str]]:
    by_id = {entry["id"]: entry["sha256"] for entry in index.manifest.get("segments", [])}
    return [(s, by_id[s.id]) for s in index.segments]


def _replace_manifest(index_dir: Path, manifest: dict[str, Any]) -> None:
    write_atomic(index_dir / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The manifest of an index folder, or IndexUnusable saying why it cannot be read."""
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexUnusable(f"no index at {index_dir} ({MANIFEST} missing)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexUnusable(f"{path} is unreadable: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexUnusable(f"{path}: index format is not version {FORMAT_VERSION}")
    if wrong := _malformed(manifest):
        raise IndexUnusable(f"{path} is damaged: {wrong}")
    return manifest


# A segment's name: its folder under segments/, which a manifest must not point outside of (`../../elsewhere`).
_SEGMENT_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def _malformed(manifest: dict[str, Any]) -> str | None:
    """What in a manifest of the right version is not as a build writes it (a hand edit, a damaged disk), which
    every reader of it relies on; None when nothing is."""
    segments = manifest.get("segments")
    if not isinstance(segments, list) or not segments:
        return "it names no segments"
    for entry in segments:
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            return "a segment entry lacks its id or checksum"
        if not isinstance(entry.get("id"), str) or not _SEGMENT_ID_RE.fullmatch(entry["id"]):
            return f"a segment id is not a segment's folder name: {str(entry.get('id'))[:60]!r}"
    removed = manifest.get("removed", [])
    if not isinstance(removed, list) or not all(isinstance(r, str) for r in removed):
        return "its removed documents are not a list of names"
    for part in ("embedding", "sources"):
        if not isinstance(manifest.get(part, {}), dict):
            return f"its {part} is not an object"
    return None


def verify_files(index_dir: Path) -> dict[str, Any]:
    """The manifest, once every segment it names, and every file of each, is there with the checksum recorded;
    IndexUnusable otherwise."""
    manifest = read_manifest(index_dir)
    for entry in manifest["segments"]:
        verify_segment(index_dir / SEGMENTS / entry["id"], entry["sha256"])
    return manifest


def load(index_dir: Path) -> Index:
    """Load an index folder, checking every segment (and every file of each) against the manifests first."""
    manifest = read_manifest(index_dir)
    segments = tuple(load_segment(index_dir / SEGMENTS / e["id"], e["sha256"]) for e in manifest["segments"])
    return Index(manifest, segments, frozenset(manifest.get("removed", [])))


def refresh(index: Index, index_dir: Path) -> Index:
    """The index as its folder now holds it (another process changed it), loading only the segments not held
    already: a worker catches up with an added document in the time it takes to read that document's segment."""
    manifest = read_manifest(index_dir)
    if manifest == index.manifest:
        return index
    held = {s.id: s for s in index.segments}
    digests = {e["id"]: e["sha256"] for e in index.manifest.get("segments", [])}
    segments = tuple(
        held[e["id"]]
        if digests.get(e["id"]) == e["sha256"]
        else load_segment(index_dir / SEGMENTS / e["id"], e["sha256"])
        for e in manifest["segments"]
    )
    return Index(manifest, segments, frozenset(manifest.get("removed", [])))


@contextmanager
def write_lock(index_dir: Path, *, wait: float | None = None) -> Iterator[None]:
    """Hold the index folder's write lock (an flock, across processes): one writer at a time, so that two workers
    adding documents never write manifests from stale copies. With `wait`, ReindexBusy once that many seconds pass
    without it (another process rebuilding): a request is answered busy rather than held past its timeout."""
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexWriteError(f"cannot write the index at {index_dir}: it is a file, not a folder")
    try:  # a read-only folder: nothing can be written, which the caller is told as such (not an OSError)
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir.parent / f".{index_dir.name}.lock", "a+b")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise _write_error(exc, index_dir) from exc
    with handle:
        try:
            _flock(handle, wait)
        except OSError as exc:
            raise _write_error(exc, index_dir) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _flock(handle: IO[bytes], wait: float | None) -> None:
    if wait is None:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise ReindexBusy(f"another process has been writing the index for {wait:g} s; try again") from None
            time.sleep(0.05)


def check_writable(index_dir: Path) -> None:
    """IndexWriteError now when save could not write beside index_dir, or when the disk has less room than the
    index there takes: a rebuild then fails in a moment, not after the whole build."""
    index_dir = index_dir.resolve()
    try:
        _make_parent(index_dir)
        Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.probe-", dir=index_dir.parent)).rmdir()
        size = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file()) if index_dir.is_dir() else 0
        free = shutil.disk_usage(index_dir.parent).free
    except OSError as exc:
        raise _write_error(exc, index_dir) from exc
    if free < size:
        no_space = OSError(errno.ENOSPC, f"{free} bytes free, the index takes {size}")
        raise _write_error(no_space, index_dir)


def _make_parent(index_dir: Path) -> None:
    """Create index_dir's parent folder; a file in its place is ENOTDIR (mkdir would say "File exists")."""
    if index_dir.parent.exists() and not index_dir.parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(index_dir.parent))
    index_dir.parent.mkdir(parents=True, exist_ok=True)


def _write_error(exc: OSError, index_dir: Path) -> IndexWriteError:
    reason = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    return IndexWriteError(f"cannot write the index at {index_dir}: {reason}{where}", errno=exc.errno)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

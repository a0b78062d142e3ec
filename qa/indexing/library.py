"""Adding and removing documents while serving: validate, keep the file, index it as one new segment.

The order makes every step safe to stop at. An addition stages the document's file beside the library, builds its
segment, writes the segment, then the index manifest (one rename: the commit), and only then moves the file into
the library. A removal moves the files aside, writes the manifest, then deletes them. A failure before the manifest
leaves the index and the library as they were; a crash anywhere is settled when an index is next opened
(Sources.settle, by what the manifest says), never by rebuilding the index.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace as replace_field
from datetime import date
from pathlib import Path
from typing import TypeVar

from qa.errors import DocumentExists, DocumentNotFound, DocumentRejected, IndexWriteError, QAError
from qa.indexing.build import build_one, new_segment_id
from qa.indexing.chunking import ChunkerSettings
from qa.indexing.index import Index
from qa.indexing.segments import Segment
from qa.indexing.sources import DOCUMENT_ID_RE, Sources
from qa.indexing.store import append, merge_small, refresh, remove, write_lock
from qa.types import Document, Embedder, NewDocument

log = logging.getLogger(__name__)
T = TypeVar("T")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits: \d takes ２０２５ and ٢٠٢٥ too


@dataclass(frozen=True)
class Added:
    """What adding a document did."""

    index: Index
    document: Document
    chunks: int
    replaced: bool
    segment: Segment


# C0 control characters but tab, line feed, vertical tab, form feed and carriage return; and DEL.
_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f]")


def _is_date(text: str) -> bool:
    """A calendar date written YYYY-MM-DD (2025-13-45 is not one)."""
    try:
        return bool(_DATE_RE.fullmatch(text)) and bool(date.fromisoformat(text))
    except ValueError:
        return False


# The longest title and url a document may carry (POST /documents and `qa add` alike): a name and an address, not
# text (a 100,000-character title was stored in the library's sidecar).
MAX_TITLE_CHARS = 1000
MAX_URL_CHARS = 2000


def check_new(doc: NewDocument, *, max_chars: int) -> str:
    """The id the document will have; DocumentRejected naming what is wrong with it."""
    if doc.id is not None and not DOCUMENT_ID_RE.fullmatch(doc.id):
        raise DocumentRejected(
            f"id {doc.id!r} is not usable: 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field="id",
        )
    if not doc.text.strip():
        raise DocumentRejected("text is empty")
    if len(doc.text) > max_chars:
        raise DocumentRejected(f"text is {len(doc.text)} characters; the limit is {max_chars}")
    if doc.date is not None and not _is_date(doc.date):
        raise DocumentRejected(f"date {doc.date!r} is not a calendar date written YYYY-MM-DD", field="date")
    for name, value, most in (("title", doc.title, MAX_TITLE_CHARS), ("url", doc.url, MAX_URL_CHARS)):
        if value is not None and len(value) > most:
            raise DocumentRejected(f"{name} is {len(value)} characters; the limit is {most}", field=name)
    for name, value in (("text", doc.text), ("title", doc.title), ("url", doc.url)):
        try:
            (value or "").encode("utf-8")
        except UnicodeEncodeError as exc:
            message = f"{name} is not valid Unicode text (lone surrogate at {exc.start})"
            raise DocumentRejected(message, field=name) from exc
        if control := _CONTROL_RE.search(value or ""):
            # A NUL (or a terminal's control code) is no part of an article's text: one made its sentences unanswerable.
            at, code = control.start(), ord(control.group())
            message = f"{name} holds a control character (U+{code:04X} at {at}), which is not text"
            raise DocumentRejected(message, field=name)
    return doc.id or f"doc-{uuid.uuid4().hex[:12]}"


def add_document(
    index: Index,
    index_dir: Path,
    sources: Sources,
    doc: NewDocument,
    embedder: Embedder,
    *,
    replace: bool = False,
    max_chars: int = 200_000,
    max_segments: int = 8,
    chunker: ChunkerSettings | None = None,
    wait: float | None = None,
) -> Added:
    """Index one more document; DocumentExists for a known id unless replace, DocumentRejected when it cannot
    be indexed. The index returned (and on disk) holds it; nothing else was rebuilt. `wait`: seconds to wait for
    another process's write (ReindexBusy past them; None: as long as it takes)."""
    doc_id = check_new(doc, max_chars=max_chars)
    with write_lock(index_dir, wait=wait):
        current = refresh(index, index_dir)  # another worker may have written since this one last loaded
        _settled(current, sources)
        named = replace_field(doc, id=doc_id)
        return _add(
            current, index_dir, sources, named, embedder, replace=replace, max_segments=max_segments, chunker=chunker
        )


def _add(
    index: Index,
    index_dir: Path,
    sources: Sources,
    doc: NewDocument,
    embedder: Embedder,
    *,
    replace: bool,
    max_segments: int,
    chunker: ChunkerSettings | None,
) -> Added:
    doc_id = str(doc.id)
    if sources.is_seed(doc_id):
        raise DocumentExists(f"{doc_id!r} is a seed document: change it in the seeds folder and reindex")
    exists = doc_id in index.documents
    if exists and not replace:
        raise DocumentExists(
            f"a document with id {doc_id!r} is already indexed (to replace it: ?replace=true, or qa add --replace)"
        )
    left_out = _left_out(index, doc_id)
    if left_out is not None and not replace:  # its files are the user's: not overwritten unasked
        raise DocumentExists(
            f"the library holds a document with id {doc_id!r} that is not indexed ({left_out}): to replace it, "
            "?replace=true or qa add --replace; or remove it"
        )
    # Staged, not in the library yet: until the manifest names it, the library and the index still agree.
    meta = {"title": doc.title, "date": doc.date, "url": doc.url}
    written = _library_write(sources.library_dir, lambda: sources.stage(doc_id, doc.text, **meta))
    try:
        segment = _segment_of(written, embedder, chunker)
        fingerprint = {**index.manifest.get("sources", {}), **sources.staged_fingerprint(doc_id)}
        skipped = _skipped_without(index, doc_id) if left_out is not None else None
        grown = append(
            index, index_dir, segment, sources=fingerprint, skipped=skipped, replacing=[doc_id] if exists else []
        )
    except BaseException:
        sources.discard(doc_id)
        raise
    # The manifest holds it: the document is added, whatever happens next. A move that fails now is finished by
    # settle() at the next start or write; a merge that fails is tried again with the next addition.
    try:
        sources.commit(doc_id)
    except OSError as exc:
        log.error("%s is indexed but its file stays staged (moved in at the next start or write): %s", doc_id, exc)
    try:
        merged = merge_small(grown, index_dir, max_segments=max_segments, segment_id=new_segment_id())
    except IndexWriteError as exc:
        log.warning("small segments not merged (tried again with the next addition): %s", exc)
        merged = grown
    return Added(merged, written, len(segment.chunks), exists, segment)


def _settled(index: Index, sources: Sources) -> None:
    """Settle what a writer that crashed (another worker, a killed `qa add`) left staged or retired, by the manifest
    (under the write lock, which that writer no longer holds)."""
    for line in _library_write(sources.library_dir, lambda: sources.settle(index.manifest.get("sources", {}))):
        log.warning("library: %s", line)


def _library_write(library_dir: Path, write: Callable[[], T]) -> T:
    """A write to the library, whose OSError (a full disk, a read-only folder, a file where the folder should be) is
    the index's IndexWriteError: the same 507 or 503 as a failed index write, never a 500."""
    try:
        return write()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise IndexWriteError(f"cannot write the library {library_dir}: {reason}", errno=exc.errno) from exc


def _segment_of(document: Document, embedder: Embedder, chunker: ChunkerSettings | None) -> Segment:
    try:
        segment = build_one([document], embedder, chunker=chunker)
    except QAError:
        raise
    except Exception as exc:  # a document the pipeline cannot handle is refused, never half-indexed
        raise DocumentRejected(f"the document could not be indexed: {type(exc).__name__}: {exc}") from exc
    if not segment.chunks:
        raise DocumentRejected("the document has no text to index")
    if not any(ch.isalnum() for chunk in segment.chunks for ch in chunk.text):
        raise DocumentRejected("the document has no text to index (no letter, digit or character, only punctuation)")
    return segment


def remove_document(
    index: Index, index_dir: Path, sources: Sources, doc_id: str, *, wait: float | None = None
) -> Index:
    """Take an added document out of the index and the library; DocumentNotFound when none has that id. `wait` as
    for add_document."""
    with write_lock(index_dir, wait=wait):
        current = refresh(index, index_dir)
        _settled(current, sources)
        return _remove(current, index_dir, sources, doc_id)


def _remove(index: Index, index_dir: Path, sources: Sources, doc_id: str) -> Index:
    # A library document the index left out (a broken sidecar, a text that is not UTF-8) is removed too: its files.
    left_out = _left_out(index, doc_id) is not None
    if doc_id not in index.documents and not left_out:
        raise DocumentNotFound(f"no document with id {doc_id!r}")
    if sources.is_seed(doc_id):
        raise DocumentExists(f"{doc_id!r} is a seed document: remove it from the seeds folder and reindex")
    # Retired, not deleted: until the manifest drops it, it can be put back (and settle() does so after a crash).
    _library_write(sources.library_dir, lambda: sources.retire(doc_id))
    own = _own_files(doc_id)
    fingerprint = {k: v for k, v in index.manifest.get("sources", {}).items() if k not in own}
    try:
        skipped = _skipped_without(index, doc_id) if left_out else None
        shrunk = remove(index, index_dir, doc_id, sources=fingerprint, skipped=skipped)
    except BaseException:  # the index still serves it (a read-only or full disk): its files come back
        sources.restore(doc_id)
        raise
    try:
        sources.purge(doc_id)
    except OSError as exc:
        log.error("%s is removed but its retired file stays (deleted at the next start or write): %s", doc_id, exc)
    return shrunk


def _own_files(doc_id: str) -> tuple[str, str]:
    """A library document's two files, as the manifest names them."""
    return f"library/{doc_id}.txt", f"library/{doc_id}.json"


def _left_out(index: Index, doc_id: str) -> str | None:
    """Why the index left out the library's document with this id (its files are there, it is not indexed), or None."""
    text = _own_files(doc_id)[0]
    return next((entry["reason"] for entry in index.manifest.get("skipped", []) if entry.get("file") == text), None)


def _skipped_without(index: Index, doc_id: str) -> list[dict[str, str]]:
    """The manifest's list of source files left out, less this document's."""
    own = _own_files(doc_id)
    return [entry for entry in index.manifest.get("skipped", []) if entry.get("file") not in own]

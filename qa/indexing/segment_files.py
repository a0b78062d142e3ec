"""A segment on disk: its files, each listed with its checksum in the segment's manifest, written once and
verified whenever it is read."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.errors import IndexUnusable
from qa.indexing.durable import sync_tree
from qa.indexing.postings import Postings
from qa.indexing.segments import Segment
from qa.indexing.sentences import SentenceTable
from qa.indexing.vectors import DenseIndex
from qa.types import Chunk, Document, Sentence

SEGMENT_MANIFEST = "segment.json"


def save_segment(segment: Segment, folder: Path) -> str:
    """Write a segment into an empty folder; returns the sha256 of its manifest (which lists every file's)."""
    folder.mkdir(parents=True, exist_ok=False)
    docs = [{**document_meta(d), "text": d.text} for d in segment.documents.values()]
    _write_json(folder / "documents.json", docs)
    _write_json(folder / "chunks.json", [_chunk_record(c) for c in segment.chunks])
    _write_json(folder / "lexicon.json", segment.lexicon)
    _write_json(folder / "withheld.json", sorted(segment.withheld))
    segment.postings.save(folder)
    segment.sentences.save(folder)
    try:
        segment.vectors.save(folder / "vectors.faiss")
    except RuntimeError as exc:  # FAISS reports a failed write as RuntimeError, with the OS's reason in it
        raise _faiss_os_error(exc, folder / "vectors.faiss") from exc
    files = {p.name: _sha256(p) for p in sorted(folder.iterdir()) if p.is_file()}
    manifest = {**segment.describe(), "files": files}
    _write_json(folder / SEGMENT_MANIFEST, manifest)
    sync_tree(folder)  # on the disk before any manifest lists it
    return _sha256(folder / SEGMENT_MANIFEST)


def verify_segment(folder: Path, digest: str | None = None) -> dict[str, Any]:
    """A segment's manifest, once it (against digest, when given) and every file it lists check out."""
    path = folder / SEGMENT_MANIFEST
    if not path.is_file():
        raise IndexUnusable(f"index segment {folder} is missing ({SEGMENT_MANIFEST} not found)")
    try:
        if digest is not None and _sha256(path) != digest:
            raise IndexUnusable(f"index segment {folder} is damaged (manifest checksum mismatch)")
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        for name, expected in files.items():
            if not (folder / name).is_file():
                raise IndexUnusable(f"index file {folder / name} is missing")
            if _sha256(folder / name) != expected:
                raise IndexUnusable(f"index file {folder / name} is damaged (checksum mismatch)")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:  # unreadable, or not as written
        raise IndexUnusable(f"index segment {folder} is unreadable: {exc}") from exc
    return manifest


def load_segment(folder: Path, digest: str | None = None) -> Segment:
    """Read a segment, checking its manifest (against digest, when given) and every file's checksum first."""
    manifest = verify_segment(folder, digest)
    try:
        return _read(folder, manifest)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexUnusable(f"index segment {folder} could not be loaded: {exc}") from exc


def _read(folder: Path, manifest: dict[str, Any]) -> Segment:
    docs = {
        d["id"]: Document(
            id=d["id"],
            path=d["path"],
            text=d["text"],
            sha256=d["sha256"],
            date=d.get("date"),
            title=d.get("title"),
            body_start=d.get("body_start", 0),
            url=d.get("url"),
        )
        for d in json.loads((folder / "documents.json").read_text(encoding="utf-8"))
    }
    chunks = []
    for r in json.loads((folder / "chunks.json").read_text(encoding="utf-8")):
        text = docs[r["doc"]].text
        sentences = tuple(
            Sentence(id=sid, doc=r["doc"], chunk_id=r["id"], start=s, end=e, text=text[s:e])
            for sid, s, e in r["sentences"]
        )
        chunks.append(
            Chunk(
                id=r["id"],
                doc=r["doc"],
                start=r["start"],
                end=r["end"],
                text=text[r["start"] : r["end"]],
                kind=r["kind"],
                heading=r["heading"],
                sentences=sentences,
            )
        )
    return Segment(
        id=manifest["id"],
        documents=docs,
        chunks=tuple(chunks),
        postings=Postings.load(folder),
        vectors=DenseIndex.load(folder / "vectors.faiss"),
        lexicon=json.loads((folder / "lexicon.json").read_text(encoding="utf-8")),
        sentences=_sentence_table(folder, chunks),
        coverage=float(manifest["coverage"]),
        embedded=int(manifest["embedded"]),
        origin=str(manifest.get("origin", "seeds")),
        withheld=frozenset(json.loads((folder / "withheld.json").read_text(encoding="utf-8"))),
    )


def _sentence_table(folder: Path, chunks: Sequence[Chunk]) -> SentenceTable:
    table = SentenceTable.load(folder)
    if len(table) != sum(len(c.sentences) for c in chunks):
        raise ValueError(f"{len(table)} sentence rows for {sum(len(c.sentences) for c in chunks)} sentences")
    return table


def document_meta(doc: Document) -> dict[str, Any]:
    """A document's metadata as the manifests record it."""
    return {
        "id": doc.id,
        "path": doc.path,
        "sha256": doc.sha256,
        "date": doc.date,
        "title": doc.title,
        "url": doc.url,
        "chars": len(doc.text),
        "body_start": doc.body_start,
    }


def _chunk_record(c: Chunk) -> dict[str, Any]:
    return {
        "id": c.id,
        "doc": c.doc,
        "start": c.start,
        "end": c.end,
        "kind": c.kind,
        "heading": c.heading,
        "sentences": [[s.id, s.start, s.end] for s in c.sentences],
    }


def _faiss_os_error(exc: RuntimeError, path: Path) -> OSError:
    """The OSError a FAISS write error stands for, found by the OS's message in its text (EIO if none is)."""
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
        if os.strerror(code) in str(exc):
            return OSError(code, os.strerror(code), str(path))
    return OSError(errno.EIO, str(exc), str(path))


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

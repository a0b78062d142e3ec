"""Build, save and load the index (FAISS + BM25 + chunks + lexicon) with its manifest."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import IndexUnusable
from qa.indexing.bm25 import LexicalIndex
from qa.indexing.vectors import DenseIndex
from qa.types import Chunk, Document, Sentence

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


log = logging.getLogger(__name__)


@dataclass
class Index:
    """Everything retrieval needs, loaded in memory."""

    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: list[Chunk]
    chunk_lexical: LexicalIndex
    sentence_lexical: LexicalIndex
    chunk_dense: DenseIndex
    sentence_dense: DenseIndex
    lexicon: dict[str, list[str]]
    sentences: list[Sentence] = field(default_factory=list)
    chunk_by_id: dict[str, Chunk] = field(default_factory=dict)
    sentence_position: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sentences = [s for c in self.chunks for s in c.sentences]
        self.chunk_by_id = {c.id: c for c in self.chunks}
        self.sentence_position = {s.id: i for i, s in enumerate(self.sentences)}

    @property
    def corpus_coverage(self) -> float:
        """Share of the corpus tokens the embedding model knows."""
        return float(self.manifest["embedding"]["corpus_coverage"])


def _document_meta(doc: Document) -> dict[str, Any]:
    return {
        "id": doc.id,
        "path": doc.path,
        "sha256": doc.sha256,
        "date": doc.date,
        "title": doc.title,
        "chars": len(doc.text),
        "body_start": doc.body_start,
    }


def save(index: Index, index_dir: Path) -> None:
    """Write the index to a temporary folder beside index_dir, then swap it in by rename."""
    index_dir = index_dir.resolve()
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
    try:
        _write(index, tmp)
        old = index_dir.with_name(f".{index_dir.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        if index_dir.exists():
            index_dir.rename(old)
        tmp.rename(index_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write(index: Index, folder: Path) -> None:
    docs = [{**_document_meta(d), "text": d.text} for d in index.documents.values()]
    _write_json(folder / "documents.json", docs)
    _write_json(folder / "chunks.json", [_chunk_record(c) for c in index.chunks])
    _write_json(folder / "lexicon.json", index.lexicon)
    index.chunk_dense.save(folder / "chunks.faiss")
    index.sentence_dense.save(folder / "sentences.faiss")
    index.chunk_lexical.save(folder / "bm25_chunks")
    index.sentence_lexical.save(folder / "bm25_sentences")
    files = {str(p.relative_to(folder)): _sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}
    _write_json(folder / MANIFEST, {**index.manifest, "files": files})


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


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    return manifest


def verify(index_dir: Path) -> dict[str, Any]:
    """The manifest, once every file it lists is there with its checksum; IndexUnusable otherwise."""
    manifest = read_manifest(index_dir)
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise IndexUnusable(f"{index_dir / MANIFEST} lists no files")
    for name, digest in files.items():
        path = index_dir / name
        if not path.is_file():
            raise IndexUnusable(f"index file {path} is missing")
        if _sha256(path) != digest:
            raise IndexUnusable(f"index file {path} is damaged (checksum mismatch)")
    return manifest


def load(index_dir: Path) -> Index:
    """Load an index folder, checking every file against the manifest first."""
    manifest = verify(index_dir)
    try:
        return _read(index_dir, manifest)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexUnusable(f"index at {index_dir} could not be loaded: {exc}") from exc


def _read(folder: Path, manifest: dict[str, Any]) -> Index:
    docs = {
        d["id"]: Document(
            id=d["id"],
            path=d["path"],
            text=d["text"],
            sha256=d["sha256"],
            date=d["date"],
            title=d["title"],
            body_start=d["body_start"],
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
    sentence_count = sum(len(c.sentences) for c in chunks)
    return Index(
        manifest=manifest,
        documents=docs,
        chunks=chunks,
        chunk_lexical=LexicalIndex.load(folder / "bm25_chunks", len(chunks)),
        sentence_lexical=LexicalIndex.load(folder / "bm25_sentences", sentence_count),
        chunk_dense=DenseIndex.load(folder / "chunks.faiss"),
        sentence_dense=DenseIndex.load(folder / "sentences.faiss"),
        lexicon=json.loads((folder / "lexicon.json").read_text(encoding="utf-8")),
    )

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from qa.chunking import ChunkerSettings, chunk_document
from qa.dense import DenseIndex
from qa.documents import fingerprint, load_documents
from qa.embedding import Embedder
from qa.lexical import LexicalIndex
from qa.lexicon import build_lexicon
from qa.text import tokenizer_signature, tokens
from qa.types import Chunk, Document, Sentence

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
log = logging.getLogger(__name__)

REBUILD_HINT = "run `qa index build` (or set QA_ON_INDEX_MISMATCH=rebuild)"
OnMismatch = Literal["rebuild", "refuse"]


class IndexError_(RuntimeError):
    """The index folder is missing, damaged, or does not match the sources or the model."""


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


def build(
    seeds_dir: Path, embedder: Embedder, *, chunker: ChunkerSettings | None = None, progress: bool = False
) -> Index:
    """Chunk, tokenise and embed every source in seeds_dir."""
    chunker = chunker or ChunkerSettings()
    started = time.perf_counter()
    documents = load_documents(seeds_dir)
    chunks = [c for d in documents for c in chunk_document(d, chunker)]
    sentences = [s for c in chunks for s in c.sentences]
    chunk_texts = [c.index_text for c in chunks]
    sentence_texts = [s.text for s in sentences]
    chunk_vectors = embedder.embed(chunk_texts, progress=progress)
    sentence_vectors = embedder.embed(sentence_texts, progress=progress)
    coverage = float(np.mean([embedder.coverage(t) for t in chunk_texts])) if chunks else 0.0
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 3),
        "sources": fingerprint(seeds_dir),
        "documents": [_document_meta(d) for d in documents],
        "embedding": {
            "model_id": embedder.model_id,
            "dim": int(chunk_vectors.shape[1]),
            "corpus_coverage": round(coverage, 4),
        },
        "chunker": chunker.as_dict(),
        "tokenizer": tokenizer_signature(),
        "counts": {"documents": len(documents), "chunks": len(chunks), "sentences": len(sentences)},
    }
    return Index(
        manifest=manifest,
        documents={d.id: d for d in documents},
        chunks=chunks,
        chunk_lexical=LexicalIndex.build([tokens(t) for t in chunk_texts]),
        sentence_lexical=LexicalIndex.build([tokens(t) for t in sentence_texts]),
        chunk_dense=DenseIndex.build(chunk_vectors),
        sentence_dense=DenseIndex.build(sentence_vectors),
        lexicon=build_lexicon([d.text for d in documents]),
    )


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
    """The manifest of an index folder, or IndexError_ saying why it cannot be read."""
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexError_(f"no index at {index_dir} ({MANIFEST} missing)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexError_(f"{path} is unreadable: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexError_(f"{path}: index format is not version {FORMAT_VERSION}")
    return manifest


def verify(index_dir: Path) -> dict[str, Any]:
    """The manifest, once every file it lists is there with its checksum; IndexError_ otherwise."""
    manifest = read_manifest(index_dir)
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise IndexError_(f"{index_dir / MANIFEST} lists no files")
    for name, digest in files.items():
        path = index_dir / name
        if not path.is_file():
            raise IndexError_(f"index file {path} is missing")
        if _sha256(path) != digest:
            raise IndexError_(f"index file {path} is damaged (checksum mismatch)")
    return manifest


def check(index_dir: Path, seeds_dir: Path, model_id: str, chunker: ChunkerSettings | None = None) -> None:
    """Raise IndexError_ saying why the index cannot serve as it is (missing, damaged or stale)."""
    try:
        problem = staleness(verify(index_dir), seeds_dir, model_id, chunker or ChunkerSettings())
    except IndexError_ as exc:
        problem = str(exc)
    if problem:
        raise IndexError_(f"{problem}; {REBUILD_HINT}")


def load(index_dir: Path) -> Index:
    """Load an index folder, checking every file against the manifest first."""
    manifest = verify(index_dir)
    try:
        return _read(index_dir, manifest)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexError_(f"index at {index_dir} could not be loaded: {exc}") from exc


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
    except IndexError_ as exc:
        problem = str(exc)
    if problem is None:
        return index
    if on_mismatch == "refuse":
        raise IndexError_(f"{problem}; {REBUILD_HINT}")
    log.warning("rebuilding the index: %s", problem)
    index = build(seeds_dir, embedder, chunker=chunker)
    save(index, index_dir)
    return load(index_dir)

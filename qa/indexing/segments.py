"""Segments: an index is a list of them. Each holds some documents whole, with their chunks, BM25 postings, dense
vectors and lexicon entries, and is written once; adding a document writes one new segment, and a periodic merge
folds small segments (and removed documents) away. Nothing in a segment depends on the others."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa.errors import IndexUnusable
from qa.indexing.chunking import ChunkerSettings, chunk_document
from qa.indexing.lexicon import build_lexicon
from qa.indexing.postings import Postings
from qa.indexing.sentences import SentenceTable
from qa.indexing.vectors import DenseIndex
from qa.text.folding import fold
from qa.text.injection import looks_like_instruction
from qa.text.tokens import folded_tokens, tokens
from qa.types import Chunk, Document, Embedder, Sentence

log = logging.getLogger(__name__)
SEGMENT_MANIFEST = "segment.json"


@dataclass(frozen=True)
class Segment:
    """Documents with everything search needs about them; rows of postings and vectors follow `chunks`."""

    id: str
    documents: dict[str, Document]
    chunks: tuple[Chunk, ...]
    postings: Postings
    # Dense vectors of the chunks the model can read, keyed by chunk row (a chunk without one scores 0).
    vectors: DenseIndex
    lexicon: dict[str, list[str]]
    # Every sentence's folded text and tokens, in chunk order (the order of Index.sentences within the segment).
    sentences: SentenceTable
    # Mean share of the chunks' word pieces the embedding model knows, and how many chunks were embedded.
    coverage: float
    embedded: int
    origin: str = "seeds"
    # Sentences that address an AI system rather than the reader: never evidence, never shown to the LLM as a fact.
    withheld: frozenset[str] = frozenset()
    _chunk_rows: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_chunk_rows", {c.id: i for i, c in enumerate(self.chunks)})

    @cached_property
    def sizes(self) -> dict[str, tuple[int, int]]:
        """Each document's chunks and sentences (counted once: a segment never changes)."""
        out: dict[str, tuple[int, int]] = {}
        for chunk in self.chunks:
            chunks, sentences = out.get(chunk.doc, (0, 0))
            out[chunk.doc] = (chunks + 1, sentences + len(chunk.sentences))
        return out

    @property
    def chars(self) -> int:
        """Characters of text in the segment's documents."""
        return sum(len(d.text) for d in self.documents.values())

    def describe(self) -> dict[str, Any]:
        """What the index manifest records of the segment."""
        return {
            "id": self.id,
            "origin": self.origin,
            "documents": list(self.documents),
            "chunks": len(self.chunks),
            "chars": self.chars,
            "embedded": self.embedded,
            "coverage": round(self.coverage, 4),
        }


def build_segment(
    segment_id: str,
    documents: Sequence[Document],
    embedder: Embedder,
    *,
    chunker: ChunkerSettings | None = None,
    embed_floor: float = 0.4,
    origin: str = "seeds",
) -> Segment:
    """Chunk, tokenise and (when the model can read them) embed documents into one segment.

    The chunks get vectors only when the model knows at least `embed_floor` of their word pieces on average: the
    fusion gives a model that knows less of the corpus no weight (RetrievalSettings.coverage_floor), so embedding
    them would only cost build time. The bundled MiniLM knows about 0.3 of Chinese news text, so a Chinese archive
    is built without vectors; English text, or any text with a multilingual model, gets them. Without a vector a
    chunk scores 0 on the dense side.
    """
    chunker = chunker or ChunkerSettings()
    chunks = tuple(c for d in documents for c in chunk_document(d, chunker))
    texts = [c.index_text for c in chunks]
    folded = [fold(t.text) for c in chunks for t in c.sentences]
    sentence_tokens = [folded_tokens(f) for f in folded]
    postings = Postings.build(_chunk_tokens(chunks, sentence_tokens))
    coverages = np.asarray([embedder.coverage(t) for t in texts], dtype=np.float32)
    coverage = float(coverages.mean()) if coverages.size else 0.0
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(embedder.dim))
    if texts and coverage >= embed_floor:
        vectors = embedder.embed(texts)
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.arange(len(texts), dtype=np.int64))
    return Segment(
        id=segment_id,
        documents={d.id: d for d in documents},
        chunks=chunks,
        postings=postings,
        vectors=DenseIndex(index),
        lexicon=build_lexicon([d.text for d in documents]),
        sentences=SentenceTable.build(folded, sentence_tokens, postings.vocab),
        coverage=coverage,
        embedded=int(index.ntotal),
        origin=origin,
        withheld=frozenset(t.id for c in chunks for t in c.sentences if looks_like_instruction(t.text)),
    )


def _chunk_tokens(chunks: Sequence[Chunk], sentence_tokens: Sequence[list[str]]) -> list[list[str]]:
    """Each chunk's BM25 tokens: its heading's, then its sentences' (the tokens of its whole text: a Chinese run
    never crosses a sentence's end, so cutting the sentences alone cuts the same words)."""
    out: list[list[str]] = []
    rest = iter(sentence_tokens)
    for chunk in chunks:
        found = tokens(chunk.heading) if chunk.heading else []
        for _ in chunk.sentences:
            found.extend(next(rest))
        out.append(found)
    return out


def merge_segments(segment_id: str, segments: Sequence[Segment], removed: frozenset[str] = frozenset()) -> Segment:
    """One segment holding the documents of several, less the removed ones (`segment/document` keys), without
    re-reading any text."""
    keeps = [np.asarray([f"{s.id}/{c.doc}" not in removed for c in s.chunks], dtype=bool) for s in segments]
    postings = Postings.concat([s.postings.rows(k) for s, k in zip(segments, keeps, strict=True)])
    sentences = SentenceTable.concat(
        [
            s.sentences.take(_sentence_rows(s.chunks, keep), postings.remap(s.postings.vocab))
            for s, keep in zip(segments, keeps, strict=True)
        ]
    )
    chunks = tuple(
        c for s, k in zip(segments, keeps, strict=True) for c, alive in zip(s.chunks, k, strict=True) if alive
    )
    dim = segments[0].vectors.dim if segments else 0
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    offset = 0
    for segment, keep in zip(segments, keeps, strict=True):
        new_rows = np.cumsum(keep) - 1 + offset
        ids, vectors = stored_vectors(segment.vectors)
        kept = keep[ids] if ids.size else np.zeros(0, dtype=bool)
        if kept.any():
            index.add_with_ids(np.ascontiguousarray(vectors[kept]), new_rows[ids[kept]].astype(np.int64))
        offset += int(keep.sum())
    lexicon: dict[str, set[str]] = {}
    for segment in segments:
        for key, words in segment.lexicon.items():
            lexicon.setdefault(key, set()).update(words)
    total = sum(len(s.chunks) for s in segments) or 1
    return Segment(
        id=segment_id,
        documents={d.id: d for s in segments for d in s.documents.values() if f"{s.id}/{d.id}" not in removed},
        chunks=chunks,
        postings=postings,
        vectors=DenseIndex(index),
        lexicon={k: sorted(v) for k, v in lexicon.items()},
        sentences=sentences,
        coverage=sum(s.coverage * len(s.chunks) for s in segments) / total,
        embedded=int(index.ntotal),
        origin="merged" if len({s.origin for s in segments}) > 1 else segments[0].origin,
        withheld=frozenset().union(*(s.withheld for s in segments)),
    )


def _sentence_rows(chunks: Sequence[Chunk], keep: np.ndarray) -> list[int]:
    """The sentence rows of the kept chunks."""
    rows: list[int] = []
    at = 0
    for chunk, alive in zip(chunks, keep.tolist(), strict=True):
        if alive:
            rows.extend(range(at, at + len(chunk.sentences)))
        at += len(chunk.sentences)
    return rows


def stored_vectors(vectors: DenseIndex) -> tuple[np.ndarray, np.ndarray]:
    """The chunk rows that have a vector, and the vectors, as stored in an ID-mapped flat FAISS index."""
    index: Any = vectors.faiss  # an IndexIDMap2 over an IndexFlatIP (build_segment makes it so)
    if not index.ntotal:
        return np.empty(0, dtype=np.int64), np.empty((0, index.d), dtype=np.float32)
    flat: Any = faiss.downcast_index(index.index)
    stored = faiss.vector_to_array(flat.codes).view(np.float32).reshape(-1, index.d)
    return faiss.vector_to_array(index.id_map).astype(np.int64), stored


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
    return _sha256(folder / SEGMENT_MANIFEST)


def verify_segment(folder: Path, digest: str | None = None) -> dict[str, Any]:
    """A segment's manifest, once it (against digest, when given) and every file it lists check out."""
    path = folder / SEGMENT_MANIFEST
    if not path.is_file():
        raise IndexUnusable(f"index segment {folder} is missing ({SEGMENT_MANIFEST} not found)")
    if digest is not None and _sha256(path) != digest:
        raise IndexUnusable(f"index segment {folder} is damaged (manifest checksum mismatch)")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexUnusable(f"index segment {folder} is unreadable: {exc}") from exc
    for name, expected in files.items():
        if not (folder / name).is_file():
            raise IndexUnusable(f"index file {folder / name} is missing")
        if _sha256(folder / name) != expected:
            raise IndexUnusable(f"index file {folder / name} is damaged (checksum mismatch)")
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

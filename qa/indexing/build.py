"""Building an index: chunk, tokenise and embed every source document, with a manifest of what it depends on."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from qa.indexing.bm25 import LexicalIndex
from qa.indexing.chunking import ChunkerSettings, chunk_document
from qa.indexing.documents import fingerprint, load_documents
from qa.indexing.lexicon import build_lexicon
from qa.indexing.store import FORMAT_VERSION, Index, _document_meta
from qa.indexing.vectors import DenseIndex
from qa.text.tokens import tokenizer_signature, tokens
from qa.types import Embedder


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

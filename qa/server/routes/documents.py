"""Document routes: the indexed documents, one document's text, one chunk."""

from __future__ import annotations

from fastapi import APIRouter

from qa.server.deps import PipelineDep
from qa.server.errors import ApiError
from qa.server.schemas import (
    ChunkOut,
    DocumentOut,
    DocumentsResponse,
    DocumentText,
)

router = APIRouter(tags=["documents"])


@router.get("/chunks/{chunk_id:path}", response_model=ChunkOut)
def chunk(chunk_id: str, p: PipelineDep) -> ChunkOut:
    """One chunk with its sentences and offsets."""
    found = p.index.chunk_by_id.get(chunk_id)
    if found is None:
        raise ApiError(404, "chunk_not_found", f"no chunk with id {chunk_id!r}")
    return ChunkOut.of(found)


@router.get("/documents", response_model=DocumentsResponse)
def documents(p: PipelineDep) -> DocumentsResponse:
    """Metadata of the indexed documents and of the index."""
    counts: dict[str, int] = {}
    for c in p.index.chunks:
        counts[c.doc] = counts.get(c.doc, 0) + 1
    docs = [
        DocumentOut(
            id=d.id,
            path=d.path,
            title=d.title,
            date=d.date,
            chars=len(d.text),
            sha256=d.sha256,
            chunks=counts.get(d.id, 0),
        )
        for d in p.index.documents.values()
    ]
    manifest = {k: v for k, v in p.index.manifest.items() if k not in ("files", "documents")}
    return DocumentsResponse(documents=docs, index=manifest)


@router.get("/documents/{doc_id}", response_model=DocumentText)
def document(doc_id: str, p: PipelineDep) -> DocumentText:
    """One document's full text (offsets of chunks and citations index into it)."""
    doc = p.index.documents.get(doc_id)
    if doc is None:
        raise ApiError(404, "document_not_found", f"no document with id {doc_id!r}")
    return DocumentText(id=doc.id, title=doc.title, date=doc.date, text=doc.text, body_start=doc.body_start)

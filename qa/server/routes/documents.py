"""Document routes: the indexed documents, one document's text, one chunk."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import Response

from qa.errors import DocumentExists, DocumentNotFound, DocumentRejected, IndexWriteError, ReindexBusy
from qa.server.deps import PipelineDep, StateDep
from qa.server.errors import ApiError, write_failed
from qa.server.schemas import (
    ChunkOut,
    DocumentCreated,
    DocumentIn,
    DocumentOut,
    DocumentsResponse,
    DocumentText,
    ErrorResponse,
)
from qa.text.folding import fold
from qa.types import NewDocument

router = APIRouter(tags=["documents"])


@router.get("/chunks/{chunk_id:path}", response_model=ChunkOut)
def chunk(chunk_id: str, p: PipelineDep) -> ChunkOut:
    """One chunk with its sentences and offsets."""
    found = p.index.chunk_by_id.get(chunk_id)
    if found is None:
        raise ApiError(404, "chunk_not_found", f"no chunk with id {chunk_id!r}")
    return ChunkOut.of(found)


@router.get("/documents", response_model=DocumentsResponse)
def documents(
    p: PipelineDep,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Only documents whose id or title holds each of these words (any script, any case, any order)",
        ),
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="At most this many (default: all)")] = None,
    offset: Annotated[int, Query(ge=0, description="Skip this many of those found")] = 0,
) -> DocumentsResponse:
    """Metadata of the indexed documents (all of them, or a page of those found) and of the index; `total` is how
    many were found. An archive's reader finds an article by name (`q`) rather than reading a list of thousands."""
    found = list(p.index.documents.values())
    words = fold(q).split() if q else []
    if words:
        names = p.index.document_names
        found = [d for d in found if all(w in names[d.id] for w in words)]
    page = found[offset : offset + limit] if limit is not None else found[offset:]
    rows = p.index.doc_rows  # the live chunks of each document (a replaced one's old chunks are not its own)
    docs = [
        DocumentOut(
            id=d.id,
            path=d.path,
            title=d.title,
            date=d.date,
            url=d.url,
            chars=len(d.text),
            sha256=d.sha256,
            chunks=len(rows.get(d.id, ())),
        )
        for d in page
    ]
    manifest = {k: v for k, v in p.index.manifest.items() if k not in ("files", "documents")}
    return DocumentsResponse(documents=docs, total=len(found), index=manifest)


@router.get("/documents/{doc_id}", response_model=DocumentText)
def document(doc_id: str, p: PipelineDep) -> DocumentText:
    """One document's full text (offsets of chunks and citations index into it)."""
    doc = p.index.documents.get(doc_id)
    if doc is None:
        raise ApiError(404, "document_not_found", f"no document with id {doc_id!r}")
    return DocumentText(
        id=doc.id, title=doc.title, date=doc.date, url=doc.url, text=doc.text, body_start=doc.body_start
    )


@router.post(
    "/documents",
    response_model=DocumentCreated,
    status_code=201,
    tags=["admin"],
    responses={
        409: {"model": ErrorResponse},
        503: {"model": ErrorResponse, "description": "The index folder cannot be written (index_not_writable)"},
        507: {"model": ErrorResponse, "description": "No space left for the document (insufficient_storage)"},
    },
)
async def add_document(
    body: DocumentIn,
    state: StateDep,
    _: PipelineDep,
    replace: Annotated[bool, Query(description="Overwrite a document with the same id (409 otherwise)")] = False,
) -> DocumentCreated:
    """Add a document (admin key): it is searchable when this returns; nothing else is rebuilt."""
    doc = NewDocument(text=body.text, id=body.id, title=body.title, date=body.date, url=body.url)
    try:
        added = await anyio.to_thread.run_sync(lambda: state.add_document(doc, replace=replace))
    except DocumentExists as exc:
        raise ApiError(409, "document_exists", str(exc), param="id") from exc
    except DocumentRejected as exc:
        raise ApiError(422, "document_rejected", str(exc), param=exc.field) from exc
    except ReindexBusy as exc:
        raise ApiError(409, "index_busy", str(exc), headers={"Retry-After": "5"}) from exc
    except IndexWriteError as exc:
        raise write_failed(exc, "nothing was added") from exc
    return DocumentCreated(id=added.document.id, chunks=added.chunks, replaced=added.replaced)


@router.delete(
    "/documents/{doc_id}",
    status_code=204,
    tags=["admin"],
    responses={
        404: {"model": ErrorResponse},
        409: {"model": ErrorResponse},
        503: {"model": ErrorResponse, "description": "The index folder cannot be written (index_not_writable)"},
        507: {"model": ErrorResponse, "description": "No space left to record the removal (insufficient_storage)"},
    },
)
async def remove_document(doc_id: str, state: StateDep, _: PipelineDep) -> Response:
    """Remove a document added earlier (admin key): 204, or 404 when no document has that id."""
    try:
        await anyio.to_thread.run_sync(lambda: state.remove_document(doc_id))
    except DocumentNotFound as exc:
        raise ApiError(404, "document_not_found", str(exc)) from exc
    except DocumentExists as exc:
        raise ApiError(409, "seed_document", str(exc)) from exc
    except ReindexBusy as exc:
        raise ApiError(409, "index_busy", str(exc), headers={"Retry-After": "5"}) from exc
    except IndexWriteError as exc:
        raise write_failed(exc, "nothing was removed") from exc
    return Response(status_code=204)

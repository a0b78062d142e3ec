"""The HTTP API: create_app(settings, *, parts...) -> FastAPI. Routes stay thin."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.answer import Turn
from qa.config import Settings
from qa.deps import STATUS_CODES, ApiError, Ready, ReindexBusy, State, clean_question, error_response
from qa.documents import SourceError
from qa.engine import Event
from qa.index import IndexError_
from qa.metrics import record_retrieval
from qa.openai_compat import install_openai
from qa.production import install_production
from qa.schemas import (
    AskRequest,
    AskResponse,
    ChunkOut,
    DocumentOut,
    DocumentsResponse,
    DocumentText,
    ErrorResponse,
    HealthResponse,
    PassageOut,
    ReindexResponse,
    SearchResponse,
)
from qa.service import Pipeline
from qa.webui import install_web

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, pipeline: Pipeline | None = None, load_before_serving: bool = False) -> FastAPI:
    """The application; given a pipeline it is ready at once, otherwise it loads the index in the background
    (answering 503 until then), or before it starts serving at all (load_before_serving: for worker processes
    that share one socket, so that none takes requests it cannot answer)."""
    state = State()
    state.pipeline = pipeline

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if state.pipeline is None and load_before_serving:
            await anyio.to_thread.run_sync(state.load, settings)
        elif state.pipeline is None:
            threading.Thread(target=state.load, args=(settings,), name="index-loader", daemon=True).start()
        _on_sighup(lambda: _reindex_in_background(state, settings))
        yield

    app = FastAPI(
        title="Article QA",
        version="0.1.0",
        description="Cited answers about news articles: every claim quotes the source's exact words.",
        lifespan=lifespan,
        responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    )
    app.state.qa = state

    _install_error_handlers(app)

    _qa_routes(app, settings)
    _document_routes(app)
    _ops_routes(app, settings, state)
    install_openai(app, settings)
    install_web(app, settings)
    install_production(app, settings)
    return app


def app_factory() -> FastAPI:
    """The app from the environment: for `qa serve --workers N` (uvicorn imports it in each worker)."""
    from qa.logs import configure_logging

    settings = Settings()
    configure_logging(settings)
    return create_app(settings, load_before_serving=True)


def _qa_routes(app: FastAPI, settings: Settings) -> None:
    def parse(body: AskRequest) -> tuple[str, int, list[Turn]]:
        question = clean_question(body.question, settings.max_question_chars)
        history = [Turn(t.question, t.answer) for t in (body.history or [])][-settings.max_history_turns :]
        return question, _top_k(body.top_k, settings), history

    @app.post("/ask", response_model=AskResponse, tags=["qa"])
    async def ask(body: AskRequest, p: Ready) -> AskResponse:
        """Answer a question with citations that point at the exact words of the source."""
        question, top_k, history = parse(body)
        return AskResponse.of(await p.engine.ask(question, top_k=top_k, history=history))

    @app.post(
        "/ask/stream",
        tags=["qa"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": STREAM_DOC}},
    )
    async def ask_stream(body: AskRequest, p: Ready) -> StreamingResponse:
        """Server-Sent Events: `passages`, then `delta` text pieces, then `final` (the authoritative answer)."""
        question, top_k, history = parse(body)
        events = p.engine.stream(question, top_k=top_k, history=history)
        return StreamingResponse(sse(events), media_type="text/event-stream", headers=SSE_HEADERS)

    @app.get("/search", response_model=SearchResponse, tags=["qa"])
    def search(
        p: Ready,
        q: Annotated[str, Query(description="The query")],
        k: Annotated[int | None, Query(description="How many passages")] = None,
    ) -> SearchResponse:
        """Ranked passages for a query, without an answer."""
        query = clean_question(q, settings.max_question_chars)
        started = time.perf_counter()
        hits = p.retriever.search(p.retriever.prepare(query), _top_k(k, settings))
        record_retrieval(time.perf_counter() - started)
        return SearchResponse(query=query, passages=[PassageOut.of(h) for h in hits])


def _document_routes(app: FastAPI) -> None:
    @app.get("/chunks/{chunk_id:path}", response_model=ChunkOut, tags=["documents"])
    def chunk(chunk_id: str, p: Ready) -> ChunkOut:
        """One chunk with its sentences and offsets."""
        found = p.index.chunk_by_id.get(chunk_id)
        if found is None:
            raise ApiError(404, "chunk_not_found", f"no chunk with id {chunk_id!r}")
        return ChunkOut.of(found)

    @app.get("/documents", response_model=DocumentsResponse, tags=["documents"])
    def documents(p: Ready) -> DocumentsResponse:
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

    @app.get("/documents/{doc_id}", response_model=DocumentText, tags=["documents"])
    def document(doc_id: str, p: Ready) -> DocumentText:
        """One document's full text (offsets of chunks and citations index into it)."""
        doc = p.index.documents.get(doc_id)
        if doc is None:
            raise ApiError(404, "document_not_found", f"no document with id {doc_id!r}")
        return DocumentText(id=doc.id, title=doc.title, date=doc.date, text=doc.text, body_start=doc.body_start)


def _ops_routes(app: FastAPI, settings: Settings, state: State) -> None:
    @app.post("/admin/reindex", response_model=ReindexResponse, tags=["admin"])
    async def reindex(_: Ready) -> ReindexResponse:
        """Rebuild the index from the seeds and swap it in; requests in flight finish on the old one."""
        try:
            fresh = await anyio.to_thread.run_sync(state.reindex, settings)
        except ReindexBusy as exc:
            raise ApiError(409, "reindex_running", str(exc)) from exc
        except (SourceError, IndexError_) as exc:
            raise ApiError(422, "reindex_failed", f"{exc}; the previous index is still serving") from exc
        manifest = fresh.index.manifest
        return ReindexResponse(built_at=manifest["built_at"], counts=manifest["counts"])

    @app.get("/health", response_model=HealthResponse, tags=["ops"], responses={503: {"model": HealthResponse}})
    def health() -> JSONResponse:
        """Ready (200) once the index is loaded; 503 while loading or when loading failed."""
        if state.pipeline is not None:
            return JSONResponse(HealthResponse(status="ok", ready=True).model_dump())
        status: Literal["failed", "loading"] = "failed" if state.error else "loading"
        return JSONResponse(
            HealthResponse(status=status, ready=False, detail=state.error).model_dump(), status_code=503
        )


STREAM_DOC = (
    "event: passages / data: {passages: [...]}; event: delta / data: {text}; "
    "event: final / data: the /ask response (authoritative: replaces the streamed text)."
)
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def sse(events: AsyncGenerator[Event, None]) -> AsyncIterator[bytes]:
    """Format engine events as Server-Sent Events; a client that leaves cancels the generator (and the LLM)."""
    try:
        async for event in events:
            if event.kind == "passages":
                data: Any = {"passages": [PassageOut.of(h).model_dump() for h in event.passages]}
            elif event.kind == "delta":
                data = {"text": event.text}
            elif event.answer is not None:
                data = AskResponse.of(event.answer).model_dump()
            else:
                continue
            yield f"event: {event.kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
    finally:
        await events.aclose()


def _on_sighup(callback: Callable[[], None]) -> None:
    """Run callback on SIGHUP, when serving from the main thread (signals cannot be caught elsewhere)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
        return
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, callback)
    except (NotImplementedError, RuntimeError, ValueError):
        log.warning("SIGHUP reindexing is not available here")


def _reindex_in_background(state: State, settings: Settings) -> None:
    def run() -> None:
        try:
            state.reindex(settings)
        except Exception:  # the old index keeps serving; the log says why
            log.exception("reindex on SIGHUP failed")

    threading.Thread(target=run, name="reindex", daemon=True).start()


def _top_k(k: int | None, settings: Settings) -> int:
    if k is None:
        return settings.default_top_k
    if not 1 <= k <= settings.max_top_k:
        raise ApiError(422, "top_k_out_of_range", f"top_k/k must be between 1 and {settings.max_top_k}, got {k}")
    return k


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")} for e in exc.errors()]
        if any(e["type"] == "json_invalid" for e in errors):
            return error_response(400, "invalid_json", "the request body is not valid JSON", errors)
        where = ", ".join(".".join(str(p) for p in e["loc"]) + f": {e['msg']}" for e in errors)
        return error_response(422, "invalid_request", f"invalid request: {where}", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")

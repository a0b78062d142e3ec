"""The HTTP app factory: create_app(settings, *, pipeline | load, rebuild) -> FastAPI. Routes stay thin."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.config import Settings
from qa.errors import IndexUnusable
from qa.server.errors import STATUS_CODES, UNREADABLE_BODY, ApiError, error_response, unreadable_body
from qa.server.metrics import Metrics
from qa.server.middleware.stack import install_middleware
from qa.server.openapi import document_errors, install_docs
from qa.server.routes import documents, ops, qa, web
from qa.server.routes import openai as openai_routes
from qa.server.schemas import ErrorResponse
from qa.server.state import Library, Loader, Pipeline, Rebuilder, State, Watch

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    pipeline: Pipeline | None = None,
    load: Loader | None = None,
    rebuild: Rebuilder | None = None,
    library: Library | None = None,
    load_before_serving: bool = False,
    reload: Rebuilder | None = None,
) -> FastAPI:
    """The application. Given a pipeline it is ready at once; otherwise `load` builds one in the background
    (503 until then), or before it starts serving at all (load_before_serving: for worker processes that share
    one socket, so that none takes requests it cannot answer). `rebuild` makes /admin/reindex and SIGHUP work.
    A load that fails is tried again with backoff; `reload` loads the index another worker wrote, looked for
    every index_check_seconds."""
    server = settings.server
    watch = Watch(
        settings.index_dir, server.index_check_seconds, server.load_retry_seconds, server.load_retry_max_seconds
    )
    state = State(load=load, rebuild=rebuild, library=library, pipeline=pipeline, reload=reload, watch=watch)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        failed = False
        if state.pipeline is None and load_before_serving:
            failed = not await anyio.to_thread.run_sync(state.load)
            if failed and settings.on_index_mismatch == "refuse":
                # Told to refuse: the worker exits (uvicorn's startup failure, which stops every worker) rather
                # than serve 503s for an index that will not load.
                raise IndexUnusable(f"the index could not be loaded: {state.error}")
        stop = threading.Event()
        keeper = threading.Thread(
            target=state.keep_current, args=(stop,), kwargs={"failed_once": failed}, name="index-keeper", daemon=True
        )
        keeper.start()
        _on_sighup(lambda: _reindex_in_background(state))
        try:
            yield
        finally:
            stop.set()
            await state.aclose()
            metrics.close()

    app = FastAPI(
        title="Article QA",
        version="0.1.0",
        description="Cited answers about news articles: every claim quotes the source's exact words.",
        lifespan=lifespan,
        responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
        # FastAPI's pages load their scripts from a CDN (broken offline) and send no CSP: install_docs serves
        # /docs from local files instead; ReDoc has no such package, so there is no /redoc.
        docs_url=None,
        redoc_url=None,
    )
    metrics = Metrics()
    app.state.qa = state
    app.state.settings = settings
    app.state.metrics = metrics
    _install_error_handlers(app)
    for router in (qa.router, documents.router, ops.router, openai_routes.router, web.router):
        app.include_router(router)
    openai_routes.install_error_shape(app)
    install_docs(app, settings)
    document_errors(app, settings)
    install_middleware(app, settings, metrics)
    return app


def _on_sighup(callback: Callable[[], None]) -> None:
    """Run callback on SIGHUP, when serving from the main thread (signals cannot be caught elsewhere)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
        return
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, callback)
    except (NotImplementedError, RuntimeError, ValueError):
        log.warning("SIGHUP reindexing is not available here")


def _reindex_in_background(state: State) -> None:
    def run() -> None:
        try:
            state.reindex()
        except Exception:  # the old index keeps serving; the log says why
            log.exception("reindex on SIGHUP failed")

    threading.Thread(target=run, name="reindex", daemon=True).start()


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, headers=exc.headers, param=exc.param)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")} for e in exc.errors()]
        if any(e["type"] == "json_invalid" for e in errors):
            return error_response(400, "invalid_json", "the request body is not valid JSON", errors)
        if _not_json(request, errors):
            # FastAPI reads a body as JSON only when it is said to be: another one is "not a dictionary".
            sent = request.headers.get("content-type") or "none"
            message = f"the request body must be JSON sent with Content-Type: application/json (got {sent})"
            return error_response(415, "unsupported_media_type", message)
        param = _param(errors)
        if named := _named_error(exc.errors(), request.app.state.settings):
            # As the route's own check words it: the schema's bound (top_k <= 50) is not the configured one.
            return error_response(422, *named, param=param)
        where = ", ".join(".".join(str(p) for p in e["loc"]) + f": {e['msg']}" for e in errors)
        return error_response(422, "invalid_request", f"invalid request: {where}", errors, param=param)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if unreadable_body(exc.status_code, exc.detail):
            return error_response(400, "invalid_json", UNREADABLE_BODY)
        code = STATUS_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


def _not_json(request: Request, errors: Sequence[dict[str, Any]]) -> bool:
    """Whether a body FastAPI did not read as JSON (its content type says otherwise) is all that is wrong."""
    body_wrong = len(errors) == 1 and errors[0]["loc"] == ["body"] and errors[0]["type"] in _NOT_AN_OBJECT
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    return body_wrong and kind != "application/json" and not kind.endswith("+json")


_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type"})


def _param(errors: Sequence[dict[str, Any]]) -> str | None:
    """The request field the first error is about (`top_k`, `docs`, `history.0.answer`), as `param` names it; None for
    the body as a whole. It was null for a field the schema checks, named only for those a route checks itself."""
    loc = errors[0]["loc"] if errors else []
    return ".".join(str(p) for p in loc[1:]) or None


def _named_error(errors: Sequence[Any], settings: Settings) -> tuple[str, str] | None:
    """The API's own code for a bound the schema states (so that the schema's check and the route's own give the
    same error): top_k/k out of range, an empty question. None for anything else."""
    if len(errors) != 1:
        return None
    error = errors[0]
    loc, kind = error.get("loc", ()), error.get("type")
    field = str(loc[-1]) if loc else ""
    if field in ("top_k", "k") and kind in ("greater_than_equal", "less_than_equal"):
        most = settings.retrieval.max_top_k
        return "top_k_out_of_range", f"top_k/k must be between 1 and {most}, got {error.get('input')}"
    if field in ("q", "question") and kind == "string_too_short":
        return "empty_question", "question must not be empty or blank"
    return None

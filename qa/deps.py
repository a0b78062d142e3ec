"""What routes share: the error shape, the loaded pipeline as a dependency, question cleaning."""

from __future__ import annotations

import logging
import re
import threading
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from qa.config import Settings
from qa.index import build as build_index
from qa.index import load as load_index
from qa.index import save as save_index
from qa.service import Pipeline, build_pipeline, make_embedder

log = logging.getLogger(__name__)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "not_ready",
}


class ApiError(Exception):
    """An error answered with the consistent error shape."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error shape: {"error": {"code", "message", "details"?}}."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


class State:
    """The pipeline once loaded, or why it is not there yet."""

    def __init__(self) -> None:
        self.pipeline: Pipeline | None = None
        self.error: str | None = None
        self._reindexing = threading.Lock()

    def load(self, settings: Settings) -> None:
        """Build the pipeline (in a background thread at start-up)."""
        try:
            self.pipeline = build_pipeline(settings)
        except Exception as exc:  # the service stays up and says why it is not ready
            log.exception("index could not be loaded")
            self.error = str(exc)

    def reindex(self, settings: Settings) -> Pipeline:
        """Rebuild the index from the seeds and swap the new pipeline in at once.

        Requests in flight keep the pipeline they started with and finish on the old index. Raises
        ReindexBusy when a rebuild is already running; any build error leaves the old pipeline serving.
        """
        if not self._reindexing.acquire(blocking=False):
            raise ReindexBusy("a rebuild is already running")
        try:
            embedder = self.pipeline.embedder if self.pipeline else make_embedder(settings)
            fresh = build_index(settings.seeds_dir, embedder)
            save_index(fresh, settings.index_dir)
            pipeline = build_pipeline(settings, embedder=embedder, index=load_index(settings.index_dir))
            self.pipeline, self.error = pipeline, None
            log.info("reindexed: %s chunks", len(pipeline.index.chunks))
            return pipeline
        finally:
            self._reindexing.release()


class ReindexBusy(RuntimeError):
    """A rebuild was asked for while one is running."""


def ready_pipeline(request: Request) -> Pipeline:
    """The loaded pipeline, or 503 while the index is loading (or failed to load)."""
    state: State = request.app.state.qa
    if state.pipeline is None:
        message = f"index failed to load: {state.error}" if state.error else "the index is still loading"
        raise ApiError(503, "not_ready", message, headers={"Retry-After": "2"})
    return state.pipeline


Ready = Annotated[Pipeline, Depends(ready_pipeline)]


def clean_question(text: str, limit: int) -> str:
    """Strip control characters and blanks; reject an empty or over-long question."""
    text = _CONTROL_RE.sub("", text).strip()
    if not text:
        raise ApiError(422, "empty_question", "question must not be empty or blank")
    if len(text) > limit:
        raise ApiError(422, "question_too_long", f"question is {len(text)} characters; the limit is {limit}")
    return text

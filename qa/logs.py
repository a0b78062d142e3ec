"""Structured logs: one JSON object per line, a request id on every line, and one access line per request."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.config import Settings
from qa.deps import error_response

access_log = logging.getLogger("qa.access")
log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_request_id: ContextVar[str | None] = ContextVar("qa_request_id", default=None)
# The attributes every LogRecord has; anything else on a record came through `extra=` and is logged as a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's message again, with terminal colour codes
}


def current_request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    return _request_id.get()


def request_id_from(value: str | None) -> str:
    """The caller's request id when it is sane (short, plain characters), else a new one."""
    if value and _SANE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message, request_id and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Plain text for people at a terminal, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The usual line, prefixed with the request id."""
        line = super().format(record)
        rid = getattr(record, "request_id", None) or current_request_id()
        return f"[{rid}] {line}" if rid else line


def configure_logging(settings: Settings) -> None:
    """Send every log line to stderr in the configured format; call once when the service is served."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # qa.access replaces uvicorn's access log: it carries the request id, route and duration.
    logging.getLogger("uvicorn.access").disabled = True


class RequestContextMiddleware:
    """Give each request an id (X-Request-ID in and out), log one access line, and turn a crash into a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = request_id_from(headers.get(b"x-request-id", b"").decode("latin-1"))
        scope.setdefault("state", {})["request_id"] = rid
        token = _request_id.set(rid)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if response_started:
                raise  # the response is half sent: only closing the connection tells the client
            status = 500
            reply = error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
            reply.headers[REQUEST_ID_HEADER] = rid
            await reply(scope, receive, send)
        finally:
            client = scope.get("client")
            access_log.log(
                _level(status),
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "request_id": rid,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": client[0] if client else None,
                },
            )
            _request_id.reset(token)


def _level(status: int) -> int:
    """ERROR for a crash, WARNING for the other 5xx (not ready, timeout), INFO for the rest."""
    if status == 500:
        return logging.ERROR
    return logging.WARNING if status >= 500 else logging.INFO

"""Request context middleware: a request id in and out, one access log line, a crash turned into a 500 (inside
the security-headers and CORS middleware, so that it carries their headers)."""

from __future__ import annotations

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.server.errors import error_response
from qa.server.logs import REQUEST_ID_HEADER, _request_id, access_log, log, request_id_from
from qa.server.middleware.headers import raw_header
from qa.server.middleware.security import add_security_headers

CRASH_MESSAGE = "an unexpected error occurred; it has been logged"


class CrashMiddleware:
    """Turn an exception from the app into the usual 500 error. It sits inside the security-headers and CORS
    middleware so that a 500 carries their headers like any other reply (one answered by the outermost
    middleware went out without them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception:
            if started:
                raise  # the response is half sent: only closing the connection tells the client
            log.exception("unhandled error")
            await error_response(500, "internal_error", CRASH_MESSAGE)(scope, receive, send)


class RequestContextMiddleware:
    """Give each request an id (X-Request-ID in and out), log one access line, and turn a crash into a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_from((raw_header(scope, b"x-request-id") or b"").decode("latin-1"))
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
        except Exception:  # a crash in the middleware itself (CrashMiddleware answers the app's own)
            log.exception("unhandled error")
            if response_started:
                raise  # the response is half sent: only closing the connection tells the client
            status = 500
            reply = error_response(500, "internal_error", CRASH_MESSAGE)
            reply.headers[REQUEST_ID_HEADER] = rid
            add_security_headers(reply.headers)
            await reply(scope, receive, send)
        finally:
            if access_log.isEnabledFor(level := _level(status)):
                _log_access(scope, rid, status, started, level)
            _request_id.reset(token)


def _log_access(scope: Scope, rid: str, status: int, started: float, level: int) -> None:
    """The one access line of a request (built only when the level is logged)."""
    client = scope.get("client")
    access_log.log(
        level,
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


def _level(status: int) -> int:
    """ERROR for a crash, WARNING for the other 5xx (not ready, timeout), INFO for the rest."""
    if status == 500:
        return logging.ERROR
    return logging.WARNING if status >= 500 else logging.INFO

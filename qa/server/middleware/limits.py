"""Request limits: body size (413), the time a body may take to arrive (408), the time until a response starts
(504)."""

from __future__ import annotations

import math

import anyio
import anyio.lowlevel
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.errors import QAError
from qa.server.errors import error_response


class BodyTooLarge(HTTPException, QAError):
    """The request body is over the limit. An HTTPException, because FastAPI passes only those through while it
    reads a body (it turns others into a 400); its handler gives the usual 413 error shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the limit of {limit} bytes")


class BodyLimitMiddleware:
    """413 for a body over `limit` bytes: at once from Content-Length, or while it streams in without one; 408 when
    the app waits for a body that has not arrived in full `timeout` seconds after the request began (a body
    shorter than its Content-Length was otherwise held until the request timeout). 0: no limit."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float = 0.0) -> None:
        self.app, self.limit, self.timeout = app, limit, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http" or (self.limit <= 0 and self.timeout <= 0):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if self.limit > 0 and declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        deadline = anyio.current_time() + self.timeout if self.timeout > 0 else math.inf
        received = 0
        more_body = True
        started = timed_out = False

        with anyio.CancelScope() as app_scope:

            async def counted_receive() -> Message:
                nonlocal received, more_body, timed_out
                if not more_body:  # the body is in: what follows (a disconnect) may take as long as it takes
                    return await receive()
                message: Message | None = None
                with anyio.CancelScope(deadline=deadline):
                    message = await receive()
                if message is None:  # the body is late: stop the app and answer 408 below
                    timed_out = True
                    app_scope.cancel()
                    await anyio.lowlevel.checkpoint()
                    raise AssertionError("unreachable: the cancelled scope raised above")
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    more_body = bool(message.get("more_body", False))
                    if 0 < self.limit < received:
                        raise BodyTooLarge(self.limit)
                return message

            async def watched_send(message: Message) -> None:
                nonlocal started
                started = started or message["type"] == "http.response.start"
                await send(message)

            try:
                await self.app(scope, counted_receive, watched_send)
            except BodyTooLarge:
                if started:
                    raise
                await self._refuse(scope, receive, send)
        if timed_out and not started:
            message = f"the request body did not arrive in full within {self.timeout:g} s"
            # Connection: close, since the rest of the body may still come and cannot be told from a next request.
            reply = error_response(408, "request_timeout", message, headers={"Connection": "close"})
            await reply(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is over the limit of {self.limit} bytes"
        await error_response(413, "payload_too_large", message)(scope, receive, send)


class TimeoutMiddleware:
    """504 when no response has started within `seconds` (a started response, e.g. an SSE stream, may run on).

    Work in a worker thread cannot be interrupted: the 504 then comes when that piece of work returns.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        started = False
        with anyio.CancelScope(deadline=anyio.current_time() + self.seconds) as deadline:

            async def send_and_lift(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                    deadline.deadline = math.inf
                await send(message)

            await self.app(scope, receive, send_and_lift)
        if deadline.cancelled_caught and not started:
            message = f"no response within {self.seconds:g} s"
            await error_response(504, "timeout", message)(scope, receive, send)

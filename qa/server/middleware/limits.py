"""Request limits: body size (413), a compressed body (415: no route reads one), the time a body may take to arrive
(408), the time until a response starts (504)."""

from __future__ import annotations

import asyncio
import math

import anyio
import anyio.lowlevel
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.errors import QAError
from qa.server.errors import error_response
from qa.server.middleware.headers import raw_header


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
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        coding = (raw_header(scope, b"content-encoding") or b"").strip().lower()
        if coding not in (b"", b"identity") and scope["method"] in ("POST", "PUT", "PATCH"):
            # A gzip body was read as its compressed bytes (400: not UTF-8), and a plain one labelled gzip as if plain.
            named = coding[:40].decode("latin-1")
            message = f"the request body must not be encoded (Content-Encoding: {named} is not supported)"
            await error_response(415, "unsupported_media_type", message)(scope, receive, send)
            return
        if self.limit <= 0 and self.timeout <= 0:
            await self.app(scope, receive, send)
            return
        declared = raw_header(scope, b"content-length")
        if self.limit > 0 and declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return

        loop = asyncio.get_running_loop()
        with anyio.CancelScope() as app_scope:
            deadline = loop.time() + self.timeout if self.timeout > 0 else math.inf
            body = _Body(receive, send, limit=self.limit, deadline=deadline, app_scope=app_scope)
            # One timer for the request, not a cancel scope with a deadline around every receive (~5 µs a request).
            timer = loop.call_at(deadline, body.late) if self.timeout > 0 else None
            try:
                await self.app(scope, body.receive, body.send)
            except BodyTooLarge:
                if body.started:
                    raise
                await self._refuse(scope, receive, send)
            finally:
                if timer is not None:
                    timer.cancel()
        if body.timed_out and not body.started:
            message = f"the request body did not arrive in full within {self.timeout:g} s"
            # Connection: close, since the rest of the body may still come and cannot be told from a next request.
            reply = error_response(408, "request_timeout", message, headers={"Connection": "close"})
            await reply(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is over the limit of {self.limit} bytes"
        await error_response(413, "payload_too_large", message)(scope, receive, send)


class _Body:
    """One request's body as the app receives it: counted against the limit and timed against the deadline; and
    whether the response has started."""

    def __init__(
        self, receive: Receive, send: Send, *, limit: int, deadline: float, app_scope: anyio.CancelScope
    ) -> None:
        self._receive, self._send, self.limit, self.deadline, self.app_scope = receive, send, limit, deadline, app_scope
        self.received = 0
        self.more_body = True
        self.started = self.timed_out = self.waiting = self.past_deadline = False

    def late(self) -> None:
        """The deadline has come: an app waiting for the rest of the body is stopped (answered 408)."""
        self.past_deadline = True
        if self.waiting and self.more_body:
            self.timed_out = True
            self.app_scope.cancel()

    async def receive(self) -> Message:
        """The next message, counted; past the deadline only one that has already arrived."""
        if not self.more_body:  # the body is in: what follows (a disconnect) may take as long as it takes
            return await self._receive()
        message: Message | None = None
        if self.past_deadline:
            with anyio.CancelScope(deadline=self.deadline):
                message = await self._receive()
        else:
            self.waiting = True
            try:
                message = await self._receive()
            finally:
                self.waiting = False
        if message is None:  # the body is late: stop the app and answer 408
            self.timed_out = True
            self.app_scope.cancel()
            await anyio.lowlevel.checkpoint()
            raise AssertionError("unreachable: the cancelled scope raised above")
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.more_body = bool(message.get("more_body", False))
            if 0 < self.limit < self.received:
                raise BodyTooLarge(self.limit)
        return message

    async def send(self, message: Message) -> None:
        """Send, noting when the response starts."""
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


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
        loop = asyncio.get_running_loop()
        with anyio.CancelScope() as app_scope:
            # A timer that cancels, rather than a deadline on the scope: lifted by cancelling it (~3 µs a request).
            timer = loop.call_at(loop.time() + self.seconds, app_scope.cancel)

            async def send_and_lift(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                    timer.cancel()
                await send(message)

            try:
                await self.app(scope, receive, send_and_lift)
            finally:
                timer.cancel()
        if app_scope.cancelled_caught and not started:
            message = f"no response within {self.seconds:g} s"
            await error_response(504, "timeout", message)(scope, receive, send)

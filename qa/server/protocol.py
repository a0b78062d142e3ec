"""How `qa serve` runs uvicorn: bounded request heads and bodies, a connection cap, proxies trusted by name."""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from qa.config import Settings
from qa.server.coalesce import CoalescingTransport
from qa.server.errors import openai_error_body

log = logging.getLogger(__name__)

# Descriptors kept free for everything but connections: a loaded worker holds ~16 (index, model, logs).
RESERVED_DESCRIPTORS = 64
# The body-limit middleware answers a late body with a 408 at body_timeout; the protocol closes a connection
# whose body is still incomplete this much later (a request the app never read, or a client dripping on).
BODY_GRACE = 5.0


def _error_body(status: int, code: str, message: str) -> bytes:
    """OpenAI's error shape, which holds the API's `code` and `message` too: the protocol answers before any route is
    known, so its replies are read by the API's clients and by OpenAI's (for /v1) alike."""
    return json.dumps(openai_error_body(status, code, message)).encode()


def _closing_reply(status: bytes, code: str, message: str) -> bytes:
    """A whole response, written by the protocol itself, in the API's error shape; the connection closes after it."""
    body = _error_body(int(status.split()[0]), code, message)
    head = b"HTTP/1.1 %s\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: %d\r\n\r\n"
    return head % (status, len(body)) + body


REQUEST_TIMEOUT_408 = _closing_reply(
    b"408 Request Timeout", "request_timeout", "the request head did not arrive in time"
)
# A request the HTTP parser refused (uvicorn's body is `Invalid HTTP request received.` in plain text).
BAD_REQUEST_400 = _closing_reply(
    b"400 Bad Request",
    "bad_request",
    "the request is not valid HTTP/1.1 (its request line, a header or its body's framing)",
)


_OVERLOADED = _error_body(503, "overloaded", "every connection the server takes is busy: try again shortly")


async def overloaded(scope: Any, receive: Any, send: Any) -> None:
    """The 503 for a request past the connection cap when no idle connection can make room (uvicorn's own says
    `Service Unavailable` in plain text), in the API's error shape."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_OVERLOADED)).encode()),
        (b"retry-after", b"1"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": _OVERLOADED, "more_body": False})


@dataclass(frozen=True)
class Limits:
    """What the guarded protocol enforces on each connection of one worker process."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 1000


class ServerConfig(uvicorn.Config):
    """uvicorn's Config with the Limits that GuardedProtocol reads (pickled whole to worker processes)."""

    def __init__(self, app: Any, *, limits: Limits, **options: Any) -> None:
        # ws="none": the API has no WebSocket route, and an upgrade request answered by uvicorn's WebSocket protocol
        # got a bare 403 with no body; as plain HTTP it gets the API's own answer (405 for GET /ask, in JSON).
        options.setdefault("ws", "none")
        super().__init__(app, http=GuardedProtocol, limit_concurrency=limits.max_connections, **options)
        self.limits = limits


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds it lacks (it waits for a request head forever), writing each
    response in one piece (qa/server/coalesce.py).

    A request head must arrive within header_timeout of the connection opening, or of the request's first byte
    on a reused connection (idle time between requests is uvicorn's timeout_keep_alive); a request body within
    body_timeout + BODY_GRACE of its head. At max_connections, a new connection closes the one that has waited
    longest for a request head; if every connection is busy, uvicorn's limit_concurrency answers 503.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = config.limits if isinstance(config, ServerConfig) else Limits()
        self._timer: asyncio.TimerHandle | None = None
        self._in_head = False  # part of a request head has arrived
        self._waiting_since = time.monotonic_ns()  # not loop.time(): uvloop's is per loop turn, ms

    def send_400_response(self, msg: str) -> None:
        """A request the parser refused: the API's JSON error, not uvicorn's plain text."""
        self.transport.write(BAD_REQUEST_400)
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request head, making room under the cap first. Writes go through a
        CoalescingTransport: a response's head and body leave in one segment."""
        super().connection_made(CoalescingTransport(transport, self.loop))
        self._waiting_since = time.monotonic_ns()
        self._arm(self.limits.header_timeout, self._head_late)
        self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        """A request's first byte: on a reused connection, its head's clock starts now."""
        super().on_message_begin()
        self._in_head = True
        if self._timer is None:
            self._arm(self.limits.header_timeout, self._head_late)

    def on_headers_complete(self) -> None:
        """The head is in: its clock stops and the body's starts. Past the cap, the request gets overloaded()
        instead of uvicorn's plain-text 503 (the same test as uvicorn's; its app is swapped for this request only)."""
        self._disarm()
        self._in_head = False
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            app, self.app, self.limit_concurrency = self.app, overloaded, None
            self.logger.warning("Exceeded concurrency limit.")
            try:
                super().on_headers_complete()
            finally:
                self.app, self.limit_concurrency = app, limit
        else:
            super().on_headers_complete()
        if self.limits.body_timeout > 0 and not self.parser.should_upgrade():
            self._arm(self.limits.body_timeout + BODY_GRACE, self._body_late)

    def on_message_complete(self) -> None:
        """The body is in."""
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        """Idle again: from now on the connection waits for a request head."""
        super().on_response_complete()
        self._waiting_since = time.monotonic_ns()

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _idle(self) -> bool:
        """Whether no request is being answered (the connection only waits for, or reads, a request head)."""
        busy = (self.cycle is not None and not self.cycle.response_complete) or bool(self.pipeline)
        return not busy and not self.transport.is_closing()

    def _head_late(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._in_head and self._idle():  # a partial head gets a reason; a silent connection just closes
            self.transport.write(REQUEST_TIMEOUT_408)
        self.transport.close()

    def _body_late(self) -> None:
        self._timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _make_room(self) -> None:
        """At the cap, close the other connection that has waited longest for a request head."""
        # A connection already closing still counts in uvicorn's limit_concurrency (503) until its close completes:
        # it is out of the count now. (Left in, while idle ones stayed open, it turned requests away with a 503.)
        for c in [c for c in self.connections if c is not self and c.transport.is_closing()]:
            self.connections.discard(c)
        if len(self.connections) < self.limits.max_connections:
            return
        live = [c for c in self.connections if isinstance(c, GuardedProtocol)]
        waiting = [c for c in live if c is not self and c._idle()]
        if waiting:
            victim = min(waiting, key=lambda c: c._waiting_since)
            victim.transport.close()
            # Out of the count now, not when its close completes: this connection's request may come first,
            # and limit_concurrency (503) counts what is in the set.
            self.connections.discard(victim)


def connection_cap(wanted: int) -> int:
    """max_connections, lowered to fit the open-file limit (RESERVED_DESCRIPTORS kept for everything else)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    fits = max(1, soft - RESERVED_DESCRIPTORS)
    if fits < wanted:
        log.warning("max_connections %s lowered to %s to fit the open-file limit of %s", wanted, fits, soft)
    return min(wanted, fits)


def server_config(app: Any, settings: Settings, *, host: str, port: int, **options: Any) -> ServerConfig:
    """The uvicorn config `qa serve` runs with: GuardedProtocol's limits, the keep-alive time, and
    X-Forwarded-For believed only from settings.server.trusted_proxies (uvicorn's default trusts loopback)."""
    server = settings.server
    limits = Limits(server.header_timeout, server.body_timeout, connection_cap(server.max_connections))
    return ServerConfig(
        app,
        limits=limits,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=server.keep_alive_timeout,
        proxy_headers=bool(server.trusted_proxies),
        forwarded_allow_ips=list(server.trusted_proxies),
        **options,
    )

"""Per-client rate limit: a token bucket for each API key (or, without one, each client IP); 429 when empty."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from qa.server.errors import error_response


class TokenBuckets:
    """Token buckets by client: `rate` tokens a second refill each one, up to `burst`."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic, max_clients: int = 100_000
    ) -> None:
        self.rate, self.burst, self.clock, self.max_clients = rate, float(burst), clock, max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when last counted)

    def take(self, client: str) -> float:
        """Take a token: 0.0 when allowed, else the seconds until the client may try again."""
        now = self.clock()
        tokens, then = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_clients:
                self._forget_full(now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled (a forgotten client starts full, so nothing changes for it)."""
        full = [c for c, (t, then) in self._buckets.items() if t + (now - then) * self.rate >= self.burst]
        for c in full:
            del self._buckets[c]
        if len(self._buckets) > self.max_clients:  # still too many: a flood of addresses; start over
            self._buckets.clear()


def client_identity(scope: Scope, api_key: str | None) -> str:
    """Whom a request counts against: a known API key (hashed), else the client IP."""
    if api_key is not None:
        return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:16]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


class RateLimitMiddleware:
    """Answer 429 with Retry-After to a client whose bucket is empty; exempt paths are never limited."""

    def __init__(
        self,
        app: ASGIApp,
        buckets: TokenBuckets,
        *,
        known_key: Callable[[Scope], str | None],
        exempt: Callable[[str], bool],
    ) -> None:
        self.app, self.buckets, self.known_key, self.exempt = app, buckets, known_key, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http" or self.exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(client_identity(scope, self.known_key(scope)))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        reply = error_response(
            429, "rate_limited", f"too many requests; try again in {retry} s", headers={"Retry-After": str(retry)}
        )
        await reply(scope, receive, send)

"""CORS: Starlette's middleware, which a request without an Origin header (not from a browser's other site) passes
straight by."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send


class Cors(CORSMiddleware):
    """Starlette's CORSMiddleware; a request without Origin skips it (it would pass it on untouched, after parsing
    every header to find that out)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

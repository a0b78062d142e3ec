"""CORS: Starlette's middleware, which a request without an Origin header (not from a browser's other site) passes
straight by, and whose refused preflight answers in the API's error shape (it was plain text)."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from qa.server.errors import error_response


class Cors(CORSMiddleware):
    """Starlette's CORSMiddleware; a request without Origin skips it (it would pass it on untouched, after parsing
    every header to find that out)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        """Starlette's preflight answer; a refusal (`Disallowed CORS origin`, 400) in the API's error shape, with the
        same headers."""
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        kept = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
        message = f"the cross-origin request is not allowed: its {refused} (QA_ALLOWED_ORIGINS sets the origins)"
        return error_response(400, "cors_refused", message, headers=kept)

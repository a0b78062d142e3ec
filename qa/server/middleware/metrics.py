"""Metrics middleware: count and time every request by method, route template and status."""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.server.metrics import METHODS, UNMATCHED, Metrics


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The route's path template (/chunks/{chunk_id:path}), never the raw path, so labels stay few."""
    route = scope.get("route")
    if route is None:  # answered before routing (401, 413, 429…): find the route it was meant for
        route = _meant_for(scope, routes)
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    if route is not None and hasattr(route, "routes") and not path.endswith("}"):
        path += "/{path}"  # a mount (static files): one label for everything under it
    return path or "/"


class MetricsMiddleware:
    """Count and time every request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app, self.metrics, self.routes = app, metrics, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_progress.dec()
            method = scope["method"] if scope["method"] in METHODS else "other"
            requests, latency = self.metrics.http(method, route_template(scope, self.routes), str(status))
            requests.inc()
            latency.observe(time.perf_counter() - started)


def _meant_for(scope: Scope, routes: Sequence[BaseRoute]) -> BaseRoute | None:
    """The route a request matches, looked for inside the routers the app includes (FastAPI keeps an included
    router as one entry of app.routes, with no path of its own: a 401 on /ask was labelled <unmatched>)."""
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match is Match.NONE:
            continue
        # A router FastAPI includes lazily keeps its routes on the router it wraps.
        wrapped = getattr(candidate, "original_router", None)
        inner = getattr(candidate, "routes", None) or getattr(wrapped, "routes", None)
        if not isinstance(getattr(candidate, "path", None), str) and inner:
            return _meant_for(scope, inner) or candidate
        return candidate
    return None

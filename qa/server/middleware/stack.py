"""The middleware stack, in order: request ids and access logs, metrics, security headers, CORS, crashes as 500s,
time and body limits, rate limits, API keys."""

from __future__ import annotations

from fastapi import FastAPI

from qa.config import Settings
from qa.server.logs import REQUEST_ID_HEADER
from qa.server.metrics import Metrics
from qa.server.middleware.cors import Cors
from qa.server.middleware.limits import BodyLimitMiddleware, TimeoutMiddleware
from qa.server.middleware.metrics import MetricsMiddleware
from qa.server.middleware.ratelimit import RateLimitMiddleware, TokenBuckets
from qa.server.middleware.request_context import CrashMiddleware, RequestContextMiddleware
from qa.server.middleware.security import AuthMiddleware, Keys, SecurityHeadersMiddleware, not_rate_limited
from qa.server.session import page_sessions


def install_middleware(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    """Add the middleware; called last by create_app, after every route (metrics label by route template)."""
    keys = Keys(
        (k.get_secret_value() for k in settings.server.api_keys),
        (k.get_secret_value() for k in settings.server.admin_keys),
    )
    # add_middleware puts each one outside the ones before it: innermost first, outermost (request ids) last.
    app.add_middleware(
        AuthMiddleware,
        keys=keys,
        metrics_require_key=settings.server.metrics_require_key,
        pages=page_sessions(settings.server),
    )
    if settings.server.rate_limit_rps > 0:
        buckets = TokenBuckets(settings.server.rate_limit_rps, settings.server.rate_limit_burst)
        app.add_middleware(RateLimitMiddleware, buckets=buckets, known_key=keys.known, exempt=not_rate_limited)
    app.add_middleware(BodyLimitMiddleware, limit=settings.server.max_body_bytes, timeout=settings.server.body_timeout)
    app.add_middleware(TimeoutMiddleware, seconds=request_timeout(settings))
    # A crash becomes a 500 here, inside the security headers and CORS, so that the 500 carries them too.
    app.add_middleware(CrashMiddleware)
    # CORS outside the key check: a browser's preflight carries no key, and a 401 or 429 must still be readable.
    app.add_middleware(
        Cors,
        allow_origins=settings.server.allowed_origins,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],  # DELETE /documents/{id}
        allow_headers=["Authorization", "Content-Type", "X-API-Key", REQUEST_ID_HEADER],
        expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
        max_age=600,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes=app.router.routes)
    app.add_middleware(RequestContextMiddleware)


def request_timeout(settings: Settings) -> float:
    """The time a response may take to start (0: no limit). A configured LLM's calls are cut to fit it
    (qa.wiring.llm_settings), so a slow LLM costs the user the extractive answer, not a 504."""
    return settings.server.request_timeout

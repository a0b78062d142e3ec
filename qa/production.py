"""Production layer: request ids and JSON logs, limits, API keys, CORS, security headers, metrics, probes."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.middleware.cors import CORSMiddleware

from qa.config import Settings
from qa.deps import State
from qa.limits import BodyLimitMiddleware, TimeoutMiddleware
from qa.logs import REQUEST_ID_HEADER, RequestContextMiddleware, configure_logging
from qa.metrics import CONTENT_TYPE, Metrics, MetricsMiddleware, record_answer, record_llm, record_retrieval
from qa.ratelimit import RateLimitMiddleware, TokenBuckets
from qa.schemas import ErrorResponse, HealthResponse
from qa.security import OPS_PATHS, AuthMiddleware, Keys, SecurityHeadersMiddleware, is_admin_path, is_open_path

__all__ = ["configure_logging", "install_production", "record_answer", "record_llm", "record_retrieval"]


class LiveResponse(BaseModel):
    """The process is up and answering."""

    status: Literal["alive"] = "alive"


def install_production(app: FastAPI, settings: Settings) -> None:
    """Add the probes, /metrics and the middleware; called last by create_app, after every route."""
    metrics = Metrics()
    app.state.metrics = metrics
    _install_routes(app, metrics)
    _document_errors(app, settings)
    keys = Keys((k.get_secret_value() for k in settings.api_keys), (k.get_secret_value() for k in settings.admin_keys))
    # add_middleware puts each one outside the ones before it: innermost first, outermost (request ids) last.
    app.add_middleware(AuthMiddleware, keys=keys, metrics_require_key=settings.metrics_require_key)
    if settings.rate_limit_rps > 0:
        buckets = TokenBuckets(settings.rate_limit_rps, settings.rate_limit_burst)
        app.add_middleware(RateLimitMiddleware, buckets=buckets, known_key=keys.known, exempt=OPS_PATHS.__contains__)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(TimeoutMiddleware, seconds=request_timeout(settings))
    # CORS outside the key check: a browser's preflight carries no key, and a 401 or 429 must still be readable.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-API-Key", REQUEST_ID_HEADER],
        expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
        max_age=600,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes=app.router.routes)
    app.add_middleware(RequestContextMiddleware)


def request_timeout(settings: Settings) -> float:
    """The time a response may take to start: never shorter than a slow LLM call and its retries plus the
    fallback, so that a slow LLM costs the user a late answer, not a 504 (0: no limit)."""
    if settings.request_timeout <= 0 or not settings.llm_base_url.strip():
        return settings.request_timeout
    llm = settings.llm_timeout * (settings.llm_retries + 1) + settings.llm_backoff * float(2**settings.llm_retries)
    return max(settings.request_timeout, llm + 10.0)


def _install_routes(app: FastAPI, metrics: Metrics) -> None:
    @app.get("/live", response_model=LiveResponse, tags=["ops"])
    def live() -> LiveResponse:
        """Liveness: the process is up (always 200)."""
        return LiveResponse()

    @app.get("/ready", response_model=HealthResponse, tags=["ops"], responses={503: {"model": HealthResponse}})
    def ready(request: Request) -> JSONResponse:
        """Readiness: 200 once the index is loaded; 503 while loading or when loading failed."""
        state: State = request.app.state.qa
        if state.pipeline is not None:
            return JSONResponse(HealthResponse(status="ok", ready=True).model_dump())
        status: Literal["failed", "loading"] = "failed" if state.error else "loading"
        body = HealthResponse(status=status, ready=False, detail=state.error).model_dump()
        return JSONResponse(body, status_code=503, headers={"Retry-After": "2"})

    @app.get(
        "/metrics",
        tags=["ops"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus"}},
    )
    def prometheus() -> Response:
        """Metrics in the Prometheus text format."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)


def _document_errors(app: FastAPI, settings: Settings) -> None:
    """Add the errors this layer can answer with (401, 403, 413, 429, 504) and the key schemes to OpenAPI."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = build()
        if fresh:
            _add_error_responses(schema, settings)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_error_responses(schema: dict[str, Any], settings: Settings) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    if "ErrorResponse" not in schemas:
        found = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(found.pop("$defs", {}))
        schemas["ErrorResponse"] = found
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
    needs_key = bool(settings.api_keys)
    if needs_key or settings.admin_keys:
        components.setdefault("securitySchemes", {}).update(
            {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            }
        )
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes: dict[str, str] = {"504": "No response within the request timeout"}
            if path not in OPS_PATHS:
                codes["429"] = "Too many requests: wait for Retry-After seconds"
            if "requestBody" in operation:
                codes["413"] = "The request body is over the size limit"
            if "{" in path:
                codes["404"] = "Nothing has that id"
            locked = is_admin_path(path) or (needs_key and not is_open_path(path) and path != "/metrics")
            if locked or (path == "/metrics" and settings.metrics_require_key):
                codes["401"] = "A key is missing or wrong"
                operation.setdefault("security", [{"bearer": []}, {"apiKey": []}])
            if is_admin_path(path):
                codes["403"] = "Not an admin key, or no admin key is configured"
            for code, description in codes.items():
                operation["responses"].setdefault(code, {"description": description, **error})

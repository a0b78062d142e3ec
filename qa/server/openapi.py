"""The OpenAPI document (the errors the middleware can answer with, the key schemes, the configured bounds) and
its explorer page, /docs: Swagger UI from the files of the swagger-ui-bundle-v2 package, no CDN."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

from qa.config import Settings
from qa.server.errors import ApiError
from qa.server.middleware.security import (
    OPS_PATHS,
    is_admin_request,
    is_open_path,
)
from qa.server.schemas import ErrorResponse

ASSETS = "/static/swagger-ui/"  # under /static/: open without a key, like the web pages' own files
DOCS_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # Swagger UI sets style attributes
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Article QA API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="static/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="static/swagger-ui/swagger-ui-bundle.js"></script>
<script src="static/swagger-ui/start.js"></script>
</body>
</html>
"""
# No inline script (the CSP allows none): the page starts Swagger UI from this file. No validator badge (it
# would call validator.swagger.io), relative URLs (the page also works under a proxy's path prefix).
START_JS = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
});
"""
VENDORED = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8"}
PAGE_HEADERS = {"Content-Security-Policy": DOCS_CSP, "X-Frame-Options": "DENY", "Cache-Control": "no-cache"}
ASSET_CACHE = "public, max-age=86400"


@cache
def _swagger_ui_folder() -> Path:
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

    return Path(str(swagger_ui_path))


def install_docs(app: FastAPI, settings: Settings) -> None:
    """GET /docs (Swagger UI over /openapi.json) and its files, unless settings.server.docs is off."""
    if not settings.server.docs:
        return

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_HTML, headers=PAGE_HEADERS)

    @app.get(ASSETS + "{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        if name == "start.js":
            return Response(START_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
        if name not in VENDORED:  # a fixed list: nothing else in the package folder can be reached
            raise ApiError(404, "not_found", f"no file {name}")
        path = _swagger_ui_folder() / name
        return FileResponse(path, media_type=VENDORED[name], headers={"Cache-Control": ASSET_CACHE})


def document_errors(app: FastAPI, settings: Settings) -> None:
    """Add the errors this layer can answer with (401, 403, 413, 429, 504) and the key schemes to OpenAPI."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = build()
        if fresh:
            _add_error_responses(schema, settings)
            _add_bounds(schema, settings)
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
    needs_key = bool(settings.server.api_keys)
    if needs_key or settings.server.admin_keys:
        components.setdefault("securitySchemes", {}).update(
            {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            }
        )
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes: dict[str, str] = {"504": "No response within the request timeout"}
            if "requestBody" in operation:
                codes["400"] = "The request body is not valid JSON (code invalid_json)"
                codes["408"] = "The request body did not arrive in full within the body timeout"
            if path not in OPS_PATHS:
                codes["429"] = "Too many requests: wait for Retry-After seconds"
            if "requestBody" in operation:
                codes["413"] = "The request body is over the size limit"
            if "{" in path:
                codes["404"] = "Nothing has that id"
            admin = is_admin_request(str(method).upper(), path)
            locked = admin or (needs_key and not is_open_path(path) and path != "/metrics")
            if locked or (path == "/metrics" and settings.server.metrics_require_key):
                codes["401"] = "A key is missing or wrong"
                operation.setdefault("security", [{"bearer": []}, {"apiKey": []}])
            if admin:
                codes["403"] = "Not an admin key, or no admin key is configured"
            for code, description in codes.items():
                operation["responses"].setdefault(code, {"description": description, **error})


def _add_bounds(schema: dict[str, Any], settings: Settings) -> None:
    """State the configured top_k/k maximum (the models allow up to 50, the setting less), and that a question
    may not be empty (the route refuses a blank one)."""
    ask = schema.get("components", {}).get("schemas", {}).get("AskRequest", {}).get("properties", {})
    if "top_k" in ask:
        _set_maximum(ask["top_k"], settings.retrieval.max_top_k)
    if "question" in ask:
        ask["question"].setdefault("minLength", 1)
    search = schema.get("paths", {}).get("/search", {}).get("get", {})
    for parameter in search.get("parameters", []):
        if parameter.get("name") == "k":
            _set_maximum(parameter.get("schema", {}), settings.retrieval.max_top_k)


def _set_maximum(node: dict[str, Any], maximum: int) -> None:
    """Lower every `maximum` in a schema node (and its anyOf/oneOf/allOf branches) to `maximum`."""
    if "maximum" in node:
        node["maximum"] = min(node["maximum"], maximum)
    for branch in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(branch, []):
            _set_maximum(sub, maximum)

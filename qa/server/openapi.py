"""The OpenAPI document: the errors the middleware can answer with, and the key schemes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from qa.config import Settings
from qa.server.middleware.security import (
    OPS_PATHS,
    is_admin_path,
    is_open_path,
)
from qa.server.schemas import ErrorResponse


def document_errors(app: FastAPI, settings: Settings) -> None:
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
    needs_key = bool(settings.server.api_keys)
    if needs_key or settings.server.admin_keys:
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
            if locked or (path == "/metrics" and settings.server.metrics_require_key):
                codes["401"] = "A key is missing or wrong"
                operation.setdefault("security", [{"bearer": []}, {"apiKey": []}])
            if is_admin_path(path):
                codes["403"] = "Not an admin key, or no admin key is configured"
            for code, description in codes.items():
                operation["responses"].setdefault(code, {"description": description, **error})

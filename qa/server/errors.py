"""The one error shape of the HTTP API, {"error": {"code", "message", "type", "param", "details"?}}, and the error it is
raised as."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from qa.errors import IndexWriteError, QAError

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "not_ready",
}


class ApiError(QAError):
    """An error answered with the consistent error shape; `param` names the request field at fault, if one is."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.param = status, code, message, headers, param


def write_failed(exc: IndexWriteError, outcome: str) -> ApiError:
    """An index folder that cannot be written: 507 `insufficient_storage` when its disk or quota is full, else 503
    `index_not_writable` (read-only, no permission, not a folder); the message says what became of the request."""
    status, code = (507, "insufficient_storage") if exc.kind == "no_space" else (503, "index_not_writable")
    return ApiError(status, code, f"{exc}; {outcome}")


def openai_error_body(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape: {"error": {"message", "type", "param", "code"}}."""
    return {"error": {"message": message, "type": openai_type(status), "param": param, "code": code}}


def openai_type(status: int) -> str:
    """OpenAI's error `type` for a status."""
    kind = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}.get(status)
    return kind or ("server_error" if status >= 500 else "invalid_request_error")


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
    *,
    param: str | None = None,
) -> JSONResponse:
    """The one error shape: {"error": {"code", "message", "type", "param", "details"?}}. OpenAI's `type` and `param`
    are always there: a reply written before any route is known (a missing key, a rate limit, a body too large, a
    crash) may answer a request meant for /v1, whose clients read those (the OpenAI SDK's `e.type` was None)."""
    body: dict[str, Any] = {"code": code, "message": message, "type": openai_type(status), "param": param}
    if details:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


# What FastAPI raises (HTTP 400) for a body its JSON parsing fails on otherwise than as JSON: bytes that are not UTF-8,
# nesting deeper than the parser recurses, a number longer than Python reads (4,300 digits).
_FASTAPI_BODY_ERROR = "There was an error parsing the body"
UNREADABLE_BODY = (
    "the request body is not valid JSON: it is not UTF-8 text, or it nests too deep or holds a number too long to read"
)


def unreadable_body(status: int, detail: object) -> bool:
    """Whether an HTTP error is FastAPI's for a body it could not parse (answered as invalid_json, UNREADABLE_BODY)."""
    return status == 400 and detail == _FASTAPI_BODY_ERROR

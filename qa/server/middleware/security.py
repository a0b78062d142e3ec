"""Access: optional API keys, admin keys for /admin/, and security headers on every response."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.server.errors import error_response
from qa.server.session import (
    TOKEN_PATH,
    PageSessions,
    from_this_site,
    is_page_route,
    needs_same_origin,
    presented_session,
)

# Files served as they are (the pages, their scripts and styles, the API's documentation): a page load fetched
# seven of them, and with a strict rate limit they took the tokens of the reader's first question, or a script's 429
# left the page unable to ask at all. Only what answers, lists or signs counts.
FILE_PATHS = frozenset(
    {"/", "/article", "/embed", "/widget.js", "/favicon.ico", "/docs", "/docs/oauth2-redirect", "/openapi.json"}
)
OPEN_PREFIXES = ("/static/",)
OPS_PATHS = frozenset({"/health", "/ready", "/live", "/metrics"})
# Open even when API keys are set: probes, the web pages and their files, and the API's own documentation.
OPEN_PATHS = FILE_PATHS | {TOKEN_PATH, "/health", "/ready", "/live"}


def not_rate_limited(path: str) -> bool:
    """Whether requests for the path are never counted against a client's rate limit: probes, and files."""
    return path in OPS_PATHS or path in FILE_PATHS or path.startswith(OPEN_PREFIXES)


METRICS_PATH = "/metrics"
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def is_admin_path(path: str) -> bool:
    """Whether the path is an admin route (always needs an admin key)."""
    return path == "/admin" or path.startswith("/admin/")


def is_admin_request(method: str, path: str) -> bool:
    """Whether the request needs an admin key: the admin routes, and adding or removing documents."""
    writes_documents = method in ("POST", "PUT", "DELETE") and (path == "/documents" or path.startswith("/documents/"))
    return is_admin_path(path) or writes_documents


def is_open_path(path: str) -> bool:
    """Whether the path is served without a key even when API keys are configured."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def presented_key(scope: Scope) -> str | None:
    """The key the request carries: `X-API-Key: <key>`, or else `Authorization: Bearer <key>` (whatever the headers'
    order: a Bearer token meant for something else in front of the service does not hide this service's key)."""
    raw: list[tuple[bytes, bytes]] = scope.get("headers") or []
    bearer = None
    for name, value in raw:
        if name == b"x-api-key" and (text := value.decode("latin-1").strip()):
            return text
        if name == b"authorization" and bearer is None:
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                bearer = token.strip()
    return bearer


class Keys:
    """The configured API and admin keys, compared in constant time."""

    def __init__(self, api: Iterable[str], admin: Iterable[str]) -> None:
        self.api = tuple(k.encode() for k in api)
        self.admin = tuple(k.encode() for k in admin)

    @staticmethod
    def _among(key: str, keys: tuple[bytes, ...]) -> bool:
        given = key.encode()
        found = False
        for k in keys:  # no early exit: the time taken does not tell which key nearly matched
            found |= hmac.compare_digest(given, k)
        return found

    def is_admin(self, key: str | None) -> bool:
        """Whether key is an admin key."""
        return key is not None and self._among(key, self.admin)

    def is_valid(self, key: str | None) -> bool:
        """Whether key is an API key or an admin key."""
        return key is not None and (self._among(key, self.api) or self._among(key, self.admin))

    def known(self, scope: Scope) -> str | None:
        """The request's key when it is a configured one (the rate limit then counts per key), else None."""
        key = presented_key(scope)
        return key if self.is_valid(key) else None


class AuthMiddleware:
    """401/403 for a request without the key its path needs; everything else passes through untouched.

    On the routes the web pages call, a valid page session (qa.server.session) stands in for the API key.
    """

    def __init__(
        self, app: ASGIApp, keys: Keys, *, metrics_require_key: bool, pages: PageSessions | None = None
    ) -> None:
        self.app, self.keys, self.metrics_require_key = app, keys, metrics_require_key
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = presented_key(scope)
        refusal = self.refusal(scope["path"], key, method=scope["method"])
        if refusal is not None and key is None and is_page_route(scope["method"], scope["path"]):
            refusal = self.page_refusal(scope, refusal)
        if refusal is not None:
            status, code, message = refusal
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            await error_response(status, code, message, headers=headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def page_refusal(self, scope: Scope, refusal: tuple[int, str, str]) -> tuple[int, str, str] | None:
        """Why a request to a page route without a key is refused even with its page session, or None if it passes."""
        token, in_cookie = presented_session(scope)
        pages = self.pages
        if token is None or pages is None:
            return refusal
        if not pages.valid(token):
            return 401, "unauthorized", "the page session has expired or is not valid: reload the page"
        if in_cookie and needs_same_origin(scope["method"]) and not from_this_site(scope):
            return 403, "forbidden", "a page session is accepted only from this site's own pages"
        return None

    def refusal(self, path: str, key: str | None, *, method: str = "GET") -> tuple[int, str, str] | None:
        """Why a request for path with key is refused (status, code, message), or None when it may pass."""
        if is_admin_request(method, path):
            if not self.keys.admin:
                return 403, "forbidden", "admin routes are disabled: no admin key is configured (QA_ADMIN_KEYS)"
            if key is None:
                return 401, "unauthorized", "an admin key is required (Authorization: Bearer <key> or X-API-Key)"
            return None if self.keys.is_admin(key) else (403, "forbidden", "this key may not use admin routes")
        if path == METRICS_PATH:
            if not self.metrics_require_key:
                return None
            if not (self.keys.api or self.keys.admin):
                return 403, "forbidden", "metrics need a key but none is configured (QA_API_KEYS)"
        elif is_open_path(path) or not self.keys.api:
            return None
        if self.keys.is_valid(key):
            return None
        what = "a valid API key" if key is not None else "an API key"
        return 401, "unauthorized", f"{what} is required (Authorization: Bearer <key> or X-API-Key)"


class SecurityHeadersMiddleware:
    """nosniff and no-referrer everywhere; for non-HTML responses also a deny-all CSP and X-Frame-Options.

    A header the route set itself is kept: the web pages bring their own CSP, and /embed its own frame-ancestors.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_raw_security_headers(message)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_raw_security_headers(message: Message) -> None:
    """add_security_headers on a response-start message's raw header list (no header mapping built and rebuilt)."""
    raw: list[tuple[bytes, bytes]] = list(message.get("headers") or ())
    present = {name for name, _ in raw}
    content_type = next((v for n, v in raw if n == b"content-type"), b"")
    csp = next((v for n, v in raw if n == b"content-security-policy"), None)
    for name, value in _ALWAYS:
        if name not in present:
            raw.append((name, value))
    if not content_type.lower().startswith(b"text/html"):  # a page: its route decides its CSP and framing
        if csp is None:
            raw.append((b"content-security-policy", API_CSP.encode()))
        if b"x-frame-options" not in present and (csp is None or b"frame-ancestors" not in csp):
            raw.append((b"x-frame-options", b"DENY"))
    message["headers"] = raw


_ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))


def add_security_headers(headers: MutableHeaders) -> None:
    """Add the security headers that the response does not already have."""
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if headers.get("content-type", "").lower().startswith("text/html"):
        return  # a page: its route decides its CSP and framing
    csp = headers.get("content-security-policy")
    if csp is None:
        headers["Content-Security-Policy"] = API_CSP
    if "x-frame-options" not in headers and (csp is None or "frame-ancestors" not in csp):
        headers["X-Frame-Options"] = "DENY"

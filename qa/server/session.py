"""Page sessions: what the web pages carry instead of an API key, which a browser cannot keep secret.

A page session is a short-lived token signed with HMAC-SHA256: `p1.<expires>.<nonce>.<signature>`. It names nobody
(anyone who loads a page gets one), so it opens only the few routes the pages call, is rate-limited by client IP
like any request without a key, and never opens /admin or /v1. The chat page and the article view get it as an
HttpOnly, SameSite=Strict cookie; the embedded chat, framed by another site where that cookie would be a third-party
one that browsers drop, asks POST /page-token for one and sends it in the X-Page-Token header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import Scope

from qa.config import ServerSettings

COOKIE = "qa_page"
HEADER = "x-page-token"
TOKEN_PATH = "/page-token"
_VERSION = "p1"
_SAFE_METHODS = frozenset({"GET", "HEAD"})
# The routes the pages call, by method; nothing else accepts a page session.
_PAGE_ROUTES = {"POST": frozenset({"/ask", "/ask/stream"}), "GET": frozenset({"/documents"})}
_PAGE_PREFIXES = {"GET": ("/documents/",)}


def is_page_route(method: str, path: str) -> bool:
    """Whether a page session may open this request: only the routes that the pages themselves call."""
    method = "GET" if method == "HEAD" else method
    return path in _PAGE_ROUTES.get(method, ()) or path.startswith(_PAGE_PREFIXES.get(method, ()))


class PageSessions:
    """Issues and checks page-session tokens signed with one secret."""

    def __init__(self, secret: bytes, lifetime: int, *, clock: Callable[[], float] = time.time) -> None:
        self._secret, self.lifetime, self.clock = secret, lifetime, clock

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._secret, f"qa-page-session:{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self) -> str:
        """A new token that expires `lifetime` seconds from now."""
        body = f"{_VERSION}.{int(self.clock()) + self.lifetime}.{secrets.token_urlsafe(12)}"
        return f"{body}.{self._sign(body)}"

    def valid(self, token: str | None) -> bool:
        """Whether token was signed with this secret and has not expired (nor claims to last longer than allowed)."""
        if not token or len(token) > 200:
            return False
        body, _, signature = token.rpartition(".")
        version, _, rest = body.partition(".")
        expires, _, _ = rest.partition(".")
        if version != _VERSION or not expires.isdigit() or not hmac.compare_digest(signature, self._sign(body)):
            return False
        now = self.clock()
        return now < int(expires) <= now + self.lifetime + 60  # a minute of slack for clocks between replicas

    def cookie(self, *, secure: bool) -> str:
        """A Set-Cookie value carrying a new token: for this origin only, hidden from scripts, never sent cross-site."""
        attributes = [f"{COOKIE}={self.issue()}", "Path=/", f"Max-Age={self.lifetime}", "HttpOnly", "SameSite=Strict"]
        if secure:
            attributes.append("Secure")
        return "; ".join(attributes)


def page_sessions(server: ServerSettings, *, clock: Callable[[], float] = time.time) -> PageSessions | None:
    """The page sessions of these settings; None when no API key is set (the pages then need no credential)."""
    if not server.api_keys:
        return None
    explicit = server.session_secret.get_secret_value() if server.session_secret else ""
    keys = tuple(sorted({k.get_secret_value() for k in [*server.api_keys, *server.admin_keys]}))
    return PageSessions(_secret(explicit, keys), server.session_lifetime, clock=clock)


@lru_cache(maxsize=8)
def _secret(explicit: str, keys: tuple[str, ...]) -> bytes:
    """QA_SESSION_SECRET, else a secret derived from the keys: the same in every worker process and replica that has
    the same keys. scrypt makes that derivation slow on purpose: a token must not let anyone test guesses of an
    API key offline any faster than guessing against the server itself."""
    if explicit:
        return hashlib.sha256(b"qa-page-session-secret\0" + explicit.encode()).digest()
    material = "\0".join(keys).encode()
    return hashlib.scrypt(material, salt=b"qa-page-session-v1", n=2**14, r=8, p=1, dklen=32)


def presented_session(scope: Scope) -> tuple[str | None, bool]:
    """(the page-session token the request carries, whether it came in the cookie rather than the header)."""
    headers = Headers(scope=scope)
    token = headers.get(HEADER)
    if token:
        return token.strip(), False
    cookie = headers.get("cookie")
    found = cookie_parser(cookie).get(COOKIE) if cookie else None
    return (found, True) if found else (None, False)


def from_this_site(scope: Scope) -> bool:
    """Whether the browser says the request comes from this origin's own pages (Sec-Fetch-Site, else Origin).

    A request that says neither is refused: every browser sends one of them on a POST, so its absence means the
    cookie was not sent by a page of ours.
    """
    headers = Headers(scope=scope)
    site = headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    origin = headers.get("origin")
    if origin is not None:
        # Only the host and port: behind a proxy that ends TLS the scheme the server sees is not the browser's.
        try:
            netloc = urlsplit(origin).netloc
        except ValueError:  # not a URL (`http://[::1`): no page of ours sent it
            return False
        return netloc.lower() == headers.get("host", "").lower() != ""
    return site is not None


def needs_same_origin(method: str) -> bool:
    """Whether a request that carries its page session in the cookie must prove it comes from our pages (CSRF)."""
    return method not in _SAFE_METHODS

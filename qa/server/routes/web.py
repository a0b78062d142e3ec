"""Web routes: the chat page, the article view and the embeddable widget (files under qa/server/web/), and the
page sessions that let them call the API when API keys are set (qa.server.session)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from qa.server.deps import SettingsDep
from qa.server.errors import ApiError
from qa.server.session import TOKEN_PATH, from_this_site, page_sessions

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


# Only flat file names with known types: no paths, so nothing outside qa/web/ can be reached.
# At most 64 characters before the suffix: a longer name is no file of ours, and one past the filesystem's limit made
# the check for it raise (ENAMETOOLONG: a 500).
_ASSET_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}\.(js|css|svg)")
_MEDIA_TYPES = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
}


# What a frame-ancestors source may look like; anything else (a `;`, a quote, a path) could rewrite the policy.
_ORIGIN_RE = re.compile(r"\*|https?://(\*\.)?[A-Za-z0-9.-]+(:(\d{1,5}|\*))?|https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?")


def frame_ancestors(origins: Sequence[str]) -> str:
    """The frame-ancestors source list for /embed: the allowed origins, or 'none' when there are none."""
    kept: list[str] = []
    for origin in origins:
        if _ORIGIN_RE.fullmatch(origin):
            kept.append(origin)
        else:
            log.warning("allowed origin %r is not a valid frame-ancestors source; /embed ignores it", origin)
    return " ".join(dict.fromkeys(kept)) or "'none'"


def page_csp(ancestors: str) -> str:
    """The Content-Security-Policy of the pages: this origin's files only, no inline code, framed by ancestors."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {ancestors}",
        ]
    )


@cache
def _bounded(name: str, question_chars: int) -> bytes:
    """A page whose question box is bounded by the service's own limit (QA_MAX_QUESTION_CHARS): the chat page said
    2,000 whatever the service took, and the service's 422 came after the reader had written the rest."""
    html = (WEB_DIR / name).read_text(encoding="utf-8")
    return html.replace('maxlength="2000"', f'maxlength="{question_chars}"', 1).encode("utf-8")


def _page(name: str, ancestors: str, *, cookie: str | None = None, question_chars: int | None = None) -> Response:
    headers = {
        "Content-Security-Policy": page_csp(ancestors),
        "X-Content-Type-Options": "nosniff",
        # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the page's own POSTs.
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-cache",
    }
    if ancestors == "'none'":
        headers["X-Frame-Options"] = "DENY"  # for browsers that predate frame-ancestors
    if cookie is not None:
        headers["Set-Cookie"] = cookie
        headers["Cache-Control"] = "private, no-cache"  # no shared cache may hand one visitor's session to another
    if question_chars is not None:
        return Response(_bounded(name, question_chars), media_type="text/html; charset=utf-8", headers=headers)
    return FileResponse(WEB_DIR / name, media_type="text/html; charset=utf-8", headers=headers)


def _session_cookie(request: Request, settings: SettingsDep) -> str | None:
    """A fresh page-session cookie when API keys are set (the pages need one then), else None."""
    pages = page_sessions(settings.server)
    return pages.cookie(secure=request.url.scheme == "https") if pages is not None else None


def _asset(name: str, *, cross_origin: bool = False) -> Response:
    match = _ASSET_RE.fullmatch(name)
    path = WEB_DIR / name
    if match is None or not path.is_file():
        raise ApiError(404, "not_found", f"no file {name[:100]!r}")
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    if cross_origin:
        # widget.js is loaded by <script> tags on other sites.
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return FileResponse(path, media_type=_MEDIA_TYPES[match.group(1)], headers=headers)


router = APIRouter(include_in_schema=False)


@cache
def _embed_ancestors(origins: tuple[str, ...]) -> str:
    return frame_ancestors(origins)


# HEAD as well as GET: load balancers and uptime checks probe the pages with HEAD.
GET_HEAD = ["GET", "HEAD"]


@router.api_route("/", methods=GET_HEAD)
def chat_page(request: Request, settings: SettingsDep) -> Response:
    """The chat page (with a page-session cookie when API keys are set)."""
    return _page(
        "index.html",
        "'none'",
        cookie=_session_cookie(request, settings),
        question_chars=settings.server.max_question_chars,
    )


@router.api_route("/article", methods=GET_HEAD)
def article_page(request: Request, settings: SettingsDep) -> Response:
    """The article view (`?doc=ID`, `#c-START-END` highlights a quote)."""
    return _page("article.html", "'none'", cookie=_session_cookie(request, settings))


@router.api_route("/embed", methods=GET_HEAD)
def embed_page(settings: SettingsDep) -> Response:
    """The compact chat (the chat page in embed mode) that widget.js frames; only allowed origins may frame it.

    No cookie: framed by another site it would be a third-party cookie, which browsers drop; its script asks
    POST /page-token for a page session instead.
    """
    ancestors = _embed_ancestors(tuple(settings.server.allowed_origins))
    return _page("index.html", ancestors, question_chars=settings.server.max_question_chars)


@router.post(TOKEN_PATH)
def page_token(request: Request, settings: SettingsDep) -> JSONResponse:
    """A page session for the embedded chat to send as X-Page-Token (`token` is null when no API key is set)."""
    if not from_this_site(request.scope):
        raise ApiError(403, "forbidden", "page sessions are given only to this site's own pages")
    pages = page_sessions(settings.server)
    body = {"token": pages.issue(), "expires_in": pages.lifetime} if pages is not None else {"token": None}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.api_route("/widget.js", methods=GET_HEAD)
def widget_script() -> Response:
    """The embeddable widget: a floating button that opens /embed in a frame."""
    return _asset("widget.js", cross_origin=True)


@router.api_route("/static/{name}", methods=GET_HEAD)
def static_file(name: str) -> Response:
    """Scripts, styles and icons of the pages."""
    return _asset(name)

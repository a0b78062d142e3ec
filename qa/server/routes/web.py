"""Web routes: the chat page, the article view and the embeddable widget (files under qa/server/web/)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from qa.server.deps import SettingsDep
from qa.server.errors import ApiError

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


# Only flat file names with known types: no paths, so nothing outside qa/web/ can be reached.
_ASSET_RE = re.compile(r"[a-z0-9][a-z0-9-]*\.(js|css|svg)")
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


def _page(name: str, ancestors: str) -> Response:
    headers = {
        "Content-Security-Policy": page_csp(ancestors),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-cache",
    }
    if ancestors == "'none'":
        headers["X-Frame-Options"] = "DENY"  # for browsers that predate frame-ancestors
    return FileResponse(WEB_DIR / name, media_type="text/html; charset=utf-8", headers=headers)


def _asset(name: str, *, cross_origin: bool = False) -> Response:
    match = _ASSET_RE.fullmatch(name)
    path = WEB_DIR / name
    if match is None or not path.is_file():
        raise ApiError(404, "not_found", f"no file {name!r}")
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    if cross_origin:
        # widget.js is loaded by <script> tags on other sites.
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return FileResponse(path, media_type=_MEDIA_TYPES[match.group(1)], headers=headers)


router = APIRouter(include_in_schema=False)


@cache
def _embed_ancestors(origins: tuple[str, ...]) -> str:
    return frame_ancestors(origins)


@router.get("/")
def chat_page() -> Response:
    """The chat page."""
    return _page("index.html", "'none'")


@router.get("/article")
def article_page() -> Response:
    """The article view (`?doc=ID`, `#c-START-END` highlights a quote)."""
    return _page("article.html", "'none'")


@router.get("/embed")
def embed_page(settings: SettingsDep) -> Response:
    """The compact chat (the chat page in embed mode) that widget.js frames; only allowed origins may frame it."""
    return _page("index.html", _embed_ancestors(tuple(settings.server.allowed_origins)))


@router.get("/widget.js")
def widget_script() -> Response:
    """The embeddable widget: a floating button that opens /embed in a frame."""
    return _asset("widget.js", cross_origin=True)


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """Scripts, styles and icons of the pages."""
    return _asset(name)

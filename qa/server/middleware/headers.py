"""Reading the raw headers of an ASGI request or response without building a mapping of all of them (the edge reads
one or two on every request)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def raw_header(holder: Mapping[str, Any], name: bytes) -> bytes | None:
    """The value of a header of a scope or a response-start message (name lowercase, as ASGI writes names): the
    last one when it is repeated, as dict(headers) kept it; None when it is absent."""
    found = None
    headers: Iterable[tuple[bytes, bytes]] = holder.get("headers") or ()
    for key, value in headers:
        if key == name:
            found = value
    return found

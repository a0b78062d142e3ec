"""Work a client stops waiting for is stopped: an LLM answer nobody will read would hold an LLM slot to the end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from starlette.requests import Request

from qa.server.errors import ApiError

T = TypeVar("T")

# How often a request waiting on slow work looks whether its client is still there.
CHECK_SECONDS = 0.25


async def unless_gone(request: Request, work: Awaitable[T]) -> T:
    """The work's result; the work cancelled as soon as the client disconnects (a streamed answer stops the same
    way: its generator is closed). Without this, four /ask clients that gave up held every LLM slot until their
    calls ran out, and the next question waited 7 s."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=CHECK_SECONDS)
            if done:
                return task.result()
            if await request.is_disconnected():
                task.cancel()
                raise ApiError(499, "client_closed", "the client closed the connection before the answer was ready")
    finally:
        if not task.done():
            task.cancel()

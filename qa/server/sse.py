"""Server-Sent Events: the stream headers, and engine events formatted as `event:`/`data:` frames."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from qa.answering.engine import Event
from qa.server.metrics import Metrics
from qa.server.schemas import (
    AskResponse,
    PassageOut,
)

STREAM_DOC = (
    "event: passages / data: {passages: [...]}; event: delta / data: {text}; "
    "event: final / data: the /ask response (authoritative: replaces the streamed text)."
)


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def sse(events: AsyncGenerator[Event, None]) -> AsyncIterator[bytes]:
    """Format engine events as Server-Sent Events; a client that leaves cancels the generator (and the LLM)."""
    try:
        async for event in events:
            if event.kind == "passages":
                data: Any = {"passages": [PassageOut.of(h).model_dump() for h in event.passages]}
            elif event.kind == "delta":
                data = {"text": event.text}
            elif event.answer is not None:
                data = AskResponse.of(event.answer).model_dump()
            else:
                continue
            yield f"event: {event.kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
    finally:
        await events.aclose()


async def counted(events: AsyncGenerator[Event, None], metrics: Metrics) -> AsyncGenerator[Event, None]:
    """The engine's events, passed on; the final answer recorded."""
    try:
        async for event in events:
            if event.answer is not None:
                metrics.record_answer(event.answer)
            yield event
    finally:
        await events.aclose()

"""A scripted OpenAI-compatible server for injecting exact replies and faults (real HTTP on loopback)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse


@dataclass
class Step:
    """What the fake server does for one request."""

    content: str = ""
    status: int = 200
    delay: float = 0.0
    stream_pieces: list[str] | None = None
    cut_after: int | None = None  # stream: stop after this many pieces without finishing
    raw: str | None = None  # a body that is not a completion at all
    piece_delay: float = 0.0
    reply: Callable[[str], str] | None = None  # content computed from the user message (to cite real numbers)
    always_stream: bool = False  # answer in SSE pieces even when the request says stream: false (a drip server)


@dataclass
class Script:
    """The queue of steps and what the server saw."""

    steps: list[Step] = field(default_factory=list)
    default: Step = field(default_factory=lambda: Step(content="NOT_IN_SOURCES"))
    requests: list[dict[str, Any]] = field(default_factory=list)
    disconnected: int = 0
    finished_streams: int = 0

    def next(self) -> Step:
        return self.steps.pop(0) if self.steps else self.default


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    }


def chunk(piece: str, finish: str | None = None) -> str:
    body = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def fake_llm_app(script: Script) -> FastAPI:
    """The scripted server: POST /v1/chat/completions follows the script."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        script.requests.append(body)
        step = script.next()
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.raw is not None:
            return PlainTextResponse(step.raw, status_code=step.status)
        if step.status != 200:
            return JSONResponse({"error": {"message": "scripted failure"}}, status_code=step.status)
        content = step.reply(body["messages"][-1]["content"]) if step.reply else step.content
        if not body.get("stream") and not step.always_stream:
            return JSONResponse(completion(content))
        pieces = (
            step.stream_pieces
            if step.stream_pieces is not None
            else [content[i : i + 4] for i in range(0, len(content), 4)]
        )

        async def events() -> AsyncIterator[str]:
            try:
                for i, piece in enumerate(pieces):
                    if step.cut_after is not None and i >= step.cut_after:
                        return  # connection closes without finish_reason or [DONE]
                    if step.piece_delay:
                        await asyncio.sleep(step.piece_delay)
                    yield chunk(piece)
                yield chunk("", finish="stop")
                yield "data: [DONE]\n\n"
                script.finished_streams += 1
            except asyncio.CancelledError:
                script.disconnected += 1
                raise

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def source_number(prompt: str, phrase: str) -> int:
    """The number the prompt gives the source that contains phrase."""
    for line in prompt.splitlines():
        if line.startswith("[") and phrase in line:
            return int(line[1 : line.index("]")])
    raise AssertionError(f"no source contains {phrase!r}")


def citing(template: str, **phrases: str) -> Callable[[str], str]:
    """A reply that fills {name} in template with the number of the source holding phrases[name]."""
    return lambda prompt: template.format(**{k: source_number(prompt, v) for k, v in phrases.items()})

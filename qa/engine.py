"""What the routes call: ask for a whole answer, or stream one as events (passages, text deltas, final)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import anyio

from qa.answer import ExtractiveAnswerer, Turn
from qa.metrics import record_answer
from qa.types import Answer, Hit

EventKind = Literal["passages", "delta", "final"]


@dataclass(frozen=True)
class Event:
    """One step of a streamed answer. `final` carries the verified answer, which replaces any streamed text."""

    kind: EventKind
    passages: tuple[Hit, ...] = ()
    text: str = ""
    answer: Answer | None = None


class Engine(Protocol):
    """Answers questions, whole or streamed."""

    async def ask(self, question: str, *, top_k: int, history: Sequence[Turn] = ()) -> Answer:
        """A whole cited answer."""
        ...

    def stream(self, question: str, *, top_k: int, history: Sequence[Turn] = ()) -> AsyncGenerator[Event, None]:
        """The answer as events: passages first, then text deltas, then the final answer."""
        ...


class ExtractiveEngine:
    """The embedded default: answers from the article's own sentences, in a worker thread."""

    def __init__(self, answerer: ExtractiveAnswerer) -> None:
        self.answerer = answerer

    async def ask(self, question: str, *, top_k: int, history: Sequence[Turn] = ()) -> Answer:
        """A whole extractive answer."""
        return await anyio.to_thread.run_sync(lambda: self.answerer.answer(question, top_k=top_k, history=history))

    async def stream(self, question: str, *, top_k: int, history: Sequence[Turn] = ()) -> AsyncGenerator[Event, None]:
        """Passages, the answer text in one delta, then the final answer."""
        answer = await self.ask(question, top_k=top_k, history=history)
        yield Event("passages", passages=answer.passages)
        yield Event("delta", text=answer.answer)
        yield Event("final", answer=answer)


class RecordedEngine:
    """Counts every answer another engine gives (for /metrics), whole or streamed, whichever route asked."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner

    async def ask(self, question: str, *, top_k: int, history: Sequence[Turn] = ()) -> Answer:
        """The inner engine's answer, counted."""
        answer = await self.inner.ask(question, top_k=top_k, history=history)
        record_answer(answer)
        return answer

    async def stream(self, question: str, *, top_k: int, history: Sequence[Turn] = ()) -> AsyncGenerator[Event, None]:
        """The inner engine's events; the final answer counted."""
        events = self.inner.stream(question, top_k=top_k, history=history)
        try:
            async for event in events:
                if event.answer is not None:
                    record_answer(event.answer)
                yield event
        finally:
            await events.aclose()

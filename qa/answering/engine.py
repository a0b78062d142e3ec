"""What the routes call: ask for a whole answer, or stream one as events (passages, text deltas, final)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from qa.answering.extractive import ExtractiveAnswerer
from qa.types import Answer, Docs, Hit, Turn

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

    async def ask(self, question: str, *, top_k: int, history: Sequence[Turn] = (), docs: Docs = None) -> Answer:
        """A whole cited answer."""
        ...

    def stream(
        self, question: str, *, top_k: int, history: Sequence[Turn] = (), docs: Docs = None
    ) -> AsyncGenerator[Event, None]:
        """The answer as events: passages first, then text deltas, then the final answer."""
        ...

    async def aclose(self) -> None:
        """Release what the engine holds open (connections)."""
        ...


class ExtractiveEngine:
    """The embedded default: answers from the article's own sentences, in a worker thread."""

    def __init__(self, answerer: ExtractiveAnswerer) -> None:
        self.answerer = answerer

    async def ask(self, question: str, *, top_k: int, history: Sequence[Turn] = (), docs: Docs = None) -> Answer:
        """A whole extractive answer."""

        def work() -> Answer:
            return self.answerer.answer(question, top_k=top_k, history=history, docs=docs)

        # A follow-up borrows from the question before it (more work): only a question alone may run in the loop.
        return await self.answerer.run(work, chars=None if history else len(question))

    async def stream(
        self, question: str, *, top_k: int, history: Sequence[Turn] = (), docs: Docs = None
    ) -> AsyncGenerator[Event, None]:
        """Passages, the answer text in one delta, then the final answer."""
        answer = await self.ask(question, top_k=top_k, history=history, docs=docs)
        yield Event("passages", passages=answer.passages)
        yield Event("delta", text=answer.answer)
        yield Event("final", answer=answer)

    async def aclose(self) -> None:
        """Nothing to release."""

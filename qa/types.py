"""Frozen dataclasses used inside the package: documents, chunks, hits, citations, answers."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    pass

ChunkKind = Literal["text", "caption"]
Mode = Literal["extractive", "llm", "llm-fallback"]
# The documents a question is asked about (None: all of them).
Docs = Collection[str] | None


@dataclass(frozen=True)
class Document:
    """One source file: its text exactly as read with UTF-8, and its metadata."""

    id: str
    path: str
    text: str
    sha256: str
    date: str | None = None
    title: str | None = None
    body_start: int = 0
    url: str | None = None


@dataclass(frozen=True)
class NewDocument:
    """A document given to be added to the index (through POST /documents or `qa add`)."""

    text: str
    id: str | None = None
    title: str | None = None
    date: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Sentence:
    """A sentence (or full clause) with offsets into its document: text == doc.text[start:end]."""

    id: str
    doc: str
    chunk_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage (a paragraph, or part of a long one) with exact offsets."""

    id: str
    doc: str
    start: int
    end: int
    text: str
    kind: ChunkKind = "text"
    heading: str | None = None
    sentences: tuple[Sentence, ...] = ()

    @property
    def index_text(self) -> str:
        """The text embedded and tokenised: the section heading helps the chunk be found."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text


@dataclass(frozen=True)
class Hit:
    """A chunk found for a query, with the fused score and the scores of each side."""

    chunk: Chunk
    score: float
    lexical: float = 0.0
    dense: float = 0.0


@dataclass(frozen=True)
class Citation:
    """An exact quote of a source that supports part of an answer."""

    n: int
    doc: str
    chunk_id: str
    quote: str
    start: int
    end: int


@dataclass(frozen=True)
class ShortAnswer:
    """The value or name a typed question asks for, as a span of a cited sentence: text == doc.text[start:end]."""

    text: str
    start: int
    end: int
    doc: str
    # How an English answer's text says it (`October 30` for 10月30日), when the text opens with it; None otherwise.
    said: str | None = None


@dataclass(frozen=True)
class Answer:
    """A cited answer, or an abstention, with the passages it was drawn from."""

    answer: str
    abstained: bool
    mode: Mode
    citations: tuple[Citation, ...]
    passages: tuple[Hit, ...]
    timings: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    lang: str = "zh-Hant"
    # What the LLM did (answered, abstained, fallback, skipped) and why it fell back; None without an LLM.
    llm_outcome: str | None = None
    llm_fallback: str | None = None
    # The date, number, amount or name asked for, inside a cited sentence; None when untyped or not confident.
    short_answer: ShortAnswer | None = None


class Embedder(Protocol):
    """Turns texts into unit-length vectors; says how much of a text its vocabulary understands."""

    model_id: str

    @property
    def dim(self) -> int:
        """Vector size."""
        ...

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (a progress bar if asked)."""
        ...

    def coverage(self, text: str) -> float:
        """Share of the text's tokens the model knows (not unknown-token), 0..1."""
        ...


@dataclass(frozen=True)
class Turn:
    """An earlier question and answer of the conversation."""

    question: str
    answer: str = ""

"""HTTP request and response schemas (pydantic at the edge)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qa.indexing.library import MAX_TITLE_CHARS, MAX_URL_CHARS
from qa.types import Answer, Chunk, Citation, Hit, ShortAnswer


class Turn(BaseModel):
    """An earlier exchange of the conversation."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=100_000)
    answer: str = Field("", max_length=100_000)


class AskRequest(BaseModel):
    """A question about the articles."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"question": "烏克蘭打算向哪個國家購買戰機？"}]}
    )
    question: str = Field(description="The question, in Traditional Chinese, Simplified Chinese or English")
    top_k: int | None = Field(
        None, ge=1, le=50, strict=True, description="How many passages to return (default 5; a JSON integer)"
    )
    history: list[Turn] | None = Field(None, description="Earlier questions and answers, oldest first")
    docs: list[str] | None = Field(
        None, min_length=1, max_length=100, description="Answer from these documents only (ids; default: all)"
    )


class CitationOut(BaseModel):
    """An exact quote: documents[doc].text[start:end] == quote."""

    n: int
    doc: str
    chunk_id: str
    quote: str
    start: int
    end: int

    @classmethod
    def of(cls, c: Citation) -> CitationOut:
        """From the internal citation."""
        return cls(n=c.n, doc=c.doc, chunk_id=c.chunk_id, quote=c.quote, start=c.start, end=c.end)


class ShortAnswerOut(BaseModel):
    """The date, number, amount, person, place or organisation asked for, inside a cited sentence:
    documents[doc].text[start:end] == text."""

    text: str = Field(description="The value or name, exactly as the document writes it")
    start: int = Field(description="Character offset of its start in the document text")
    end: int = Field(description="Character offset just past its end")
    doc: str = Field(description="Id of the document it is quoted from")
    said: str | None = Field(
        None,
        description="How the answer text says it in English (`October 30` for `10月30日`), when the question is "
        "English and the answer opens with it (`Short answer: October 30 [1].`); null otherwise",
    )

    @classmethod
    def of(cls, s: ShortAnswer) -> ShortAnswerOut:
        """From the internal short answer."""
        return cls(text=s.text, start=s.start, end=s.end, doc=s.doc, said=s.said)


class PassageOut(BaseModel):
    """A retrieved chunk with its scores."""

    chunk_id: str
    doc: str
    text: str
    start: int
    end: int
    score: float
    lexical: float
    dense: float
    kind: str
    heading: str | None

    @classmethod
    def of(cls, h: Hit) -> PassageOut:
        """From the internal hit."""
        c = h.chunk
        return cls(
            chunk_id=c.id,
            doc=c.doc,
            text=c.text,
            start=c.start,
            end=c.end,
            score=h.score,
            lexical=h.lexical,
            dense=h.dense,
            kind=c.kind,
            heading=c.heading,
        )


class AskResponse(BaseModel):
    """A cited answer, or an abstention (abstained: true) with the passages searched."""

    answer: str
    abstained: bool
    mode: Literal["extractive", "llm", "llm-fallback"]
    citations: list[CitationOut]
    passages: list[PassageOut]
    timings: dict[str, float]
    reason: str | None = None
    lang: str
    short_answer: ShortAnswerOut | None = Field(
        None,
        description="For a question asking for a date, number, amount, person, place or organisation: the value "
        "itself, a span inside one of the cited sentences; null when the question asks for something else, when the "
        "answer abstains, or when no span is likely enough",
    )

    @classmethod
    def of(cls, a: Answer) -> AskResponse:
        """From the internal answer."""
        return cls(
            answer=a.answer,
            abstained=a.abstained,
            mode=a.mode,
            citations=[CitationOut.of(c) for c in a.citations],
            passages=[PassageOut.of(h) for h in a.passages],
            timings=a.timings,
            reason=a.reason,
            lang=a.lang,
            short_answer=ShortAnswerOut.of(a.short_answer) if a.short_answer else None,
        )


class SearchResponse(BaseModel):
    """Ranked passages for a query."""

    query: str
    passages: list[PassageOut]


class SentenceOut(BaseModel):
    """A sentence of a chunk with its offsets."""

    id: str
    start: int
    end: int
    text: str


class ChunkOut(BaseModel):
    """A chunk with its sentences."""

    id: str
    doc: str
    start: int
    end: int
    text: str
    kind: str
    heading: str | None
    sentences: list[SentenceOut]

    @classmethod
    def of(cls, c: Chunk) -> ChunkOut:
        """From the internal chunk."""
        return cls(
            id=c.id,
            doc=c.doc,
            start=c.start,
            end=c.end,
            text=c.text,
            kind=c.kind,
            heading=c.heading,
            sentences=[SentenceOut(id=s.id, start=s.start, end=s.end, text=s.text) for s in c.sentences],
        )


class DocumentOut(BaseModel):
    """Metadata of a source document."""

    id: str
    path: str
    title: str | None
    date: str | None
    url: str | None = None
    chars: int
    sha256: str
    chunks: int


class DocumentText(BaseModel):
    """A document's full text; offsets index into it."""

    id: str
    title: str | None
    date: str | None
    url: str | None = None
    text: str
    body_start: int


class DocumentsResponse(BaseModel):
    """The indexed documents (or a page of those found) and the index they are in."""

    documents: list[DocumentOut]
    total: int = Field(description="How many documents were found (all of them when no `q` is given)")
    index: dict[str, Any]


class SkippedSource(BaseModel):
    """A source file the index left out, and why."""

    file: str = Field(description="`seeds/<name>` or `library/<name>`")
    reason: str = Field(description="e.g. `not valid UTF-8 (byte 0xe9 at 3)`, `empty`")


class ReindexResponse(BaseModel):
    """The index now serving."""

    built_at: str
    counts: dict[str, int]
    skipped: list[SkippedSource] = Field(
        default_factory=list, description="Source files left out (unreadable): the others are served"
    )


class HealthResponse(BaseModel):
    """Liveness and readiness."""

    status: Literal["ok", "loading", "failed"]
    ready: bool
    detail: str | None = Field(
        None, description="Why not ready; when ready, the source files the index left out (unreadable), if any"
    )


class ErrorBody(BaseModel):
    """What went wrong."""

    code: str
    message: str
    type: str | None = Field(None, description="OpenAI's error type (invalid_request_error, authentication_error, ...)")
    param: str | None = Field(None, description="The request field at fault, when one is")
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx response has this shape."""

    error: ErrorBody


class DocumentIn(BaseModel):
    """A document to add: its text, and optionally an id (else one is made), title, date and url."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"id": "2025-11-07-example", "title": "…", "date": "2025-11-07", "text": "…"}]},
    )

    # No min_length: an empty text gets the same 422 document_rejected (`text is empty`) as a blank one.
    text: str = Field(description="The article's text, as published (plain text, UTF-8; line ends are stored as \\n)")
    id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", description="Stable id (letters, digits, . _ -)"
    )
    title: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    date: str | None = Field(None, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="Publication date, YYYY-MM-DD")
    url: str | None = Field(None, max_length=MAX_URL_CHARS)


class DocumentCreated(BaseModel):
    """The document added: its id and how many chunks it was cut into; searchable from now on."""

    id: str
    chunks: int
    replaced: bool = False

"""An OpenAI-compatible face: POST /v1/chat/completions (streaming too) and GET /v1/models.

Any OpenAI client can use the service as the model `article-qa`. The last user message is the question, earlier
user/assistant messages are the history, and system messages are ignored: they cannot change how answers are made."""

from __future__ import annotations

import inspect
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import HTTPExceptionHandler

from qa.answering.engine import Event, ExtractiveEngine
from qa.server.deps import MetricsDep, PipelineDep, SettingsDep, clean_question, recent_turns, top_k
from qa.server.disconnect import unless_gone
from qa.server.errors import STATUS_CODES, UNREADABLE_BODY, ApiError, openai_error_body, unreadable_body
from qa.server.schemas import CitationOut
from qa.server.sse import SSE_HEADERS, counted
from qa.text.language import CJK_RE
from qa.types import Answer, Turn

log = logging.getLogger(__name__)
MODEL_ID = "article-qa"


PREFIX = "/v1"
SOURCES_HEADER = "\n\nSources:\n"


class ContentPart(BaseModel):
    """One part of a list-of-parts message content; only text parts are understood."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """A message of the conversation."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class StreamOptions(BaseModel):
    """OpenAI's stream_options: include_usage adds a last chunk with the token counts."""

    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat completion request; sampling parameters (temperature, max_tokens...) are accepted and ignored;
    tools, tool_choice and a JSON response_format are refused (400 unsupported_parameter)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(description=f"Must be {MODEL_ID!r}")
    messages: list[ChatMessage] = Field(description="The last user message is the question")
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    n: int | None = Field(None, description="Only 1 is supported")
    top_k: int | None = Field(None, description="Extension: how many passages to retrieve")


class AssistantMessage(BaseModel):
    """The answer as a chat message."""

    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    """The one choice of a completion."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class Usage(BaseModel):
    """Rough token counts (a CJK character is one token, other text four characters a token)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    """OpenAI's chat.completion, with the structured citations, abstained and mode as extra fields."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = MODEL_ID
    choices: list[Choice]
    usage: Usage
    citations: list[CitationOut]
    abstained: bool
    mode: str


class OpenAIErrorBody(BaseModel):
    """What went wrong, as OpenAI reports it."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(BaseModel):
    """Every error under /v1 has this shape."""

    error: OpenAIErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OpenAIError, "description": "Invalid request"},
    404: {"model": OpenAIError, "description": "Unknown model"},
}


class ModelCard(BaseModel):
    """A model the service offers."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = MODEL_ID


class ModelList(BaseModel):
    """The models the service offers: just one."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


router = APIRouter(prefix=PREFIX, tags=["openai"], responses=ERRORS)
# The model's `created` time: the day the service's first article was published.
MODEL_CREATED = 1762387200


@router.get("/models", response_model=ModelList)
def models() -> ModelList:
    """The one model: article-qa."""
    return ModelList(data=[ModelCard(id=MODEL_ID, created=MODEL_CREATED)])


@router.get("/models/{model_id}", response_model=ModelCard)
def model(model_id: str) -> ModelCard:
    """The model article-qa (any other name: 404)."""
    check_model(model_id)
    return ModelCard(id=MODEL_ID, created=MODEL_CREATED)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": {"text/event-stream": {}}, "description": "with stream: true, SSE chunks"}},
)
async def chat_completions(
    body: ChatCompletionRequest, p: PipelineDep, settings: SettingsDep, metrics: MetricsDep, request: Request
) -> Response:
    """Answer the last user message with citations, as a chat.completion (or chunks with stream: true)."""
    check_model(body.model)
    if body.n not in (None, 1):
        raise ApiError(400, "unsupported_n", "only n=1 is supported", param="n")
    if unsupported := _unsupported(body):
        raise ApiError(400, "unsupported_parameter", unsupported[1], param=unsupported[0])
    question, history = conversation(body.messages)
    question = clean_question(question, settings.server.max_question_chars, param="messages")
    history = recent_turns(history, settings)
    k = top_k(body.top_k, settings)
    reply = Reply(f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), rough_tokens(body.messages))
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        events = counted(p.engine.stream(question, top_k=k, history=history), metrics)
        chunks = reply.chunks(events, include_usage=include_usage)
        return StreamingResponse(chunks, media_type="text/event-stream", headers=SSE_HEADERS)
    answering = p.engine.ask(question, top_k=k, history=history)
    answer = await (answering if isinstance(p.engine, ExtractiveEngine) else unless_gone(request, answering))
    metrics.record_answer(answer)
    return JSONResponse(reply.completion(answer).model_dump())


def _unsupported(body: ChatCompletionRequest) -> tuple[str, str] | None:
    """A request field that asks for what a cited answer cannot be, as (field, why): a tool call (`tools`,
    `tool_choice` other than none or auto) or a JSON reply (`response_format` other than text). Accepted and ignored,
    they made `chat.completions.parse` fail on prose and `tool_choice="required"` return no call. Sampling
    parameters (temperature, max_tokens, stop...) are still accepted and ignored: the answer is the cited one."""
    extra = body.model_extra or {}
    for name in ("tools", "functions"):  # the field as sent (functions: the older API's name)
        if extra.get(name):
            return name, f"{name} are not supported: the answer is cited text, never a tool call"
    for name in ("tool_choice", "function_call"):
        if extra.get(name) not in (None, "none", "auto"):
            return name, f"{name} must be none or auto: the answer is cited text, never a tool call"
    form = extra.get("response_format")
    if form is not None and (not isinstance(form, dict) or form.get("type") != "text"):
        return "response_format", 'only response_format {"type": "text"} is supported: the answer is cited prose'
    return None


def check_model(name: str) -> None:
    """Only article-qa is served: any other name is a 404, so a misconfigured client notices."""
    if name != MODEL_ID:
        message = f"The model {name!r} does not exist; this service offers only {MODEL_ID!r}"
        raise ApiError(404, "model_not_found", message, param="model")


def text_of(message: ChatMessage) -> str:
    """The message's text: a string, or the text parts of a list joined by newlines."""
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    texts: list[str] = []
    for part in message.content:
        if part.type != "text":
            raise ApiError(
                400, "unsupported_content", f"only text content is supported, not {part.type!r} parts", param="messages"
            )
        if part.text is None:
            raise ApiError(400, "invalid_request", "a content part of type 'text' has no 'text'", param="messages")
        texts.append(part.text)
    return "\n".join(texts)


def conversation(messages: Sequence[ChatMessage]) -> tuple[str, list[Turn]]:
    """The last user message, and the earlier user messages paired with the assistant replies that followed."""
    turns: list[Turn] = []
    question: str | None = None
    replies: list[str] = []
    for message in messages:
        if message.role == "user":
            if question is not None:
                turns.append(Turn(question, "\n".join(replies)))
            question, replies = text_of(message), []
        elif message.role == "assistant" and question is not None:
            # Our own replies come back with the sources list appended: the answer is what precedes it.
            replies.append(text_of(message).split(SOURCES_HEADER, 1)[0])
    if question is None:
        raise ApiError(400, "no_user_message", "messages must include a user message: the question", param="messages")
    return question, turns


def sources_text(answer: Answer) -> str:
    """The numbered sources appended to the content: [n] «quote» (doc, start-end)."""
    if not answer.citations:
        return ""
    lines = [f"[{c.n}] «{c.quote}» ({c.doc}, {c.start}-{c.end})" for c in answer.citations]
    return SOURCES_HEADER + "\n".join(lines)


def rough_tokens(payload: str | Sequence[ChatMessage]) -> int:
    """A rough token count: each CJK character one token, other text one token per four characters."""
    if not isinstance(payload, str):
        return sum(rough_tokens(text_of(m)) for m in payload)
    cjk = len(CJK_RE.findall(payload))
    return cjk + math.ceil((len(payload) - cjk) / 4)


class Reply:
    """One completion being written: its id, time and prompt size, as a whole or as chunks."""

    def __init__(self, id_: str, created: int, prompt_tokens: int) -> None:
        self.id, self.created, self.prompt_tokens = id_, created, prompt_tokens

    def usage(self, content: str) -> Usage:
        """Token counts for the prompt and this content."""
        completion = rough_tokens(content)
        return Usage(
            prompt_tokens=self.prompt_tokens, completion_tokens=completion, total_tokens=self.prompt_tokens + completion
        )

    def completion(self, answer: Answer) -> ChatCompletion:
        """The whole chat.completion."""
        content = answer.answer + sources_text(answer)
        return ChatCompletion(
            id=self.id,
            created=self.created,
            choices=[Choice(message=AssistantMessage(content=content))],
            usage=self.usage(content),
            citations=[CitationOut.of(c) for c in answer.citations],
            abstained=answer.abstained,
            mode=answer.mode,
        )

    def chunk(self, delta: dict[str, str], finish: str | None = None, **extra: Any) -> bytes:
        """One chat.completion.chunk of the single choice, as an SSE data line."""
        return self.data([{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra)

    def data(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        """A chat.completion.chunk with these choices (none: the usage chunk) as an SSE data line."""
        head = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": MODEL_ID}
        return _sse({**head, "choices": choices, **extra})

    async def chunks(self, events: AsyncGenerator[Event, None], *, include_usage: bool) -> AsyncIterator[bytes]:
        """The completion as chunks: the role, the answer, the sources, then `stop` with the citations.

        OpenAI chunks can only append, while the engine's final answer (verified, citations checked) replaces
        whatever text it streamed; so the content sent is the final answer's, once it is known.
        """
        try:
            yield self.chunk({"role": "assistant", "content": ""})
            answer = await _final(events)
            sources = sources_text(answer)
            yield self.chunk({"content": answer.answer})
            if sources:
                yield self.chunk({"content": sources})
            citations = [CitationOut.of(c).model_dump() for c in answer.citations]
            yield self.chunk({}, "stop", citations=citations, abstained=answer.abstained, mode=answer.mode)
            if include_usage:
                yield self.data([], usage=self.usage(answer.answer + sources).model_dump())
        except Exception:  # the status line has gone out: report the failure in the stream, as OpenAI does
            log.exception("streamed chat completion failed")
            yield _sse(openai_error_body(500, "internal_error", "an unexpected error occurred; it has been logged"))
        finally:
            await events.aclose()  # a client that left stops the engine
        yield b"data: [DONE]\n\n"


async def _final(events: AsyncIterator[Event]) -> Answer:
    """The engine's final answer; the passages and text deltas before it are not needed here."""
    async for event in events:
        if event.kind == "final" and event.answer is not None:
            return event.answer
    raise RuntimeError("the engine's stream ended without a final answer")


def _sse(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _as_openai(exc: Exception) -> tuple[int, str, str, str | None, dict[str, str] | None]:
    """Status, code, message, param and headers of an error raised under /v1 (422 becomes OpenAI's 400)."""
    if isinstance(exc, ApiError):
        status = 400 if exc.status == 422 else exc.status
        return status, exc.code, exc.message, exc.param, exc.headers
    if isinstance(exc, RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return 400, "invalid_json", "the request body is not valid JSON", None, None
        found = [(".".join(str(p) for p in e.get("loc", ())[1:]) or "body", e.get("msg")) for e in errors]
        message = "invalid request: " + "; ".join(f"{where}: {msg}" for where, msg in found)
        return 400, "invalid_request", message, found[0][0] if found else None, None
    if isinstance(exc, StarletteHTTPException):
        if unreadable_body(exc.status_code, exc.detail):
            return 400, "invalid_json", UNREADABLE_BODY, None, None
        code = STATUS_CODES.get(exc.status_code, "error")
        return exc.status_code, code, str(exc.detail), None, getattr(exc, "headers", None)
    return 500, "internal_error", "an unexpected error occurred; it has been logged", None, None


def install_error_shape(app: FastAPI) -> None:
    """Under /v1, answer errors in OpenAI's shape; elsewhere leave them to the app's own handlers."""
    for kind in (ApiError, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(kind, _scoped(app.exception_handlers.get(kind)))


def _scoped(previous: HTTPExceptionHandler | None) -> HTTPExceptionHandler:
    async def handle(request: Request, exc: Exception) -> Response:
        if previous is not None and not request.url.path.startswith(PREFIX + "/"):
            response = previous(request, exc)
            return await response if inspect.isawaitable(response) else response
        status, code, message, param, headers = _as_openai(exc)
        return JSONResponse(openai_error_body(status, code, message, param), status_code=status, headers=headers)

    return handle

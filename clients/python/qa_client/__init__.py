"""Python client of the article QA service: QAClient (sync) and AsyncQAClient over httpx, with typed results.

Distribution `article-qa-client` (clients/python in the article-qa repository). Only httpx and the standard library
are needed: importing this package loads no model, no index and no part of the server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, get_args, get_type_hints

import httpx

__all__ = [
    "DEFAULT_TIMEOUT",
    "AskResult",
    "AsyncQAClient",
    "Citation",
    "EventKind",
    "Health",
    "History",
    "Passage",
    "QAClient",
    "QAConnectionError",
    "QAError",
    "QARateLimitedError",
    "QARequestError",
    "QAUnavailableError",
    "ShortAnswer",
    "StreamEvent",
]
__version__ = "0.1.0"

DEFAULT_TIMEOUT = 30.0
"""Seconds a request may take (connect, read, write, pool) unless the client is given another timeout."""
History = Iterable[tuple[str, str]]
"""The conversation so far: (question, answer) pairs, oldest first."""
EventKind = Literal["passages", "delta", "final"]
"""The kinds of StreamEvent a streamed answer yields, in that order."""
T = TypeVar("T")


@dataclass(frozen=True)
class Citation:
    """An exact quote of a source: the document's text[start:end] == quote."""

    n: int
    doc: str
    chunk_id: str
    quote: str
    start: int
    end: int

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Citation:
        """From the API's citation object."""
        return cls(**_known(cls, d))


@dataclass(frozen=True)
class ShortAnswer:
    """The date, number, amount or name a question asks for, inside a cited sentence: the document's
    text[start:end] == text."""

    text: str
    start: int
    end: int
    doc: str
    said: str | None = None  # how an English answer's text says it (`October 30` for 10月30日), when it opens with it

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ShortAnswer:
        """From the API's short_answer object."""
        return cls(**_known(cls, d))


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk of a document with its scores."""

    chunk_id: str
    doc: str
    text: str
    start: int
    end: int
    score: float
    lexical: float = 0.0
    dense: float = 0.0
    kind: str = "text"
    heading: str | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Passage:
        """From the API's passage object."""
        return cls(**_known(cls, d))


@dataclass(frozen=True)
class AskResult:
    """A cited answer (markers [n] match citations[].n), or an abstention, with the passages searched."""

    answer: str
    abstained: bool
    mode: str
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    timings: Mapping[str, float] = field(default_factory=dict)
    reason: str | None = None
    lang: str = ""
    short_answer: ShortAnswer | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AskResult:
        """From the /ask response."""
        return cls(
            answer=_text_field("answer", d["answer"]),
            abstained=_bool("abstained", d["abstained"]),
            mode=_text_field("mode", d["mode"]),
            citations=tuple(Citation.from_json(c) for c in d["citations"]),
            passages=tuple(Passage.from_json(p) for p in d.get("passages", ())),
            timings={str(k): float(v) for k, v in d.get("timings", {}).items()},
            reason=d.get("reason"),
            lang=str(d.get("lang", "")),
            short_answer=ShortAnswer.from_json(d["short_answer"]) if d.get("short_answer") else None,
        )


@dataclass(frozen=True)
class StreamEvent:
    """One event of a streamed answer: passages, a text delta to append, or the final (authoritative) result."""

    kind: EventKind
    passages: tuple[Passage, ...] = ()
    text: str = ""
    result: AskResult | None = None


@dataclass(frozen=True)
class Health:
    """Whether the service is up and its index loaded."""

    status: str
    ready: bool
    detail: str | None = None


class QAError(Exception):
    """The service said no (status, code and message from its error body), or could not be reached (status None)."""

    def __init__(self, status: int | None, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}" if status is None else f"HTTP {status} {code}: {message}")
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickled with its own fields (a process pool sends errors back pickled: the default took args only).
        return (_rebuilt, (type(self), self.status, self.code, self.message, self.retry_after))


def _rebuilt(kind: type[QAError], status: int | None, code: str, message: str, retry_after: float | None) -> QAError:
    return kind(status, code, message, retry_after=retry_after)


class QARequestError(QAError):
    """A 4xx: the request was wrong (empty or over-long question, top_k out of range, unknown id...)."""


class QAUnavailableError(QAError):
    """The service cannot answer now (503 while the index loads or after a failed load, 502/504): retry later."""


class QAConnectionError(QAUnavailableError):
    """No HTTP answer at all: connection refused, unknown host, timeout, connection dropped."""


class QARateLimitedError(QAUnavailableError):
    """A 429: too many requests for now; retry after `retry_after` seconds (the service's Retry-After)."""


class QAClient:
    """Synchronous client of the article QA service."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = _base_url(base_url)
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport, headers=_headers(api_key, headers)
        )

    def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        history: History | None = None,
        docs: Sequence[str] | None = None,
    ) -> AskResult:
        """A cited answer; history is (question, answer) pairs of the conversation so far, oldest first; docs keeps
        the answer to those documents (by id)."""
        body = _ask_body(question, top_k, history, docs)
        with _transport_errors(self.base_url):
            response = self._http.post("/ask", json=body)
        return _parse(response, AskResult.from_json)

    def ask_stream(
        self,
        question: str,
        *,
        top_k: int | None = None,
        history: History | None = None,
        docs: Sequence[str] | None = None,
    ) -> Iterator[StreamEvent]:
        """The answer as events: passages, text deltas, then the final result (which replaces the deltas). The
        arguments are checked at the call, as ask() checks them, not when the events are first read."""
        return self._events(_ask_body(question, top_k, history, docs))

    def _events(self, body: dict[str, Any]) -> Iterator[StreamEvent]:
        with (
            _transport_errors(self.base_url),
            self._http.stream("POST", "/ask/stream", json=body, headers=_SSE_ACCEPT) as response,
        ):
            if response.status_code != 200:
                response.read()
                raise _error(response)
            events = _EventReader(response)
            for line in response.iter_lines():
                event = events.feed(line)
                if event is not None:
                    yield event
                    if event.kind == "final":
                        return
            events.incomplete()

    def search(self, q: str, k: int | None = None, *, docs: Sequence[str] | None = None) -> list[Passage]:
        """Ranked passages for a query, without an answer (only from docs, when given)."""
        params = _search_params(q, k, docs)
        with _transport_errors(self.base_url):
            response = self._http.get("/search", params=params)
        return _parse(response, _passages)

    def health(self) -> Health:
        """The service's status; a service still loading (503) is reported, not raised."""
        with _transport_errors(self.base_url):
            response = self._http.get("/health")
        return _health(response)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class AsyncQAClient:
    """Asynchronous client of the article QA service."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = _base_url(base_url)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport, headers=_headers(api_key, headers)
        )

    async def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        history: History | None = None,
        docs: Sequence[str] | None = None,
    ) -> AskResult:
        """A cited answer; history is (question, answer) pairs of the conversation so far, oldest first; docs keeps
        the answer to those documents (by id)."""
        body = _ask_body(question, top_k, history, docs)
        with _transport_errors(self.base_url):
            response = await self._http.post("/ask", json=body)
        return _parse(response, AskResult.from_json)

    def ask_stream(
        self,
        question: str,
        *,
        top_k: int | None = None,
        history: History | None = None,
        docs: Sequence[str] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """The answer as events (`async for`): passages, text deltas, then the final result (which replaces the
        deltas). The arguments are checked at the call, as ask() checks them, not when the events are first read."""
        return self._events(_ask_body(question, top_k, history, docs))

    async def _events(self, body: dict[str, Any]) -> AsyncIterator[StreamEvent]:
        with _transport_errors(self.base_url):
            async with self._http.stream("POST", "/ask/stream", json=body, headers=_SSE_ACCEPT) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise _error(response)
                events = _EventReader(response)
                async for line in response.aiter_lines():
                    event = events.feed(line)
                    if event is not None:
                        yield event
                        if event.kind == "final":
                            return
                events.incomplete()

    async def search(self, q: str, k: int | None = None, *, docs: Sequence[str] | None = None) -> list[Passage]:
        """Ranked passages for a query, without an answer (only from docs, when given)."""
        params = _search_params(q, k, docs)
        with _transport_errors(self.base_url):
            response = await self._http.get("/search", params=params)
        return _parse(response, _passages)

    async def health(self) -> Health:
        """The service's status; a service still loading (503) is reported, not raised."""
        with _transport_errors(self.base_url):
            response = await self._http.get("/health")
        return _health(response)

    async def close(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


_SSE_ACCEPT = {"Accept": "text/event-stream"}


class _EventReader:
    """Turns Server-Sent Events lines into typed events."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.kind = "message"
        self.data: list[str] = []

    def feed(self, line: str) -> StreamEvent | None:
        """Take one line; return the event a blank line completes."""
        if line:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                self.kind = value
            elif name == "data":
                self.data.append(value)
            return None
        kind, data = self.kind, "\n".join(self.data)
        self.kind, self.data = "message", []
        if not data or kind not in _EVENT_KINDS:  # a keep-alive, or an event this client does not know yet
            return None
        if kind == "error":  # the service's own error, mid-stream: its message, not `incomplete_stream`
            raise _parse_data(self.response, data, _stream_error)
        return _parse_data(self.response, data, lambda d: _stream_event(kind, d))

    def incomplete(self) -> None:
        """The stream ended before the final event."""
        raise QAError(self.response.status_code, "incomplete_stream", "the stream ended before the final answer")


_EVENT_KINDS = frozenset({"passages", "delta", "final", "error"})


def _stream_error(d: Any) -> QAError:
    error = d.get("error", d) if isinstance(d, dict) else {}
    return QAError(None, str(error.get("code") or "stream_error"), str(error.get("message") or d))


def _stream_event(kind: str, d: Any) -> StreamEvent | None:
    if kind == "passages":
        return StreamEvent("passages", passages=tuple(_passages(d)))
    if kind == "delta":
        if not isinstance(d["text"], str):
            raise TypeError(f"a delta's text is {type(d['text']).__name__}, not a string")
        return StreamEvent("delta", text=d["text"])
    if kind == "final":
        return StreamEvent("final", result=AskResult.from_json(d))
    return None  # an event kind this client does not know yet


def _known(cls: type, d: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a result dataclass found in a JSON object, each of its type (TypeError otherwise: `"start": "x"`
    was kept as it came); newer fields the server adds are left out."""
    hints = get_type_hints(cls)
    found = {f.name: d[f.name] for f in fields(cls) if f.name in d}
    for name, value in found.items():
        _check(name, value, hints[name])
    return found


def _check(name: str, value: Any, hint: Any) -> None:
    """TypeError unless a JSON value is of a field's plain type (int, float, str, or one of them or None)."""
    allowed = tuple(t for t in get_args(hint) or (hint,) if t in (int, float, str, type(None)))
    if not allowed:
        return
    if float in allowed:
        allowed = (*allowed, int)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise TypeError(f"{name} is {type(value).__name__}: {value!r:.40}")


def _text_field(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} is {type(value).__name__}, not a string")
    return value


def _bool(name: str, value: Any) -> bool:
    """A JSON boolean (`"false"` read as bool() was true)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} is {type(value).__name__}, not a boolean: {value!r:.40}")
    return value


def _base_url(base_url: str) -> str:
    """The service's address, checked when the client is made: a mistake in it (`localhost:8000`, no scheme) is the
    caller's, a ValueError now, not a QAConnectionError (retry later) at every call."""
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"base_url {base_url!r:.80} is not a URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url {base_url!r:.80} must be http:// or https:// and name a host")
    if url.query or url.fragment:
        raise ValueError(f"base_url {base_url!r:.80} must not carry a query or a fragment")
    return base_url.rstrip("/")


def _headers(api_key: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "article-qa-client/0.1", **(extra or {})}
    if api_key:
        if not api_key.isprintable() or not api_key.isascii() or api_key != api_key.strip():
            raise ValueError("api_key must be printable ASCII without surrounding blanks (it goes in a header)")
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}  # the key given wins
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def _ask_body(question: str, top_k: int | None, history: History | None, docs: Sequence[str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"question": _text("question", question)}
    if top_k is not None:
        body["top_k"] = top_k
    if history is not None:
        body["history"] = [_turn(n, turn) for n, turn in enumerate(history)]
    if docs is not None:
        body["docs"] = _ids(docs)
    return body


def _turn(n: int, turn: Any) -> dict[str, str]:
    """One (question, answer) pair of a history as the service takes it; a QARequestError for anything else (a
    string of two characters is no pair)."""
    if isinstance(turn, str | bytes) or not isinstance(turn, Sequence) or len(turn) != 2:
        message = f"history[{n}] must be a (question, answer) pair of strings, not {turn!r:.80}"
        raise QARequestError(None, "invalid_history", message)
    return {"question": _text(f"history[{n}] question", turn[0]), "answer": _text(f"history[{n}] answer", turn[1])}


def _text(name: str, value: Any) -> str:
    """A string the request can carry (UTF-8: no lone surrogates), or a QARequestError naming what is wrong."""
    if not isinstance(value, str):
        raise QARequestError(None, "invalid_request", f"{name} must be a string, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise QARequestError(
            None, "invalid_text", f"{name} is not valid text (a lone surrogate at {exc.start})"
        ) from exc
    return value


def _ids(docs: Sequence[str]) -> list[str]:
    if isinstance(docs, str):
        raise QARequestError(
            None, "invalid_request", f"docs must be a list of document ids, not the string {docs!r:.80}"
        )
    ids = [_text("docs", d) for d in docs]
    if not ids:  # search sent none (httpx drops an empty list) and looked in every document; ask got a 422
        raise QARequestError(None, "invalid_request", "docs must name at least one document (None: all of them)")
    return ids


def _search_params(q: str, k: int | None, docs: Sequence[str] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"q": _text("q", q)}
    if k is not None:
        params["k"] = k
    if docs is not None:
        params["docs"] = _ids(docs)
    return params


def _passages(d: Any) -> list[Passage]:
    return [Passage.from_json(p) for p in d["passages"]]


@contextmanager
def _transport_errors(base_url: str) -> Iterator[None]:
    """httpx's transport failures as QAConnectionError, with the address that failed."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise QAConnectionError(None, "timeout", f"no answer from {base_url} in time ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        message = f"cannot reach the QA service at {base_url}: {exc or type(exc).__name__}"
        raise QAConnectionError(None, "connection_error", message) from exc
    except httpx.DecodingError as exc:  # a body its Content-Encoding does not fit
        raise QAError(None, "invalid_response", f"unreadable response from {base_url}: {exc}") from exc
    except RuntimeError as exc:  # httpx's own for a closed client: the caller's mistake, said as such
        if "closed" not in str(exc):
            raise
        raise QARequestError(None, "client_closed", "this client was closed: make a new one") from exc


def _parse(response: httpx.Response, parse: Callable[[Any], T]) -> T:
    if not response.is_success:
        raise _error(response)
    return _parse_data(response, response.text, parse)


def _parse_data(response: httpx.Response, text: str, parse: Callable[[Any], T]) -> T:
    try:
        return parse(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, OverflowError) as exc:
        message = f"unexpected response from {response.request.url}: {type(exc).__name__}: {exc}"
        raise QAError(response.status_code, "invalid_response", message) from exc


def _health(response: httpx.Response) -> Health:
    try:
        d = response.json()
    except (ValueError, RecursionError):
        d = None
    if response.status_code in (200, 503) and isinstance(d, dict) and isinstance(d.get("ready"), bool):
        return Health(status=str(d.get("status")), ready=d["ready"], detail=d.get("detail"))
    if response.status_code == 200:  # a success that is no health report: not this service, or a proxy's page
        message = f"unexpected response from {response.request.url}: {response.text[:200]!r}"
        raise QAError(response.status_code, "invalid_response", message)
    raise _error(response)


def _error(response: httpx.Response) -> QAError:
    """The QAError for a response: code and message from the service's error body when it has one."""
    status = response.status_code
    code, message = f"http_{status}", f"HTTP {status} {response.reason_phrase}: {response.text[:200]}".strip()
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError, RecursionError):
        error = None
    if isinstance(error, dict):
        code, message = str(error.get("code") or code), str(error.get("message") or message)
    if response.is_redirect:  # not followed (a POST's body, the key's header): the address given is not the service's
        where = response.headers.get("Location", "")
        code, message = "redirected", f"HTTP {status}: {response.request.url} is answered from {where!r:.200}"
        message += ": give the service's own address as base_url"
    kind: type[QAError] = QAError
    if status == 429:
        kind = QARateLimitedError  # retried like a 503: the request was right, only too soon
    elif status in (502, 503, 504):
        kind = QAUnavailableError
    elif status < 500:
        kind = QARequestError
    return kind(status, code, message, retry_after=_seconds(response.headers.get("Retry-After", "")))


def _seconds(value: str) -> float | None:
    """A Retry-After of seconds (an HTTP date, or anything else, gives None)."""
    try:
        wait = float(value)
    except ValueError:
        return None
    return wait if 0 <= wait < float("inf") else None

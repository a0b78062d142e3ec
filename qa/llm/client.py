"""OpenAI-compatible chat completions over httpx: retries, fail-fast on a dead server, streaming (SSE)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx

from qa.config import LLMSettings
from qa.errors import LLMError

log = logging.getLogger(__name__)
Message = dict[str, str]


_HAD = "qa.seconds_given"  # response.extensions key: the time the call had once it got its slot


class LLMClient:
    """Chat completions against any OpenAI-compatible server (llama.cpp, vLLM, Ollama /v1, OpenAI)."""

    def __init__(
        self,
        config: LLMSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._transport = transport
        self._clock = clock
        self._dead_until = 0.0
        self._timeouts = 0  # calls in a row that ran past their deadline (the circuit breaker's count)
        self._probing = False  # after the breaker's window, one call tries the server while the others fail fast
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None

    def _http(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        """The pooled client and the concurrency slots, made for the running event loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._slots is None or self._loop is not loop:
            headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
            timeout = httpx.Timeout(self.config.timeout, connect=self.config.connect_timeout)
            self._client = httpx.AsyncClient(
                base_url=self.config.base_url.rstrip("/") + "/",
                headers=headers,
                timeout=timeout,
                transport=self._transport,
                limits=httpx.Limits(max_connections=self.config.max_concurrency * 2),
            )
            self._slots = asyncio.Semaphore(self.config.max_concurrency)
            self._loop = loop
        return self._client, self._slots

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def dead(self) -> bool:
        """True while a server that could not be reached, or kept timing out, is being left alone."""
        return self._clock() < self._dead_until

    def deadline(self) -> float:
        """When a call started now must be over (event-loop time): the timeout bounds the whole completion,
        retries and slow drips included, not each read. Calls made for one question share one (`deadline=`)."""
        return asyncio.get_running_loop().time() + self.config.timeout

    def _timed_out(self, message: str, had: float | None = None) -> LLMError:
        """The error for a call past its deadline; after dead_after_timeouts in a row the server is left alone
        for dead_seconds (a circuit breaker: the next calls fail fast instead of each waiting out the deadline).
        A call that got its slot with less than half the timeout left (`had` seconds: it queued behind others, or
        a follow-up's rewrite took the rest) says nothing of the server, and is not counted."""
        if had is not None and had < self.config.timeout / 2:
            return LLMError("timeout", message)
        self._timeouts += 1
        if self._timeouts >= self.config.dead_after_timeouts:
            self._dead_until = self._clock() + self.config.dead_seconds
            log.warning(
                "LLM server timed out %d times in a row; not tried for %.0fs", self._timeouts, self.config.dead_seconds
            )
        return LLMError("timeout", message)

    def _body(self, messages: Sequence[Message], stream: bool) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "messages": list(messages),
            "max_tokens": self.config.max_tokens,
            "temperature": self.config.temperature,
            "stream": stream,
        }

    async def complete(self, messages: Sequence[Message], *, deadline: float | None = None) -> str:
        """The assistant's whole reply, within the timeout (LLMError `timeout` past it, the connection closed), or
        by `deadline` when given (event-loop time)."""
        deadline = deadline or self.deadline()
        async with self._response(messages, stream=False, deadline=deadline) as response:
            try:
                async with asyncio.timeout_at(deadline):
                    raw = await response.aread()
            except (TimeoutError, httpx.TimeoutException) as exc:
                raise self._timed_out("the completion took too long", response.extensions.get(_HAD)) from exc
            except httpx.DecodingError as exc:  # a Content-Encoding its body does not have
                raise LLMError("malformed", f"the completion could not be decoded: {exc}") from exc
            except httpx.TransportError as exc:
                raise LLMError("connection", f"lost while reading: {exc}") from exc
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (json.JSONDecodeError, KeyError, IndexError, TypeError, UnicodeDecodeError) as exc:
            raise LLMError("malformed", f"unexpected completion body: {exc}") from exc
        if not isinstance(content, str):
            raise LLMError("malformed", "the completion has no text content")
        if len(content) > self._longest():
            raise LLMError("malformed", f"a completion of {len(content)} characters, past max_tokens")
        self._timeouts = 0
        self._dead_until = 0.0  # a server that answered is well: no probe next time
        return content

    def _longest(self) -> int:
        """Most characters a reply of max_tokens can hold (a server that ignores max_tokens is cut off there)."""
        return max(4_000, 8 * self.config.max_tokens)

    async def stream(self, messages: Sequence[Message], *, deadline: float | None = None) -> AsyncGenerator[str, None]:
        """The assistant's reply in pieces as the server sends them (SSE `data:` lines), within the timeout (or by
        `deadline`)."""
        deadline = deadline or self.deadline()
        async with self._response(messages, stream=True, deadline=deadline) as response:
            lines = response.aiter_lines()
            finished = False
            received = 0
            try:
                while not finished:
                    try:
                        # The deadline covers each wait for a line, never the time the caller spends on a piece.
                        async with asyncio.timeout_at(deadline):
                            line = await anext(lines)
                    except StopAsyncIteration:
                        break
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        finished = True
                        break
                    piece, done = _parse_chunk(payload)
                    finished = finished or done
                    received += len(piece)
                    if received > self._longest():
                        raise LLMError("malformed", f"a stream of over {self._longest()} characters, past max_tokens")
                    if piece:
                        yield piece
            except (TimeoutError, httpx.TimeoutException) as exc:
                raise self._timed_out("the stream ran past its deadline", response.extensions.get(_HAD)) from exc
            except httpx.DecodingError as exc:
                raise LLMError("malformed", f"the stream could not be decoded: {exc}") from exc
            except httpx.TransportError as exc:
                raise LLMError("stream-cut", f"the stream broke off: {exc}") from exc
            if not finished:
                raise LLMError("stream-cut", "the stream ended before the server said it was done")
        self._timeouts = 0
        self._dead_until = 0.0

    @asynccontextmanager
    async def _response(
        self, messages: Sequence[Message], *, stream: bool, deadline: float
    ) -> AsyncIterator[httpx.Response]:
        """An open 200 response, after bounded retries on connection errors, 429 and 5xx, all before deadline."""
        if self.dead:
            raise LLMError("unavailable", "the LLM server was unreachable or timing out moments ago; not retried yet")
        # Once the window is over, one call finds out whether the server is back: every call arriving then would
        # otherwise wait out its whole timeout on a server still gone.
        probe = self._dead_until > 0
        if probe and self._probing:
            raise LLMError("unavailable", "the LLM server is being tried again; not retried by this call")
        self._probing = self._probing or probe
        try:
            async with self._slot(messages, stream, deadline) as response:
                yield response
        finally:
            if probe:
                self._probing = False

    @asynccontextmanager
    async def _slot(self, messages: Sequence[Message], stream: bool, deadline: float) -> AsyncIterator[httpx.Response]:
        """The response of a call made within one of the concurrency slots."""
        client, slots = self._http()
        try:
            async with asyncio.timeout_at(deadline):
                await slots.acquire()
        except TimeoutError as exc:
            raise LLMError("busy", "too many LLM calls in flight") from exc
        had = deadline - asyncio.get_running_loop().time()  # the time the server is given, once a slot is had
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    response = await self._send(client, self._body(messages, stream), had, deadline)
            except TimeoutError as exc:
                raise self._timed_out("no reply in time", had) from exc
            response.extensions[_HAD] = had
            try:
                yield response
            finally:
                await response.aclose()
        finally:
            slots.release()

    async def _send(
        self, client: httpx.AsyncClient, body: dict[str, Any], had: float, deadline: float
    ) -> httpx.Response:
        delay = self.config.backoff
        for attempt in range(self.config.retries + 1):
            last = attempt == self.config.retries
            try:
                request = client.build_request("POST", "chat/completions", json=body)
                response = await client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if last:
                    self._dead_until = self._clock() + self.config.dead_seconds
                    raise LLMError("unavailable", f"cannot connect to {self.config.base_url}: {exc}") from exc
            except httpx.TimeoutException as exc:
                raise self._timed_out("no reply in time", had) from exc
            except httpx.TransportError as exc:
                if last:
                    raise LLMError("connection", str(exc)) from exc
            else:
                if response.status_code == 200:
                    return response
                await response.aclose()
                retryable = response.status_code == 429 or response.status_code >= 500
                # A server that asks to be left alone past the deadline is not waited for: rate-limited now, not a
                # timeout later (which the circuit breaker would count).
                asked = _retry_after(response, most=float("inf"))
                if response.status_code == 429 and asyncio.get_running_loop().time() + asked >= deadline:
                    last = True
                if last or not retryable:
                    kind = "rate-limited" if response.status_code == 429 else f"http-{response.status_code}"
                    raise LLMError(kind, f"the LLM server answered {response.status_code}")
                delay = max(delay, _retry_after(response))
            log.info("LLM call failed (attempt %d); retrying in %.2fs", attempt + 1, delay)
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(response: httpx.Response, most: float = 5.0) -> float:
    try:
        return min(most, float(response.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0


def _parse_chunk(payload: str) -> tuple[str, bool]:
    """The text of one streamed chunk and whether it finishes the reply."""
    try:
        choices = json.loads(payload)["choices"]
        if choices == []:  # Azure's content-filter results first, OpenAI's usage last: no text, not an error
            return "", False
        choice = choices[0]
    except (json.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise LLMError("malformed", f"unreadable stream chunk: {payload[:80]!r}") from exc
    piece = (choice.get("delta") or {}).get("content") or ""
    if not isinstance(piece, str):
        raise LLMError("malformed", "a stream chunk has non-text content")
    return piece, choice.get("finish_reason") is not None

"""The OpenAI-compatible client: retries, failures, streaming (httpx.MockTransport, no sockets), and deadlines
against a scripted server on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx
import pytest

from qa.config import LLMSettings
from qa.errors import LLMError
from qa.llm.client import LLMClient
from tests.fake_llm import Script, Step, chunk, completion, fake_llm_app
from tests.support import serve

MESSAGES = [{"role": "user", "content": "hi"}]


def client_for(handler: Callable[[httpx.Request], httpx.Response], **config: object) -> LLMClient:
    settings = {"base_url": "http://llm.test/v1", "backoff": 0.0, **config}
    return LLMClient(LLMSettings(**settings), transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_completion_sends_the_openai_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=completion("答案[1]"))

    client = client_for(handler, model="gemma", api_key="k", max_tokens=50, temperature=0.2)
    assert run(client.complete(MESSAGES)) == "答案[1]"
    body = json.loads(seen[0].content)
    assert seen[0].url == "http://llm.test/v1/chat/completions"
    assert seen[0].headers["authorization"] == "Bearer k"
    assert body == {"model": "gemma", "messages": MESSAGES, "max_tokens": 50, "temperature": 0.2, "stream": False}


def test_500_then_success_is_retried() -> None:
    replies = [httpx.Response(500), httpx.Response(503), httpx.Response(200, json=completion("ok"))]
    client = client_for(lambda request: replies.pop(0), retries=2)
    assert run(client.complete(MESSAGES)) == "ok"
    assert not replies


def test_429_is_retried_and_persistent_5xx_fails() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429 if len(calls) == 1 else 500, headers={"retry-after": "0"})

    with pytest.raises(LLMError) as caught:
        run(client_for(handler, retries=2).complete(MESSAGES))
    assert caught.value.reason == "http-500"
    assert len(calls) == 3


def test_a_429_that_asks_for_longer_than_the_deadline_is_rate_limited_at_once() -> None:
    """Retry-After: 100 with a 10 s timeout: the client slept 5 s at a time to its deadline, and called it a timeout
    (which the circuit breaker counts)."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, headers={"retry-after": "100"})

    client = client_for(handler, retries=3, timeout=10.0)
    started = time.perf_counter()
    with pytest.raises(LLMError) as caught:
        run(client.complete(MESSAGES))
    assert caught.value.reason == "rate-limited" and len(calls) == 1
    assert time.perf_counter() - started < 1.0 and client._timeouts == 0


def test_4xx_is_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401)

    with pytest.raises(LLMError, match="http-401"):
        run(client_for(handler, retries=3).complete(MESSAGES))
    assert len(calls) == 1


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(200, content=b"<html>not json"),
        httpx.Response(200, json={"choices": []}),
        httpx.Response(200, json={"choices": [{"message": {"content": None}}]}),
    ],
)
def test_malformed_replies_fail_clearly(reply: httpx.Response) -> None:
    with pytest.raises(LLMError) as caught:
        run(client_for(lambda request: reply).complete(MESSAGES))
    assert caught.value.reason == "malformed"


def test_timeout_fails_without_retry() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(LLMError, match="timeout"):
        run(client_for(handler, retries=3).complete(MESSAGES))
    assert len(calls) == 1


def test_unreachable_server_is_remembered_for_a_while() -> None:
    calls = []
    now = [100.0]

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    client = LLMClient(
        LLMSettings(base_url="http://llm.test/v1", retries=1, backoff=0.0, dead_seconds=30),
        transport=httpx.MockTransport(handler),
        clock=lambda: now[0],
    )
    with pytest.raises(LLMError, match="unavailable"):
        run(client.complete(MESSAGES))
    assert len(calls) == 2 and client.dead
    with pytest.raises(LLMError, match="unavailable"):
        run(client.complete(MESSAGES))
    assert len(calls) == 2  # not tried again while remembered dead
    now[0] += 31
    with pytest.raises(LLMError):
        run(client.complete(MESSAGES))
    assert len(calls) == 4


def sse(*parts: str) -> httpx.Response:
    return httpx.Response(200, content="".join(parts).encode(), headers={"content-type": "text/event-stream"})


async def collect(client: LLMClient) -> list[str]:
    return [piece async for piece in client.stream(MESSAGES)]


def test_stream_yields_pieces_until_done() -> None:
    reply = sse(": comment\n\n", chunk("北約"), chunk("賭[1]"), chunk("", finish="stop"), "data: [DONE]\n\n")
    assert run(collect(client_for(lambda request: reply))) == ["北約", "賭[1]"]


def test_stream_cut_in_the_middle_fails() -> None:
    reply = sse(chunk("北約"), chunk("賭"))
    with pytest.raises(LLMError) as caught:
        run(collect(client_for(lambda request: reply)))
    assert caught.value.reason == "stream-cut"


def test_a_body_that_does_not_decode_is_malformed_not_a_crash() -> None:
    """A gzip Content-Encoding on a body that is not gzip: httpx's DecodingError escaped as a 500."""
    broken = {"content-encoding": "gzip", "content-type": "application/json"}
    with pytest.raises(LLMError) as whole:
        reply = httpx.Response(200, stream=httpx.ByteStream(b"not gzip at all"), headers=broken)
        run(client_for(lambda request: reply).complete(MESSAGES))
    assert whole.value.reason == "malformed"
    streamed = {"content-encoding": "gzip", "content-type": "text/event-stream"}
    with pytest.raises(LLMError) as cut:
        reply = httpx.Response(200, stream=httpx.ByteStream(b"not gzip either"), headers=streamed)
        run(collect(client_for(lambda request: reply)))
    assert cut.value.reason == "malformed"


def test_stream_chunks_without_choices_are_skipped() -> None:
    """Azure OpenAI sends its content-filter results first, OpenAI its usage last, each with no choices."""
    filters = 'data: {"choices": [], "prompt_filter_results": [{"prompt_index": 0}]}\n\n'
    usage = 'data: {"choices": [], "usage": {"total_tokens": 3}}\n\n'
    reply = sse(filters, chunk("北約"), chunk("賭[1]", finish="stop"), usage, "data: [DONE]\n\n")
    assert run(collect(client_for(lambda request: reply))) == ["北約", "賭[1]"]


def test_a_reply_far_past_max_tokens_is_refused() -> None:
    """A server that ignores max_tokens: a reply of a million characters was verified (blocking the server)."""
    huge = "北約" * 100_000
    with pytest.raises(LLMError) as whole:
        run(client_for(lambda request: httpx.Response(200, json=completion(huge)), max_tokens=256).complete(MESSAGES))
    assert whole.value.reason == "malformed"
    reply = sse(*(chunk("北約" * 500) for _ in range(100)), "data: [DONE]\n\n")
    with pytest.raises(LLMError) as streamed:
        run(collect(client_for(lambda request: reply, max_tokens=256)))
    assert streamed.value.reason == "malformed"


def test_stream_with_a_garbage_chunk_fails() -> None:
    reply = sse(chunk("北約"), "data: {oops\n\n")
    with pytest.raises(LLMError) as caught:
        run(collect(client_for(lambda request: reply)))
    assert caught.value.reason == "malformed"


def test_concurrency_is_capped() -> None:
    in_flight = [0, 0]

    async def handler(request: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        in_flight[1] = max(in_flight[1], in_flight[0])
        await asyncio.sleep(0.05)
        in_flight[0] -= 1
        return httpx.Response(200, json=completion("ok"))

    client = LLMClient(
        LLMSettings(base_url="http://llm.test/v1", max_concurrency=2), transport=httpx.MockTransport(handler)
    )

    async def many() -> list[str]:
        return await asyncio.gather(*(client.complete(MESSAGES) for _ in range(6)))

    assert run(many()) == ["ok"] * 6
    assert in_flight[1] == 2


# The timeout is a deadline for the whole completion (issue 11, item 4): a server that drips a piece every little
# while, each read well within the timeout, is cut off at the deadline, and the connection to it is closed.

DRIP = Step(stream_pieces=["滴"] * 40, piece_delay=0.5, always_stream=True)  # 20 s in all, a piece every 0.5 s


def wait_until(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


@pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
def test_a_drip_feeding_server_is_cut_off_at_the_deadline(streaming: bool) -> None:
    script = Script(steps=[DRIP])
    with serve(fake_llm_app(script)) as fake:
        client = LLMClient(LLMSettings(base_url=fake + "/v1", timeout=2.0, retries=0))
        call = collect(client) if streaming else client.complete(MESSAGES)
        started = time.perf_counter()
        with pytest.raises(LLMError) as caught:
            run(call)
        elapsed = time.perf_counter() - started
        assert caught.value.reason == "timeout"
        assert elapsed < 2.0 + 2.0  # the deadline and a margin, not the 20 s the drip would take
        assert wait_until(lambda: script.disconnected == 1)  # the LLM connection was closed, not left dripping
        assert script.finished_streams == 0


def test_a_server_that_keeps_timing_out_is_left_alone_for_a_while() -> None:
    script = Script(steps=[DRIP, DRIP, Step(content="ok")])
    now = [100.0]
    with serve(fake_llm_app(script)) as fake:
        # A timeout long enough that a loaded machine still gives each call over half of it once it has its slot
        # (a call given less says nothing of the server and is not counted).
        settings = LLMSettings(base_url=fake + "/v1", timeout=2.0, retries=0, dead_after_timeouts=2, dead_seconds=30)
        client = LLMClient(settings, clock=lambda: now[0])
        for _ in range(2):
            with pytest.raises(LLMError, match="timeout"):
                run(client.complete(MESSAGES))
        assert client.dead and len(script.requests) == 2
        started = time.perf_counter()
        with pytest.raises(LLMError) as caught:
            run(client.complete(MESSAGES))
        assert caught.value.reason == "unavailable"
        assert time.perf_counter() - started < 0.25  # failed fast ...
        assert len(script.requests) == 2  # ... without contacting the server
        now[0] += 31  # once the window is over, the server is tried again; a success resets the count
        assert run(client.complete(MESSAGES)) == "ok"
        assert not client.dead and len(script.requests) == 3


def test_timeouts_that_are_not_in_a_row_do_not_trip_the_breaker() -> None:
    script = Script(steps=[DRIP, Step(content="ok"), DRIP, Step(content="ok")])
    with serve(fake_llm_app(script)) as fake:
        settings = LLMSettings(base_url=fake + "/v1", timeout=0.5, retries=0, dead_after_timeouts=2)
        client = LLMClient(settings)
        for _ in range(2):
            with pytest.raises(LLMError, match="timeout"):
                run(client.complete(MESSAGES))
            assert run(client.complete(MESSAGES)) == "ok"
        assert not client.dead and len(script.requests) == 4


def test_calls_that_queued_for_a_slot_do_not_trip_the_breaker() -> None:
    """A burst on a healthy but slow server: calls waiting behind the concurrency slots ran out of time there and
    were counted as the server's timeouts, and the next calls were refused as `unavailable`."""

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.6)
        return httpx.Response(200, json=completion("ok"))

    client = client_for(slow, timeout=1.0, retries=0, max_concurrency=2, dead_after_timeouts=2, dead_seconds=30)

    async def burst() -> list[str]:
        results = await asyncio.gather(*(client.complete(MESSAGES) for _ in range(6)), return_exceptions=True)
        return [r if isinstance(r, str) else r.reason for r in results]  # type: ignore[union-attr]

    outcomes = run(burst())
    assert outcomes[:2] == ["ok", "ok"] and set(outcomes[2:]) <= {"ok", "timeout", "busy"}, outcomes
    assert "timeout" in outcomes  # queued calls did run out of time ...
    assert not client.dead  # ... but the server answered each call it was given in time


def test_after_the_breakers_window_one_call_tries_the_server_while_the_others_fail_fast() -> None:
    """When the window ended, every call arriving then tried the server, and each waited out its whole timeout on a
    server still frozen (6 of 6 waited 10 s). One call probes now; the others are told at once."""
    now = [100.0]

    async def frozen(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json=completion("late"))

    client = client_for(frozen, timeout=0.5, retries=0, dead_after_timeouts=1, dead_seconds=30, max_concurrency=8)
    client._clock = lambda: now[0]
    with pytest.raises(LLMError, match="timeout"):
        run(client.complete(MESSAGES))
    assert client.dead
    now[0] += 31  # the window is over: six calls arrive at once

    async def six() -> tuple[list[str], float]:
        started = time.perf_counter()
        results = await asyncio.gather(*(client.complete(MESSAGES) for _ in range(6)), return_exceptions=True)
        return [r.reason for r in results if isinstance(r, LLMError)], time.perf_counter() - started

    reasons, _ = run(six())
    assert sorted(reasons) == ["timeout"] + ["unavailable"] * 5  # one probe waited; five were told at once
    assert client.dead  # the probe timed out: left alone again

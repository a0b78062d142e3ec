"""The body and response deadlines of the HTTP edge (qa/server/middleware/limits.py), timed by one timer each: a late
body is a 408 only while the app waits for it, a body already in is never late, and no response in time is a 504."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.server.middleware.limits import BodyLimitMiddleware, TimeoutMiddleware

DEADLINE = 0.2  # seconds: far from the delays below, so that a loaded machine does not change the outcome


def http_scope() -> Scope:
    return {"type": "http", "method": "POST", "path": "/ask", "headers": [(b"content-length", b"6")]}


def run(make: Callable[[ASGIApp], ASGIApp], parts: list[tuple[float, Message]]) -> tuple[list[Message], list[str]]:
    """Serve one request whose messages arrive after the given delays with make(reader), where the reader app takes
    the body and answers 200; what was sent, and what the reader saw."""
    sent: list[Message] = []
    seen: list[str] = []

    async def reader(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            while True:
                message = await receive()
                seen.append(message["type"])
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
        finally:
            seen.append("left")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def main() -> None:
        queue: asyncio.Queue[Message] = asyncio.Queue()

        async def feed() -> None:
            for delay, message in parts:
                await asyncio.sleep(delay)
                queue.put_nowait(message)

        async def receive() -> Message:
            return await queue.get()

        async def send(message: Message) -> None:
            sent.append(message)

        feeder = asyncio.create_task(feed())
        await make(reader)(http_scope(), receive, send)
        feeder.cancel()

    asyncio.run(main())
    return sent, seen


def body(data: bytes, more: bool = False) -> Message:
    return {"type": "http.request", "body": data, "more_body": more}


def limited(inner: ASGIApp) -> ASGIApp:
    return BodyLimitMiddleware(inner, limit=1000, timeout=DEADLINE)


def test_a_body_that_stops_coming_while_the_app_waits_is_a_408() -> None:
    sent, seen = run(limited, [(0, body(b"abc", more=True)), (5 * DEADLINE, body(b"def"))])
    assert sent[0]["status"] == 408 and seen == ["http.request", "left"]


def test_a_body_in_full_before_the_deadline_is_answered() -> None:
    sent, seen = run(limited, [(0, body(b"abc", more=True)), (0.0, body(b"def"))])
    assert sent[0]["status"] == 200 and seen == ["http.request", "http.request", "left"]


def test_waiting_after_the_body_is_in_is_never_late() -> None:
    def app(inner: ASGIApp) -> ASGIApp:
        async def waits_for_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
            await inner(scope, receive, send)
            assert (await receive())["type"] == "http.disconnect"  # long after the deadline: not cancelled

        return limited(waits_for_disconnect)

    sent, _ = run(app, [(0, body(b"abcdef")), (4 * DEADLINE, {"type": "http.disconnect"})])
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"] and sent[0]["status"] == 200


def test_a_body_that_arrived_is_taken_even_when_the_app_reads_it_past_the_deadline() -> None:
    def app(inner: ASGIApp) -> ASGIApp:
        async def slow_to_read(scope: Scope, receive: Receive, send: Send) -> None:
            await asyncio.sleep(3 * DEADLINE)
            await inner(scope, receive, send)

        return limited(slow_to_read)

    sent, seen = run(app, [(0, body(b"abc", more=True)), (0.0, body(b"def"))])
    assert sent[0]["status"] == 200 and seen == ["http.request", "http.request", "left"]


def test_no_response_in_time_is_a_504_and_a_started_one_runs_on() -> None:
    def slow(seconds: float, start_first: bool) -> Callable[[ASGIApp], ASGIApp]:
        def app(_: ASGIApp) -> ASGIApp:
            async def answer(scope: Scope, receive: Receive, send: Send) -> None:
                if start_first:
                    await send({"type": "http.response.start", "status": 200, "headers": []})
                await asyncio.sleep(seconds)
                if not start_first:
                    await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"late"})

            return TimeoutMiddleware(answer, DEADLINE)

        return app

    sent, _ = run(slow(4 * DEADLINE, start_first=False), [])
    assert sent[0]["status"] == 504
    sent, _ = run(slow(4 * DEADLINE, start_first=True), [])
    assert sent[0]["status"] == 200 and sent[-1]["body"] == b"late"
    sent, _ = run(slow(0.0, start_first=False), [])
    assert sent[0]["status"] == 200

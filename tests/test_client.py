"""The Python client against real uvicorn servers (and httpx.MockTransport for replies a real server never sends)."""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from qa_client import (
    AskResult,
    AsyncQAClient,
    Citation,
    Health,
    Passage,
    QAClient,
    QAConnectionError,
    QAError,
    QARateLimitedError,
    QARequestError,
    QAUnavailableError,
    StreamEvent,
)

from qa.config import Settings
from qa.wiring import build_app
from tests.support import free_port, serve

QUESTION = "歐盟第19輪制裁禁止了什麼進入歐洲市場？"


@pytest.fixture(scope="module")
def client(live_url: str) -> Iterator[QAClient]:
    with QAClient(live_url) as c:
        yield c


def assert_cited(result: AskResult, article: str) -> None:
    assert result.citations and not result.abstained
    for c in result.citations:
        assert isinstance(c, Citation)
        assert article[c.start : c.end] == c.quote
        assert f"[{c.n}]" in result.answer


def test_ask_returns_a_typed_cited_answer(client: QAClient, live_url: str, article: str) -> None:
    result = client.ask(QUESTION)
    assert isinstance(result, AskResult) and result.mode == "extractive" and result.lang == "zh-Hant"
    assert "液化天然氣" in result.answer
    assert_cited(result, article)
    assert len(result.passages) == 5 and all(isinstance(p, Passage) for p in result.passages)
    assert all(article[p.start : p.end] == p.text for p in result.passages)
    assert result.timings["total_ms"] > 0
    raw = httpx.post(live_url + "/ask", json={"question": QUESTION}, timeout=30).json()
    assert result.answer == raw["answer"]
    assert [dataclasses.asdict(c) for c in result.citations] == raw["citations"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.answer = "changed"  # type: ignore[misc]


def test_top_k_and_history_reach_the_server(client: QAClient, live_url: str) -> None:
    assert len(client.ask(QUESTION, top_k=2).passages) == 2
    history = [("美國財長貝森特宣布制裁了哪些俄羅斯公司？", "根據文章：……[1]")]
    result = client.ask("那歐洲呢？", history=history)
    raw = httpx.post(
        live_url + "/ask",
        json={"question": "那歐洲呢？", "history": [{"question": q, "answer": a} for q, a in history]},
        timeout=30,
    ).json()
    assert result.answer == raw["answer"]
    assert [p.chunk_id for p in result.passages] == [p["chunk_id"] for p in raw["passages"]]


def test_ask_stream_events_in_order(client: QAClient, article: str) -> None:
    events = list(client.ask_stream(QUESTION, top_k=3))
    assert all(isinstance(e, StreamEvent) for e in events)
    kinds = [e.kind for e in events]
    assert kinds[0] == "passages" and kinds[-1] == "final"
    assert set(kinds[1:-1]) == {"delta"}
    assert len(events[0].passages) == 3
    final = events[-1].result
    assert final is not None
    assert_cited(final, article)
    assert "".join(e.text for e in events if e.kind == "delta") == final.answer
    assert final.answer == client.ask(QUESTION).answer


def test_search_and_health(client: QAClient, article: str) -> None:
    found = client.search("液化天然氣進入歐洲市場", k=3)  # ten passages share words with it
    assert len(found) == 3 and "液化天然氣" in found[0].text
    assert all(article[p.start : p.end] == p.text for p in found)
    assert len(client.search("液化天然氣進入歐洲市場")) == 5
    # One passage holds the word, or any pair of its characters: the others are no results.
    assert [p.chunk_id for p in client.search("液化天然氣")] == [found[0].chunk_id]
    assert client.health() == Health(status="ok", ready=True, detail=None)


@pytest.mark.parametrize(
    ("question", "top_k", "code"),
    [
        ("", None, "empty_question"),
        ("  \t\n ", None, "empty_question"),
        ("字" * 2001, None, "question_too_long"),
        (QUESTION, 0, "top_k_out_of_range"),
    ],
)
def test_request_errors_carry_the_servers_code_and_message(
    client: QAClient, live_url: str, question: str, top_k: int | None, code: str
) -> None:
    body = {"question": question} if top_k is None else {"question": question, "top_k": top_k}
    expected = httpx.post(live_url + "/ask", json=body, timeout=30).json()["error"]
    with pytest.raises(QARequestError) as caught:
        client.ask(question, top_k=top_k)
    assert (caught.value.status, caught.value.code, caught.value.message) == (422, code, expected["message"])
    assert expected["message"] in str(caught.value)
    with pytest.raises(QARequestError) as streamed:
        list(client.ask_stream(question, top_k=top_k))
    assert streamed.value.code == code
    if code == "empty_question":
        with pytest.raises(QARequestError) as searched:
            client.search(question)
        assert searched.value.code == code


def test_connection_failures_are_qa_errors() -> None:
    refused = f"http://127.0.0.1:{free_port()}"
    with QAClient(refused) as c:
        with pytest.raises(QAConnectionError) as caught:
            c.ask(QUESTION)
        assert caught.value.status is None and caught.value.code == "connection_error"
        assert refused in caught.value.message and isinstance(caught.value, QAError)
        with pytest.raises(QAConnectionError):
            list(c.ask_stream(QUESTION))
        with pytest.raises(QAConnectionError):
            c.health()
    with QAClient("http://no-such-host.invalid", timeout=5) as c, pytest.raises(QAConnectionError) as unknown:
        c.search("x")
    assert "no-such-host.invalid" in unknown.value.message


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are queued, never answered
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with QAClient(url, timeout=0.3) as c, pytest.raises(QAConnectionError) as caught:
            c.ask(QUESTION)
    assert caught.value.code == "timeout" and url in caught.value.message


def test_not_ready_is_unavailable(tmp_path: Path) -> None:
    settings = Settings(seeds_dir=tmp_path / "missing", index_dir=tmp_path / "i", on_index_mismatch="refuse")
    with serve(build_app(settings)) as url, QAClient(url) as c:
        deadline = time.monotonic() + 30
        while (health := c.health()).status == "loading" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert health.status == "failed" and health.ready is False and health.detail
        with pytest.raises(QAUnavailableError) as caught:
            c.ask(QUESTION)
        with pytest.raises(QAUnavailableError):
            list(c.ask_stream(QUESTION))
    assert (caught.value.status, caught.value.code) == (503, "not_ready")
    assert caught.value.message.startswith("index failed to load")
    assert caught.value.retry_after == 1.0  # the next try, 1 s away


def test_async_client(live_url: str, article: str) -> None:
    async def main() -> tuple[AskResult, list[StreamEvent], list[Passage], Health]:
        async with AsyncQAClient(live_url) as c:
            result = await c.ask(QUESTION, top_k=2)
            events = [e async for e in c.ask_stream(QUESTION)]
            found = await c.search("液化天然氣進入歐洲市場", k=2)
            health = await c.health()
            with pytest.raises(QARequestError) as caught:
                await c.ask(" ")
            assert caught.value.code == "empty_question"
            with pytest.raises(QARequestError):
                [e async for e in c.ask_stream("")]
        async with AsyncQAClient(f"http://127.0.0.1:{free_port()}") as down:
            with pytest.raises(QAConnectionError):
                await down.ask(QUESTION)
        return result, events, found, health

    result, events, found, health = asyncio.run(main())
    assert_cited(result, article)
    assert len(result.passages) == 2
    assert events[0].kind == "passages" and events[-1].kind == "final"
    assert events[-1].result is not None and events[-1].result.answer == result.answer
    assert len(found) == 2 and health.ready


def test_api_key_and_headers_are_sent() -> None:
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "ok", "ready": True})

    transport = httpx.MockTransport(reply)
    with QAClient("http://qa.test/base/", api_key="k-123", headers={"X-App": "demo"}, transport=transport) as c:
        assert c.health().ready
    with QAClient("http://qa.test", transport=transport) as c:
        c.health()
    assert seen[0].headers["authorization"] == "Bearer k-123" and seen[0].headers["x-app"] == "demo"
    assert str(seen[0].url) == "http://qa.test/base/health"
    assert "authorization" not in seen[1].headers


def test_replies_a_real_server_does_not_send() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ask":
            return httpx.Response(502, text="<html>Bad Gateway</html>")
        if request.url.path == "/search":
            return httpx.Response(200, json={"unexpected": True})
        stream = b'event: passages\ndata: {"passages": []}\n\nevent: delta\ndata: {"text": "half"}\n\n'
        return httpx.Response(200, content=stream, headers={"content-type": "text/event-stream"})

    with QAClient("http://qa.test", transport=httpx.MockTransport(reply)) as c:
        with pytest.raises(QAUnavailableError) as proxy:
            c.ask(QUESTION)
        assert proxy.value.code == "http_502" and "Bad Gateway" in proxy.value.message
        with pytest.raises(QAError) as odd:
            c.search("x")
        assert odd.value.code == "invalid_response"
        events: list[StreamEvent] = []
        with pytest.raises(QAError) as cut:
            for event in c.ask_stream(QUESTION):
                events.append(event)
        assert cut.value.code == "incomplete_stream"
        assert [e.kind for e in events] == ["passages", "delta"] and events[1].text == "half"


def test_a_health_page_that_is_no_health_report_is_an_invalid_response() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>Welcome to nginx!</html>")

    with QAClient("http://qa.test", transport=httpx.MockTransport(reply)) as c, pytest.raises(QAError) as odd:
        c.health()
    assert type(odd.value) is QAError and odd.value.code == "invalid_response" and "nginx" in odd.value.message


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"history": ["ab"]}, "invalid_history"),  # a string of two characters is no (question, answer) pair
        ({"history": [("only a question",)]}, "invalid_history"),
        ({"history": [("q", 42)]}, "invalid_request"),
        ({"question": "北約\ud800"}, "invalid_text"),
        ({"history": [("北約\udfff", "a")]}, "invalid_text"),
        ({"docs": "one-id"}, "invalid_request"),  # a string is not a list of ids
        ({"docs": []}, "invalid_request"),  # search sent no filter (httpx drops an empty list) and searched all
    ],
)
def test_arguments_the_service_cannot_take_are_refused_before_sending(kwargs: dict[str, object], code: str) -> None:
    sent: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    question = kwargs.pop("question", QUESTION)
    async_client = AsyncQAClient("http://qa.test", transport=httpx.MockTransport(reply))
    with QAClient("http://qa.test", transport=httpx.MockTransport(reply)) as c:
        # ask_stream refuses at the call, as ask does: not only once its events are read (a generator's body ran then).
        for call in (c.ask, c.ask_stream, async_client.ask_stream):
            with pytest.raises(QARequestError) as refused:
                call(question, **kwargs)
            assert refused.value.code == code and refused.value.status is None and refused.value.message
    asyncio.run(async_client.close())
    assert not sent


def test_a_redirect_is_one_error_on_every_call() -> None:
    """A base_url the service is not at (http:// for https://, a path behind a proxy) gets a redirect. ask read its
    empty body as an invalid_response, ask_stream and health said http_307, search followed nothing either."""

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"Location": f"https://qa.test{request.url.path}"})

    with QAClient("http://qa.test", transport=httpx.MockTransport(reply)) as c:
        for call in (lambda: c.ask(QUESTION), lambda: list(c.ask_stream(QUESTION)), lambda: c.search("x"), c.health):
            with pytest.raises(QARequestError) as redirected:
                call()
            assert redirected.value.status == 307 and redirected.value.code == "redirected"
            assert "https://qa.test/" in redirected.value.message and "base_url" in redirected.value.message


def test_questions_and_searches_can_be_kept_to_some_documents(client: QAClient, article: str) -> None:
    seed = client._http.get("/documents").json()["documents"][0]["id"]
    answer = client.ask(QUESTION, docs=[seed])
    assert_cited(answer, article)
    assert {c.doc for c in answer.citations} == {seed}
    assert {p.doc for p in client.search("液化天然氣進入歐洲市場", docs=[seed])} == {seed}
    with pytest.raises(QARequestError) as unknown:
        client.ask(QUESTION, docs=["no-such-article"])
    assert unknown.value.status == 422 and "no-such-article" in unknown.value.message


def test_replies_a_client_must_still_turn_into_its_own_errors() -> None:
    """A review helper's findings: a 429 was a QARequestError ("the request was wrong"), so a retry loop on
    QAUnavailableError never retried it; httpx's and json's own exceptions leaked out; an event kind the client did
    not know broke the stream, and the service's `error` event was reported as `incomplete_stream`."""
    deep = "[" * 100_000 + "]" * 100_000

    def reply(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/search":
            return httpx.Response(
                429,
                json={"error": {"code": "rate_limited", "message": "slow down"}},
                headers={"Retry-After": "²".encode("latin-1")},
            )  # a digit to str.isdigit, no number to float
        if path == "/health":
            return httpx.Response(200, content=b"not gzip", headers={"Content-Encoding": "gzip"})
        if path == "/ask":
            return httpx.Response(200, text=deep)
        events = (
            b"event: ping\ndata: keepalive\n\n"
            b'event: passages\ndata: {"passages": []}\n\n'
            b'event: error\ndata: {"error": {"code": "llm_failed", "message": "the LLM went away"}}\n\n'
        )
        return httpx.Response(200, content=events, headers={"content-type": "text/event-stream"})

    client = QAClient("http://qa.test", transport=httpx.MockTransport(reply))
    with pytest.raises(QARateLimitedError) as limited:
        client.search("北約")
    assert isinstance(limited.value, QAUnavailableError) and limited.value.status == 429
    assert limited.value.code == "rate_limited" and limited.value.retry_after is None
    for call in (client.health, lambda: client.ask(QUESTION)):
        with pytest.raises(QAError) as unreadable:
            call()
        assert unreadable.value.code == "invalid_response"
    events: list[StreamEvent] = []
    with pytest.raises(QAError) as stopped:
        events.extend(client.ask_stream(QUESTION))
    assert [e.kind for e in events] == ["passages"]
    assert (stopped.value.code, stopped.value.message) == ("llm_failed", "the LLM went away")
    client.close()
    with pytest.raises(QARequestError) as closed:
        client.ask(QUESTION)
    assert closed.value.code == "client_closed"
    copy = pickle.loads(pickle.dumps(limited.value))  # a process pool sends errors back pickled
    assert type(copy) is QARateLimitedError and (copy.status, copy.code) == (429, "rate_limited")


@pytest.mark.parametrize(
    ("base_url", "api_key"),
    [
        ("localhost:8000", None),
        ("ftp://qa.test", None),
        ("http://[::1", None),
        ("http://qa.test/?x=1", None),
        ("http://qa.test", "k1\n"),
        ("http://qa.test", "ké"),
    ],
)
def test_a_client_made_with_a_bad_address_or_key_says_so_at_once(base_url: str, api_key: str | None) -> None:
    """Each was a QAConnectionError (retry later) at every call, or an httpx or Unicode error from the constructor."""
    for make in (QAClient, AsyncQAClient):
        with pytest.raises(ValueError, match="base_url|api_key"):
            make(base_url, api_key=api_key)


def test_reply_fields_of_the_wrong_type_are_an_invalid_response() -> None:
    """`"abstained": "false"` read as true, `"ready": "false"` as ready, and a citation's `"start": "x"` was kept as it
    came: a caller computing with it failed far from the reply."""
    citation = {"n": 1, "doc": "d", "chunk_id": "d:c0", "quote": "q", "start": 0, "end": 1}
    answers = [
        {"answer": "a", "abstained": "false", "mode": "extractive", "citations": [], "passages": []},
        {"answer": "a", "abstained": False, "mode": "extractive", "citations": [{**citation, "start": "x"}]},
        {"answer": "a", "abstained": False, "mode": "extractive", "citations": [{**citation, "n": True}]},
    ]

    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok", "ready": "false"})
        return httpx.Response(200, json=answers.pop(0))

    with QAClient("http://qa.test", transport=httpx.MockTransport(reply)) as c:
        for _ in range(3):
            with pytest.raises(QAError) as wrong:
                c.ask(QUESTION)
            assert wrong.value.code == "invalid_response"
        with pytest.raises(QAError) as unready:
            c.health()
        assert unready.value.code == "invalid_response"

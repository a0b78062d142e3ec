"""The HTTP API over a real uvicorn server on loopback."""

from __future__ import annotations

import gzip
import time
from typing import Any

import httpx
import pytest

from qa.config import Settings
from qa.wiring import build_app
from tests.support import serve


@pytest.fixture(scope="module")
def client(live_url: str) -> httpx.Client:
    return httpx.Client(base_url=live_url, timeout=30)


def assert_error(reply: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]  # type: ignore[no-any-return]


def test_ask_returns_the_contract(client: httpx.Client, article: str) -> None:
    reply = client.post("/ask", json={"question": "北約秘書長呂特為什麼緊急訪美？"})
    assert reply.status_code == 200
    data = reply.json()
    assert {"answer", "abstained", "mode", "citations", "passages", "timings"} <= set(data)
    assert data["mode"] == "extractive" and data["abstained"] is False
    assert len(data["passages"]) == 5
    for p in data["passages"]:
        assert article[p["start"] : p["end"]] == p["text"]
        assert {"chunk_id", "doc", "score"} <= set(p)
    assert data["citations"]
    for c in data["citations"]:
        assert article[c["start"] : c["end"]] == c["quote"]
        assert {"n", "doc", "chunk_id"} <= set(c)
        assert f"[{c['n']}]" in data["answer"]
    assert data["timings"]["total_ms"] > 0


def test_a_short_answer_says_how_an_english_answer_gives_it(client: httpx.Client, article: str) -> None:
    english = client.post("/ask", json={"question": "How many Gripen fighter jets does Ukraine plan to buy?"}).json()
    short = english["short_answer"]
    assert article[short["start"] : short["end"]] == short["text"] == "100至150架"
    assert short["said"] == "100 to 150" and english["answer"].startswith(f"Short answer: {short['said']} [")
    chinese = client.post("/ask", json={"question": "烏克蘭打算購買多少架鷹獅戰鬥機？"}).json()
    assert chinese["short_answer"]["text"] == "100至150架" and chinese["short_answer"]["said"] is None


def test_top_k_and_history(client: httpx.Client) -> None:
    data = client.post("/ask", json={"question": "北約軍援", "top_k": 2}).json()  # many passages match: two are shown
    assert len(data["passages"]) == 2
    follow = client.post(
        "/ask", json={"question": "那歐盟呢？", "history": [{"question": "美國對俄羅斯實施了什麼制裁？", "answer": ""}]}
    ).json()
    assert not follow["abstained"]


def test_search_chunks_documents_health(client: httpx.Client, article: str) -> None:
    found = client.get("/search", params={"q": "液化天然氣進入歐洲市場", "k": 3}).json()  # ten passages share words
    assert len(found["passages"]) == 3
    assert "液化天然氣" in found["passages"][0]["text"]
    chunk_id = found["passages"][0]["chunk_id"]
    chunk = client.get(f"/chunks/{chunk_id}").json()
    assert chunk["id"] == chunk_id and article[chunk["start"] : chunk["end"]] == chunk["text"]
    assert all(article[s["start"] : s["end"]] == s["text"] for s in chunk["sentences"])
    docs = client.get("/documents").json()
    assert docs["documents"][0]["date"] == "2025-11-06"
    assert docs["documents"][0]["chars"] == len(article)
    assert docs["index"]["embedding"]["model_id"]
    assert client.get("/health").json() == {"status": "ok", "ready": True, "detail": None}
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize("query", ["qwertyuiop", "😀😀😀", "Zyxwvut Qponm"])
def test_a_query_that_matches_nothing_gets_no_passages(client: httpx.Client, query: str) -> None:
    """No passage shares a word with the query (and the bundled model gives the dense side no say on this article):
    none is a result, though five used to be listed, in index order, with a score of 0."""
    assert client.get("/search", params={"q": query, "k": 5}).json()["passages"] == []
    asked = client.post("/ask", json={"question": query}).json()
    assert asked["abstained"] and asked["passages"] == []
    # A query that matches lists what it matches, each with a score above 0.
    found = client.get("/search", params={"q": "北約軍援", "k": 5}).json()["passages"]
    assert len(found) == 5 and all(p["score"] > 0 for p in found)


@pytest.mark.parametrize("asked", [21, 10_000])
def test_top_k_past_the_configured_most_gets_one_error_whichever_check_finds_it(
    client: httpx.Client, settings: Settings, asked: int
) -> None:
    """The route's check (past max_top_k: 21) and the schema's (past its own ceiling of 50: 10,000) say the same: the
    bound a caller may use, and nothing of the schema's."""
    most = settings.retrieval.max_top_k
    message = f"top_k/k must be between 1 and {most}, got {asked}"
    expected = {"error": {"code": "top_k_out_of_range", "message": message}}
    for reply in (
        client.post("/ask", json={"question": "北約", "top_k": asked}),
        client.get("/search", params={"q": "北約", "k": asked}),
    ):
        error = reply.json()["error"]
        assert (reply.status_code, {"error": {k: error[k] for k in ("code", "message")}}) == (422, expected)
        assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": {"question": ""}}, 422, "empty_question"),
        ({"json": {"question": "   \n\t "}}, 422, "empty_question"),
        ({"json": {"question": "\x00\x01\x02"}}, 422, "empty_question"),
        ({"json": {"question": "\u200b\u200b\ufeff\u2060"}}, 422, "empty_question"),  # zero-width only
        ({"json": {"question": "問" * 2001}}, 422, "question_too_long"),
        ({"json": {"question": 42}}, 422, "invalid_request"),
        ({"json": {"question": ["a"]}}, 422, "invalid_request"),
        ({"json": {}}, 422, "invalid_request"),
        ({"json": {"question": "北約", "top_k": 0}}, 422, "top_k_out_of_range"),
        ({"json": {"question": "北約", "top_k": 10_000}}, 422, "top_k_out_of_range"),
        ({"json": {"question": "北約", "top_k": "five"}}, 422, "invalid_request"),
        ({"json": {"question": "北約", "unknown": 1}}, 422, "invalid_request"),
        ({"json": {"question": "北約", "history": "not a list"}}, 422, "invalid_request"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
        ({"content": b"\xff\xfe", "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
        (
            {"content": b'{"question": "abc\xff def"}', "headers": {"content-type": "application/json"}},
            400,
            "invalid_json",
        ),
        (
            {"content": '{"question": "北約"}'.encode(), "headers": {"content-type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        ({"data": {"question": "北約"}}, 415, "unsupported_media_type"),  # a form
        (  # compressed: no route reads it (a gzip body was 400 "not UTF-8", a plain one labelled br was read as plain)
            {
                "content": gzip.compress('{"question": "北約"}'.encode()),
                "headers": {"content-type": "application/json", "content-encoding": "gzip"},
            },
            415,
            "unsupported_media_type",
        ),
        (
            {
                "content": '{"question": "北約"}'.encode(),
                "headers": {"content-type": "application/json", "content-encoding": "br"},
            },
            415,
            "unsupported_media_type",
        ),
        ({"json": ["question"]}, 422, "invalid_request"),
        ({"json": None}, 422, "invalid_request"),
    ],
)
def test_bad_ask_input_is_a_clear_4xx(client: httpx.Client, kwargs: dict[str, Any], status: int, code: str) -> None:
    assert_error(client.post("/ask", **kwargs), status, code)


@pytest.mark.parametrize(
    "body",
    [b"[" * 5000 + b"]" * 5000, b'{"question": "q", "top_k": 1' + b"0" * 5000 + b"}"],
    ids=["nested too deep", "a number too long"],
)
def test_a_body_json_cannot_read_is_said_to_be_so_not_called_not_utf8(client: httpx.Client, body: bytes) -> None:
    """UTF-8 text that the JSON parser gives up on (FastAPI's `There was an error parsing the body`) was answered
    as `not UTF-8 text`; under /v1 it was `bad_request` in FastAPI's words."""
    from qa.server.errors import UNREADABLE_BODY

    headers = {"content-type": "application/json"}
    reply = assert_error(client.post("/ask", content=body, headers=headers), 400, "invalid_json")
    assert reply["message"] == UNREADABLE_BODY
    openai = client.post("/v1/chat/completions", content=body, headers=headers)
    assert openai.status_code == 400
    assert openai.json()["error"] == {
        "message": UNREADABLE_BODY,
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_json",
    }


def test_a_refused_cross_origin_preflight_answers_in_the_apis_shape(client: httpx.Client) -> None:
    """Starlette's refusal was the plain text `Disallowed CORS origin`."""
    asked = {"Origin": "https://not-allowed.example", "Access-Control-Request-Method": "POST"}
    reply = assert_error(client.options("/ask", headers=asked), 400, "cors_refused")
    assert "origin" in reply["message"] and "QA_ALLOWED_ORIGINS" in reply["message"]


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/search", {}, 422, "invalid_request"),
        ("/search", {"q": " "}, 422, "empty_question"),
        ("/search", {"q": "北約", "k": 0}, 422, "top_k_out_of_range"),
        ("/search", {"q": "北約", "k": 21}, 422, "top_k_out_of_range"),
        ("/search", {"q": "北約", "k": "x"}, 422, "invalid_request"),
        ("/chunks/nope:c999", {}, 404, "chunk_not_found"),
        ("/no-such-route", {}, 404, "not_found"),
    ],
)
def test_bad_get_input_is_a_clear_4xx(
    client: httpx.Client, path: str, params: dict[str, Any], status: int, code: str
) -> None:
    assert_error(client.get(path, params=params), status, code)


def test_wrong_method_is_405(client: httpx.Client) -> None:
    assert_error(client.get("/ask"), 405, "method_not_allowed")


def test_not_ready_until_the_index_loads(tmp_path: Any, seeds_dir: Any) -> None:
    """A service whose index cannot load stays up, says why, and answers 503 rather than crashing."""
    settings = Settings(seeds_dir=tmp_path / "missing-seeds", index_dir=tmp_path / "index", on_index_mismatch="refuse")
    with serve(build_app(settings)) as url:
        deadline = time.monotonic() + 30
        while True:
            health = httpx.get(f"{url}/health")
            if health.json()["status"] == "failed" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert health.status_code == 503
        assert "index" in health.json()["detail"]
        error = assert_error(httpx.post(f"{url}/ask", json={"question": "北約"}), 503, "not_ready")
        assert "failed to load" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "param"),
    [
        ("post", "/ask", {"json": {"question": "北約？", "top_k": 0}}, "top_k"),
        ("post", "/ask", {"json": {"question": 5}}, "question"),
        ("post", "/ask", {"json": {"question": "北約？", "docs": []}}, "docs"),
        (
            "post",
            "/ask",
            {"json": {"question": "北約？", "history": [{"question": "q", "answer": 5}]}},
            "history.0.answer",
        ),
        ("get", "/search", {"params": {"q": "北約", "k": 0}}, "k"),
        ("get", "/search", {"params": {"q": "北約", "k": 51}}, "k"),
    ],
)
def test_an_invalid_field_is_named_in_param(
    client: httpx.Client, method: str, path: str, kwargs: dict[str, Any], param: str
) -> None:
    """`param` named a field only when a route checked it itself (top_k 21); the schema's own checks (top_k 0, a
    question that is no string, docs: []) said null, though details.loc named it."""
    reply = getattr(client, method)(path, **kwargs)
    assert reply.status_code == 422 and reply.json()["error"]["param"] == param, reply.text

"""Page sessions: with API keys set, the pages' own credential opens the routes they call, and nothing else.

The browser side (the chat page, the article view and the widget working with keys on) is in test_web.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa.config import Settings
from qa.server.routes.web import page_csp
from qa.server.session import COOKIE, HEADER, PageSessions, page_sessions
from qa.server.state import Pipeline
from qa.wiring import build_app
from tests.support import configured

QUESTION = "歐盟第19輪制裁禁止了什麼進入歐洲市場？"
SAME_ORIGIN = {"Origin": "http://testserver"}


def keyed(settings: Settings, **changes: Any) -> Settings:
    return configured(settings, api_keys=["k"], admin_keys=["a"], **changes)


@pytest.fixture(scope="module")
def keyed_settings(settings: Settings) -> Settings:
    return keyed(settings, allowed_origins=["https://news.example"])


@pytest.fixture(scope="module")
def app_client(keyed_settings: Settings, pipeline: Pipeline) -> Iterator[TestClient]:
    with TestClient(build_app(keyed_settings, pipeline=pipeline)) as c:
        yield c


def session_cookie(reply: Any) -> dict[str, str]:
    """The page-session cookie a response sets, as {attribute: value}, with the token under 'value'."""
    header = reply.headers["set-cookie"]
    morsel = SimpleCookie(header)[COOKIE]
    attributes = {k.lower(): str(v) for k, v in morsel.items() if v}
    flags = {part.strip().lower() for part in header.split(";")}
    return {"value": morsel.value, **attributes, **{f: "" for f in ("httponly", "secure") if f in flags}}


def page_token(client: TestClient) -> str:
    reply = client.post("/page-token", headers={"Sec-Fetch-Site": "same-origin"})
    assert reply.status_code == 200, reply.text
    assert reply.headers["cache-control"] == "no-store"
    token: str = reply.json()["token"]
    return token


def cookie_header(token: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={token}"}


def first_doc(client: TestClient) -> str:
    doc: str = client.get("/documents", headers={"X-API-Key": "k"}).json()["documents"][0]["id"]
    return doc


# ---- the cookie and the token ----


@pytest.mark.parametrize("path", ["/", "/article"])
def test_the_pages_set_a_short_lived_http_only_strict_cookie(app_client: TestClient, path: str) -> None:
    cookie = session_cookie(app_client.get(path))
    assert cookie["path"] == "/" and cookie["max-age"] == "1800"
    assert cookie["samesite"] == "Strict" and "httponly" in cookie and "secure" not in cookie
    assert "private" in app_client.get(path).headers["cache-control"]
    assert cookie["value"] not in {"k", "a"} and "k" not in cookie["value"].split(".")


def test_the_cookie_is_secure_over_https(keyed_settings: Settings, pipeline: Pipeline) -> None:
    with TestClient(build_app(keyed_settings, pipeline=pipeline), base_url="https://testserver") as c:
        assert "secure" in session_cookie(c.get("/"))


def test_the_embed_page_sets_no_cookie_and_gets_a_token_instead(app_client: TestClient) -> None:
    assert "set-cookie" not in app_client.get("/embed").headers  # framed cross-site it would be dropped
    token = page_token(app_client)
    assert token not in {"k", "a"}
    reply = app_client.post("/ask", json={"question": QUESTION}, headers={HEADER: token})
    assert reply.status_code == 200 and reply.json()["citations"]


def test_a_token_is_given_only_to_this_sites_own_pages(app_client: TestClient) -> None:
    assert app_client.post("/page-token", headers={"Origin": "http://testserver"}).status_code == 200
    for headers in [
        {},
        {"Origin": "https://news.example"},
        {"Origin": "null"},
        {"Origin": "http://[::1"},  # not a URL: was a 500 (urlsplit raised)
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ]:
        reply = app_client.post("/page-token", headers=headers)
        assert reply.status_code == 403, headers
        assert reply.json()["error"]["code"] == "forbidden"


# ---- what a page session opens, and what it does not ----


def test_the_cookie_opens_the_routes_the_pages_call(app_client: TestClient) -> None:
    token = session_cookie(app_client.get("/"))["value"]
    headers = cookie_header(token)
    assert app_client.get("/documents", headers=headers).status_code == 200
    doc = first_doc(app_client)
    assert app_client.get(f"/documents/{doc}", headers=headers).json()["id"] == doc
    asked = app_client.post("/ask", json={"question": QUESTION}, headers={**headers, **SAME_ORIGIN})
    assert asked.status_code == 200 and asked.json()["citations"]
    streamed = app_client.post("/ask/stream", json={"question": QUESTION}, headers={**headers, **SAME_ORIGIN})
    assert streamed.status_code == 200 and "event: final" in streamed.text
    fetched = app_client.post("/ask", json={"question": QUESTION}, headers={**headers, "Sec-Fetch-Site": "same-origin"})
    assert fetched.status_code == 200


@pytest.mark.parametrize("carrier", ["cookie", "header"])
def test_a_page_session_opens_nothing_else(app_client: TestClient, carrier: str) -> None:
    token = page_token(app_client)
    headers = {**(cookie_header(token) if carrier == "cookie" else {HEADER: token}), **SAME_ORIGIN}
    chat = {"model": "article-qa", "messages": [{"role": "user", "content": QUESTION}]}
    refused = [
        app_client.post("/admin/reindex", headers=headers),
        app_client.post("/v1/chat/completions", json=chat, headers=headers),
        app_client.get("/v1/models", headers=headers),
        app_client.get("/search", params={"q": QUESTION}, headers=headers),
        app_client.get("/chunks/x", headers=headers),
        app_client.get("/documents", headers={**headers, "Authorization": "Bearer wrong"}),
    ]
    assert [r.status_code for r in refused] == [401] * len(refused)
    # the keys themselves still work everywhere they did
    assert app_client.get("/v1/models", headers={"X-API-Key": "k"}).status_code == 200
    assert app_client.post("/admin/reindex", headers={"X-API-Key": "k"}).status_code == 403


def issued(settings: Settings, *, clock: Callable[[], float] = time.time) -> str:
    sessions = page_sessions(settings.server, clock=clock)
    assert sessions is not None
    return sessions.issue()


def forged(settings: Settings) -> dict[str, str]:
    sessions = page_sessions(keyed(settings).server)
    assert sessions is not None
    good = sessions.issue()
    body, _, signature = good.rpartition(".")
    expiry = int(good.split(".")[1])
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    return {
        "garbage": "hello",
        "empty-signature": body + ".",
        "flipped-signature": f"{body}.{flipped}",
        "moved-expiry": good.replace(f".{expiry}.", f".{expiry + 60}.", 1),
        "other-secret": PageSessions(b"another secret", 1800).issue(),
        "expired": issued(keyed(settings), clock=lambda: time.time() - 1801),
        "too-long-lived": issued(keyed(settings, session_lifetime=86_400)),
        "the-api-key": "k",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "empty-signature",
        "flipped-signature",
        "moved-expiry",
        "other-secret",
        "expired",
        "too-long-lived",
        "the-api-key",
    ],
)
def test_a_forged_or_expired_session_is_refused(app_client: TestClient, settings: Settings, kind: str) -> None:
    genuine = issued(keyed(settings))
    assert app_client.get("/documents", headers={HEADER: genuine}).status_code == 200
    token = forged(settings)[kind]
    for headers in [cookie_header(token), {HEADER: token}]:
        reply = app_client.get("/documents", headers=headers)
        assert reply.status_code == 401, (kind, headers)
        assert reply.json()["error"]["code"] == "unauthorized"
        asked = app_client.post("/ask", json={"question": QUESTION}, headers={**headers, **SAME_ORIGIN})
        assert asked.status_code == 401


def test_a_post_with_the_cookie_from_another_site_is_refused(app_client: TestClient) -> None:
    headers = cookie_header(session_cookie(app_client.get("/"))["value"])
    for foreign in [
        {"Origin": "https://evil.example"},
        {"Origin": "https://news.example"},  # even an allowed origin: it embeds /embed, which sends a token
        {"Origin": "http://testserver:8080"},  # same site, other origin
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
        {},  # a browser sends Origin or Sec-Fetch-Site on every POST
    ]:
        for path in ["/ask", "/ask/stream"]:
            reply = app_client.post(path, json={"question": QUESTION}, headers={**headers, **foreign})
            assert reply.status_code == 403, (path, foreign)
            assert reply.json()["error"]["code"] == "forbidden"


def test_workers_with_the_same_keys_accept_each_others_sessions(settings: Settings, pipeline: Pipeline) -> None:
    # `qa serve --workers N`: every worker builds its own app from the same settings
    def token_from(s: Settings) -> str:
        with TestClient(build_app(s, pipeline=pipeline)) as c:
            return session_cookie(c.get("/"))["value"]

    def accepts(s: Settings, token: str) -> bool:
        with TestClient(build_app(s, pipeline=pipeline)) as c:
            return c.get("/documents", headers=cookie_header(token)).status_code == 200

    one = keyed(settings)
    assert accepts(one, token_from(keyed(settings)))
    assert not accepts(configured(settings, api_keys=["k2"], admin_keys=["a"]), token_from(one))
    secret_a = configured(settings, api_keys=["k"], session_secret="s" * 32)
    secret_b = configured(settings, api_keys=["other"], session_secret="s" * 32)
    assert accepts(secret_b, token_from(secret_a))
    assert not accepts(one, token_from(secret_a))


def test_a_page_session_counts_against_the_clients_rate_limit(settings: Settings, pipeline: Pipeline) -> None:
    limited = keyed(settings, rate_limit_rps=0.01, rate_limit_burst=4)
    sessions = page_sessions(limited.server)
    assert sessions is not None
    with TestClient(build_app(limited, pipeline=pipeline)) as c:
        token = session_cookie(c.get("/"))["value"]  # a page is a file: not counted
        assert c.get("/documents", headers=cookie_header(token)).status_code == 200  # 1
        assert c.get("/documents", headers=cookie_header(token)).status_code == 200  # 2
        assert c.get("/documents", headers={HEADER: sessions.issue()}).status_code == 200  # 3
        assert c.get("/documents", headers={HEADER: sessions.issue()}).status_code == 200  # 4
        # a new session is no way around the limit: it counts per client, not per session
        for fresh in [cookie_header(sessions.issue()), {HEADER: sessions.issue()}]:
            assert c.get("/documents", headers=fresh).status_code == 429
        assert c.post("/page-token", headers=SAME_ORIGIN).status_code == 429
        # ... while the page and its files still load: a script's 429 left the page unable to ask at all
        for path in ["/", "/static/chat.js", "/static/style.css", "/widget.js", "/embed"] * 2:
            assert c.get(path).status_code == 200, path
        # while an API key has its own bucket
        assert c.get("/documents", headers={"X-API-Key": "k"}).status_code == 200


# ---- without keys nothing changes; HEAD on the pages ----


def test_without_keys_the_pages_need_no_session(settings: Settings, pipeline: Pipeline) -> None:
    assert page_sessions(settings.server) is None
    with TestClient(build_app(settings, pipeline=pipeline)) as c:
        assert "set-cookie" not in c.get("/").headers and "set-cookie" not in c.get("/article").headers
        assert c.post("/page-token", headers=SAME_ORIGIN).json() == {"token": None}
        assert c.post("/ask", json={"question": QUESTION}).status_code == 200
        assert c.get("/documents").status_code == 200


@pytest.mark.parametrize("path", ["/", "/article", "/embed", "/widget.js", "/static/style.css"])
@pytest.mark.parametrize("keys", [False, True])
def test_head_answers_like_get_without_a_body(
    settings: Settings, pipeline: Pipeline, app_client: TestClient, path: str, keys: bool
) -> None:
    if keys:
        head, get = app_client.head(path), app_client.get(path)
    else:
        with TestClient(build_app(settings, pipeline=pipeline)) as c:
            head, get = c.head(path), c.get(path)
    assert head.status_code == 200 and get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers.get("content-security-policy") == get.headers.get("content-security-policy")
    if path in ("/", "/article"):
        assert head.headers["content-security-policy"] == page_csp("'none'")

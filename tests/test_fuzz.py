"""Fuzzing the question: whatever arrives, the answer is a clear 4xx or a proper answer whose quotes are exact."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qa.server.state import Pipeline

ARTICLE_WORDS = [
    "北約",
    "習特會",
    "特朗普",
    "川普",
    "普京",
    "加沙",
    "停火",
    "白俄羅斯",
    "关税",
    "NATO",
    "ceasefire",
    "Gaza",
]
MARKUP = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</textarea><svg onload=alert(1)>",
    '"; DROP TABLE chunks; --',
    "{{7*7}}",
    "[1]",
    "[^2]",
    "\\u0000",
]
RTL = ["\u202e", "\u202d", "\u200f", "\u200e", "\u2067", "مرحبا بالعالم", "שלום עולם", "\u202eأين الناتو؟"]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇹🇼", "🏳️‍🌈", "\ufe0f", "\u200d"]

pieces = st.one_of(
    st.sampled_from(ARTICLE_WORDS + MARKUP + RTL + EMOJI),
    st.text(max_size=40),  # any Unicode
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=10),  # controls and blanks
    st.text(st.characters(min_codepoint=0x0590, max_codepoint=0x08FF), max_size=20),  # Hebrew, Arabic
    st.text(st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), max_size=10),  # emoji
)
questions = st.one_of(
    st.lists(pieces, max_size=8).map("".join),
    st.integers(min_value=1990, max_value=10_000).map(lambda n: ("北約為什麼" * n)[:n]),  # around the limit
    st.just("問" * 10_000),
    st.just("😀" * 10_000),
)


@pytest.fixture(scope="module")
def client(live_url: str) -> httpx.Client:
    return httpx.Client(base_url=live_url, timeout=60)


def check_reply(reply: httpx.Response, answer: dict[str, Any] | None, pipeline: Pipeline) -> None:
    """A 4xx with the error shape, or a 200 whose citations quote the documents exactly."""
    assert reply.status_code < 500, reply.text
    if reply.status_code != 200:
        assert 400 <= reply.status_code < 500 and set(reply.json()) == {"error"}, reply.text
        return
    assert answer is not None
    assert isinstance(answer["answer"], str) and isinstance(answer["abstained"], bool)
    for c in answer["citations"]:
        text = pipeline.index.documents[c["doc"]].text
        assert text[c["start"] : c["end"]] == c["quote"], c
    for p in answer["passages"]:
        assert pipeline.index.documents[p["doc"]].text[p["start"] : p["end"]] == p["text"]


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=questions)
def test_ask_survives_any_question(client: httpx.Client, pipeline: Pipeline, question: str) -> None:
    reply = client.post("/ask", json={"question": question})
    event(f"status {reply.status_code}")
    check_reply(reply, reply.json() if reply.status_code == 200 else None, pipeline)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=questions, history=st.lists(st.tuples(pieces, pieces), max_size=3))
def test_stream_survives_any_question(
    client: httpx.Client, pipeline: Pipeline, question: str, history: list[tuple[str, str]]
) -> None:
    turns = [{"question": q, "answer": a} for q, a in history]
    reply = client.post("/ask/stream", json={"question": question, "history": turns})
    event(f"status {reply.status_code}")
    final = None
    if reply.status_code == 200:
        blocks = [b for b in reply.text.split("\n\n") if b.startswith("event: final")]
        assert len(blocks) == 1, reply.text
        final = json.loads(blocks[0].split("data: ", 1)[1])
    check_reply(reply, final, pipeline)


def test_the_fuzzer_reaches_real_answers(client: httpx.Client, pipeline: Pipeline) -> None:
    """Garbage around an answerable question (RTL mark, emoji, a bell, markup) still gets a cited answer."""
    question = "\u202e北約秘書長呂特😀\x07為什麼緊急訪美？<b></b>"
    reply = client.post("/ask", json={"question": question})
    data = reply.json()
    assert reply.status_code == 200 and data["citations"]
    check_reply(reply, data, pipeline)

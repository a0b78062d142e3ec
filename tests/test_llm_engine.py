"""LLM-assisted answers end to end over HTTP, against a scripted OpenAI-compatible server on loopback."""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from qa.answering.extractive import ExtractiveAnswerer
from qa.config import LLMSettings, RetrievalSettings, Settings
from qa.indexing.library import add_document
from qa.indexing.sources import Sources
from qa.indexing.store import load
from qa.llm.engine import LLMEngine
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.retrieval.retriever import Retriever
from qa.server.state import Pipeline
from qa.types import Hit, NewDocument
from qa.wiring import build_app, make_engine
from tests.fake_llm import Script, Step, citing, fake_llm_app
from tests.support import configured, free_port, serve

QUESTION = "歐盟第19輪對俄制裁首次瞄準哪個產業？"
GAS = "首次瞄準俄羅斯天然氣產業"
GOOD = citing("第19輪制裁首次瞄準俄羅斯天然氣產業[{n}]。", n=GAS)


def app_with_llm(settings: Settings, pipeline: Pipeline, llm_url: str, **extra: Any) -> Any:
    update = {"llm_base_url": llm_url, "llm_backoff": 0.0, "llm_timeout": 2.0, "llm_retries": 1, **extra}
    llm_settings = configured(settings, **update)
    return build_app(
        llm_settings, pipeline=dataclasses.replace(pipeline, engine=make_engine(llm_settings, pipeline.answerer))
    )


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def url(script: Script, settings: Settings, pipeline: Pipeline) -> Iterator[str]:
    with serve(fake_llm_app(script)) as fake, serve(app_with_llm(settings, pipeline, fake + "/v1")) as service:
        yield service


def ask(url: str, question: str = QUESTION, **body: Any) -> dict[str, Any]:
    reply = httpx.post(f"{url}/ask", json={"question": question, **body}, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def check_citations(data: dict[str, Any], article: str) -> None:
    for c in data["citations"]:
        assert article[c["start"] : c["end"]] == c["quote"]
        assert f"[{c['n']}]" in data["answer"]


def stream(url: str, question: str = QUESTION) -> list[tuple[str, Any]]:
    events = []
    with httpx.stream("POST", f"{url}/ask/stream", json={"question": question}, timeout=30) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in reply.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    return events


def test_a_valid_cited_answer_passes_with_exact_offsets(url: str, script: Script, article: str) -> None:
    script.steps = [Step(reply=GOOD)]
    data = ask(url)
    assert data["mode"] == "llm" and not data["abstained"]
    assert data["answer"] == "第19輪制裁首次瞄準俄羅斯天然氣產業[1]。"
    assert len(data["citations"]) == 1 and GAS in data["citations"][0]["quote"]
    check_citations(data, article)
    prompt = script.requests[0]["messages"]
    assert "<<<\n" + QUESTION + "\n>>>" in prompt[-1]["content"]
    assert "NOT_IN_SOURCES" in prompt[0]["content"]


def test_invented_citation_is_dropped_and_uncited_sentence_removed(url: str, script: Script, article: str) -> None:
    script.steps = [Step(reply=citing("瞄準天然氣產業[{n}][99]。俄羅斯已經投降。", n=GAS))]
    data = ask(url)
    assert data["mode"] == "llm"
    assert data["answer"] == "瞄準天然氣產業[1]。"
    assert "removed 1" in data["reason"] and "dropped 1" in data["reason"]
    check_citations(data, article)


def test_the_sentinel_abstains(url: str, script: Script) -> None:
    script.steps = [Step(content="NOT_IN_SOURCES")]
    data = ask(url)
    assert data["abstained"] and data["mode"] == "llm" and data["citations"] == []
    assert data["answer"] == "文章沒有提到這一點。"


def test_500_then_success_is_retried(url: str, script: Script) -> None:
    script.steps = [Step(status=500), Step(reply=GOOD)]
    assert ask(url)["mode"] == "llm"
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (Step(delay=3.0, content="遲到的答案[1]。"), "timeout"),
        (Step(raw="{this is not json", status=200), "malformed"),
        (Step(status=503), "http-503"),
        (Step(content="俄羅斯已經投降。美國退出北約。"), "no cited sentence survived"),
    ],
)
def test_failures_fall_back_to_the_extractive_answer(
    url: str, script: Script, article: str, step: Step, reason: str
) -> None:
    script.steps = [step, step]
    data = ask(url)
    assert data["mode"] == "llm-fallback"
    assert reason in data["reason"]
    assert not data["abstained"] and data["citations"]
    assert any(GAS in c["quote"] for c in data["citations"])
    check_citations(data, article)


def test_llm_calls_and_fallbacks_are_counted_in_metrics(url: str, script: Script) -> None:
    script.steps = [Step(reply=GOOD), Step(raw="{oops"), Step(raw="{oops")]
    ask(url)
    ask(url)
    metrics = httpx.get(f"{url}/metrics", timeout=10).text
    assert 'qa_llm_calls_total{outcome="answered"} 1.0' in metrics
    assert 'qa_llm_fallbacks_total{reason="malformed"} 1.0' in metrics
    assert 'qa_answers_total{mode="llm"} 1.0' in metrics
    assert 'qa_answers_total{mode="llm-fallback"} 1.0' in metrics  # as the API names the mode


def test_weak_evidence_abstains_without_asking_the_llm(url: str, script: Script) -> None:
    data = ask(url, "特朗普什麼時候訪問了北韓？")
    assert data["abstained"] and data["mode"] == "llm"
    assert script.requests == []


def test_stream_sends_passages_deltas_then_the_verified_answer(url: str, script: Script, article: str) -> None:
    script.steps = [Step(reply=citing("第19輪制裁首次瞄準天然氣產業[{n}][99]。", n=GAS))]
    events = stream(url)
    kinds = [k for k, _ in events]
    assert kinds[0] == "passages" and kinds[-1] == "final"
    assert kinds.count("delta") > 2
    streamed = "".join(d["text"] for k, d in events if k == "delta")
    assert "[99]" in streamed  # raw text as it came ...
    final = events[-1][1]
    assert final["answer"] == "第19輪制裁首次瞄準天然氣產業[1]。"  # ... the final answer is the verified one
    assert final["mode"] == "llm"
    check_citations(final, article)


def test_stream_cut_in_the_middle_falls_back(url: str, script: Script, article: str) -> None:
    script.steps = [Step(stream_pieces=["第19輪", "制裁", "首次"], cut_after=2)]
    events = stream(url)
    final = events[-1][1]
    assert events[-1][0] == "final"
    assert final["mode"] == "llm-fallback" and "stream-cut" in final["reason"]
    check_citations(final, article)


def test_a_client_that_disconnects_stops_the_llm_call(url: str, script: Script) -> None:
    script.steps = [Step(stream_pieces=["片段"] * 50, piece_delay=0.1)]
    with httpx.stream("POST", f"{url}/ask/stream", json={"question": QUESTION}, timeout=30) as reply:
        for line in reply.iter_lines():
            if line.startswith("event: delta"):
                break
    deadline = time.monotonic() + 5
    while script.disconnected == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert script.disconnected == 1
    assert script.finished_streams == 0


def test_a_client_that_gives_up_on_a_whole_answer_frees_its_llm_slot(
    script: Script, settings: Settings, pipeline: Pipeline
) -> None:
    """Two /ask clients leave while their LLM calls run (two slots): their calls are stopped, and the next question
    gets a slot at once. They held both slots until their calls ended, and it waited."""
    script.steps = [Step(reply=GOOD, delay=6.0), Step(reply=GOOD, delay=6.0), Step(reply=GOOD)]
    with (
        serve(fake_llm_app(script)) as fake,
        serve(app_with_llm(settings, pipeline, fake + "/v1", llm_timeout=10.0, llm_max_concurrency=2)) as url,
    ):
        for _ in range(2):
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=0.7)
        time.sleep(0.6)  # the service notices within CHECK_SECONDS
        started = time.perf_counter()
        data = ask(url)
        assert data["mode"] == "llm"
        assert time.perf_counter() - started < 3.0  # not the 4-5 s left of the abandoned calls


def test_a_dead_server_fails_fast_and_is_remembered(settings: Settings, pipeline: Pipeline, article: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"
    with serve(app_with_llm(settings, pipeline, closed, llm_retries=2)) as url:
        first = time.perf_counter()
        data = ask(url)
        first = time.perf_counter() - first
        assert data["mode"] == "llm-fallback" and "unavailable" in data["reason"]
        check_citations(data, article)
        start = time.perf_counter()
        for _ in range(5):
            assert ask(url)["mode"] == "llm-fallback"
        assert (time.perf_counter() - start) / 5 < first  # remembered: no new connection attempts


def test_follow_up_is_rewritten_to_stand_alone(url: str, script: Script) -> None:
    script.steps = [Step(content="歐盟第19輪對俄制裁首次瞄準哪個產業？"), Step(reply=GOOD)]
    data = ask(url, "那第19輪呢？", history=[{"question": "歐盟對俄制裁的目的是什麼？", "answer": "切斷能源收入。"}])
    assert data["mode"] == "llm"
    rewrite_prompt = script.requests[0]["messages"][-1]["content"]
    assert "那第19輪呢？" in rewrite_prompt and "歐盟對俄制裁的目的是什麼？" in rewrite_prompt
    answer_prompt = script.requests[1]["messages"][-1]["content"]
    assert "Earlier question: 歐盟對俄制裁的目的是什麼？" in answer_prompt


def test_no_history_is_kept_when_max_history_turns_is_0(script: Script, settings: Settings, pipeline: Pipeline) -> None:
    script.steps = [Step(reply=GOOD)]
    with (
        serve(fake_llm_app(script)) as fake,
        serve(app_with_llm(settings, pipeline, fake + "/v1", max_history_turns=0)) as service,
    ):
        data = ask(service, QUESTION, history=[{"question": "歐盟對俄制裁的目的是什麼？", "answer": "切斷能源收入。"}])
    assert data["mode"] == "llm" and len(script.requests) == 1  # no rewrite of a follow-up: the answer only
    assert "Earlier question" not in script.requests[0]["messages"][-1]["content"]


def test_a_follow_up_takes_one_timeout_in_all(url: str, script: Script) -> None:
    """The rewrite and the answer share the question's deadline (llm_timeout 2 s here): each had its own, and a
    slow follow-up took twice the timeout."""
    script.steps = [Step(content="歐盟第19輪對俄制裁首次瞄準哪個產業？", delay=1.5), Step(reply=GOOD, delay=1.5)]
    started = time.perf_counter()
    data = ask(url, "那第19輪呢？", history=[{"question": "歐盟對俄制裁的目的是什麼？", "answer": "切斷能源收入。"}])
    took = time.perf_counter() - started
    assert data["mode"] == "llm-fallback" and data["citations"]  # the answer ran out of the time the rewrite left
    assert took < 2.0 + 1.0, took  # measured 3.0 s and more before (1.5 + 1.5 within two deadlines)


def test_translated_question_adds_search_terms(script: Script, settings: Settings, pipeline: Pipeline) -> None:
    question = "Was the envoy hinting at more?"  # without the translation, no passage about it is found
    kallas = "第19輪對俄制裁也不會是最後一輪"
    script.steps = [
        Step(content="歐盟外交與安全政策高級代表卡拉斯強調了什麼？"),
        Step(
            reply=citing(
                "Kallas stressed that the 19th round of sanctions on Russia will not be the last [{n}].", n=kallas
            )
        ),
    ]
    with (
        serve(fake_llm_app(script)) as fake,
        serve(app_with_llm(settings, pipeline, fake + "/v1", llm_translate_queries=True)) as url,
    ):
        data = ask(url, question)
    untranslated = pipeline.retriever.search(pipeline.retriever.prepare(question), 3)
    assert not any(kallas in h.chunk.text for h in untranslated)
    assert "Translate the question" in script.requests[0]["messages"][0]["content"]
    assert any(kallas in p["text"] for p in data["passages"][:3])
    assert data["mode"] == "llm" and kallas in data["citations"][0]["quote"]


def test_article_context_keeps_one_prompt_prefix_and_retrieved_context_shows_passages(
    script: Script, settings: Settings, pipeline: Pipeline
) -> None:
    def sources(prompt: str) -> list[str]:
        return [line for line in prompt.split("\n\nQuestion", maxsplit=1)[0].splitlines() if line.startswith("[")]

    script.steps = [Step(reply=GOOD), Step(reply=GOOD), Step(reply=GOOD)]
    with serve(fake_llm_app(script)) as fake:
        with serve(app_with_llm(settings, pipeline, fake + "/v1", llm_context="article")) as url:
            ask(url)
            ask(url, "斯塔默宣布提前交付多少枚导弹？")
        with serve(app_with_llm(settings, pipeline, fake + "/v1", llm_context="retrieved")) as url:
            ask(url)
    whole, other, retrieved = (r["messages"][-1]["content"] for r in script.requests)
    assert len(sources(whole)) == len(pipeline.index.sentences)
    assert whole.split("Question")[0] == other.split("Question")[0]  # the same prefix: the server's cache reuses it
    assert 0 < len(sources(retrieved)) < len(sources(whole))


# Issue 11, item 4: with QA_LLM_TIMEOUT=5, a server dripping a piece every 2 s held /ask for 120 s (then 504) and
# /ask/stream streamed unverified text for 45 s and more. The timeout is a deadline for the whole completion.
DRIP = Step(stream_pieces=["俄羅斯"] * 60, piece_delay=2.0, always_stream=True)  # 120 s in all
DRIP_TIMEOUT = 5.0


@pytest.fixture
def drip_url(script: Script, settings: Settings, pipeline: Pipeline) -> Iterator[str]:
    with serve(fake_llm_app(script)) as fake:
        app = app_with_llm(settings, pipeline, fake + "/v1", llm_timeout=DRIP_TIMEOUT, llm_retries=2)
        with serve(app) as service:
            yield service


def test_a_drip_feeding_llm_falls_back_at_the_deadline(drip_url: str, script: Script, article: str) -> None:
    script.steps = [DRIP]
    started = time.perf_counter()
    data = ask(drip_url)
    elapsed = time.perf_counter() - started
    assert data["mode"] == "llm-fallback" and data["reason"] == "llm: timeout"
    assert not data["abstained"] and any(GAS in c["quote"] for c in data["citations"])
    check_citations(data, article)
    assert elapsed < DRIP_TIMEOUT + 5  # bounded by the deadline (measured 5.0 s), not the 120 s of the drip
    deadline = time.monotonic() + 5
    while script.disconnected == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert script.disconnected == 1 and script.finished_streams == 0  # the LLM connection was closed


def test_a_drip_feeding_llm_stream_stops_at_the_deadline(drip_url: str, script: Script) -> None:
    script.steps = [DRIP]
    started = time.perf_counter()
    events = stream(drip_url)
    elapsed = time.perf_counter() - started
    assert events[-1][0] == "final"
    final = events[-1][1]
    assert final["mode"] == "llm-fallback" and final["reason"] == "llm: timeout"
    assert sum(k == "delta" for k, _ in events) <= DRIP_TIMEOUT / 2 + 1  # no unverified text past the deadline
    assert elapsed < DRIP_TIMEOUT + 5


def test_after_repeated_timeouts_the_llm_is_skipped_at_once(drip_url: str, script: Script) -> None:
    script.steps = [Step(stream_pieces=["滴"] * 60, piece_delay=0.5, always_stream=True) for _ in range(3)]
    for _ in range(3):
        assert ask(drip_url)["reason"] == "llm: timeout"
    started = time.perf_counter()
    data = ask(drip_url)
    assert data["mode"] == "llm-fallback" and data["reason"] == "llm: unavailable"
    assert time.perf_counter() - started < 2.0  # the open breaker fails fast ...
    assert len(script.requests) == 3  # ... without contacting the LLM server


def test_article_context_holds_a_replaced_documents_new_sentences_only(
    tmp_path: Path, seeds_dir: Path, index_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    # The old version's rows stay in their segment until a merge; the prompt must not number its sentences.
    shutil.copytree(index_dir, tmp_path / "index")
    sources = Sources(seeds_dir, tmp_path / "library")
    index = load(tmp_path / "index")
    old, new = "北極熊簡報。\n\n海冰融化令北極熊覓食更加困難。", "北極熊簡報。\n\n格陵蘭的北極熊減少了三成。"
    for text, replace in ((old, False), (new, True)):
        doc = NewDocument(id="polar", text=text)
        index = add_document(index, tmp_path / "index", sources, doc, embedder, replace=replace, max_segments=100).index
    assert any(c.doc == "polar" and "覓食" in c.text for c in index.chunks)  # still there, no longer live
    engine = LLMEngine(
        ExtractiveAnswerer(Retriever(index, embedder, RetrievalSettings())),
        cast(Any, None),  # never called: only the sources are read
        LLMSettings(context="article"),
    )
    live = [c for c in index.chunk_by_id.values() if c.doc == "polar"]
    sentences = engine._sources([Hit(chunk=live[0], score=1.0)])
    assert [s.text for s in sentences] == [s.text for c in live for s in c.sentences]
    assert not any("覓食" in s.text for s in sentences)


def test_a_request_timeout_shorter_than_the_llm_timeout_gets_the_fallback_in_time_not_a_504(
    script: Script, settings: Settings, pipeline: Pipeline
) -> None:
    script.steps = [Step(reply=GOOD, delay=8.0)]
    with (
        serve(fake_llm_app(script)) as fake,
        serve(app_with_llm(settings, pipeline, fake + "/v1", llm_timeout=10.0, request_timeout=2.0)) as service,
    ):
        started = time.perf_counter()
        reply = httpx.post(f"{service}/ask", json={"question": QUESTION}, timeout=30)
        took = time.perf_counter() - started
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["mode"] == "llm-fallback" and data["citations"] and GAS in data["citations"][0]["quote"]
    assert took < 2.0 + 1.0  # the request timeout, with a margin for a loaded machine; not the LLM's 10 s

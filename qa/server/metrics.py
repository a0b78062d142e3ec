"""Prometheus metrics, one registry per app: requests by route template, answers, LLM calls, retrieval time.

Routes record into the app's Metrics (a dependency); nothing travels through context variables. Under `qa serve
--workers N` every worker writes its values to files in a folder the workers share (prometheus_client's multiprocess
mode, PROMETHEUS_MULTIPROC_DIR), and /metrics, whichever worker answers it, reports the sum over all of them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
RETRIEVAL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"
# The folder the worker processes of one server share their values in (set by `qa serve --workers N`, or by the
# operator for another process manager). It must be set before prometheus_client is first imported in a process.
SHARED_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


_LABEL_RE = re.compile(r"[^a-z0-9_-]+")  # a mode is labelled as the API names it (llm-fallback)
_MAX_LABEL_VALUES = 32  # free-form labels (outcomes, reasons) beyond this many distinct values become "other"


class AnswerLike(Protocol):
    """What record_answer reads from an answer (qa.types.Answer has it)."""

    @property
    def abstained(self) -> bool:
        """Whether the service declined to answer."""
        ...

    @property
    def mode(self) -> str:
        """How the answer was written: extractive or llm."""
        ...

    @property
    def timings(self) -> Mapping[str, float]:
        """Milliseconds by step; retrieval_ms is observed as the retrieval time."""
        ...

    @property
    def llm_outcome(self) -> str | None:
        """What the LLM did for this answer (answered, abstained, fallback, skipped), None without an LLM."""
        ...

    @property
    def llm_fallback(self) -> str | None:
        """Why the LLM's answer was replaced by the extractive one, if it was."""
        ...


class Metrics:
    """The app's metrics in a registry of its own, so that several apps in one process do not clash."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "qa_http_requests", "HTTP requests by route template and status", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "qa_http_request_duration_seconds",
            "Time from request to the end of the response body",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_progress = Gauge(
            "qa_http_requests_in_progress", "Requests being handled now", multiprocess_mode="livesum", registry=r
        )
        self.answers = Counter("qa_answers", "Answers given by /ask and /ask/stream", ["mode"], registry=r)
        self.abstained = Counter(
            "qa_answers_abstained", "Answers that abstained (the article does not say)", registry=r
        )
        self.llm_calls = Counter("qa_llm_calls", "Calls to the LLM by outcome", ["outcome"], registry=r)
        self.llm_fallbacks = Counter(
            "qa_llm_fallbacks", "Answers that fell back from the LLM to extractive, by reason", ["reason"], registry=r
        )
        self.retrieval = Histogram(
            "qa_retrieval_duration_seconds", "Time spent in hybrid retrieval", buckets=RETRIEVAL_BUCKETS, registry=r
        )
        self._seen: dict[str, set[str]] = {"outcome": set(), "reason": set()}
        self._http: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def http(self, method: str, route: str, status: str) -> tuple[Counter, Histogram]:
        """The request counter and the latency histogram of one method, route template and status. Kept once found:
        labels() checks the values and takes a lock on every call, and the label sets are few (the methods, the route
        templates, the statuses)."""
        key = (method, route, status)
        found = self._http.get(key)
        if found is None:
            found = self._http[key] = (self.requests.labels(*key), self.latency.labels(*key))
        return found

    def render(self) -> bytes:
        """The metrics in the Prometheus text format: this process's, or with workers, all of theirs summed."""
        if os.environ.get(SHARED_DIR_ENV):
            shared = CollectorRegistry()
            multiprocess.MultiProcessCollector(shared)  # type: ignore[no-untyped-call]
            return generate_latest(shared)
        return generate_latest(self.registry)

    @staticmethod
    def close() -> None:
        """A worker that stops takes its gauges (requests in progress) out of the sum; its counts stay in it."""
        if os.environ.get(SHARED_DIR_ENV):
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def record_answer(self, answer: AnswerLike) -> None:
        """Count an answer and whether it abstained; observe its retrieval time (timings["retrieval_ms"])."""
        self.answers.labels(mode=self._label("mode", str(answer.mode))).inc()
        if answer.abstained:
            self.abstained.inc()
        if (retrieval_ms := answer.timings.get("retrieval_ms")) is not None:
            self.record_retrieval(retrieval_ms / 1000)
        if answer.llm_outcome is not None:
            self.record_llm(answer.llm_outcome, answer.llm_fallback)

    def record_llm(self, outcome: str, reason: str | None = None) -> None:
        """Count an LLM call by outcome ("ok", "error", "timeout"…) and, given a reason, a fallback."""
        self.llm_calls.labels(outcome=self._label("outcome", outcome)).inc()
        if reason is not None:
            self.llm_fallbacks.labels(reason=self._label("reason", reason)).inc()

    def record_retrieval(self, seconds: float) -> None:
        """Observe the time one retrieval took."""
        self.retrieval.observe(max(0.0, seconds))

    def _label(self, kind: str, value: str) -> str:
        """A bounded, Prometheus-friendly label value: free text must not grow the series without end."""
        clean = _LABEL_RE.sub("_", value.lower()).strip("_")[:48] or "unknown"
        seen = self._seen.setdefault(kind, set())
        if clean not in seen:
            if len(seen) >= _MAX_LABEL_VALUES:
                return "other"
            seen.add(clean)
        return clean

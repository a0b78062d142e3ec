"""FastAPI dependencies shared by the routes, as Annotated aliases, and the checks of common parameters."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from qa.config import Settings
from qa.server.errors import ApiError
from qa.server.metrics import Metrics
from qa.server.state import Pipeline, State

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Half of a UTF-16 surrogate pair: JSON can carry one (`"\\ud800"`), but no Unicode text can, nor be encoded as UTF-8.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


# The dependencies are coroutines: FastAPI runs a plain function dependency in its thread pool, a hand-off to another
# thread and back for each one on every request (three per /ask, ~0.7 ms of its ~5 ms on one article).
async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_state(request: Request) -> State:
    """The app's serving state."""
    state: State = request.app.state.qa
    return state


async def get_metrics(request: Request) -> Metrics:
    """The app's metrics registry."""
    metrics: Metrics = request.app.state.metrics
    return metrics


async def ready_pipeline(request: Request) -> Pipeline:
    """The loaded pipeline, or 503 while the index is loading (or failed to load)."""
    state = await get_state(request)
    if state.pipeline is None:
        message = f"index failed to load: {state.error}" if state.error else "the index is still loading"
        raise ApiError(503, "not_ready", message, headers={"Retry-After": state.retry_after()})
    return state.pipeline


@dataclass(frozen=True)
class Serving:
    """What the question routes need on every request: the loaded pipeline, the settings and the metrics."""

    pipeline: Pipeline
    settings: Settings
    metrics: Metrics


# One dependency rather than three: FastAPI solves each one anew on every request (~8 µs apiece on one core).
async def serving(request: Request) -> Serving:
    """The pipeline (or 503 while the index is loading), the settings and the metrics."""
    return Serving(await ready_pipeline(request), await get_settings(request), await get_metrics(request))


SettingsDep = Annotated[Settings, Depends(get_settings)]
StateDep = Annotated[State, Depends(get_state)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
PipelineDep = Annotated[Pipeline, Depends(ready_pipeline)]
ServingDep = Annotated[Serving, Depends(serving)]


def clean_question(text: str, limit: int, *, param: str = "question") -> str:
    """Strip control characters and blanks; reject an empty or over-long question, or one that is not Unicode text."""
    if _SURROGATE_RE.search(text):
        message = "question holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not a character"
        raise ApiError(422, "invalid_text", message, param=param)
    text = _CONTROL_RE.sub("", text).strip()
    # Only invisible characters (zero-width spaces and joiners, format marks, separators) is blank too.
    if not any(not unicodedata.category(ch).startswith(("C", "Z")) for ch in text):
        raise ApiError(422, "empty_question", "question must not be empty or blank", param=param)
    if len(text) > limit:
        message = f"question is {len(text)} characters; the limit is {limit}"
        raise ApiError(422, "question_too_long", message, param=param)
    return text


def top_k(k: int | None, settings: Settings, *, param: str = "top_k") -> int:
    """The number of passages asked for, within the configured range (the default when not given)."""
    if k is None:
        return settings.retrieval.default_top_k
    if not 1 <= k <= settings.retrieval.max_top_k:
        message = f"top_k/k must be between 1 and {settings.retrieval.max_top_k}, got {k}"
        raise ApiError(422, "top_k_out_of_range", message, param=param)
    return k


T = TypeVar("T")


def recent_turns(turns: Sequence[T], settings: Settings) -> list[T]:
    """The last QA_MAX_HISTORY_TURNS turns of a conversation (none at 0)."""
    kept = settings.server.max_history_turns
    return list(turns[-kept:]) if kept else []

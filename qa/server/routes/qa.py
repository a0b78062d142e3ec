"""Question routes: POST /ask, POST /ask/stream (Server-Sent Events) and GET /search."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from qa.server.deps import MetricsDep, PipelineDep, SettingsDep, clean_question, top_k
from qa.server.schemas import AskRequest, AskResponse, PassageOut, SearchResponse
from qa.server.sse import SSE_HEADERS, STREAM_DOC, counted, sse
from qa.types import Turn

router = APIRouter(tags=["qa"])


def _parse(body: AskRequest, settings: SettingsDep) -> tuple[str, int, list[Turn]]:
    question = clean_question(body.question, settings.server.max_question_chars)
    history = [Turn(t.question, t.answer) for t in (body.history or [])][-settings.server.max_history_turns :]
    return question, top_k(body.top_k, settings), history


@router.post("/ask", response_model=AskResponse)
async def ask(body: AskRequest, p: PipelineDep, settings: SettingsDep, metrics: MetricsDep) -> AskResponse:
    """Answer a question with citations that point at the exact words of the source."""
    question, k, history = _parse(body, settings)
    answer = await p.engine.ask(question, top_k=k, history=history)
    metrics.record_answer(answer)
    return AskResponse.of(answer)


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": STREAM_DOC}},
)
async def ask_stream(body: AskRequest, p: PipelineDep, settings: SettingsDep, metrics: MetricsDep) -> StreamingResponse:
    """Server-Sent Events: `passages`, then `delta` text pieces, then `final` (the authoritative answer)."""
    question, k, history = _parse(body, settings)
    events = counted(p.engine.stream(question, top_k=k, history=history), metrics)
    return StreamingResponse(sse(events), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/search", response_model=SearchResponse)
def search(
    p: PipelineDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    q: Annotated[str, Query(description="The query")],
    k: Annotated[int | None, Query(description="How many passages")] = None,
) -> SearchResponse:
    """Ranked passages for a query, without an answer."""
    query = clean_question(q, settings.server.max_question_chars, param="q")
    started = time.perf_counter()
    hits = p.retriever.search(p.retriever.prepare(query), top_k(k, settings, param="k"))
    metrics.record_retrieval(time.perf_counter() - started)
    return SearchResponse(query=query, passages=[PassageOut.of(h) for h in hits])

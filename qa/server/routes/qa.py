"""Question routes: POST /ask, POST /ask/stream (Server-Sent Events) and GET /search."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from qa.answering.engine import ExtractiveEngine
from qa.server.deps import (
    MetricsDep,
    PipelineDep,
    Serving,
    ServingDep,
    SettingsDep,
    clean_question,
    recent_turns,
    top_k,
)
from qa.server.disconnect import unless_gone
from qa.server.errors import ApiError
from qa.server.schemas import AskRequest, AskResponse, PassageOut, SearchResponse
from qa.server.sse import SSE_HEADERS, STREAM_DOC, counted, sse
from qa.types import Docs, Turn

router = APIRouter(tags=["qa"])


def known_docs(docs: list[str] | None, p: PipelineDep) -> Docs:
    """The documents a request names, all of them indexed (422 naming those that are not), or None for all."""
    if not docs:
        return None
    unknown = [d for d in dict.fromkeys(docs) if d not in p.index.documents]
    if unknown:
        raise ApiError(422, "unknown_documents", f"no indexed document has the id(s) {unknown[:10]}", param="docs")
    return frozenset(docs)


def _parse(body: AskRequest, s: Serving) -> tuple[str, int, list[Turn], Docs]:
    settings = s.settings
    question = clean_question(body.question, settings.server.max_question_chars)
    history = recent_turns([Turn(t.question, t.answer) for t in (body.history or [])], settings)
    return question, top_k(body.top_k, settings), history, known_docs(body.docs, s.pipeline)


@router.post("/ask", response_model=AskResponse)
async def ask(body: AskRequest, s: ServingDep, request: Request) -> Response:
    """Answer a question with citations that point at the exact words of the source."""
    question, k, history, docs = _parse(body, s)
    answering = s.pipeline.engine.ask(question, top_k=k, history=history, docs=docs)
    # An LLM answer takes seconds: stopped when its client leaves. The extractive one takes milliseconds.
    slow = not isinstance(s.pipeline.engine, ExtractiveEngine)
    answer = await (unless_gone(request, answering) if slow else answering)
    s.metrics.record_answer(answer)
    # Written by the model itself: FastAPI would validate the model it was given against response_model again and
    # go through its own JSON encoder (~0.11 ms a question, a twentieth of answering one on one article). The
    # schema is still AskResponse's (response_model), and the body the same JSON.
    return Response(AskResponse.of(answer).model_dump_json(), media_type="application/json")


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": STREAM_DOC}},
)
async def ask_stream(body: AskRequest, s: ServingDep) -> StreamingResponse:
    """Server-Sent Events: `passages`, then `delta` text pieces, then `final` (the authoritative answer)."""
    question, k, history, docs = _parse(body, s)
    events = counted(s.pipeline.engine.stream(question, top_k=k, history=history, docs=docs), s.metrics)
    return StreamingResponse(sse(events), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/search", response_model=SearchResponse)
def search(
    *,
    p: PipelineDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    q: Annotated[str, Query(min_length=1, description="The query")],
    k: Annotated[int | None, Query(ge=1, le=50, description="How many passages (default 5)")] = None,
    docs: Annotated[
        list[str] | None, Query(max_length=100, description="Search these documents only (repeat: docs=a&docs=b)")
    ] = None,
) -> SearchResponse:
    """Ranked passages for a query, without an answer."""
    query = clean_question(q, settings.server.max_question_chars, param="q")
    started = time.perf_counter()
    prepared = p.retriever.prepare(query, docs=known_docs(docs, p))
    hits = p.retriever.matched(p.retriever.search(prepared, top_k(k, settings, param="k")))
    metrics.record_retrieval(time.perf_counter() - started)
    return SearchResponse(query=query, passages=[PassageOut.of(h) for h in hits])

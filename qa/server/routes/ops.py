"""Operations routes: probes (/live, /ready, /health), Prometheus /metrics and /admin/reindex."""

from __future__ import annotations

from typing import Literal

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from qa.errors import IndexUnusable, IndexWriteError, ReindexBusy, SourceError
from qa.server.deps import MetricsDep, PipelineDep, StateDep
from qa.server.errors import ApiError, write_failed
from qa.server.metrics import CONTENT_TYPE
from qa.server.schemas import ErrorResponse, HealthResponse, ReindexResponse
from qa.server.state import State

router = APIRouter()


class LiveResponse(BaseModel):
    """The process is up and answering."""

    status: Literal["alive"] = "alive"


@router.post(
    "/admin/reindex",
    response_model=ReindexResponse,
    tags=["admin"],
    responses={
        409: {"model": ErrorResponse, "description": "A rebuild is running, or this server cannot rebuild"},
        422: {"model": ErrorResponse, "description": "The sources cannot be indexed"},
        503: {"model": ErrorResponse, "description": "Not ready, or the index folder cannot be written"},
        507: {"model": ErrorResponse, "description": "No space left for the new index"},
    },
)
async def reindex(_: PipelineDep, state: StateDep) -> ReindexResponse:
    """Rebuild the index from the seeds and swap it in; requests in flight finish on the old one. Whatever goes
    wrong, the old index keeps serving."""
    if not state.can_reindex:
        raise ApiError(409, "reindex_unavailable", "this server was started without a way to rebuild its index")
    try:
        fresh = await anyio.to_thread.run_sync(state.reindex)
    except ReindexBusy as exc:
        raise ApiError(409, "reindex_running", str(exc)) from exc
    except (SourceError, IndexUnusable) as exc:
        raise ApiError(422, "reindex_failed", f"{exc}; the previous index is still serving") from exc
    except IndexWriteError as exc:
        raise write_failed(exc, "the previous index is still serving") from exc
    manifest = fresh.index.manifest
    return ReindexResponse(
        built_at=manifest["built_at"], counts=manifest["counts"], skipped=manifest.get("skipped", [])
    )


def not_indexed(skipped: list[dict[str, str]], shown: int = 5) -> str | None:
    """What a ready server says of the source files its index left out (unreadable ones: its logs name each), if any."""
    if not skipped:
        return None
    named = "; ".join(f"{u['file']} ({u['reason']})" for u in skipped[:shown])
    more = f"; and {len(skipped) - shown} more" if len(skipped) > shown else ""
    return f"{len(skipped)} source file(s) not indexed: {named}{more}"


def _readiness(state: State, headers: dict[str, str] | None = None) -> JSONResponse:
    if state.pipeline is not None:
        detail = not_indexed(state.pipeline.index.manifest.get("skipped", []))
        return JSONResponse(HealthResponse(status="ok", ready=True, detail=detail).model_dump())
    status: Literal["failed", "loading"] = "failed" if state.error else "loading"
    body = HealthResponse(status=status, ready=False, detail=state.error).model_dump()
    return JSONResponse(body, status_code=503, headers=headers)


# HEAD too (load balancers probe with it), kept out of the schema: it is GET without the body. GET is registered
# first, so a wrong method's 405 says `Allow: GET`. The probes are coroutines: they read a field, and a plain function
# would go through a worker thread twice (the endpoint, then its response model), four thread wake-ups a probe
# (/live over a raw socket, one article: p50 0.73 ms as functions).
@router.head("/health", include_in_schema=False)
@router.get("/health", response_model=HealthResponse, tags=["ops"], responses={503: {"model": HealthResponse}})
async def health(state: StateDep) -> JSONResponse:
    """Ready (200) once the index is loaded; 503 while loading or when loading failed."""
    return _readiness(state)


@router.head("/live", include_in_schema=False)
@router.get("/live", response_model=LiveResponse, tags=["ops"])
async def live() -> LiveResponse:
    """Liveness: the process is up (always 200)."""
    return LiveResponse()


@router.head("/ready", include_in_schema=False)
@router.get("/ready", response_model=HealthResponse, tags=["ops"], responses={503: {"model": HealthResponse}})
async def ready(state: StateDep) -> JSONResponse:
    """Readiness: 200 once the index is loaded; 503 while loading or when loading failed."""
    return _readiness(state, {"Retry-After": state.retry_after()})


@router.get(
    "/metrics",
    tags=["ops"],
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus"}},
)
def prometheus(metrics: MetricsDep) -> Response:
    """Metrics in the Prometheus text format."""
    return Response(metrics.render(), media_type=CONTENT_TYPE)

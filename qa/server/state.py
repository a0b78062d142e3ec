"""What the server serves: the loaded pipeline, how to load and rebuild it, and why it is not there yet."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from qa.answering.engine import Engine
from qa.answering.extractive import ExtractiveAnswerer
from qa.errors import ReindexBusy
from qa.indexing.store import Index
from qa.retrieval.retriever import Retriever
from qa.types import Embedder

log = logging.getLogger(__name__)


@dataclass
class Pipeline:
    """Everything a request needs, ready to use."""

    index: Index
    embedder: Embedder
    retriever: Retriever
    answerer: ExtractiveAnswerer
    engine: Engine


# Builds the pipeline from the index on disk (rebuilding a stale one, or refusing, as configured).
Loader = Callable[[], Pipeline]
# Rebuilds the index from the sources and returns the pipeline over it; given the pipeline serving now.
Rebuilder = Callable[[Pipeline | None], Pipeline]


class State:
    """The pipeline once loaded, or why it is not there yet; rebuilds swap a new one in at once."""

    def __init__(
        self, *, load: Loader | None = None, rebuild: Rebuilder | None = None, pipeline: Pipeline | None = None
    ) -> None:
        self.pipeline = pipeline
        self.error: str | None = None
        self._load = load
        self._rebuild = rebuild
        self._reindexing = threading.Lock()

    @property
    def can_reindex(self) -> bool:
        """Whether this server was given a way to rebuild its index."""
        return self._rebuild is not None

    def load(self) -> None:
        """Build the pipeline (in a background thread at start-up); on failure keep the reason."""
        if self._load is None:
            self.error = "no index loader was configured"
            return
        try:
            self.pipeline = self._load()
        except Exception as exc:  # the service stays up and says why it is not ready
            log.exception("index could not be loaded")
            self.error = str(exc)

    def reindex(self) -> Pipeline:
        """Rebuild the index from the sources and swap the new pipeline in at once.

        Requests in flight keep the pipeline they started with and finish on the old index. Raises
        ReindexBusy when a rebuild is already running; any build error leaves the old pipeline serving.
        """
        if self._rebuild is None:
            raise ReindexBusy("this server cannot rebuild its index (no rebuilder configured)")
        if not self._reindexing.acquire(blocking=False):
            raise ReindexBusy("a rebuild is already running")
        try:
            pipeline = self._rebuild(self.pipeline)
            self.pipeline, self.error = pipeline, None
            log.info("reindexed: %s chunks", len(pipeline.index.chunks))
            return pipeline
        finally:
            self._reindexing.release()

    async def aclose(self) -> None:
        """Release what the pipeline holds open (the LLM client's connections)."""
        if self.pipeline is not None:
            await self.pipeline.engine.aclose()

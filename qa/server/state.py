"""What the server serves: the loaded pipeline, how to load and rebuild it, and why it is not there yet."""

from __future__ import annotations

import gc
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.answering.engine import Engine
from qa.answering.extractive import ExtractiveAnswerer
from qa.errors import IndexUnusable, ReindexBusy
from qa.indexing.index import Index
from qa.indexing.library import Added
from qa.indexing.store import MANIFEST, read_manifest
from qa.retrieval.retriever import Retriever
from qa.types import Embedder, NewDocument

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


# How long an ingestion waits for a rebuild or another ingestion to finish before answering busy.
WRITE_WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class Library:
    """How documents are added to and removed from the served index (each returns the pipeline to serve next)."""

    add: Callable[[Pipeline, NewDocument, bool, float], tuple[Pipeline, Added]]  # ..., replace, seconds to wait
    remove: Callable[[Pipeline, str, float], Pipeline]
    wait: float = WRITE_WAIT_SECONDS  # seconds a write waits for a rebuild or other writes before busy


@dataclass(frozen=True)
class Watch:
    """Where the index lives, how often to look whether another worker rewrote it (0: never), and how soon to try
    again a load that failed (doubling up to retry_max_seconds; 0: never)."""

    index_dir: Path
    check_seconds: float = 1.0
    retry_seconds: float = 1.0
    retry_max_seconds: float = 60.0


class State:
    """The pipeline once loaded, or why it is not there yet; rebuilds swap a new one in at once."""

    def __init__(
        self,
        *,
        load: Loader | None = None,
        rebuild: Rebuilder | None = None,
        library: Library | None = None,
        pipeline: Pipeline | None = None,
        reload: Rebuilder | None = None,
        watch: Watch | None = None,
    ) -> None:
        self.pipeline: Pipeline | None = None
        self._swapping = threading.RLock()  # a pipeline is checked and swapped in as one step
        if pipeline is not None:
            self._serve(pipeline)
        self.error: str | None = None
        self._next_try: float | None = None  # time.monotonic() of the next load after a failed one
        self._load = load
        self._rebuild = rebuild
        self._library = library
        self._reindexing = threading.Lock()
        self._reload = reload  # loads the index on disk as it is (another worker wrote it), given the current pipeline
        self._watch = watch
        self._seen = self._signature()  # the index manifest's stat() when last looked at

    def _serve(self, pipeline: Pipeline) -> None:
        """Serve this pipeline from now on, its index moved out of the garbage collector's sight (gc.freeze): the
        cyclic collector walks every object it tracks on a full collection, and a 10,000-article index is ~2.2 M
        of them (1.3-1.5 s with the GIL held, now and then, on whichever request set it off). Frozen objects are
        still freed when nothing refers to them any more; replacing an index leaves (almost) no cycles behind."""
        with self._swapping:
            self.pipeline = pipeline
        gc.freeze()

    def retry_after(self) -> str:
        """Seconds until the pipeline may be there, for a 503's Retry-After: until the next load after a failed
        one (the reason says the same), else 2 while it loads."""
        at = self._next_try
        return str(max(1, math.ceil(at - time.monotonic()))) if at is not None else "2"

    @property
    def can_reindex(self) -> bool:
        """Whether this server was given a way to rebuild its index."""
        return self._rebuild is not None

    def load(self) -> bool:
        """Build the pipeline (in a background thread at start-up); on failure keep the reason. True once loaded."""
        if self._load is None:
            self.error = "no index loader was configured"
            return False
        seen = self._signature()  # before loading: a write meanwhile is then seen as new, and loaded next
        try:
            pipeline = self._load()
        except Exception as exc:  # the service stays up and says why it is not ready
            log.exception("index could not be loaded")
            self.error = str(exc) or type(exc).__name__
            return False
        self._serve(pipeline)
        self.error, self._seen = None, seen
        return True

    def keep_current(self, stop: threading.Event, *, failed_once: bool = False) -> None:
        """Until stop is set (run in a thread): load the index, trying again with backoff while it fails (the
        reason, on /health, says when); then every check_seconds swap in the index another worker wrote."""
        watch = self._watch or Watch(Path("."), check_seconds=0, retry_seconds=0)
        delay = watch.retry_seconds
        while not stop.is_set():
            if self.pipeline is None:
                if not failed_once and self.load():
                    continue
                failed_once = False
                if not delay:
                    return
                self.error = f"{self.error}; trying again in {delay:g} s"
                log.warning("index not loaded; trying again in %g s", delay)
                self._next_try = time.monotonic() + delay
                stop.wait(delay)
                self._next_try = None
                delay = min(2 * delay, watch.retry_max_seconds)
            elif not watch.check_seconds or self._reload is None:
                return
            else:
                stop.wait(watch.check_seconds)
                if not stop.is_set():
                    self.refresh()

    def refresh(self) -> bool:
        """Swap in the index on disk if another worker rewrote it since this one last looked: a stat() of the
        manifest each time, reading it only when that changed. The worker that wrote it only records it. Requests
        in flight finish on the pipeline they started with. True when a new pipeline was swapped in."""
        # Not held back by a write of this worker waiting for the folder lock (another worker writing): it served the
        # index of before all that wait, up to ~10 s under a stream of writes. A write's own result is newer still,
        # and the swap below never puts an older pipeline over it.
        seen, current = self._signature(), self.pipeline
        if seen == self._seen or current is None or self._reload is None:
            return False
        try:
            manifest = read_manifest(self._watch.index_dir) if self._watch else None
        except IndexUnusable:
            return False  # being replaced: look again next time
        if manifest is None or _same_manifest(manifest, current.index.manifest):
            self._seen = seen
            return False
        try:
            fresh = self._reload(current)
        except Exception:  # the index loaded before keeps serving; the next write is tried again
            log.exception("the index on disk changed but could not be loaded; still serving the previous one")
            self._seen = seen
            return False
        with self._swapping:
            if self.pipeline is not current:
                return False  # a write or a rebuild of this worker served its own, newer, pipeline meanwhile
            self._serve(fresh)
            self.error, self._seen = None, seen
        log.info("loaded the index another worker wrote: %s chunks", len(fresh.index.chunks))
        return True

    def _signature(self) -> tuple[int, int, int] | None:
        """The index manifest's inode, mtime and size (every write replaces it), or None when there is none."""
        if self._watch is None:
            return None
        try:
            found = (self._watch.index_dir / MANIFEST).stat()
        except OSError:
            return None
        return found.st_ino, found.st_mtime_ns, found.st_size

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
            self._served_own(pipeline)
            self.error = None
            log.info("reindexed: %s chunks", len(pipeline.index.chunks))
            return pipeline
        finally:
            self._reindexing.release()

    def add_document(self, doc: NewDocument, *, replace: bool = False) -> Added:
        """Index one more document and serve it from the moment this returns (requests in flight finish on the
        index they started with). Waits for a rebuild or another ingestion under way; ReindexBusy past that."""
        with self._writer() as (pipeline, wait):
            assert self._library is not None  # _writer checked
            served, added = self._library.add(pipeline, doc, replace, wait)
            self._served_own(served)
            return added

    def remove_document(self, doc_id: str) -> None:
        """Stop serving a document added earlier (DocumentNotFound when none has that id)."""
        with self._writer() as (pipeline, wait):
            assert self._library is not None  # _writer checked
            self._served_own(self._library.remove(pipeline, doc_id, wait))

    def _served_own(self, pipeline: Pipeline) -> None:
        """Serve the pipeline this worker's own write made, and look at the disk afresh next time: another worker may
        have written after it released the folder lock, and a reload that saw that newer manifest meanwhile could
        have had its pipeline replaced by this one."""
        self._serve(pipeline)
        self._seen = None

    @contextmanager
    def _writer(self) -> Iterator[tuple[Pipeline, float]]:
        """This worker's write lock and the pipeline to write on, with what is left of the write's wait for the index
        folder's lock (one budget for both waits: a write queued behind another was answered after its timeout)."""
        if self._library is None:
            raise ReindexBusy("this server was started without a document library")
        started = time.monotonic()
        if not self._reindexing.acquire(timeout=self._library.wait):
            raise ReindexBusy("the index is being rebuilt or written; try again")
        try:
            if self.pipeline is None:
                raise IndexUnusable("the index is not loaded yet")
            yield self.pipeline, max(0.0, self._library.wait - (time.monotonic() - started))
        finally:
            self._reindexing.release()

    async def aclose(self) -> None:
        """Release what the pipeline holds open (the LLM client's connections)."""
        if self.pipeline is not None:
            await self.pipeline.engine.aclose()


def _same_manifest(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two manifests describe the same index (one read from disk, one held in memory)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)

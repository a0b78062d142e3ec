"""Wiring only: build the pipeline and the HTTP app from settings; the one place that knows every layer."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from fastapi import FastAPI

from qa.answering.engine import Engine, ExtractiveEngine
from qa.answering.extractive import ExtractiveAnswerer
from qa.answering.ranker import load_ranker
from qa.config import LLMSettings, Settings, settings_with
from qa.errors import IndexUnusable
from qa.indexing.build import build_into
from qa.indexing.freshness import open_index
from qa.indexing.index import Index
from qa.indexing.lexicon import warm as warm_lexicon
from qa.indexing.library import Added, add_document, remove_document
from qa.indexing.sources import Sources
from qa.indexing.store import check_writable, refresh
from qa.indexing.store import load as load_index
from qa.llm.client import LLMClient
from qa.llm.engine import LLMEngine
from qa.retrieval.backend import SearchBackend, sync
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.retrieval.retriever import Retriever
from qa.server.app import create_app
from qa.server.logs import configure_logging
from qa.server.memory import hold, reserve_for, wants_holding
from qa.server.state import WRITE_WAIT_SECONDS, Library, Pipeline
from qa.text.lexicon import proper_names
from qa.text.pinyin_names import readings as pinyin_readings
from qa.text.tokens import initialise
from qa.text.transliteration import warm_names
from qa.types import Embedder, NewDocument

log = logging.getLogger(__name__)


def sources_of(settings: Settings) -> Sources:
    """Where the documents are: the seeds, and the library of documents added since."""
    return Sources(settings.seeds_dir, settings.library_dir)


def make_embedder(settings: Settings) -> Embedder:
    """The configured sentence-transformers model (not loaded until first used)."""
    return SentenceTransformerEmbedder(settings.retrieval.embedding_model)


def preflight(settings: Settings) -> None:
    """ConfigurationError for a setting no retry can fix, found before a server starts (it would otherwise answer
    503 while it tried, every few seconds, to load what is not there): the ranker's model files when QA_RANKER_DIR
    names them, a Milvus store without its address, an embedding model other than the bundled one that cannot be
    loaded (it is loaded here once more: seconds, at start only)."""
    if settings.answering.ranker_dir is not None:
        load_ranker(settings.answering.ranker_dir)
    if settings.retrieval.store == "milvus":
        from qa.retrieval.milvus import check_uri

        check_uri(settings.retrieval.milvus_uri)
    if settings.retrieval.embedding_model:
        make_embedder(settings).embed(["preflight"])


def make_backend(settings: Settings, embedder: Embedder) -> SearchBackend | None:
    """The search backend QA_STORE names: None for the index's own files (local), or a Milvus collection."""
    if settings.retrieval.store != "milvus":
        return None
    from qa.retrieval.milvus import MilvusBackend  # pymilvus takes half a second to import: only when asked

    return MilvusBackend.from_settings(settings.retrieval, embedder.dim)


def sync_backend(backend: SearchBackend, index: Index, *, since: Index | None = None, force: bool = False) -> None:
    """Make the backend hold exactly the index's live chunks: nothing to do when it records the index's state, what
    changed since `since` when given, all of them otherwise (qa.retrieval.backend.sync)."""
    started = time.perf_counter()
    done = sync(backend, index, since=since, force=force)
    if done:
        live = int(index.live.sum())
        log.info("search backend %s: %d chunks in %.2f s", done, live, time.perf_counter() - started)


def llm_settings(settings: Settings) -> LLMSettings:
    """The LLM settings a question is answered with: its LLM calls end early enough (QA_LLM_TIMEOUT cut to the request
    timeout less a margin) that the extractive fallback still starts within QA_REQUEST_TIMEOUT, instead of a 504."""
    llm, limit = settings.llm, settings.server.request_timeout
    margin = min(1.0, limit / 4)
    if limit <= 0 or llm.timeout <= limit - margin:
        return llm
    log.warning(
        "QA_LLM_TIMEOUT %.1fs does not fit QA_REQUEST_TIMEOUT %.1fs: LLM calls get %.1fs, then the extractive answer",
        llm.timeout,
        limit,
        limit - margin,
    )
    return llm.model_copy(update={"timeout": limit - margin})


def make_engine(settings: Settings, answerer: ExtractiveAnswerer, llm: LLMClient | None = None) -> Engine:
    """The LLM engine when an LLM client is given (or configured), else the extractive one."""
    if llm is None and not settings.llm.enabled:
        return ExtractiveEngine(answerer)
    fitted = llm_settings(settings)  # read (and its cut logged) once for the client and the engine
    return LLMEngine(answerer, llm or LLMClient(fitted), fitted)


def build_pipeline(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    index: Index | None = None,
    llm: LLMClient | None = None,
    backend: SearchBackend | None = None,
    warm: bool = True,
) -> Pipeline:
    """Open (or rebuild) the index and wire the retriever, the answerer and the engine."""
    initialise()
    sys.setswitchinterval(settings.answering.switch_interval_ms / 1000)  # answering threads yield the GIL sooner
    embedder = embedder or make_embedder(settings)
    if index is None:
        index = open_index(settings.index_dir, sources_of(settings), embedder, on_mismatch=settings.on_index_mismatch)
    if backend is None and (backend := make_backend(settings, embedder)) is not None:
        sync_backend(backend, index)
    retriever = Retriever(index, embedder, settings.retrieval, backend)
    answerer = ExtractiveAnswerer(retriever, settings.answering)
    pipeline = Pipeline(
        index=index,
        embedder=embedder,
        retriever=retriever,
        answerer=answerer,
        engine=make_engine(settings, answerer, llm),
    )
    # Warm the model, the tokenisers and the name tables so that the first request is as fast as the rest.
    if warm and retriever.dense_useful:
        embedder.embed(["warm up"])
    for question in ("預熱什麼時候？", "How many Warm-ups?") if warm else ():
        pipeline.answerer.answer(question)
    if warm:
        warm_lexicon()  # the dictionary an added document's lexicon is built from: read now, not on the first add
        pinyin_readings()  # the characters of each pinyin syllable (~0.2 s): not on the first English name in pinyin
        proper_names()  # CC-CEDICT's English names (~0.2 s): not on the first English question naming an unknown one
        warm_names(index.lexicon)  # each corpus name's pinyin, arranged to match English names by sound (~0.2 s)
        _ = index.pair_chars  # the characters of the corpus's pairs, which narrow a pinyin name's search (~1.5 s)
        # ... and the rest the first addition would pay for (0.2 s at 10,000 articles): the model's tokenizer, which
        # measures an added document's coverage, and each segment's per-document sizes, which the manifest counts.
        embedder.coverage("warm up")
        index.counts()
    log.info("index ready: %s chunks from %s documents", int(index.live.sum()), len(index.documents))
    return pipeline


def rebuild_pipeline(settings: Settings, current: Pipeline | None) -> Pipeline:
    """Rebuild the index from the sources, save it, and wire a pipeline over it. The embedder and the LLM
    client of the pipeline serving now are reused: one model in memory, one LLM connection pool."""
    embedder = current.embedder if current else make_embedder(settings)
    llm = current.engine.client if current and isinstance(current.engine, LLMEngine) else None
    check_writable(settings.index_dir)  # a read-only or full disk fails now, not after the whole build
    build_into(settings.index_dir, sources_of(settings), embedder)
    index = load_index(settings.index_dir)
    backend = current.retriever.backend if current else None
    if backend is not None:
        sync_backend(backend, index, force=True)
    return build_pipeline(settings, embedder=embedder, index=index, llm=llm, backend=backend)


def write_wait(settings: Settings) -> float:
    """How long a request's write waits for another process's (a rebuild, a `qa add`): half the request timeout, at
    most WRITE_WAIT_SECONDS, so that it is answered 409 index_busy, not held past its timeout and applied after."""
    limit = settings.server.request_timeout
    return min(WRITE_WAIT_SECONDS, limit / 2) if limit > 0 else WRITE_WAIT_SECONDS


def add_to_pipeline(
    settings: Settings, current: Pipeline, doc: NewDocument, *, replace: bool, wait: float | None = None
) -> tuple[Pipeline, Added]:
    """Index one more document (one new segment, nothing else rebuilt) and wire a pipeline over the result."""
    added = add_document(
        current.index,
        settings.index_dir,
        sources_of(settings),
        doc,
        current.embedder,
        replace=replace,
        max_chars=settings.server.max_document_chars,
        max_segments=settings.retrieval.max_segments,
        wait=write_wait(settings) if wait is None else wait,
    )
    if (backend := current.retriever.backend) is not None:
        sync_backend(backend, added.index, since=current.index)
    return rewire(settings, current, added.index), added


def remove_from_pipeline(settings: Settings, current: Pipeline, doc_id: str, *, wait: float | None = None) -> Pipeline:
    """Take an added document out of the index and wire a pipeline over the rest."""
    waiting = write_wait(settings) if wait is None else wait
    index = remove_document(current.index, settings.index_dir, sources_of(settings), doc_id, wait=waiting)
    if (backend := current.retriever.backend) is not None:
        sync_backend(backend, index, since=current.index)
    return rewire(settings, current, index)


def reload_pipeline(settings: Settings, current: Pipeline | None) -> Pipeline:
    """The pipeline over the index on disk as it is (another worker wrote it): loaded, not rebuilt."""
    if current is None:
        return build_pipeline(settings, index=load_index(settings.index_dir))
    index = refresh(current.index, settings.index_dir)
    built_with = index.manifest.get("embedding", {}).get("model_id")
    if index is not current.index and built_with != current.embedder.model_id:
        # Written by a process configured with another model (`qa add` without this worker's QA_EMBEDDING_MODEL,
        # which rebuilt it): its vectors cannot be searched with this worker's queries.
        raise IndexUnusable(
            f"the index on disk was built with embedding model {built_with!r}, this worker embeds with "
            f"{current.embedder.model_id!r}: not loaded"
        )
    if (backend := current.retriever.backend) is not None and index is not current.index:
        sync_backend(backend, index, since=current.index)  # `qa add` wrote the index, not the backend
    return rewire(settings, current, index)


def rewire(settings: Settings, current: Pipeline, index: Index) -> Pipeline:
    """A pipeline over another index, sharing the current one's embedder and LLM client."""
    llm = current.engine.client if isinstance(current.engine, LLMEngine) else None
    backend = current.retriever.backend
    return build_pipeline(settings, embedder=current.embedder, index=index, llm=llm, backend=backend, warm=False)


def build_app(settings: Settings, *, pipeline: Pipeline | None = None, load_before_serving: bool = False) -> FastAPI:
    """The HTTP app over the pipeline: given one it is ready at once; otherwise it loads the index itself."""
    return create_app(
        settings,
        pipeline=pipeline,
        load=lambda: holding(build_pipeline(settings), settings),
        rebuild=lambda current: rebuild_pipeline(settings, current),
        library=Library(
            add=lambda current, doc, replace, wait: add_to_pipeline(settings, current, doc, replace=replace, wait=wait),
            remove=lambda current, doc_id, wait: remove_from_pipeline(settings, current, doc_id, wait=wait),
            wait=write_wait(settings),
        ),
        load_before_serving=load_before_serving,
        reload=lambda current: reload_pipeline(settings, current),
    )


def holding(pipeline: Pipeline, settings: Settings) -> Pipeline:
    """The pipeline, once the process holds its memory as settings say (qa.server.memory)."""
    if wants_holding(settings.server.hold_memory, settings.index_dir):
        reserve = reserve_for(settings.index_dir, settings.server.memory_reserve_mb)
        seconds = hold(reserve)
        log.info("memory held: %d MiB touched ahead in %.1f s", reserve >> 20, seconds)
    return pipeline


def app_factory(**overrides: Any) -> FastAPI:
    """The app from the environment and the command line's overrides: for `qa serve --workers N` (each worker
    process calls it)."""
    settings = settings_with(**overrides)
    configure_logging(settings)
    return build_app(settings, load_before_serving=True)

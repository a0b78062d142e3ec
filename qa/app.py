"""Wiring only: build the pipeline and the HTTP app from settings; the one place that knows every layer."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI

from qa.answering.engine import Engine, ExtractiveEngine
from qa.answering.extractive import ExtractiveAnswerer
from qa.config import Settings, settings_with
from qa.indexing.build import build as build_index
from qa.indexing.freshness import open_index
from qa.indexing.store import Index
from qa.indexing.store import load as load_index
from qa.indexing.store import save as save_index
from qa.llm.client import LLMClient
from qa.llm.engine import LLMEngine
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.retrieval.retriever import Retriever
from qa.server.app import create_app
from qa.server.logs import configure_logging
from qa.server.state import Pipeline
from qa.text.tokens import initialise
from qa.types import Embedder

log = logging.getLogger(__name__)


def make_embedder(settings: Settings) -> Embedder:
    """The configured sentence-transformers model (not loaded until first used)."""
    return SentenceTransformerEmbedder(settings.retrieval.embedding_model)


def make_llm_client(settings: Settings) -> LLMClient | None:
    """A client for the configured LLM server, or None when none is configured."""
    return LLMClient(settings.llm) if settings.llm.enabled else None


def make_engine(settings: Settings, answerer: ExtractiveAnswerer, llm: LLMClient | None = None) -> Engine:
    """The LLM engine when an LLM client is given (or configured), else the extractive one."""
    llm = llm or make_llm_client(settings)
    if llm is None:
        return ExtractiveEngine(answerer)
    return LLMEngine(answerer, llm, settings.llm)


def build_pipeline(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    index: Index | None = None,
    llm: LLMClient | None = None,
) -> Pipeline:
    """Open (or rebuild) the index and wire the retriever, the answerer and the engine."""
    initialise()
    embedder = embedder or make_embedder(settings)
    if index is None:
        index = open_index(settings.index_dir, settings.seeds_dir, embedder, on_mismatch=settings.on_index_mismatch)
    retriever = Retriever(index, embedder, settings.retrieval)
    answerer = ExtractiveAnswerer(retriever, settings.answering)
    pipeline = Pipeline(
        index=index,
        embedder=embedder,
        retriever=retriever,
        answerer=answerer,
        engine=make_engine(settings, answerer, llm),
    )
    # Warm the model, the tokenisers and the name tables so that the first request is as fast as the rest.
    if retriever.dense_useful:
        embedder.embed(["warm up"])
    for question in ("預熱什麼時候？", "How many Warm-ups?"):
        pipeline.answerer.answer(question)
    log.info("index ready: %s chunks from %s documents", len(index.chunks), len(index.documents))
    return pipeline


def rebuild_pipeline(settings: Settings, current: Pipeline | None) -> Pipeline:
    """Rebuild the index from the sources, save it, and wire a pipeline over it. The embedder and the LLM
    client of the pipeline serving now are reused: one model in memory, one LLM connection pool."""
    embedder = current.embedder if current else make_embedder(settings)
    llm = current.engine.client if current and isinstance(current.engine, LLMEngine) else None
    save_index(build_index(settings.seeds_dir, embedder), settings.index_dir)
    return build_pipeline(settings, embedder=embedder, index=load_index(settings.index_dir), llm=llm)


def build_app(settings: Settings, *, pipeline: Pipeline | None = None, load_before_serving: bool = False) -> FastAPI:
    """The HTTP app over the pipeline: given one it is ready at once; otherwise it loads the index itself."""
    return create_app(
        settings,
        pipeline=pipeline,
        load=lambda: build_pipeline(settings),
        rebuild=lambda current: rebuild_pipeline(settings, current),
        load_before_serving=load_before_serving,
    )


def app_factory(**overrides: Any) -> FastAPI:
    """The app from the environment and the command line's overrides: for `qa serve --workers N` (each worker
    process calls it)."""
    settings = settings_with(**overrides)
    configure_logging(settings)
    return build_app(settings, load_before_serving=True)

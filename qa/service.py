"""The assembled pipeline: index, retriever and answerer, built from settings or from given parts."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from qa.answer import ExtractiveAnswerer
from qa.config import Settings
from qa.embedding import Embedder, SentenceTransformerEmbedder
from qa.engine import Engine, ExtractiveEngine, RecordedEngine
from qa.index import Index, open_index
from qa.llm import LLMClient, LLMConfig
from qa.llm_engine import LLMEngine, Observer
from qa.metrics import record_llm
from qa.retrieval import Retriever
from qa.text import initialise

log = logging.getLogger(__name__)


@dataclass
class Pipeline:
    """Everything a request needs, ready to use."""

    index: Index
    embedder: Embedder
    retriever: Retriever
    answerer: ExtractiveAnswerer
    engine: Engine


def make_embedder(settings: Settings) -> Embedder:
    """The configured sentence-transformers model (not loaded until first used)."""
    return SentenceTransformerEmbedder(settings.embedding_model)


def make_engine(settings: Settings, answerer: ExtractiveAnswerer, *, observe: Observer | None = None) -> Engine:
    """The LLM engine when an LLM server is configured, else the extractive one."""
    if not settings.llm_base_url.strip():
        return RecordedEngine(ExtractiveEngine(answerer))
    config = LLMConfig(
        base_url=settings.llm_base_url.strip(),
        model=settings.llm_model,
        api_key=settings.llm_api_key,
        timeout=settings.llm_timeout,
        connect_timeout=settings.llm_connect_timeout,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        retries=settings.llm_retries,
        backoff=settings.llm_backoff,
        dead_seconds=settings.llm_dead_seconds,
        max_concurrency=settings.llm_max_concurrency,
    )
    engine = LLMEngine(
        answerer,
        LLMClient(config),
        context=settings.llm_context,
        article_max_chars=settings.llm_article_max_chars,
        rewrite_followups=settings.llm_rewrite_followups,
        translate_queries=settings.llm_translate_queries,
        observe=observe or record_llm,
    )
    return RecordedEngine(engine)


def build_pipeline(settings: Settings, *, embedder: Embedder | None = None, index: Index | None = None) -> Pipeline:
    """Open (or rebuild) the index and wire the retriever and the answerer."""
    initialise()
    embedder = embedder or make_embedder(settings)
    if index is None:
        index = open_index(settings.index_dir, settings.seeds_dir, embedder, on_mismatch=settings.on_index_mismatch)
    retriever = Retriever(index, embedder, fusion=settings.fusion)
    answerer = ExtractiveAnswerer(retriever)
    pipeline = Pipeline(
        index=index, embedder=embedder, retriever=retriever, answerer=answerer, engine=make_engine(settings, answerer)
    )
    # Warm the model, the tokenisers and the name tables so that the first request is as fast as the rest.
    if retriever.dense_useful:
        embedder.embed(["warm up"])
    for question in ("預熱什麼時候？", "How many Warm-ups?"):
        pipeline.answerer.answer(question)
    log.info("index ready: %s chunks from %s documents", len(index.chunks), len(index.documents))
    return pipeline

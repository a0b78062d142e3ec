"""Session fixtures: the real embedding model, a real index built from seeds/, the pipeline, a live server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from qa.config import Settings
from qa.indexing.build import build
from qa.indexing.index import Index
from qa.indexing.sources import Sources
from qa.indexing.store import load, save
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.server.state import Pipeline
from qa.wiring import build_app, build_pipeline
from tests.support import ROOT, serve


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return ROOT / "seeds"


@pytest.fixture(scope="session")
def article_path(seeds_dir: Path) -> Path:
    return next(p for p in sorted(seeds_dir.iterdir()) if p.suffix == ".txt")


@pytest.fixture(scope="session")
def article(article_path: Path) -> str:
    return article_path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty library (no documents added): the session's corpus is the seeds alone."""
    return tmp_path_factory.mktemp("library") / "library"


@pytest.fixture(scope="session")
def index_dir(
    tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path, library_dir: Path, embedder: SentenceTransformerEmbedder
) -> Path:
    """A real index (real model, real FAISS) built once from seeds/ into a temporary folder."""
    folder = tmp_path_factory.mktemp("index") / "index"
    save(build(Sources(seeds_dir, library_dir), embedder), folder)
    return folder


@pytest.fixture(scope="session")
def index(index_dir: Path) -> Index:
    return load(index_dir)


@pytest.fixture(scope="session")
def settings(seeds_dir: Path, index_dir: Path, library_dir: Path) -> Settings:
    return Settings(seeds_dir=seeds_dir, index_dir=index_dir, library_dir=library_dir, on_index_mismatch="refuse")


@pytest.fixture(scope="session")
def pipeline(settings: Settings, embedder: SentenceTransformerEmbedder, index: Index) -> Pipeline:
    return build_pipeline(settings, embedder=embedder, index=index)


@pytest.fixture(scope="session")
def live_url(settings: Settings, pipeline: Pipeline) -> Iterator[str]:
    """A real uvicorn server on loopback serving the extractive pipeline."""
    with serve(build_app(settings, pipeline=pipeline)) as url:
        yield url


@pytest.fixture
def seeds_copy(tmp_path: Path, seeds_dir: Path) -> Path:
    """A writable copy of seeds/ for tests that change the sources."""
    target = tmp_path / "seeds"
    shutil.copytree(seeds_dir, target)
    return target

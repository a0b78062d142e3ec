"""Hybrid search: BM25 over folded Chinese tokens fused with FAISS dense scores -> ranked hits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.config import RetrievalSettings
from qa.indexing.store import Index
from qa.retrieval.dense import dense_scores
from qa.retrieval.fusion import dense_weight, fuse
from qa.retrieval.lexical import lexical_scores
from qa.text.language import Lang, detect_lang
from qa.text.lexicon import expand
from qa.text.tokens import tokens
from qa.types import Embedder, Hit


@dataclass(frozen=True)
class Query:
    """A question prepared for both sides of the search."""

    text: str
    lang: str
    tokens: tuple[str, ...]
    dense_weight: float
    vector: np.ndarray | None


class Retriever:
    """Ranks chunks (and sentences) of an index for a question."""

    def __init__(self, index: Index, embedder: Embedder, settings: RetrievalSettings | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        self.fusion = self.settings.fusion

    def prepare(self, question: str, *, lang: Lang | None = None, extra_terms: Sequence[str] = ()) -> Query:
        """Tokenise (with English expansion and any extra terms) and, when it can help, embed the question."""
        lang = lang or detect_lang(question)
        toks = tokens(question, drop_stopwords=True)
        expansion = expand(question, self.index.lexicon) if lang == "en" else []
        for term in [*expansion, *extra_terms]:
            toks.extend(tokens(term, drop_stopwords=True))
        weight = self.dense_weight(question)
        needs_vector = weight > 0 or self.fusion in ("dense", "rrf")
        vector = self.embedder.embed([question])[0] if needs_vector else None
        return Query(question, lang, tuple(toks), weight, vector)

    @property
    def dense_useful(self) -> bool:
        """Whether the dense side can ever count here. When the model knows too little of the corpus, it never
        does, and the model need not even be loaded to answer (saving its start-up time and memory)."""
        if self.fusion in ("dense", "rrf"):
            return True
        return self.fusion != "lexical" and self.index.corpus_coverage > self.settings.coverage_floor

    def dense_weight(self, question: str) -> float:
        """How far to trust the dense side: what the model understands of the question and of the corpus."""
        if not self.dense_useful:
            return 0.0
        return dense_weight(min(self.embedder.coverage(question), self.index.corpus_coverage), self.settings)

    def fuse(self, lexical: np.ndarray, dense: np.ndarray | None, weight: float) -> np.ndarray:
        """Combine the two sides' scores by the configured fusion."""
        return fuse(lexical, dense, weight, self.fusion, rrf_k=self.settings.rrf_k)

    def search(self, query: Query, k: int) -> list[Hit]:
        """The k best chunks for a prepared query, best first."""
        lexical = lexical_scores(self.index.chunk_lexical, query.tokens)
        dense = dense_scores(self.index.chunk_dense, query.vector) if query.vector is not None else None
        fused = self.fuse(lexical, dense, query.dense_weight)
        order = np.argsort(-fused, kind="stable")[:k]
        return [
            Hit(
                chunk=self.index.chunks[i],
                score=round(float(fused[i]), 6),
                lexical=round(float(lexical[i]), 6),
                dense=round(float(dense[i]), 6) if dense is not None else 0.0,
            )
            for i in order
        ]

    def sentence_scores(self, query: Query) -> np.ndarray:
        """Fused score of every sentence of the index for a prepared query."""
        lexical = lexical_scores(self.index.sentence_lexical, query.tokens)
        dense = dense_scores(self.index.sentence_dense, query.vector) if query.vector is not None else None
        fused: np.ndarray = self.fuse(lexical, dense, query.dense_weight)
        return fused

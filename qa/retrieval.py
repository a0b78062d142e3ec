"""Hybrid search: BM25 over folded Chinese tokens fused with FAISS dense scores -> ranked hits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from qa.embedding import Embedder
from qa.index import Index
from qa.lexicon import expand
from qa.text import detect_lang, tokens
from qa.types import Hit

Fusion = Literal["weighted", "lexical", "dense", "rrf", "weighted-rrf"]
RRF_K = 60
MAX_DENSE_WEIGHT = 0.5
COVERAGE_FLOOR = 0.4


@dataclass(frozen=True)
class Query:
    """A question prepared for both sides of the search."""

    text: str
    lang: str
    tokens: tuple[str, ...]
    dense_weight: float
    vector: np.ndarray | None


def normalise(scores: np.ndarray) -> np.ndarray:
    """Scale scores to 0..1 by the best one (all zeros stay zeros)."""
    top = float(scores.max(initial=0.0))
    return scores / top if top > 0 else np.zeros_like(scores)


def min_max(scores: np.ndarray) -> np.ndarray:
    """Scale scores to 0..1 between the worst and the best."""
    low, high = float(scores.min(initial=0.0)), float(scores.max(initial=0.0))
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def rrf(scores: np.ndarray) -> np.ndarray:
    """Reciprocal-rank contribution of each item."""
    ranks = np.empty(len(scores), dtype=np.float32)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return 1.0 / (RRF_K + ranks)


class Retriever:
    """Ranks chunks (and sentences) of an index for a question."""

    def __init__(self, index: Index, embedder: Embedder, *, fusion: Fusion = "weighted") -> None:
        self.index = index
        self.embedder = embedder
        self.fusion = fusion

    def prepare(self, question: str, *, extra_terms: Sequence[str] = ()) -> Query:
        """Tokenise (with English expansion and any extra terms) and, when it can help, embed the question."""
        lang = detect_lang(question)
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
        return self.fusion != "lexical" and self.index.corpus_coverage > COVERAGE_FLOOR

    def dense_weight(self, question: str) -> float:
        """How far to trust the dense side: what the model understands of the question and of the corpus.

        A model that knows under COVERAGE_FLOOR of either side's word pieces (all-MiniLM-L6-v2 on Chinese
        knows about 0.3) gets no say; one that knows both fully (bge-m3, multilingual-e5) gets
        MAX_DENSE_WEIGHT, an equal say with BM25.
        """
        if not self.dense_useful:
            return 0.0
        understood = min(self.embedder.coverage(question), self.index.corpus_coverage)
        return MAX_DENSE_WEIGHT * float(np.clip((understood - COVERAGE_FLOOR) / (1 - COVERAGE_FLOOR), 0.0, 1.0))

    def fuse(self, lexical: np.ndarray, dense: np.ndarray | None, weight: float) -> np.ndarray:
        """Combine the two sides' scores by the configured fusion."""
        if dense is None or self.fusion == "lexical":
            return normalise(lexical)
        if self.fusion == "dense":
            return dense
        if self.fusion == "rrf":
            both: np.ndarray = rrf(lexical) + rrf(dense)
            return both
        if self.fusion == "weighted-rrf":
            return (1 - weight) * rrf(lexical) + weight * rrf(dense)
        return (1 - weight) * normalise(lexical) + weight * min_max(dense)

    def search(self, query: Query, k: int) -> list[Hit]:
        """The k best chunks for a prepared query, best first."""
        lexical = self.index.chunk_lexical.scores(query.tokens)
        dense = self.index.chunk_dense.scores(query.vector) if query.vector is not None else None
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
        lexical = self.index.sentence_lexical.scores(query.tokens)
        dense = self.index.sentence_dense.scores(query.vector) if query.vector is not None else None
        fused: np.ndarray = self.fuse(lexical, dense, query.dense_weight)
        return fused

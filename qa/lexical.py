"""BM25 over Chinese-aware tokens (bm25s), one score per indexed text."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

# bm25s logs a line per empty query; those are expected (a question of stopwords only).
logging.getLogger("bm25s").setLevel(logging.ERROR)


class LexicalIndex:
    """A BM25 index over pre-tokenised texts."""

    def __init__(self, model: bm25s.BM25, size: int) -> None:
        self._model = model
        self.size = size

    @classmethod
    def build(cls, corpus_tokens: Sequence[list[str]], *, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        """Index token lists (one per text)."""
        model = bm25s.BM25(k1=k1, b=b, method="lucene")
        model.index([list(t) or [""] for t in corpus_tokens], show_progress=False)
        return cls(model, len(corpus_tokens))

    def save(self, folder: Path) -> None:
        """Write the index files into folder."""
        self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        """Read an index written by save."""
        model = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
        return cls(model, size)

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every indexed text for the query tokens (unknown tokens ignored)."""
        ids = self._model.get_tokens_ids(list(query_tokens))
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores_from_ids(ids), dtype=np.float32)

"""Lexical scores: BM25 of every indexed text for a question's tokens."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.indexing.bm25 import LexicalIndex


def lexical_scores(index: LexicalIndex, query_tokens: Sequence[str]) -> np.ndarray:
    """BM25 score of every indexed text for the query tokens (tokens the corpus lacks are ignored)."""
    ids = index.model.get_tokens_ids(list(query_tokens))
    if not ids:
        return np.zeros(index.size, dtype=np.float32)
    return np.asarray(index.model.get_scores_from_ids(ids), dtype=np.float32)

"""Dense scores: cosine similarity of a question vector with the indexed chunk vectors (FAISS inner product)."""

from __future__ import annotations

import numpy as np

from qa.indexing.index import Index
from qa.indexing.vectors import DenseIndex


def dense_scores_of(vectors: DenseIndex, query: np.ndarray, size: int) -> np.ndarray:
    """Cosine similarity with every stored vector, by stored id (row); rows without a vector score 0."""
    out = np.zeros(size, dtype=np.float32)
    k = vectors.size
    if k:
        sims, ids = vectors.faiss.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        found = ids[0] >= 0
        out[ids[0][found]] = sims[0][found]
    return out


def dense_scores(index: Index, query: np.ndarray) -> np.ndarray:
    """Cosine similarity of the query with every chunk row of the index (no vector, or removed: 0)."""
    parts = [dense_scores_of(s.vectors, query, len(s.chunks)) for s in index.segments]
    scores = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    scores[~index.live] = 0.0
    return scores

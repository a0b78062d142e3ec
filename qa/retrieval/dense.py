"""Dense scores: cosine similarity of a question vector with every indexed vector (FAISS inner product)."""

from __future__ import annotations

import numpy as np

from qa.indexing.vectors import DenseIndex


def dense_scores(index: DenseIndex, query: np.ndarray) -> np.ndarray:
    """Cosine similarity of the query vector with every indexed vector, in index order."""
    k = index.size
    sims, ids = index.faiss.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
    out = np.zeros(k, dtype=np.float32)
    out[ids[0]] = sims[0]
    return out

"""Fusing the lexical and dense sides: score scaling, reciprocal ranks, and how far to trust the dense side."""

from __future__ import annotations

import numpy as np

from qa.config import Fusion, RetrievalSettings


def normalise(scores: np.ndarray) -> np.ndarray:
    """Scale scores to 0..1 by the best one (all zeros stay zeros)."""
    top = float(scores.max(initial=0.0))
    return scores / top if top > 0 else np.zeros_like(scores)


def min_max(scores: np.ndarray) -> np.ndarray:
    """Scale scores to 0..1 between the worst and the best."""
    low, high = float(scores.min(initial=0.0)), float(scores.max(initial=0.0))
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def rrf(scores: np.ndarray, k: int = 60) -> np.ndarray:
    """Reciprocal-rank contribution of each item."""
    ranks = np.empty(len(scores), dtype=np.float32)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return 1.0 / (k + ranks)


def dense_weight(understood: float, settings: RetrievalSettings) -> float:
    """The dense side's weight for a model that knows this share of the text's word pieces.

    Under coverage_floor it gets no say (all-MiniLM-L6-v2 on Chinese knows about 0.3); knowing everything
    (bge-m3, multilingual-e5) it gets max_dense_weight, an equal say with BM25 at 0.5.
    """
    floor = settings.coverage_floor
    return settings.max_dense_weight * float(np.clip((understood - floor) / (1 - floor), 0.0, 1.0))


def fuse(
    lexical: np.ndarray, dense: np.ndarray | None, weight: float, fusion: Fusion, *, rrf_k: int = 60
) -> np.ndarray:
    """Combine the two sides' scores by the given fusion."""
    if dense is None or fusion == "lexical":
        return normalise(lexical)
    if fusion == "dense":
        return dense
    if fusion == "rrf":
        both: np.ndarray = rrf(lexical, rrf_k) + rrf(dense, rrf_k)
        return both
    if fusion == "weighted-rrf":
        return (1 - weight) * rrf(lexical, rrf_k) + weight * rrf(dense, rrf_k)
    return (1 - weight) * normalise(lexical) + weight * min_max(dense)

"""Dense vectors on disk: an exact inner-product FAISS index over unit-length vectors (build, save, load)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


class DenseIndex:
    """An exact inner-product FAISS index."""

    def __init__(self, index: faiss.Index) -> None:
        self.faiss = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> DenseIndex:
        """Index unit-length float32 vectors, one row per text."""
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @property
    def size(self) -> int:
        """Number of vectors."""
        return int(self.faiss.ntotal)

    @property
    def dim(self) -> int:
        """Vector size."""
        return int(self.faiss.d)

    def save(self, path: Path) -> None:
        """Write the index to a file."""
        faiss.write_index(self.faiss, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        """Read an index written by save."""
        return cls(faiss.read_index(str(path)))

"""BM25 on disk (bm25s) over pre-tokenised texts: build, save, load."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bm25s


class LexicalIndex:
    """A BM25 index over pre-tokenised texts."""

    def __init__(self, model: bm25s.BM25, size: int) -> None:
        self.model = model
        self.size = size

    @classmethod
    def build(cls, corpus_tokens: Sequence[list[str]], *, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        """Index token lists (one per text)."""
        model = bm25s.BM25(k1=k1, b=b, method="lucene")
        model.index([list(t) or [""] for t in corpus_tokens], show_progress=False)
        return cls(model, len(corpus_tokens))

    def save(self, folder: Path) -> None:
        """Write the index files into folder."""
        self.model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        """Read an index written by save."""
        model = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
        return cls(model, size)

"""BM25 postings of one segment: term frequencies per text, kept raw so that scores use corpus-wide statistics.

bm25s (used before) bakes each term's IDF into its index, so an index cut into segments would score every segment
with its own IDF. Storing the raw term frequencies instead lets the query side sum document frequencies over all
segments (as Lucene does), so adding a segment never changes how the others are stored.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class Postings:
    """Term frequencies of a segment's texts: rows are texts, columns the segment's own vocabulary."""

    vocab: dict[str, int]
    matrix: sparse.csc_matrix
    lengths: np.ndarray
    _df: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_df", np.diff(self.matrix.indptr).astype(np.int64))

    @property
    def size(self) -> int:
        """Number of texts."""
        return int(self.matrix.shape[0])

    @property
    def frequencies(self) -> np.ndarray:
        """Each column's document frequency, in column (vocabulary) order."""
        return self._df

    def df(self, term: str) -> int:
        """In how many of the segment's texts a term occurs."""
        col = self.vocab.get(term)
        return 0 if col is None else int(self._df[col])

    def column(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The rows holding a term and its frequency in each (empty when the segment lacks it)."""
        col = self.vocab.get(term)
        if col is None:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
        return self.column_at(col)

    def column_at(self, col: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows holding the term of a column, and its frequency in each."""
        start, end = self.matrix.indptr[col : col + 2].tolist()
        return self.matrix.indices[start:end], self.matrix.data[start:end]

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]]) -> Postings:
        """Count the tokens of each text."""
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        for row, tokens in enumerate(token_lists):
            for term, count in Counter(tokens).items():
                rows.append(row)
                cols.append(vocab.setdefault(term, len(vocab)))
                counts.append(count)
        shape = (len(token_lists), len(vocab))
        matrix = sparse.csc_matrix(
            (np.asarray(counts, dtype=np.float32), (np.asarray(rows), np.asarray(cols))), shape=shape
        )
        lengths = np.asarray([len(t) for t in token_lists], dtype=np.float32)
        return cls(vocab, matrix, lengths)

    def token_lists(self) -> list[list[str]]:
        """Each text's tokens, each as many times as the text holds it, in vocabulary order (the order of a text's
        words is not kept, and BM25 needs none): what `build` counted, without tokenising the texts again."""
        terms = np.empty(len(self.vocab), dtype=object)
        for term, col in self.vocab.items():
            terms[col] = term
        csr = self.matrix.tocsr()
        counts = csr.data.astype(np.int64)
        return [
            np.repeat(terms[csr.indices[start:end]], counts[start:end]).tolist()
            for start, end in zip(csr.indptr[:-1].tolist(), csr.indptr[1:].tolist(), strict=True)
        ]

    def rows(self, keep: np.ndarray) -> Postings:
        """The postings of the rows where keep is True (for merging segments without their removed texts)."""
        return Postings(self.vocab, sparse.csc_matrix(self.matrix[keep]), self.lengths[keep])

    @classmethod
    def concat(cls, parts: Sequence[Postings]) -> Postings:
        """One postings table over the texts of several, in order, with the union of their vocabularies."""
        vocab: dict[str, int] = {}
        blocks = []
        for part in parts:
            remap = np.empty(len(part.vocab), dtype=np.int64)
            for term, col in part.vocab.items():
                remap[col] = vocab.setdefault(term, len(vocab))
            coo = part.matrix.tocoo()
            blocks.append((coo.row, remap[coo.col], coo.data, part.size))
        offset = 0
        rows, cols, data = [], [], []
        for r, c, d, n in blocks:
            rows.append(r + offset)
            cols.append(c)
            data.append(d)
            offset += n
        shape = (offset, len(vocab))
        matrix = sparse.csc_matrix(
            (
                np.concatenate(data or [np.empty(0)]),
                (np.concatenate(rows or [np.empty(0)]), np.concatenate(cols or [np.empty(0)])),
            ),
            shape=shape,
            dtype=np.float32,
        )
        lengths = np.concatenate([p.lengths for p in parts]) if parts else np.empty(0, dtype=np.float32)
        return cls(vocab, matrix, lengths.astype(np.float32))

    def remap(self, vocab: dict[str, int]) -> np.ndarray:
        """Where each column of another vocabulary (every term of which this one holds) is in this one."""
        out = np.empty(len(vocab), dtype=np.int64)
        for term, col in vocab.items():
            out[col] = self.vocab[term]
        return out

    def save(self, folder: Path) -> None:
        """Write postings.npz and vocab.json into folder."""
        np.savez(
            folder / "postings.npz",
            data=self.matrix.data,
            indices=self.matrix.indices,
            indptr=self.matrix.indptr,
            shape=np.asarray(self.matrix.shape),
            lengths=self.lengths,
        )
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        (folder / "vocab.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Postings:
        """Read postings written by save."""
        with np.load(folder / "postings.npz") as arrays:
            shape = tuple(int(x) for x in arrays["shape"])
            matrix = sparse.csc_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
            lengths = arrays["lengths"]
        terms = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        return cls({t: i for i, t in enumerate(terms)}, matrix, lengths)

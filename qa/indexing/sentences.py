"""A segment's sentences as the answering side reads them: each one's folded text, BM25 tokens and names (people,
places, organisations: qa/text/names.py), computed once when the segment is built.

Folding a sentence (OpenCC) and cutting it into tokens (jieba) cost about 1 µs a character. Done per question, for
every sentence of the documents a question reaches, they were most of `/ask`'s time on a large archive. Stored
flat (one UTF-8 file of texts, one array of token ids into the segment's BM25 vocabulary, and their offsets) and
memory-mapped when read, they cost no Python object per sentence: a 10,000-article archive's million sentences
are paged in only as questions reach them.
"""

from __future__ import annotations

import itertools
import mmap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.text.names import Names, decode, encode, names

TEXTS = "sentences.txt"
TOKENS = "sentence_tokens.npy"
ROWS = "sentence_rows.npy"
NAMES = "sentence_names.txt"


@dataclass(frozen=True)
class SentenceTable:
    """Folded texts, token ids and names of a segment's sentences, one row per sentence in chunk order.

    `rows` is 3 x (n+1) offsets: row 0 into `texts` (bytes), row 1 into `token_ids`, row 2 into `names` (bytes: each
    sentence's names.encode line); sentence r spans [rows[k, r], rows[k, r+1])."""

    texts: bytes | mmap.mmap
    token_ids: np.ndarray
    rows: np.ndarray
    names: bytes | mmap.mmap

    def __len__(self) -> int:
        return int(self.rows.shape[1]) - 1

    def folded(self, row: int) -> str:
        """The folded text of a sentence."""
        start, end = self.rows[0, row : row + 2].tolist()
        return self.texts[start:end].decode("utf-8")

    def names_of(self, row: int) -> Names:
        """The names a sentence holds, by kind (qa.text.names.names of its folded text)."""
        start, end = self.rows[2, row : row + 2].tolist()
        return decode(self.names[start:end].decode("utf-8"))

    def characters(self) -> frozenset[str]:
        """Every character of three UTF-8 bytes the sentences' texts hold (CJK's among them), read from the bytes at
        once (~60 ms for 2 M characters; decoding them into one set took ~0.15 s)."""
        data = np.frombuffer(self.texts, dtype=np.uint8)
        if data.size < 3:
            return frozenset()
        at = np.flatnonzero((data[:-2] >= 0xE0) & (data[:-2] <= 0xEF))  # a three-byte character's first byte
        lead, second, third = (data[at + k].astype(np.int32) for k in range(3))
        points = np.unique(((lead & 0x0F) << 12) | ((second & 0x3F) << 6) | (third & 0x3F))
        return frozenset(map(chr, points.tolist()))

    def folded_run(self, start: int, end: int) -> list[str]:
        """The folded texts of the sentences start..end-1, their bytes read in one piece (a document's sentences
        are a run of rows)."""
        offsets = self.rows[0, start : end + 1].tolist()
        if len(offsets) < 2:
            return []
        base = offsets[0]
        block = self.texts[base : offsets[-1]]
        return [block[a - base : b - base].decode("utf-8") for a, b in itertools.pairwise(offsets)]

    def counts(self, rows: Sequence[int], term_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """How often each term (by vocabulary id; -1 for a term the segment lacks) occurs in each of the rows, as a
        rows x terms matrix, and each row's number of tokens."""
        starts = self.rows[1, np.asarray(rows, dtype=np.int64)]
        ends = self.rows[1, np.asarray(rows, dtype=np.int64) + 1]
        lengths = (ends - starts).astype(np.float32)
        out = np.zeros((len(rows), len(term_ids)), dtype=np.float32)
        wanted = [(j, t) for j, t in enumerate(term_ids) if t >= 0]
        if not wanted or not len(rows):
            return out, lengths
        ids = np.concatenate([self.token_ids[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)])
        owner = np.repeat(np.arange(len(rows)), (ends - starts))
        for j, term in wanted:
            out[:, j] = np.bincount(owner[ids == term], minlength=len(rows))
        return out, lengths

    @classmethod
    def build(
        cls, folded: Sequence[str], token_lists: Sequence[Sequence[str]], vocab: Mapping[str, int]
    ) -> SentenceTable:
        """The table of sentences given as folded texts and tokens (every token in vocab); their names are found."""
        encoded = [t.encode("utf-8") for t in folded]
        found = [encode(names(t)).encode("utf-8") for t in folded]
        rows = np.zeros((3, len(encoded) + 1), dtype=np.int64)
        rows[0, 1:] = np.cumsum([len(e) for e in encoded])
        rows[1, 1:] = np.cumsum([len(t) for t in token_lists])
        rows[2, 1:] = np.cumsum([len(n) for n in found])
        ids = np.fromiter((vocab[t] for toks in token_lists for t in toks), dtype=np.int32, count=int(rows[1, -1]))
        return cls(b"".join(encoded), ids, rows, b"".join(found))

    def take(self, keep: Sequence[int], remap: np.ndarray) -> SentenceTable:
        """The table of the kept rows, in order, with token ids mapped through remap (for merging segments)."""
        keep_arr = np.asarray(keep, dtype=np.int64)
        rows = np.zeros((3, len(keep_arr) + 1), dtype=np.int64)
        rows[:, 1:] = np.cumsum(np.diff(self.rows, axis=1)[:, keep_arr], axis=1)
        texts = b"".join(self.texts[int(self.rows[0, r]) : int(self.rows[0, r + 1])] for r in keep_arr.tolist())
        parts = [self.token_ids[self.rows[1, r] : self.rows[1, r + 1]] for r in keep_arr.tolist()]
        ids = remap[np.concatenate(parts)].astype(np.int32) if parts else np.empty(0, dtype=np.int32)
        found = b"".join(self.names[int(self.rows[2, r]) : int(self.rows[2, r + 1])] for r in keep_arr.tolist())
        return SentenceTable(texts, ids, rows, found)

    @classmethod
    def concat(cls, parts: Sequence[SentenceTable]) -> SentenceTable:
        """One table over the rows of several, in order."""
        rows = np.zeros((3, sum(len(p) for p in parts) + 1), dtype=np.int64)
        at = 1
        for part in parts:
            n = len(part)
            rows[:, at : at + n] = part.rows[:, 1:] + rows[:, at - 1 : at]
            at += n
        texts = b"".join(bytes(p.texts[: int(p.rows[0, -1])]) for p in parts)
        ids = np.concatenate([p.token_ids for p in parts]) if parts else np.empty(0, dtype=np.int32)
        found = b"".join(bytes(p.names[: int(p.rows[2, -1])]) for p in parts)
        return cls(texts, ids.astype(np.int32), rows, found)

    def save(self, folder: Path) -> None:
        """Write the four files of the table into folder."""
        (folder / TEXTS).write_bytes(bytes(self.texts[: int(self.rows[0, -1])]))
        np.save(folder / TOKENS, np.ascontiguousarray(self.token_ids, dtype=np.int32))
        np.save(folder / ROWS, self.rows)
        (folder / NAMES).write_bytes(bytes(self.names[: int(self.rows[2, -1])]))

    @classmethod
    def load(cls, folder: Path) -> SentenceTable:
        """Map the table's files (read-only; pages are read as sentences are asked for)."""
        rows = np.load(folder / ROWS)
        token_ids = np.load(folder / TOKENS, mmap_mode="r")
        return cls(_mapped(folder / TEXTS), token_ids, rows, _mapped(folder / NAMES))


def _mapped(path: Path) -> bytes | mmap.mmap:
    """A file's bytes, memory-mapped (read-only; an empty file, which cannot be mapped, as b"")."""
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""

"""Document frequencies of BM25 terms over an index's large segments, in one table.

A question asks the document frequency of a few hundred terms (its own, and those of its candidate sentences).
Summed segment by segment, each cost about 1 µs a segment: 23 µs over the 22 segments of a 10,000-article archive,
about 5 ms a question. The large segments (those a build writes; additions never rewrite them) are summed once
into one table instead: each term keyed by a 64-bit string hash (this process's; see _key), sorted, with its summed
frequency, 16 bytes a distinct term, looked up in about 1 µs. A collision of two terms' hashes (odds about 1 in
10^7 for a million distinct terms) would merge their counts, which only nudges a score.

The table depends only on which segments it covers, and a segment never changes once written, so the indexes an
addition or a removal derives from one another share it (the last few tables are kept by their segments' ids).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from qa.indexing.segments import Segment

# Segments of at least this many characters are summed into the table; smaller ones (documents added one by one,
# until a merge folds them) are looked up one by one.
LARGE_SEGMENT_CHARS = 500_000
# Tables kept for reuse by the indexes that follow (an addition's index shares its predecessor's).
_KEPT = 2
_tables: OrderedDict[tuple[str, ...], TermTable] = OrderedDict()


class TermTable:
    """Summed document frequencies of the terms of some segments."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.ids = tuple(s.id for s in segments)
        postings = [s.postings for s in segments]
        keys = np.concatenate(
            [np.zeros(0, dtype=np.int64)]
            + [np.fromiter(map(_key, p.vocab), dtype=np.int64, count=len(p.vocab)) for p in postings]
        )
        counts = np.concatenate([np.zeros(0, dtype=np.int64)] + [p.frequencies for p in postings])
        order = np.argsort(keys)
        keys, counts = keys[order], counts[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else np.zeros(0, dtype=np.int64)
        self._keys = keys[starts]
        self._counts = np.add.reduceat(counts, starts) if keys.size else counts

    def holds(self, terms: Sequence[str]) -> np.ndarray:
        """Whether some text of the covered segments holds each term: one search for them all (~0.3 us a term, where
        get() takes ~1 us; a name spelt in pinyin asks of thousands of character pairs)."""
        if not terms or not self._keys.size:
            return np.zeros(len(terms), dtype=bool)
        keys = np.fromiter(map(_key, terms), dtype=np.int64, count=len(terms))
        at = np.minimum(self._keys.searchsorted(keys), self._keys.size - 1)
        found: np.ndarray = self._keys[at] == keys
        return found

    def get(self, term: str) -> int:
        """In how many chunks of the covered segments the term occurs."""
        key = _key(term)
        at = int(self._keys.searchsorted(key))
        return int(self._counts[at]) if at < self._keys.size and self._keys[at] == key else 0


def _key(term: str) -> int:
    """A term's 64-bit key. CPython hashes a string's stored bytes, so a one-byte-per-character string can hash as
    a two-byte one (hash("of") == hash("景"): U+666F is stored as the bytes of "of"); a leading U+0100 stores every
    term two or four bytes a character, and a two-byte string could only match a four-byte one by holding U+0000."""
    return hash("\u0100" + term)


def term_table(segments: Sequence[Segment]) -> TermTable:
    """The table over the large ones of these segments (made once for the same segments)."""
    large = [s for s in segments if s.chars >= LARGE_SEGMENT_CHARS]
    key = tuple(s.id for s in large)
    found = _tables.get(key)
    if found is None:
        found = _tables[key] = TermTable(large)
        while len(_tables) > _KEPT:
            _tables.popitem(last=False)
    _tables.move_to_end(key)
    return found

"""Matching units (character pairs, English stems, numbers) of sentences, and how rare each is: in the corpus, from
the index's BM25 vocabulary, and within one document. Computed when a question first needs them, then kept, so a
pipeline over a large index is ready at once."""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections import Counter

from qa.indexing.index import Index
from qa.memo import Memo
from qa.text.folding import fold
from qa.text.language import CJK
from qa.text.tokens import stem
from qa.types import Chunk

# Clauses end at commas, colons and brackets (a long sentence holds many of a question's words by chance).
_CLAUSE_RE = re.compile(r"[，,、：:；;（）()「」]")
_UNIT_RE = re.compile(f"[{CJK}]+|[a-z]+|\\d+(?:\\.\\d+)?")
# The units that are not character pairs: English words, numbers and lone Chinese characters (runs of one).
_PLAIN_RE = re.compile(f"[a-z]+|\\d+(?:\\.\\d+)?|(?<![{CJK}])[{CJK}](?![{CJK}])")
# Most sentences, passages and documents whose units are kept (a plain bound: emptied when full).
_CACHE = 200_000
_PAIR = "#"  # what a character pair's unit opens with


def _plain_units(folded: str) -> set[str]:
    """The units of a folded text that are not character pairs (stems, numbers, lone characters)."""
    out: set[str] = set()
    for m in _PLAIN_RE.finditer(folded):
        piece = m.group()
        out.add(stem(piece) if piece[0].isascii() and piece[0].isalpha() else piece)
    return out


def units(folded: str) -> set[str]:
    """The matching units of a folded text: character pairs of Chinese runs (a lone character alone), stemmed
    English words and numbers; a pair is written `#xy`, as the BM25 tokens write it."""
    out: set[str] = set()
    for m in _UNIT_RE.finditer(folded):
        piece = m.group()
        if piece[0].isascii() and piece[0].isalpha():
            out.add(stem(piece))
        elif piece[0].isdigit() or len(piece) == 1:
            out.add(piece)
        else:
            # Each character joined to the next, by map (a quarter faster than a generator of slices: a cold
            # sentence at 10,000 articles is cut into units once, ~130 of them a question).
            out.update(map(_PAIR.__add__, map(str.__add__, piece, piece[1:])))
    return out


def sentences_holding(text: str, joined: str, starts: list[int]) -> int:
    """How many of the sentences joined (by line breaks, starting at starts) hold the text (which has none): one
    search of the document for a text it lacks, and a walk over its places otherwise."""
    at = joined.find(text)
    found, last = 0, -1
    while at >= 0:
        sentence = bisect.bisect_right(starts, at) - 1
        if sentence != last:
            found, last = found + 1, sentence
        at = joined.find(text, at + 1)
    return found


def sentences_with(text: str, joined: str, starts: list[int]) -> list[int]:
    """Which of the sentences joined (by line breaks, starting at starts) hold the text (which has none), in order."""
    out: list[int] = []
    at = joined.find(text)
    while at >= 0:
        k = bisect.bisect_right(starts, at) - 1
        out.append(k)
        if k + 1 >= len(starts):
            break
        at = joined.find(text, starts[k + 1])
    return out


class UnitStats:
    """The units of an index's sentences, passages and documents, and their rarity."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._sentences: Memo[int, frozenset[str]] = Memo(_CACHE)
        self._clauses: Memo[int, tuple[frozenset[str], ...]] = Memo(_CACHE)
        self._weights: Memo[int, float] = Memo(_CACHE)
        self._chunks: Memo[str, frozenset[str]] = Memo(_CACHE)
        self._docs: Memo[str, tuple[int, Counter[str]]] = Memo(_CACHE)
        self._doc_texts: Memo[str, tuple[tuple[str, ...], str, list[int]]] = Memo(_CACHE // 100)
        self._doc_plain: Memo[str, tuple[frozenset[str], ...]] = Memo(_CACHE // 100)
        self._local: Memo[tuple[str, str], int] = Memo(_CACHE)
        self._idf: Memo[str, float] = Memo(_CACHE)
        self._doc_positions: dict[str, list[int]] | None = None
        self._size = max(1, len(index.chunks))
        index.warm()

    def warm(self) -> None:
        """Compute every sentence's units now (for a corpus small enough: its first questions are as fast as the
        rest)."""
        for i in range(len(self.index.sentences)):
            self.of_clauses(i)
            self.weight(i)
        for chunk in self.index.chunks:
            self.of_chunk(chunk)
        for doc in {s.doc for s in self.index.sentences}:
            self._doc(doc)

    def of_sentence(self, i: int) -> frozenset[str]:
        """The units of the sentence at position i of the index."""
        # A unit never spans a clause's edge (no comma, colon or bracket is part of one), so a sentence's units are
        # its clauses' together: its text is read once for both.
        return self._sentences.get_or(i, lambda i: frozenset().union(*self.of_clauses(i)))

    def of_clauses(self, i: int) -> tuple[frozenset[str], ...]:
        """The units of each clause of the sentence at position i (split at commas, colons and brackets)."""
        return self._clauses.get_or(i, self._cut_clauses)

    def _cut_clauses(self, i: int) -> tuple[frozenset[str], ...]:
        return tuple(frozenset(units(c)) for c in _CLAUSE_RE.split(self.index.folded(i)) if c.strip())

    def weight(self, i: int) -> float:
        """The summed rarity of the sentence's units."""
        return self._weights.get_or(i, self._weigh)

    def _weigh(self, i: int) -> float:
        # fsum is exactly rounded: the same sum in any order. A unit's rarity is looked up directly when kept (a cold
        # sentence at 10,000 articles has ~40 units, most of them kept from earlier sentences).
        kept, idf = self._idf, self.idf
        return math.fsum([kept[u] if u in kept else idf(u) for u in self.of_sentence(i)])

    def of_heading(self, chunk: Chunk) -> frozenset[str]:
        """The units of a passage's section heading (which names its subject: a title, in an encyclopedia)."""
        return frozenset(units(fold(chunk.heading or "")))

    def of_chunk(self, chunk: Chunk) -> frozenset[str]:
        """The units of a passage's sentences and its heading."""
        position = self.index.sentence_position
        return self._chunks.get_or(
            chunk.id,
            lambda _: self.of_heading(chunk).union(*(self.of_sentence(position[s.id]) for s in chunk.sentences)),
        )

    def idf(self, unit: str) -> float:
        """Rarity of a unit among the index's passages (BM25's vocabulary); one no passage holds is the rarest."""
        return self._idf.get_or(unit, self._rarity)

    def _rarity(self, unit: str) -> float:
        return math.log((self._size + 1) / (self.index.term_df(unit) + 0.5))

    def known(self, unit: str) -> bool:
        """Whether some passage holds the unit."""
        return self.index.term_df(unit) > 0

    def local_idf(self, unit: str, doc: str) -> float | None:
        """Rarity of a unit among the sentences of one document; None when the document does not hold it."""
        known = self._docs.get(doc)  # all of a document's units, when warm() counted them
        if known is not None:
            n, df = known[0], known[1].get(unit, 0)
        else:
            n, df = self._count(unit, doc)
        return math.log((n + 1) / (df + 0.5)) if df else None

    def _count(self, unit: str, doc: str) -> tuple[int, int]:
        """How many sentences of a document there are, and how many hold the unit; counted for this unit alone (a
        large index: the units of every sentence of every document a question reaches would cost ~1 ms each). The
        same count as _doc's: a pair `#xy` is in a sentence's units exactly when `xy` is in its folded text."""
        return len(self._texts(doc)[0]), self._local.get_or((unit, doc), self._holding)

    def _holding(self, key: tuple[str, str]) -> int:
        """How many sentences of a document hold a unit (key: the unit, the document)."""
        unit, doc = key
        texts, joined, starts = self._texts(doc)
        plain = self._doc_plain.get(doc)
        if unit.startswith("#"):
            return sentences_holding(unit[1:], joined, starts)
        if plain is None and not (unit.isascii() and unit[:1].isalpha()):
            # A number or a lone character (not an English stem, which its word need not hold) is a unit only of the
            # sentences whose text holds it: only those are cut into units.
            return sum(unit in _plain_units(texts[k]) for k in sentences_with(unit, joined, starts))
        return sum(unit in p for p in (self._plain(doc) if plain is None else plain))

    def document_text(self, doc: str) -> str:
        """A document's folded sentences, in order, joined by line breaks."""
        return self._texts(doc)[1]

    def _texts(self, doc: str) -> tuple[tuple[str, ...], str, list[int]]:
        """A document's folded sentences; the same joined by line breaks, and where each starts in it."""
        return self._doc_texts.get_or(doc, self._read_texts)

    def _read_texts(self, doc: str) -> tuple[tuple[str, ...], str, list[int]]:
        positions = self._positions(doc)
        texts = (
            tuple(self.index.folded_run(positions[0], positions[-1] + 1))
            if positions and positions[-1] - positions[0] == len(positions) - 1  # a run of positions: one read
            else tuple(self.index.folded(i) for i in positions)
        )
        starts = list(itertools.accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
        return texts, "\n".join(texts), starts

    def _plain(self, doc: str) -> tuple[frozenset[str], ...]:
        """The units of each of a document's sentences that are not character pairs (asked for words, numbers)."""
        return self._doc_plain.get_or(doc, lambda d: tuple(frozenset(_plain_units(t)) for t in self._texts(d)[0]))

    def _positions(self, doc: str) -> list[int]:
        if self._doc_positions is None:
            self._doc_positions = {}
            alive = self.index.sentence_live.tolist()  # a replaced document's old sentences are not its own
            for i, sentence in enumerate(self.index.sentences):
                if alive[i]:
                    self._doc_positions.setdefault(sentence.doc, []).append(i)
        return self._doc_positions.get(doc, [])

    def _doc(self, doc: str) -> tuple[int, Counter[str]]:
        return self._docs.get_or(doc, self._count_units)

    def _count_units(self, doc: str) -> tuple[int, Counter[str]]:
        positions = self._positions(doc)
        counts: Counter[str] = Counter()
        for i in positions:
            counts.update(self.of_sentence(i))
        return len(positions), counts

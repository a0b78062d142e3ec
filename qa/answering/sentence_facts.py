"""What the evidence features need of each sentence that no question changes: its folded and plain text, its units,
its neighbours in the document, and the feature columns that are the sentence's alone (its length, whether it opens
with a reference or continues the one before). Found once per sentence and kept, so that a question pays only for
what depends on it (qa/answering/features.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from qa.answering.alignment import opens_with_reference, plain, runs_on
from qa.answering.matching import SentenceStats
from qa.answering.units import UnitStats
from qa.indexing.index import Index
from qa.memo import Memo

# The sentence's own columns, in the order Facts.constant holds them (names of features.SENTENCE_FEATURES).
CONSTANT_FEATURES = ("length", "reference", "continues")
# Most sentences whose facts (and names) are kept (a plain bound: emptied when full), as qa/answering/units.py does.
_CACHE = 200_000


@dataclass(frozen=True, slots=True)
class Facts:
    """One sentence of the index, as the features read it."""

    at: int  # its position in the index
    folded: str
    stems: set[str]
    flat: str  # the folded text without punctuation or blanks (alignment.plain)
    held: frozenset[str]  # its matching units
    clauses: tuple[frozenset[str], ...]  # the units of each of its clauses
    weight: float  # the summed rarity of its units
    before: int  # position of the sentence before it in the same document, or -1
    after: int  # ... and of the one after it
    constant: tuple[float, float, float]  # the CONSTANT_FEATURES columns


class SentenceFacts:
    """Facts of an index's sentences by position, each found when first asked for (or all at once by warm())."""

    def __init__(self, index: Index, stats: SentenceStats, units: UnitStats) -> None:
        self.index = index
        self.stats = stats
        self.units = units
        self._facts: Memo[int, Facts] = Memo(_CACHE)
        self._names: Memo[int, dict[str, frozenset[str]]] = Memo(_CACHE)

    def warm(self) -> None:
        """Find every sentence's facts and names now (for a corpus small enough: its first questions cost what the
        later ones do)."""
        for i in range(len(self.index.sentences)):
            self.of(i)
            self.names(i)

    def of(self, i: int) -> Facts:
        """The facts of the sentence at position i of the index."""
        return self._facts.get_or(i, self._find)

    def names(self, i: int) -> dict[str, frozenset[str]]:
        """The names the sentence at position i holds, by kind (found by jieba's dictionary when the index was built:
        read, kept)."""
        return self._names.get_or(i, self.index.names)

    def _find(self, i: int) -> Facts:
        sentences = self.index.sentences
        sentence = sentences[i]
        folded = self.stats.folded[i]
        before = sentences[i - 1] if i > 0 else None
        after = sentences[i + 1] if i + 1 < len(sentences) else None
        continues = before is not None and before.chunk_id == sentence.chunk_id and runs_on(before.text)
        return Facts(
            at=i,
            folded=folded,
            stems=self.stats.stems[i],
            flat=plain(folded),
            held=self.units.of_sentence(i),
            clauses=self.units.of_clauses(i),
            weight=self.units.weight(i),
            before=i - 1 if before is not None and before.doc == sentence.doc else -1,
            after=i + 1 if after is not None and after.doc == sentence.doc else -1,
            constant=(
                math.log(1 + len(sentence.text)),
                float(opens_with_reference(sentence.text)),
                float(continues),
            ),
        )

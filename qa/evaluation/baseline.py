"""The bigram baseline: the one sentence sharing the most IDF-weighted character bigrams with the question.

It never abstains. It is the bar the evidence step must clear: when it does better, the evidence step is losing
what retrieval found.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from qa.text.folding import fold
from qa.types import Sentence

_PUNCT_RE = re.compile(r"[\W_]+")


def char_bigrams(text: str) -> set[str]:
    """Distinct bigrams of the folded text's letters, digits and characters (punctuation and blanks dropped)."""
    pieces = _PUNCT_RE.split(fold(text))
    return {p[i : i + 2] for p in pieces for i in range(len(p) - 1)}


class BigramBaseline:
    """Picks, for a question, the corpus sentence with the largest IDF-weighted bigram overlap."""

    def __init__(self, sentences: list[Sentence]) -> None:
        self.sentences = sentences
        self._bigrams = [char_bigrams(s.text) for s in sentences]
        df = Counter(b for grams in self._bigrams for b in grams)
        n = len(sentences)
        self._idf = {b: math.log((n + 1) / (d + 0.5)) for b, d in df.items()}

    def best(self, question: str) -> Sentence | None:
        """The best-overlapping sentence (the first of equals), or None for an empty corpus."""
        asked = char_bigrams(question) & self._idf.keys()
        best, best_score = None, -1.0
        for sentence, grams in zip(self.sentences, self._bigrams, strict=True):
            score = sum(self._idf[b] for b in asked & grams)
            if score > best_score:
                best, best_score = sentence, score
        return best

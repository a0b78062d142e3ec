"""Matching a question's words against sentences: alternatives, rarity weights, coverage and proximity."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import jieba.posseg as pseg

from qa.answering.question import Question
from qa.text.folding import fold
from qa.text.lexicon import common_words, english_common_words, english_groups
from qa.text.tokens import english_terms, stem
from qa.types import Sentence

# jieba's part-of-speech tags for names of people, places, organisations and other proper nouns.
_NAME_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz"})


@dataclass(frozen=True)
class Term:
    """A topic word of the question with its folded alternatives (an English word with its Chinese)."""

    alternatives: frozenset[str]
    weight: float
    in_corpus: bool


class SentenceStats:
    """Folded sentence texts of an index, for matching question terms and weighing them by rarity."""

    def __init__(self, sentences: list[Sentence]) -> None:
        self.folded = [fold(s.text) for s in sentences]
        self.stems = [set(english_terms(s.text)) for s in sentences]
        self._all_stems = set().union(*self.stems) if self.stems else set()
        self._corpus = "\n".join(self.folded)
        self._df: dict[str, int] = {}

    def df(self, alternative: str) -> int:
        """In how many sentences an alternative occurs."""
        if alternative not in self._df:
            if alternative.isascii() and alternative.isalpha():
                self._df[alternative] = sum(alternative in st for st in self.stems)
            else:
                self._df[alternative] = sum(alternative in f for f in self.folded)
        return self._df[alternative]

    def unknown_names(self, question: Question, lexicon: dict[str, list[str]]) -> list[str]:
        """Names in the question (people, places, bodies, acronyms) that occur nowhere in the corpus."""
        corpus = self._corpus
        if question.lang == "en":
            words = re.findall(r"(?<![.?!]\s)(?<!^)\b([A-Z][A-Za-z]+)", question.text.strip())
            ordinary = english_common_words()
            return [
                w
                for w in words
                if w.lower() not in ordinary
                and not (stem(w) in self._all_stems or any(c in corpus for c in lexicon.get(stem(w), ())))
            ]
        common = common_words()
        return [
            w
            for w, flag in pseg.lcut(question.folded)
            if len(w) > 1
            and w not in corpus
            and ((flag in _NAME_TAGS and w not in common) or (flag == "eng" and w.isascii()))
        ]

    def terms(self, question: Question, lexicon: dict[str, list[str]]) -> list[Term]:
        """The question's topic words, each weighed by the rarest of its alternatives found in the corpus."""
        n = len(self.folded)
        if question.lang == "en":
            groups = [frozenset({t, *chinese}) for t, chinese in english_groups(question.text, lexicon)]
        else:
            groups = [frozenset({w}) for w in question.terms if len(w) > 1 or not w.isascii()]
        out: list[Term] = []
        for group in dict.fromkeys(groups):
            dfs = [d for d in (self.df(a) for a in group) if d > 0]
            idf = math.log(1 + (n + 0.5) / (min(dfs) + 0.5)) if dfs else math.log(1 + (n + 0.5) / 0.5)
            out.append(Term(group, idf, bool(dfs)))
        return out


def match(term: Term, folded: str, stems: set[str]) -> float:
    """1 when an alternative occurs in the text; partial credit for the bigrams of a long Chinese word."""
    best = 0.0
    for alt in term.alternatives:
        if alt in folded or alt in stems:
            return 1.0
        if len(alt) >= 3 and not alt.isascii():
            pairs = [alt[i : i + 2] for i in range(len(alt) - 1)]
            best = max(best, 0.5 * sum(p in folded for p in pairs) / len(pairs))
    return best


def proximity(terms: list[Term], folded: str, span: int = 20) -> float:
    """1 when the question's words found in a text stand side by side, falling as they spread apart:
    span / (span + the narrowest window holding one occurrence of each)."""
    occurrences: list[tuple[int, int]] = []
    for k, term in enumerate(terms):
        for alt in term.alternatives:
            if alt.isascii():
                continue
            start = folded.find(alt)
            while start >= 0:
                occurrences.append((start, k))
                start = folded.find(alt, start + 1)
    found = {k for _, k in occurrences}
    if len(found) < 2:
        return 0.0
    occurrences.sort()
    best, counts, left = len(folded), dict[int, int](), 0
    for position, k in occurrences:
        counts[k] = counts.get(k, 0) + 1
        while len(counts) == len(found):
            best = min(best, position - occurrences[left][0])
            lk = occurrences[left][1]
            counts[lk] -= 1
            if not counts[lk]:
                del counts[lk]
            left += 1
    return span / (span + best)


def support(terms: list[Term], text: str, *, english: bool) -> float:
    """Weighted share of the question's topic words found in a text.

    An English word with no Chinese counterpart in the corpus cannot be looked for and does not count;
    a Chinese word absent from the corpus counts against (it is what the article does not cover).
    """
    folded, stems = fold(text), set(english_terms(text))
    counted = [t for t in terms if t.in_corpus or not english]
    total = sum(t.weight for t in counted)
    return sum(t.weight * match(t, folded, stems) for t in counted) / total if total else 0.0

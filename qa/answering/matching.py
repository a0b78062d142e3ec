"""Matching a question's words against sentences: alternatives, rarity weights, coverage and proximity."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, overload

from qa.answering.question import Question
from qa.answering.units import sentences_holding
from qa.indexing.index import Index
from qa.memo import Memo
from qa.text.folding import fold
from qa.text.lexicon import english_groups, name_glosses
from qa.text.tokens import PIECE_RE, english_terms, pair_tokens, stem

# Most topic words of one question weighed and looked for; a question with more is a pasted text, and the first ones
# decide as well as all would (every question of the dev set has fewer than 20).
MAX_TERMS = 64
# Most document frequencies remembered: questions can name any number of corpus substrings.
_DF_CACHE = 50_000
# Most folded sentences remembered (a plain bound: emptied when full).
_LAZY_CACHE = 200_000
# Up to this many characters the corpus is searched as text; past it, through the index's BM25 vocabulary (a
# substring search of a 40-million-character archive costs tens of milliseconds, and a question makes dozens).
EXACT_CORPUS_CHARS = 1_000_000
T = TypeVar("T")


@dataclass(frozen=True)
class Term:
    """A topic word of the question with its folded alternatives (an English word with its Chinese)."""

    alternatives: frozenset[str]
    weight: float
    in_corpus: bool


class SentenceStats:
    """Folded sentence texts of an index, for matching question terms and weighing them by rarity.

    A corpus of up to EXACT_CORPUS_CHARS characters is searched as text (exact substrings, sentence frequencies).
    A larger one is never scanned per question: "does the corpus hold this word" and "in how many passages" are
    answered from the index's BM25 vocabulary (a word, or all its character pairs), and sentences are folded only
    when a question's passages hold them. Either way nothing is computed for the whole corpus up front, so a
    pipeline over a grown index is ready at once.
    """

    def __init__(self, index: Index) -> None:
        self.index = index
        sentences = index.sentences
        self.exact = index.chars <= EXACT_CORPUS_CHARS
        texts = [index.folded(i) for i in range(len(sentences))] if self.exact else []
        stem_sets = [set(english_terms(s.text)) for s in sentences] if self.exact else []
        self.folded: Sequence[str] = texts if self.exact else _Lazy(len(sentences), index.folded)
        self.stems: Sequence[set[str]] = (
            stem_sets if self.exact else _Lazy(len(sentences), lambda i: set(english_terms(sentences[i].text)))
        )
        # What the corpus holds: the sentences of removed documents (kept in their segment until a merge) count as
        # empty, so that a word only a removed document used is one the corpus does not mention.
        alive = index.sentence_live.tolist() if self.exact else []
        self._texts: list[str] = [t if a else "" for t, a in zip(texts, alive, strict=True)]
        self._stem_sets: list[set[str]] = [s if a else set() for s, a in zip(stem_sets, alive, strict=True)]
        self._all_stems = set().union(*self._stem_sets) if self._stem_sets else set()
        self._corpus = "\n".join(self._texts)
        self._starts = list(itertools.accumulate((len(t) + 1 for t in self._texts[:-1]), initial=0))
        self._df: Memo[str, int] = Memo(_DF_CACHE)
        self._contains: Memo[str, bool] = Memo(_DF_CACHE)
        name_glosses()  # read CC-CEDICT (~1 s) with the index, not on the first question

    @property
    def size(self) -> int:
        """How many texts the frequencies count: sentences (exact), or chunks (from the index's vocabulary)."""
        return len(self._texts) if self.exact else len(self.index.chunks)

    def contains(self, text: str) -> bool:
        """Whether the (folded) corpus holds the text: exactly, or for a large corpus by its BM25 tokens (each text
        looked for once: a question asks of the same words several times, and a search of the corpus for a word it
        lacks reads all of it)."""
        return self._contains.get_or(text, self._holds)

    def _holds(self, text: str) -> bool:
        if self.exact:
            return text in self._corpus
        pieces = PIECE_RE.findall(text)
        if len(pieces) > 1 and any(piece[0].isdigit() for piece in pieces):
            # A number is a token of its own, with no character pairs: a text with one in it (a date, 10月30日; an
            # amount, 50%) is held when one passage holds each of its pieces.
            if not all(self._holds(piece) for piece in pieces):
                return False
            return self.index.together([t for piece in pieces for t in self._tokens_of(piece)])
        if text.isascii():
            return self.index.term_df(text) > 0 or self.index.term_df(stem(text)) > 0
        if self.index.term_df(text) > 0:
            return True
        pairs = pair_tokens(text)
        return bool(pairs) and all(self.index.term_df(p) > 0 for p in pairs)

    def _tokens_of(self, piece: str) -> list[str]:
        """The BM25 tokens by which the vocabulary holds one piece (a word, a number, a Chinese run) of a text."""
        if self.index.term_df(piece) > 0:
            return [piece]
        if piece.isascii():
            return [stem(piece)]
        return pair_tokens(piece)

    def df(self, alternative: str) -> int:
        """In how many sentences (exact) or chunks (large corpus) an alternative occurs."""
        english = alternative.isascii() and alternative.isalpha()
        if self.exact and alternative not in (self._all_stems if english else self._corpus):
            return 0  # most words of a long or random question: one search of the corpus, and nothing to remember
        return self._df.get_or(alternative, self._count)

    def _count(self, alternative: str) -> int:
        english = alternative.isascii() and alternative.isalpha()
        if self.exact and english:
            return sum(alternative in t for t in self._stem_sets)
        if self.exact:  # one walk over its places in the joined corpus (it is there: df checked)
            return sentences_holding(alternative, self._corpus, self._starts) if alternative else len(self._texts)
        return self._vocabulary_df(alternative, english)

    def _vocabulary_df(self, alternative: str, english: bool) -> int:
        if english or self.index.term_df(alternative):
            return self.index.term_df(alternative)
        pairs = pair_tokens(alternative)
        return min((self.index.term_df(p) for p in pairs), default=0)

    def has_stem(self, word: str) -> bool:
        """Whether an English stem occurs in the corpus."""
        return word in self._all_stems if self.exact else self.index.term_df(word) > 0

    def other_names(self, name: str, lexicon: dict[str, list[str]]) -> list[str]:
        """The corpus words that share a Chinese name's English in CC-CEDICT (俄國 and 俄羅斯 are both `Russia`)."""
        out: list[str] = []
        for gloss in name_glosses().get(name, ()):
            stems = english_terms(gloss)
            if stems:
                out += [c for c in lexicon.get("_".join(stems[:2]), ()) if self.contains(c)]
        return out

    def terms(self, question: Question, lexicon: dict[str, list[str]]) -> list[Term]:
        """The question's topic words, each weighed by the rarest of its alternatives found in the corpus."""
        n = self.size
        if question.lang == "en":
            english = english_groups(question.text, lexicon, self.index.spellings)
            groups = [frozenset({t, *chinese}) for t, chinese in english]
        else:
            groups = [
                frozenset({w, *(self.other_names(w, lexicon) if not self.contains(w) else ())})
                for w in question.terms
                if len(w) > 1 or not w.isascii()
            ]
        out: list[Term] = []
        for group in list(dict.fromkeys(groups))[:MAX_TERMS]:
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


class _Lazy(Sequence[T]):
    """A sequence over the index's sentences (by position) whose items are computed when first asked for, then
    kept."""

    def __init__(self, size: int, make: Callable[[int], T]) -> None:
        self._size, self._make = size, make
        self._done: Memo[int, T] = Memo(_LAZY_CACHE)

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...

    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self._done.get_or(i, self._make)

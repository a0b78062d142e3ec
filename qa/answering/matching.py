"""Matching a question's words against sentences: alternatives, rarity weights, coverage and proximity."""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeVar, overload

import jieba
import jieba.posseg as pseg

from qa.answering.question import Question
from qa.answering.units import sentences_holding
from qa.indexing.index import Index
from qa.memo import Memo
from qa.text.folding import fold
from qa.text.language import CJK_RE
from qa.text.lexicon import (
    _PAREN_RE,
    MOST_SPELLED,
    _cedict_lines,
    common_words,
    english_common_words,
    english_groups,
    transliterations,
)
from qa.text.names import dictionary_tag
from qa.text.pinyin_names import readings
from qa.text.postags import pos_cut
from qa.text.tokens import PIECE_RE, STOPWORDS, english_terms, pair_tokens, stem

# jieba's part-of-speech tags for names of people, places, organisations and other proper nouns.
_NAME_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz"})
# Particles, conjunctions and prepositions: a "name" with one of these at its edge is a fragment of the words
# around it (和普京 from 特朗普和普京), not a name.
_FUNCTION_CHARS = "的了是在和与及或也都就又还而对把被给让向从到于之其这那吗呢吧啊么着过跟同并但将由"
# Localisers: after a noun one belongs to it (问题上, 世纪中), so a name the HMM guesses that opens with one right after
# a noun (问题|上乔|不拢 of 在哪个问题上乔不拢) is that localiser glued to what follows it.
_LOCALISERS = "上下中内外里前后间旁边"
# Most characters of a question that jieba's HMM may tag (it finds names its dictionary lacks: 莫迪). Its cost grows
# with the characters' possible states, ~0.15 ms a character it knows and ~1.3 ms one it does not (all 256 states),
# so it never sees an unknown character and never more than this many in all (measured with jieba's own Viterbi;
# qa/text/postags.py's costs ~0.03 ms a character, and keeps the budget so that answers stay the same).
HMM_BUDGET = 16
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
# Capitalised English words in a row are one name (`Downing Street`); the first word of a sentence alone is not a
# name, but with capitalised words after it, it is part of theirs (`Li Rihua was born when?`), unless it is a question
# word (`Did Putin …`).
_EN_NAME_RE = re.compile(r"\b[A-Z][A-Za-z]+(?:[ \-][A-Z][A-Za-z]+)*")
_SENTENCE_END_RE = re.compile(r"[.?!]\s")
_LEADING_WORD_RE = re.compile(r"([A-Za-z]+)[ \-]")
# A Roman numeral, which names nothing by itself (World War II, Elizabeth II).
_ROMAN_RE = re.compile(r"[IVXLC]+")

# A run of Latin letters and digits, as jieba cuts them out of Chinese text.
_LATIN_WORD_RE = re.compile(r"[A-Za-z0-9]+")


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

    def unknown_names(self, question: Question, lexicon: dict[str, list[str]]) -> list[str]:
        """Names in the question (people, places, bodies, acronyms) that the corpus mentions under no name.

        Linear in the question's length. A name counts as mentioned when the folded corpus holds it, or a corpus word
        has its English (俄國 and 俄羅斯 are both `Russia`); common words and fragments of the words around a name
        never count as names."""
        if question.lang == "en":
            # Only the first MOST_SPELLED names are looked for in pinyin (qa.text.lexicon).
            names = list(dict.fromkeys(_english_names(question.text.strip())))
            return [n for k, n in enumerate(names) if not self._known_english(n, lexicon, spell=k < MOST_SPELLED)]
        out: list[str] = []
        joined = False  # whether the word before was an unknown name, which this one may continue (梅德韦|杰夫)
        # A Latin word in a Chinese question names something when it is written as names are (NATO, Gripen, iPhone);
        # one in lower case is a word of English (多少架 fighter jets), as in an English question.
        cased = {
            w.lower() for w in _LATIN_WORD_RE.findall(unicodedata.normalize("NFKC", question.text)) if not w.islower()
        }
        previous = ""
        for word, tag, guessed in _tagged(question.folded):
            after_noun, previous = previous.startswith("n"), tag
            if word.isascii() and word not in cased:
                joined = False
                continue
            if guessed and after_noun and word[0] in _LOCALISERS:
                word = word[1:]
            name = self._unknown_word(word, tag, guessed, lexicon)
            if name and joined and name == word:
                out[-1] += name
            elif name:
                out.append(name)
            joined = name == word and not word.isascii()
        return list(dict.fromkeys(out))

    def _unknown_word(self, word: str, tag: str, guessed: bool, lexicon: dict[str, list[str]]) -> str | None:
        """The name a word of a Chinese question stands for, when the corpus mentions it under no name."""
        common = common_words()
        if len(word) < 2 or self.contains(word):
            return None
        if word.isascii():
            return word if any(c.isalpha() for c in word) and not self._known_english(word, lexicon) else None
        if word in common:
            return None
        if tag not in _NAME_TAGS:
            return self._unknown_inside(word, lexicon) if len(word) > 2 else None
        # jieba (its dictionary as well as its HMM) joins a particle to a name: 和普京 from 特朗普和普京 (its dictionary
        # even holds 由威廉); but a name that ends in such a character stays whole when what is left is no word of the
        # dictionary (土耳其, not 土耳).
        core = word.strip(_FUNCTION_CHARS)
        if core != word and dictionary_tag(core) is None and dictionary_tag(word) in _NAME_TAGS:
            core = word
        if len(core) < 2 or core in common or (core != word and self.contains(core)):
            return None
        # A name the HMM guessed that is a corpus word with a neighbour's character glued on (普京说) is that word.
        if guessed and len(core) > 2 and (self.contains(core[1:]) or self.contains(core[:-1])):
            return None
        return None if self._other_names(core, lexicon) else core

    def _unknown_inside(self, word: str, lexicon: dict[str, list[str]]) -> str | None:
        """The place a longer word the corpus lacks opens with (日本首相 is one dictionary word, a noun: 日本), when the
        corpus mentions it under no name either. Only a place (ns) that opens the word: jieba's dictionary tags words
        such as 英文名 and 由威廉 as people's names."""
        common = common_words()
        parts: list[str] = list(jieba.cut_for_search(word, HMM=False))
        for part in parts:
            if len(part) < 2 or part == word or not word.startswith(part) or dictionary_tag(part) != "ns":
                continue
            if not self.contains(part) and part not in common and not self._other_names(part, lexicon):
                return part
        return None

    def _in_corpus(self, lexicon: dict[str, list[str]], key: str) -> bool:
        return any(self.contains(c) for c in lexicon.get(key, ()))

    def _known_english(self, name: str, lexicon: dict[str, list[str]], *, spell: bool = True) -> bool:
        """An English name is known when one of its uncommon words or its two-word phrase is found in the corpus."""
        words = re.findall(r"[A-Za-z]+", name)
        if not words or self.contains(name.lower()):
            return True
        stems = [stem(w) for w in words]
        if len(stems) > 1 and self._in_corpus(lexicon, "_".join(stems[:2])):
            return True
        # A Roman numeral (World War II, Elizabeth II) names nothing by itself: the words around it decide.
        uncommon = [
            (w, s)
            for w, s in zip(words, stems, strict=True)
            if w.lower() not in english_common_words() and not _ROMAN_RE.fullmatch(w)
        ]
        if not uncommon or any(self.has_stem(s) or self._in_corpus(lexicon, s) for _, s in uncommon):
            return True
        # A transliterated name the corpus writes in Chinese only (Zelensky: 澤連斯基), found by its sound; or a Chinese
        # name written in pinyin (Gu Zhenglun: 谷正倫).
        heard = transliterations(name, lexicon)
        if any(self.contains(c) for _, s in uncommon for c in heard.get(s, ())):
            return True
        if spell and any(self.contains(c) for c in self.index.spellings([w for w, _ in uncommon])):
            return True
        # ... or all of its words in pinyin, a surname English uses too among them (Li, Pan, Yang: `Li Rihua`).
        return spell and len(uncommon) < len(words) and any(self.contains(c) for c in self.index.spellings(words))

    def _other_names(self, name: str, lexicon: dict[str, list[str]]) -> list[str]:
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
                frozenset({w, *(self._other_names(w, lexicon) if not self.contains(w) else ())})
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


def _english_names(text: str) -> Iterator[str]:
    """The names of an English text: runs of capitalised words, less a sentence's first word when it stands alone or
    is no part of the name (_not_a_name)."""
    for m in _EN_NAME_RE.finditer(text):
        run = m.group()
        at = m.start()
        if at == 0 or _SENTENCE_END_RE.fullmatch(text, at - 2, at):
            if " " not in run and "-" not in run:
                continue  # a sentence's first word alone
            while (first := _LEADING_WORD_RE.match(run)) and _not_a_name(first.group(1).lower()):
                run = run[first.end() :]
        yield run


def _not_a_name(word: str) -> bool:
    """A sentence's first word that is no part of the name after it: a question word, or an English word that is no
    pinyin syllable (`Describe`, `Compare`; but `Li`, `Pan`, `Yang` may be a surname)."""
    return word in STOPWORDS or (word in english_common_words() and word not in readings())


def support(terms: list[Term], text: str, *, english: bool) -> float:
    """Weighted share of the question's topic words found in a text.

    An English word with no Chinese counterpart in the corpus cannot be looked for and does not count;
    a Chinese word absent from the corpus counts against (it is what the article does not cover).
    """
    folded, stems = fold(text), set(english_terms(text))
    counted = [t for t in terms if t.in_corpus or not english]
    total = sum(t.weight for t in counted)
    return sum(t.weight * match(t, folded, stems) for t in counted) / total if total else 0.0


def _tagged(folded: str) -> Iterator[tuple[str, str, bool]]:
    """The words of a folded text in order, with their part-of-speech tags and whether jieba's HMM guessed them.

    Dictionary words take their dictionary tag (a lookup, linear in the text). Only runs of characters the dictionary
    cuts one by one go through the HMM, and only while they stay within HMM_BUDGET characters that the HMM knows."""
    tags = pseg.dt.word_tag_tab
    known = pseg.char_state_tab_P
    budget = HMM_BUDGET
    run = ""
    for word in [*jieba.lcut(folded, HMM=False), ""]:
        if len(word) == 1 and CJK_RE.match(word):
            run += word
            continue
        if 1 < len(run) <= budget and all(c in known for c in run):
            budget -= len(run)
            yield from ((w, f, len(w) > 1) for w, f in pos_cut(run))
        else:
            yield from ((c, tags.get(c, "x"), False) for c in run)
        run = ""
        if word:
            yield word, "eng" if word.isascii() else tags.get(word, "x"), False


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


@cache
def name_glosses() -> dict[str, tuple[str, ...]]:
    """The English of the CC-CEDICT entries that are proper names (first sense capitalised), by Simplified headword:
    the part of each sense before its first comma, without bracketed notes."""
    glosses: dict[str, tuple[str, ...]] = {}
    for line in _cedict_lines():
        parts = line.split(" ", 2)
        if len(parts) < 3 or "]" not in parts[2]:
            continue
        senses = [_PAREN_RE.sub(" ", s).split(",")[0].strip() for s in parts[2].split("]", 1)[1].strip().split("/")]
        senses = [s for s in senses if s]
        if senses and senses[0][:1].isupper():
            glosses[parts[1]] = (*glosses.get(parts[1], ()), *senses[:3])
    return glosses

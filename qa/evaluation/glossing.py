"""Questions glossed into English: a Chinese reading-comprehension question rewritten word by word in English, as a
measure of how the service answers English questions about Chinese articles (no English questions come with DRCD
or CMRC 2018, and no translation model is at hand).

Each word jieba cuts becomes its first CC-CEDICT sense (`出生` -> `born`, `巴黎` -> `Paris`); a name CC-CEDICT does
not know is written in pinyin (`翁素` -> `Weng Su`, as English news writes Chinese names); question words become
English ones (`哪一年` -> `which year`); particles are left out. The result keeps the Chinese word order and reads
as a rough gloss (`Wang Shouren which year send Guangxi deputy envoy Weng Su attack rebel army?`), not as a reader
writes: it exercises the English path (glosses, names by sound) on real questions with real gold answers, and no
more."""

from __future__ import annotations

import re
from functools import cache

from pypinyin import lazy_pinyin

from qa.indexing.lexicon import _definitions
from qa.text.folding import fold
from qa.text.postags import pos_cut

# Question words (folded), longest first where one holds another.
_ASKING = {
    "什么时候": "when",
    "什么时间": "when",
    "何时": "when",
    "哪一年": "which year",
    "哪年": "which year",
    "哪一天": "which day",
    "哪天": "which day",
    "几月": "which month",
    "为什么": "why",
    "为何": "why",
    "怎么样": "how",
    "怎么": "how",
    "怎样": "how",
    "如何": "how",
    "哪里": "where",
    "哪儿": "where",
    "何处": "where",
    "哪些": "which",
    "哪个": "which",
    "哪一": "which",
    "哪": "which",
    "谁": "who",
    "什么": "what",
    "多少": "how many",
    "多久": "how long",
    "多长": "how long",
    "几": "how many",
    "是否": "whether",
}
_ASKING_RE = re.compile("|".join(sorted(map(re.escape, _ASKING), key=len, reverse=True)))
_NAME_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz"})
# jieba's tags of grammatical words (particles, prepositions, conjunctions, localisers, adverbs, modal words): an
# English question writes them as stopwords (of, in, by, and), which the service leaves out anyway.
_GRAMMAR_TAGS = frozenset({"u", "uj", "ul", "uz", "ug", "ud", "uv", "p", "c", "f", "d", "y", "e", "o", "r", "q"})
_PAREN_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# Senses that gloss a grammatical word rather than translate it (`(possessive particle)`, `classifier for …`).
_GRAMMAR_RE = re.compile(r"particle|classifier|marker|variant of|surname|abbr\.|used in|see ")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")


@cache
def _senses() -> dict[str, str]:
    """Each Simplified CC-CEDICT headword's first sense that translates it (lower-case unless a name)."""
    out: dict[str, str] = {}
    for headword, definitions in _definitions().items():  # CC-CEDICT as the index's lexicon reads it, once
        for sense in (s for d in definitions for s in d.split("/")[1:]):
            sense = _PAREN_RE.sub("", sense).strip()
            if not sense or _GRAMMAR_RE.search(sense) or _CJK_RE.search(sense):
                continue
            sense = re.sub(r"^(?:to|a|an|the) ", "", sense.split(";")[0].split(",")[0]).strip()
            if sense and len(sense.split()) <= 3:
                out[headword] = sense
                break
    return out


def _pinyin(word: str, *, person: bool) -> str:
    syllables = lazy_pinyin(word)
    if person and len(syllables) >= 2:  # surname, then the given name as one word: Weng Su, Wang Shouren
        return f"{syllables[0].title()} {''.join(syllables[1:]).title()}"
    return "".join(syllables).title()


def gloss(text: str) -> str | None:
    """The question glossed into English, word by word; None when fewer than two words could be glossed."""
    senses = _senses()
    words: list[str] = []
    for word, tag in pos_cut(fold(text)):
        word = word.strip()
        asking = _ASKING_RE.search(word)
        if asking:  # a question word, or one jieba cut together with what follows it (几颗, 哪一种)
            words.append(_ASKING[asking.group()])
            rest = word[: asking.start()] + word[asking.end() :]
            words += _pieces(rest, senses) if len(rest) > 1 else []
        else:
            words += _word(word, tag, senses)
    words = [w for w in words if w]
    if len(words) < 2:
        return None
    sentence = " ".join(words)
    return sentence[:1].upper() + sentence[1:] + "?"


def _word(word: str, tag: str, senses: dict[str, str]) -> list[str]:
    if not word or re.fullmatch(r"[\W_]+", word):
        return []
    if word.isascii():
        return [word]
    if tag in _GRAMMAR_TAGS and len(word) == 1:
        return []
    if tag == "m" and word.startswith("一") and not word[1:].isdigit():
        return []  # 一个, 一种: English writes `a`
    if tag in _NAME_TAGS and word not in senses:
        # A name CC-CEDICT does not know is written by its sound (a known one by its sense: 巴黎 `Paris`; and a word
        # jieba takes for a name that CC-CEDICT knows as a common word, 东西 `thing`, by that), unless it is made of
        # words CC-CEDICT knows (珍珠港事件 -> `Pearl Harbor incident`).
        whole = _cover(word, senses)
        return whole or [_pinyin(word, person=tag.startswith("nr"))]
    if word in senses:
        return [senses[word]]
    if len(word) == 1:
        return []
    # A word CC-CEDICT lacks: the senses of the longest words it holds (颗卫星 -> 卫星 `satellite`), or its sound
    # when it holds none.
    return _pieces(word, senses) or [_pinyin(word, person=False)]


def _cover(word: str, senses: dict[str, str]) -> list[str]:
    """The senses of CC-CEDICT words of two characters or more that make up the whole word, longest first; none when
    they do not."""
    out, at = [], 0
    while at < len(word):
        end = next((e for e in range(len(word), at + 1, -1) if word[at:e] in senses), None)
        if end is None:
            return []
        out.append(senses[word[at:end]])
        at = end
    return out


def _pieces(word: str, senses: dict[str, str]) -> list[str]:
    """The senses of the longest CC-CEDICT words a word is made of, left to right (characters without one skipped)."""
    out, at = [], 0
    while at < len(word):
        for end in range(len(word), at, -1):
            if word[at:end] in senses and (end - at > 1 or end == len(word) or at == 0):
                out.append(senses[word[at:end]])
                at = end
                break
        else:
            at += 1
    return out

"""Chinese names an English question spells in Hanyu Pinyin (`Gu Zhenglun`, `Hainan`), found in the corpus by sound.

English writes a Chinese person or place in pinyin, syllables run together within a given name or a place. The
capitalised words of a question are split into pinyin syllables, and the corpus is searched for a run of characters
that reads so: each character one that may be read as its syllable, each pair of neighbours a pair the corpus holds
(its BM25 vocabulary's character pairs). Foreign names spelt in Chinese (Zelensky, 澤連斯基) are matched by
qa.text.transliteration instead."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from pypinyin import Style, pinyin

# Syllables in one name: at least three (two common syllables, `Shi Yi`, read as some pair of characters in any
# corpus: 事失, 使一), at most four (a surname and a given name of up to three; a place and its suffix).
FEWEST_SYLLABLES = 3
MOST_SYLLABLES = 4
# The hundred commonest Chinese surnames (Simplified, as text is folded). A name of two syllables written as a surname
# and a given name (`Li Chen`, `Cai Min`) is looked for only as one of them and one more character: two common
# syllables alone read as some pair of characters in any corpus, a surname and a syllable far less often.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# Pairs of characters tried for a name's first two syllables at most (looked up together, ~0.3 us a pair): `gu
# zheng` is 10,080, `wen xi` 27,720; `shi yi` (107,865) is not tried.
MOST_PAIRS = 60_000
# Partial spellings kept while a name is extended by one syllable, and spellings returned.
_KEPT = 200
MOST_FOUND = 3


@cache
def readings() -> dict[str, tuple[str, ...]]:
    """The characters (U+4E00-U+9FFF) that may be read as each toneless pinyin syllable (about 0.2 s, once)."""
    by_sound: dict[str, list[str]] = {}
    for point in range(0x4E00, 0xA000):
        char = chr(point)
        for sound in pinyin(char, style=Style.NORMAL, heteronym=True)[0]:
            if sound.isascii() and sound.isalpha():
                by_sound.setdefault(sound, []).append(char)
    return {sound: tuple(chars) for sound, chars in by_sound.items()}


def syllables(word: str, fewest: int = FEWEST_SYLLABLES) -> list[tuple[str, ...]]:
    """Every way a lower-case word splits into pinyin syllables (fewest to MOST_SYLLABLES of them)."""
    sounds = readings()
    out: list[tuple[str, ...]] = []

    def split(rest: str, done: tuple[str, ...]) -> None:
        if not rest:
            if len(done) >= fewest:
                out.append(done)
            return
        if len(done) == MOST_SYLLABLES:
            return
        for end in range(min(6, len(rest)), 0, -1):
            if rest[:end] in sounds:
                split(rest[end:], (*done, rest[:end]))

    split(word, ())
    return out


def spellings(
    words: Sequence[str],
    holds_pairs: Callable[[list[str]], Iterable[bool]],
    chars: Collection[str] | None = None,
    pair: Pair | None = None,
) -> tuple[str, ...]:
    """The corpus's runs of characters that read as these words (a name's words, `Gu Zhenglun`; a surname and a
    given name of one syllable each, `Li Chen`; given pair, one word of two syllables, `Hainan`), at most MOST_FOUND;
    none when they do not split into pinyin syllables. holds_pairs says which pairs of characters the corpus holds
    (Index.holds_pairs; Index.spellings keeps the answers, as one question asks of its names several times); chars,
    when given, holds every character of those pairs (Index.pair_chars): a character outside it is never looked up
    (the same spellings, found among far fewer pairs: a name's first step tries up to MOST_PAIRS)."""
    sounds = readings()
    found: list[str] = []
    joined = "".join(w.lower() for w in words)
    splits: list[tuple[tuple[str, ...], bool]] = [(s, False) for s in syllables(joined)]
    if pair is not None and len(words) == 1:
        found += pair.best([p for s in syllables(joined, 2) if len(s) == 2 for p in _held(s, holds_pairs, chars)])
    if len(words) == 2 and all(w.lower() in sounds for w in words):
        # A surname and a one-syllable given name (`Li Chen`): the first character one of SURNAMES.
        splits.append((tuple(w.lower() for w in words), True))
    for split, surnamed in splits:
        first = [c for c in sounds[split[0]] if (chars is None or c in chars) and (not surnamed or c in SURNAMES)]
        if len(first if surnamed else sounds[split[0]]) * len(sounds[split[1]]) > MOST_PAIRS:
            continue
        partial = first
        for sound in split[1:]:
            following = [c for c in sounds[sound] if chars is None or c in chars]
            longer = [p + c for p in partial for c in following]
            held = holds_pairs([x[-2:] for x in longer]) if longer else []
            partial = [x for x, h in zip(longer, held, strict=True) if h][:_KEPT]
            if not partial:
                break
        found += [p for p in partial if p not in found]
    if pair is not None and len(words) == 1 and words[0].lower() in pair.english:
        # A place (one word) the dictionary knows in English is one of its names or none (`Taiwan` is 台湾, never
        # 能免 of 不能免除, which reads `tai wan` too; `Yunnan` is 云南). Not a person's name: many people share
        # one spelling (`Li Chen`: 李晨 as well as the 李忱 CC-CEDICT knows).
        found = [p for p in found if p in pair.names]
    return tuple(found[:MOST_FOUND])


def _held(
    split: tuple[str, ...], holds_pairs: Callable[[list[str]], Iterable[bool]], chars: Collection[str] | None
) -> list[str]:
    """The pairs of characters the corpus holds that read as two syllables (none when there are too many to try)."""
    sounds = readings()
    first, second = ([c for c in sounds[s] if chars is None or c in chars] for s in split)
    if len(first) * len(second) > MOST_PAIRS:
        return []
    pairs = [a + b for a in first for b in second]
    return [p for p, held in zip(pairs, holds_pairs(pairs), strict=True) if held]


@dataclass(frozen=True)
class Pair:
    """How a name of one word and two syllables (`Hainan`, `Furong`) is read. Two syllables read as some pair of
    characters in any corpus (`Shihu`: 似乎, `Hainan`: 还难 of 还难以), so of the pairs the corpus holds one is kept: a
    name CC-CEDICT knows first (大理 for `Dali`, not 大利 of 意大利), then the pair the corpus writes most often (an
    article writes its subject again and again). Translated English questions, 40 articles a corpus, seed 0, with the
    reading of pinyin put before the match by sound (qa.text.lexicon.english_groups): train split cite_hit DRCD
    0.66 -> 0.673, CMRC 0.538 -> 0.545; test split 0.597 -> 0.64 and 0.417 -> 0.437, answered 0.733 -> 0.78 and
    0.642 -> 0.689, foreign questions abstained 0.85 -> 0.84 and 0.75 -> 0.75. Leaving out CC-CEDICT's common words
    lost names that are common words too (芙蓉 `hibiscus`, 情人 `lover`); ranking them last changed nothing. Given the
    English of the names CC-CEDICT knows, a one-word name among them is read as one of its names only (spellings)."""

    count: Callable[[str], int]  # chunks holding a pair of characters
    names: Collection[str]  # proper names
    english: Collection[str] = ()  # the English of proper names (lower case)

    def best(self, pairs: Sequence[str]) -> list[str]:
        """The likeliest of these pairs, as a list of one (none of none)."""
        return sorted(dict.fromkeys(pairs), key=lambda p: (p in self.names, self.count(p)), reverse=True)[:1]

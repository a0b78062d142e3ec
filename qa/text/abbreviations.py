"""Places that Chinese writes with one character when it names two together (俄烏 for 俄羅斯 and 烏克蘭, 中美 for
中國 and 美國) or one in a compound (對俄制裁, 援烏, 俄方): the single-character entries of CC-CEDICT that say they
abbreviate a place, or that gloss it as a place's own entry does (中 `China`, as 中國)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

from qa.text.lexicon import _cedict_lines
from qa.text.tokens import stem

# `abbr. for 俄羅斯|俄罗斯[E2 luo2 si1]`, `abbr. for Ukraine 烏克蘭|乌克兰[Wu1 ke4 lan2]`, `(abbr. for 日本[Ri4 ben3])`:
# the Simplified name and its pinyin, capitalised for a proper name.
_ABBREVIATES_RE = re.compile(r"abbr\. for (?:[A-Z][A-Za-z ]*? )?(?:[^\s|\[\]/]+\|)?([^\s|\[\]/]+)\[([^\]]+)\]")
_HEAD_RE = re.compile(r"^(\S+) (\S+) \[([^\]]+)\] /(.*)/\s*$")
_CAPITALISED_RE = re.compile(r"\b[A-Z][A-Za-z]*\b")


@cache
def abbreviations() -> dict[str, str]:
    """Each place name (Simplified) that has one, with the character that stands for it in a compound."""
    out: dict[str, str] = {}
    singles: dict[str, str] = {}  # a single character's name, its first sense or one marked (abbr.) (中: China)
    names: dict[str, list[str]] = {}  # a name's first sense -> the words of two or more characters glossed so
    for line in _cedict_lines():
        m = _HEAD_RE.match(line)
        if m is None:
            continue
        simplified, pinyin, senses = m.group(2), m.group(3), m.group(4).split("/")
        if len(simplified) == 1:
            for sense in senses:
                found = _ABBREVIATES_RE.search(sense)
                if found and found.group(2)[:1].isupper() and len(found.group(1)) > 1:
                    out.setdefault(found.group(1), simplified)
            marked = [s.removesuffix(" (abbr.)") for s in senses if s.endswith(" (abbr.)")]  # 台: `Taiwan (abbr.)`
            sense = marked[0] if marked else senses[0]
            if pinyin[:1].isupper() and sense[:1].isupper():
                singles.setdefault(simplified, sense)
        elif pinyin[:1].isupper() and senses[0][:1].isupper():
            names.setdefault(senses[0], []).append(simplified)
    for char, sense in singles.items():
        for name in names.get(sense, ()):
            if name.startswith(char):
                out.setdefault(name, char)
    return out


def named_in(folded: str) -> list[str]:
    """The places a (folded) Chinese text names, as abbreviations() has them."""
    return [name for name in abbreviations() if name in folded]


def named_in_english(question: str, groups: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """The places an English question names: the Chinese that its capitalised words (`Russia`, `US`, `United
    States`) are glossed with (english_groups) when that is a place abbreviations() has. Its other words' glosses are
    not read (`person` is glossed 中國人 and 法國人 among others, `dynasty` 唐朝)."""
    table = abbreviations()
    proper = {stem(w.lower()) for w in _CAPITALISED_RE.findall(question)}
    return [c for term, chinese in groups if set(term.split("_")) <= proper for c in chinese if c in table]


def standing_for(names: Iterable[str]) -> list[str]:
    """The characters that stand for these places (俄羅斯: 俄), once each."""
    table = abbreviations()
    return list(dict.fromkeys(table[name] for name in names if name in table))


def paired(names: Iterable[str]) -> list[str]:
    """The two-character compounds, in both orders, of these places (俄羅斯 and 烏克蘭: 俄烏, 烏俄)."""
    chars = standing_for(names)
    return [a + b for a in chars for b in chars if a != b]

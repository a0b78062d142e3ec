"""Sentence spans with exact offsets: a sentence ends at 。！？ or ；, with any closing marks; and at an English full
stop followed by a blank and a capital, a digit or an opening mark, unless it ends an abbreviation or an initial."""

from __future__ import annotations

import re
from collections.abc import Iterator

# A sentence ends at 。！？ (or ；, which separates full clauses in this prose) plus any closing marks.
_SENTENCE_END_RE = re.compile(r"[。！？!?；;]+[」』）)\"”’]*")
# An English full stop (closing marks after it) that a blank and the start of a new sentence follow.
_FULL_STOP_RE = re.compile(r"(?<=[A-Za-z0-9%)\]\"”’'])\.[\"”’')\]]*(?=\s+[\"“‘'(\[]?[A-Z0-9])")
# The word before a full stop that ends no sentence: titles, months, company and other abbreviations. An initial (one
# letter: `Daniel J. Epstein`) or a word with a stop inside (`U.S.`, `e.g.`) is one too.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt col gen lt sgt capt cmdr adm rev gov sen rep pres hon fr no nos vol pp fig inc ltd "
    "co corp bros dept est approx vs etc jan feb mar apr jun jul aug sep sept oct nov dec ft".split()
)
_WORD_BEFORE_RE = re.compile(r"([A-Za-z][A-Za-z.]*)[\"”’')\]]*$")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of sentences in text[start:end], trimmed of surrounding blanks."""
    end = len(text) if end is None else end
    pos = start
    for stop in _ends(text, start, end):
        yield from trimmed(text, pos, stop)
        pos = stop
    yield from trimmed(text, pos, end)


def _ends(text: str, start: int, end: int) -> Iterator[int]:
    """Where the sentences of text[start:end] end, in order."""
    marks = [m.end() for m in _SENTENCE_END_RE.finditer(text, start, end)]
    if "." in text[start:end]:
        marks += [m.end() for m in _FULL_STOP_RE.finditer(text, start, end) if not _abbreviation(text, m.start())]
        marks.sort()
    yield from marks


def _abbreviation(text: str, stop: int) -> bool:
    """Whether the full stop at `stop` ends an abbreviation or an initial rather than a sentence."""
    word = _WORD_BEFORE_RE.search(text, max(0, stop - 40), stop)
    if word is None:
        return False  # a number, a bracket or a quote before it: `in 2023.`
    letters = word.group(1)
    return len(letters) == 1 or "." in letters or letters.lower() in _ABBREVIATIONS


def trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) narrowed past surrounding blanks; nothing when only blanks are left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        yield start, end

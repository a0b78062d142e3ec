"""Sentence spans with exact offsets: a sentence ends at 。！？ or ；, with any closing marks."""

from __future__ import annotations

import re
from collections.abc import Iterator

# A sentence ends at 。！？ (or ；, which separates full clauses in this prose) plus any closing marks.
_SENTENCE_END_RE = re.compile(r"[。！？!?；;]+[」』）)\"”’]*")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of sentences in text[start:end], trimmed of surrounding blanks."""
    end = len(text) if end is None else end
    pos = start
    for m in _SENTENCE_END_RE.finditer(text, start, end):
        yield from trimmed(text, pos, m.end())
        pos = m.end()
    yield from trimmed(text, pos, end)


def trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) narrowed past surrounding blanks; nothing when only blanks are left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        yield start, end

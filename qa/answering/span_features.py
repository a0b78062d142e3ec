"""What describes a short-answer candidate: how the question's words stand around it, how it was found, how jieba
reads it and how it nests among the others of its sentence (FEATURES, in the order the scorer was trained on)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from qa.answering.alignment import prefix_in, suffix_in, wh_context
from qa.answering.question import Question
from qa.answering.spans import (
    CAP,
    CJK_RE,
    CLAUSE_END_RE,
    KINDS,
    LEADING,
    PLAIN_RE,
    SOURCES,
    SUFFIXES,
    Kind,
    cited_spans,
    flat,
    gap_between,
    kind_of,
    pairs,
    prefix_after,
    suffix_before,
    wording,
)
from qa.types import Citation

# Questions that ask for several values or names, or for a time in general (not a year or day).
# A span that only points at a time or thing named elsewhere (在這一年, 當時, 同年, 此次) answers nothing: none of the
# 4,526 DRCD and CMRC 2018 gold answers is one.
_POINTER_RE = re.compile(r"(?:在|于)?(?:这|那|该|此|同|当)一?(?:个|些)?(?:年|天|日|时|次|月|里|时候|时期|年代)?")
_ASKS_LIST_RE = re.compile(r"分别|哪些|哪几|各[是为有]|以及|和谁|与谁|还有")
_ASKS_WHEN_RE = re.compile(r"何时|什么时[候间期]|\bwhen\b")
# Brackets and quotes a name may stand in.
_OPENERS = "「《“『(（[【"
_CLOSERS = "」》”』)）]】"
# jieba's tags, grouped: person, place, organisation and other proper names, English, common nouns, the rest.
_TAG_GROUPS = ("nr", "ns", "nt", "nz", "eng", "n", "other")
FEATURES = (
    *"left right both near alone first order length name in_gap gap".split(),
    *(f"kind_{k}" for k in KINDS),
    *(f"from_{s}" for s in SOURCES),
    *(f"tag_{t}" for t in _TAG_GROUPS),
    *"chars quoted distance in_question position citation suffix left_adjacent right_adjacent words count".split(),
    *"rank best gap_overlap has_digit latin_share inside holds longest".split(),
    *"after_left before_right left_found right_found prev_join prev_stop next_stop next_de".split(),
    *"name_share kind_share max_freq min_freq freq word_count on_words".split(),
    *"asks_list asks_when question_length left_words right_words holds_left holds_right".split(),
)


@dataclass(frozen=True)
class Candidate:
    """A span of a cited sentence that may be the answer, with its features."""

    citation: Citation
    start: int  # offsets inside the sentence
    end: int
    features: tuple[float, ...]

    @property
    def text(self) -> str:
        """The span's text, exactly as the document writes it."""
        return self.citation.quote[self.start : self.end]


def _tag_group(tag: str) -> str:
    for group in _TAG_GROUPS[:-1]:
        if tag.startswith(group):
            return group
    return "other"


def _adjacent_before(left: str, text: str, start: int) -> bool:
    """The question's last two words before its question word stand right before the span (joining words aside)."""
    if len(left) < 2:
        return False
    at = start
    while at > 0 and start - at < 2 and text[at - 1] in LEADING:
        at -= 1
    return any(text[max(0, a - 2) : a] == left[-2:] for a in range(at, start + 1))


def _adjacent_after(right: str, text: str, end: int) -> bool:
    """The question's first two words after its question word stand right after the span."""
    if len(right) < 2:
        return False
    return any(text[a : a + 2] == right[:2] for a in range(end, min(end + 3, len(text))))


def _anchors(left: str, right: str, text: str) -> tuple[int, int, int, int]:
    """Where the longest run of the question's words before its question word ends in the sentence, where the longest
    run of those after it starts (-1 when fewer than two are found), and the runs' lengths."""
    lft = suffix_in(left, text)
    rgt = prefix_in(right, text)
    after = text.find(left[len(left) - lft :]) + lft if lft >= 2 else -1
    before = text.find(right[:rgt]) if rgt >= 2 else -1
    return after, before, lft, rgt


def _distance(hits: list[int], start: int, end: int) -> float:
    """Characters from the span to the nearest place the question's word pairs stand in the sentence."""
    best = 60
    for h in hits:
        if h + 2 <= start:
            best = min(best, start - h - 2)
        elif h >= end:
            best = min(best, h - end)
    return float(best)


class _Found(NamedTuple):
    """A candidate span as found, with what its sentence holds."""

    number: int  # of the citation
    citation: Citation
    text: str  # the sentence, flat
    start: int
    end: int
    src: frozenset[str]
    tag: str
    gap: tuple[int, int] | None
    hits: list[int]  # where the question's word pairs stand in the sentence
    anchors: tuple[int, int, int, int]


@dataclass(frozen=True)
class _Shared:
    """What every candidate of a question is measured against."""

    kind: Kind
    left: str
    bare_left: str  # left without the joining words it ends in (財長是 -> 財長): an apposition writes none
    right: str
    pairs: set[str]
    chars: set[str]
    count: int
    asks: tuple[float, ...]


def _features(q: _Shared, order: int, item: _Found) -> tuple[float, ...]:
    """A candidate's features (rank, best, inside, holds and longest are set once all are known)."""
    number, text, start, end, src, tag, gap, hits, anchors = item[0], *item[2:]
    near = pairs(text[max(0, start - 12) : start] + "|" + text[end : end + 12]) & q.pairs
    lft = max(suffix_before(q.left, text, start), suffix_before(q.bare_left, text, start))
    rgt = prefix_after(q.right, text, end)
    value = PLAIN_RE.sub("", text[start:end])
    overlap = 0.0
    if gap:
        shared = max(0, min(end, gap[1]) - max(start, gap[0]))
        overlap = 2 * shared / (end - start + gap[1] - gap[0])
    group = _tag_group(tag)
    suffixes = SUFFIXES.get(q.kind, ())
    return (
        lft / CAP,
        rgt / CAP,
        float(lft >= 2 and rgt >= 2),
        min(len(near), 10) / 10,
        float(q.count == 1),
        float(order == 0),
        1 / (1 + order),
        min(end - start, 20) / 20,
        float(bool(src & {"tag", "latin"})),
        float(gap is not None and gap[0] <= start and end <= gap[1]),
        float(gap == (start, end)),
        *(float(k == q.kind) for k in KINDS),
        *(float(s in src) for s in SOURCES),
        *(float(group == g) for g in _TAG_GROUPS),
        float(len(value)),
        float(start > 0 and text[start - 1] in _OPENERS and end < len(text) and text[end] in _CLOSERS),
        _distance(hits, start, end),
        sum(c in q.chars for c in value) / len(value),
        start / max(1, len(text)),
        float(min(number, 3)),
        float(bool(suffixes) and value.endswith(suffixes)),
        float(_adjacent_before(q.left, text, start) or _adjacent_before(q.bare_left, text, start)),
        float(_adjacent_after(q.right, text, end)),
        float(len(CJK_RE.findall(value))),
        float(q.count),
        0.0,  # rank
        0.0,  # best
        overlap,
        float(any(c.isdigit() for c in value)),
        sum(c.isascii() and c.isalpha() for c in value) / len(value),
        0.0,  # inside
        0.0,  # holds
        0.0,  # longest
        float(start - anchors[0]) if anchors[0] >= 0 else 99.0,
        float(anchors[1] - end) if anchors[1] >= 0 else 99.0,
        float(anchors[2]),
        float(anchors[3]),
        float(start > 0 and text[start - 1] in LEADING),
        float(start == 0 or bool(CLAUSE_END_RE.match(text[start - 1]))),
        float(end == len(text) or bool(CLAUSE_END_RE.match(text[end])) or text[end] in "。！？!?"),
        float(text[end : end + 1] in ("的", "之")),
        *wording(q.kind, text, start, end),
        *q.asks,
        # The question's words right next to its question word mostly stand outside the answer.
        float(len(q.left) >= 2 and q.left[-2:] in value),
        float(len(q.right) >= 2 and q.right[:2] in value),
    )


def _ranked(rows: list[tuple[Citation, int, int, tuple[float, ...]]]) -> list[Candidate]:
    """The candidates with how their match with the question's words ranks among the others', and how they nest
    with the others of their sentence (姚里氏 holds 里氏)."""
    rank_col, nest_col = FEATURES.index("rank"), FEATURES.index("inside")
    keys = [f[0] + f[1] + f[3] / 2 for _, _, _, f in rows]
    out = []
    for (citation, start, end, features), key in zip(rows, keys, strict=True):
        rank = sum(k > key for k in keys)
        others = [(s, e) for c, s, e, _ in rows if c is citation and (s, e) != (start, end)]
        inside = sum(s <= start and end <= e for s, e in others)
        holds = sum(start <= s and e <= end for s, e in others)
        longest = float(all(e - s <= end - start for s, e in others if s < end and start < e))
        values = list(features)
        values[rank_col : rank_col + 2] = [float(rank), float(rank == 0)]
        values[nest_col : nest_col + 3] = [float(inside), float(holds), longest]
        out.append(Candidate(citation, start, end, tuple(values)))
    return out


def candidates(question: Question, citations: Sequence[Citation]) -> list[Candidate]:
    """The candidate spans of the kind the question asks for in the cited sentences, with their features."""
    kind = kind_of(question)
    if kind is None:
        return []
    left, right = wh_context(question.folded)
    asked = PLAIN_RE.sub("", question.folded)
    asked_chars = set(asked)
    question_pairs = pairs(question.folded)
    found: list[_Found] = []
    for number, citation in enumerate(citations):
        text = flat(citation.quote)
        gap = gap_between(left, right, text)
        spans = cited_spans(question, kind, text, gap)
        hits = [i for i in range(len(text) - 1) if text[i : i + 2] in question_pairs]
        anchors = _anchors(left, right, text)
        seen: set[tuple[int, int]] = set()
        for start, end, src, tag in spans:
            value = PLAIN_RE.sub("", text[start:end])
            if (start, end) in seen or not value or value in asked or _POINTER_RE.fullmatch(value):
                continue
            if any(g in value for g in question.expectation.given):
                continue
            seen.add((start, end))
            found.append(_Found(number, citation, text, start, end, src, tag, gap, hits, anchors))
    asks = (
        float(bool(_ASKS_LIST_RE.search(question.folded))),
        float(bool(_ASKS_WHEN_RE.search(question.folded))),
        float(len(asked)),
        float(len(left)),
        float(len(right)),
    )
    shared = _Shared(kind, left, left.rstrip(LEADING), right, question_pairs, asked_chars, len(found), asks)
    rows = [(f.citation, f.start, f.end, _features(shared, order, f)) for order, f in enumerate(found)]
    return _ranked(rows)

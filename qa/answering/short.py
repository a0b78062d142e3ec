"""Short answers: the date, number, amount or name a typed question asks for, as an exact span of a cited sentence.

Candidates of the kind asked for are found in the cited sentences (patterns for dates, numbers and amounts; jieba's
name tags and Latin-script words for people, places and organisations), minus what the question already holds. A
reading-comprehension question keeps the words of its source sentence on either side of the question word, so each
candidate is scored by how much of those words stand right before and after it; a small logistic model (weights in
data/short.json, written by scripts/train_short.py) turns that into a probability, and only a likely one is given."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import jieba.posseg as pseg

from qa.answering.alignment import wants, wh_context
from qa.answering.question import Question
from qa.text.folding import to_simplified
from qa.types import Citation, ShortAnswer

Kind = Literal["date", "number", "percent", "money", "ordinal", "unit", "person", "place", "organisation"]

_CN = "零〇一二两三四五六七八九十百千万亿"
_NUM = rf"(?:\d+(?:[,.]\d+)*|[{_CN}]+)"
_BIG = rf"{_NUM}(?:\s*[万亿千百]+)?(?:多|余)?"
_MEASURE = (
    "(?:[个座间部名位次人只条种件所家架辆艘本篇首台场届年岁倍项支队枚颗株层栋米吨元]"
    "|平方公里|公里|公尺|公顷|公斤|平方米)"
)
_CN_YEAR = "[〇零一二三四五六七八九]{2,4}年"
_DATE_RE = re.compile(
    rf"(?:公元前?|前)?(?:\d{{1,4}}年|{_CN_YEAR})代?(?:\d{{1,2}}月(?:\d{{1,2}}[日号])?)?|"
    r"\d{1,2}月\d{1,2}[日号]?|\d{1,2}月份?|\d{1,2}[日号]|"
    r"(?:公元前?)?\d{1,2}世纪(?:\d{1,2}年代)?(?:[初中末]期?|[上下]半叶)?|"
    r"[一二三四五六七八九十]{1,3}月(?:[一二三四五六七八九十]{1,3}[日号])?|(?<![\d.])(?:1\d|20)\d{2}(?![\d.])"
)
# A range of dates or numbers (1861至1865年) is one answer.
_RANGE = r"(?:\s*(?:至|到|-|–|~|～)\s*(?:{}))?"
_DATE_RE = re.compile(f"(?:{_DATE_RE.pattern}){_RANGE.format(_DATE_RE.pattern)}")
# Questions that ask for a year only: a full date found is cut back to its year.
_ASKS_YEAR_RE = re.compile(r"哪一?年(?!代)|何年|几年|which year|what year")
_YEAR_RE = re.compile(r"(?:公元前?|前)?\d{1,4}年|(?:1\d|20)\d{2}")
_NUMBER_RE = re.compile(rf"{_BIG}\s*{_MEASURE}?" + _RANGE.format(rf"{_BIG}\s*{_MEASURE}?"))
_PERCENT_RE = re.compile(rf"{_NUM}\s*%|百分之{_NUM}|[{_CN}]+成|[{_CN}]+分之[{_CN}]+(?:至[{_CN}]+分之[{_CN}]+)?|{_NUM}‰")
_MONEY_RE = re.compile(
    rf"{_BIG}\s*(?:美元|欧元|英镑|日元|日圆|卢布|人民币|港元|港币|新台币|台币|元|块|美金)|[$€£¥]\s*{_BIG}"
)
_ORDINAL_RE = re.compile(rf"第{_NUM}[\u4e00-\u9fff]?|首[届位次个]")
_LATIN_RE = re.compile(r"[a-z][a-z.'&-]*(?:\s+[a-z][a-z.'&-]*)*")
_NAME_TAGS: dict[str, frozenset[str]] = {
    "person": frozenset({"nr", "nrfg", "nrt"}),
    "place": frozenset({"ns"}),
    "organisation": frozenset({"nt"}),
}
_PLAIN_RE = re.compile(r"[\W_]+")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]+")
_CLAUSE_END_RE = re.compile(r"[，,。；;：:、（）()「」《》\s]")
_LEADING = "是为在于由了的将被"  # words that join the question's words to the answer, not part of it
_WINDOW = 4  # characters between a candidate and the question's words that may still count as next to it
_CAP = 8  # longest run of the question's words that counts
FEATURES = ("left", "right", "both", "near", "alone", "first", "order", "length", "name", "in_gap", "gap")


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


def kind_of(question: Question) -> Kind | None:
    """The kind of value or name a question asks for; None for any other question."""
    expect = question.expectation.expect
    if expect != "any":
        return expect
    name = wants(question.folded)
    return None if name == "any" else name


def flat(text: str) -> str:
    """Width, case and script folded one character at a time (the same length as text, so offsets carry over)."""
    chars = [unicodedata.normalize("NFKC", c).lower() for c in text]
    chars = [f if len(f) == 1 else c for f, c in zip(chars, text, strict=True)]
    joined = "".join(chars)
    simple = to_simplified(joined)
    if len(simple) == len(joined):
        return simple
    return "".join(s if len(s := to_simplified(c)) == 1 else c for c in chars)


def _spans(kind: Kind, text: str, unit: str | None) -> list[tuple[int, int, bool]]:
    """(start, end, is_name) of the candidates of a kind in a flat sentence."""
    if kind in _NAME_TAGS:
        return _names(kind, text)
    if kind == "unit" and unit:
        # The shortest of the question's unit readings (艘 of 艘拖|艘): the answer ends at its measure word.
        unit = "|".join(sorted(unit.split("|"), key=len))
        one = rf"{_BIG}\s*(?:{unit})"
        # A range names the unit once or twice (100至150架, 100架至150架).
        pattern = re.compile(rf"{_BIG}\s*(?:{unit})?\s*(?:至|到|-|–|~|～)\s*{one}|{one}")
    else:
        pattern = {
            "date": _DATE_RE,
            "number": _NUMBER_RE,
            "percent": _PERCENT_RE,
            "money": _MONEY_RE,
            "ordinal": _ORDINAL_RE,
        }.get(kind, _NUMBER_RE)
    return [(m.start(), m.end(), False) for m in pattern.finditer(text) if _PLAIN_RE.sub("", m.group())]


def _names(kind: Kind, text: str) -> list[tuple[int, int, bool]]:
    """Runs of words jieba tags as names of the kind (adjacent ones joined: 美国 明尼亚波利斯), and Latin words."""
    wanted = _NAME_TAGS[kind]
    out: list[tuple[int, int, bool]] = []
    at = 0
    run: tuple[int, int] | None = None
    for word, tag in pseg.cut(text):
        end = at + len(word)
        if tag in wanted and len(word) > 1:
            run = (run[0], end) if run and run[1] == at else (at, end)
        elif run:
            out.append((*run, True))
            run = None
        at = end
    if run:
        out.append((*run, True))
    out = [_joined(text, s, e) for s, e, _ in out]
    out.extend((m.start(), m.end(), True) for m in _LATIN_RE.finditer(text) if len(m.group()) > 2)
    return out


def _joined(text: str, start: int, end: int) -> tuple[int, int, bool]:
    """A name widened over the middle dots of a transliterated full name (伊夫林·比阿特丽斯·霍尔)."""
    while end + 1 < len(text) and text[end] in "·・•" and _CJK_RE.match(text, end + 1):
        end = _CJK_RE.match(text, end + 1).end()  # type: ignore[union-attr]
    while start > 1 and text[start - 1] in "·・•" and text[start - 2].isalpha():
        start -= 1
        while start > 0 and _CJK_RE.match(text[start - 1]):
            start -= 1
        while text[start] in _LEADING and start < end - 1:
            start += 1
    return start, end, True


def _suffix_before(left: str, text: str, start: int) -> int:
    """How many of left's last characters stand in text ending at most _WINDOW characters before start."""
    n = 0
    while n < min(len(left), _CAP) and left[len(left) - n - 1 :] in text[max(0, start - n - 1 - _WINDOW) : start]:
        n += 1
    return n


def _prefix_after(right: str, text: str, end: int) -> int:
    """How many of right's first characters stand in text starting at most _WINDOW characters after end."""
    n = 0
    while n < min(len(right), _CAP) and right[: n + 1] in text[end : end + n + 1 + _WINDOW]:
        n += 1
    return n


def _pairs(text: str) -> set[str]:
    plain = _PLAIN_RE.sub("", text)
    return {plain[i : i + 2] for i in range(len(plain) - 1)}


def _gap(left: str, right: str, text: str) -> tuple[int, int] | None:
    """The span between the question's words before its question word and those after it, as the sentence writes
    them (to the clause's end when nothing follows the question word); None when they are not both found."""
    lft = 0
    while lft < len(left) and left[len(left) - lft - 1 :] in text:
        lft += 1
    if lft < 2:
        return None
    start = text.find(left[len(left) - lft :]) + lft
    while start < len(text) and text[start] in _LEADING:
        start += 1
    rgt = 0
    while rgt < len(right) and right[: rgt + 1] in text[start + 1 :]:
        rgt += 1
    if rgt >= 2:
        end = text.find(right[:rgt], start + 1)
    else:
        stop = _CLAUSE_END_RE.search(text, start)
        end = stop.start() if stop else len(text)
    if not 0 < end - start <= 16 or _CLAUSE_END_RE.search(text[start:end]):
        return None
    return start, end


def _trimmed(question: Question, kind: Kind, text: str, start: int, end: int) -> tuple[int, int]:
    """A date cut back to its year when the question asks for a year, or to before a date the question names."""
    if kind != "date":
        return start, end
    for given in question.expectation.given:
        at = text.find(given, start, end)
        if at > start:
            end = at
    if _ASKS_YEAR_RE.search(question.folded):
        m = _YEAR_RE.match(text, start, end)
        if m:
            end = m.end()
    return start, end


def candidates(question: Question, citations: Sequence[Citation]) -> list[Candidate]:
    """The candidate spans of the kind the question asks for in the cited sentences, with their features."""
    kind = kind_of(question)
    if kind is None:
        return []
    left, right = wh_context(question.folded)
    asked = _PLAIN_RE.sub("", question.folded)
    question_pairs = _pairs(question.folded)
    found: list[tuple[Citation, str, int, int, bool, tuple[int, int] | None]] = []
    for citation in citations:
        text = flat(citation.quote)
        gap = _gap(left, right, text)
        spans = [
            (*_trimmed(question, kind, text, s, e), n) for s, e, n in _spans(kind, text, question.expectation.unit)
        ]
        if gap and kind in _NAME_TAGS and not any(s == gap[0] and e == gap[1] for s, e, _ in spans):
            spans.append((*gap, False))
        for start, end, is_name in spans:
            value = _PLAIN_RE.sub("", text[start:end])
            if value and value not in asked and not any(g in value for g in question.expectation.given):
                found.append((citation, text, start, end, is_name, gap))
    out = []
    for order, (citation, text, start, end, is_name, gap) in enumerate(found):
        near = _pairs(text[max(0, start - 12) : start] + "|" + text[end : end + 12]) & question_pairs
        lft = _suffix_before(left, text, start)
        rgt = _prefix_after(right, text, end)
        features = (
            lft / _CAP,
            rgt / _CAP,
            float(lft >= 2 and rgt >= 2),
            min(len(near), 10) / 10,
            float(len(found) == 1),
            float(order == 0),
            1 / (1 + order),
            min(end - start, 20) / 20,
            float(is_name),
            float(gap is not None and gap[0] <= start and end <= gap[1]),
            float(gap == (start, end)),
        )
        out.append(Candidate(citation, start, end, features))
    return out


@dataclass(frozen=True)
class Scorer:
    """A logistic model over candidate features, and the probability below which no short answer is given."""

    weights: tuple[float, ...]
    bias: float
    threshold: float

    def probability(self, candidate: Candidate) -> float:
        """The model's probability that the candidate is the answer."""
        z = self.bias + math.fsum(w * x for w, x in zip(self.weights, candidate.features, strict=True))
        return 1 / (1 + math.exp(-z))


@cache
def default_scorer() -> Scorer:
    """The scorer shipped with the package (data/short.json)."""
    raw = json.loads(resources.files("qa.answering").joinpath("data/short.json").read_text(encoding="utf-8"))
    if tuple(raw["features"]) != FEATURES:
        raise ValueError("data/short.json was trained on other features: run scripts/train_short.py")
    return Scorer(tuple(float(w) for w in raw["weights"]), float(raw["bias"]), float(raw["threshold"]))


def short_answer(
    question: Question, citations: Sequence[Citation], *, scorer: Scorer | None = None, threshold: float | None = None
) -> ShortAnswer | None:
    """The likeliest candidate as a span of its document, when likely enough; None otherwise."""
    scorer = scorer or default_scorer()
    found = candidates(question, citations)
    if not found:
        return None
    best = max(found, key=scorer.probability)
    if scorer.probability(best) < (scorer.threshold if threshold is None else threshold):
        return None
    c = best.citation
    return ShortAnswer(text=best.text, start=c.start + best.start, end=c.start + best.end, doc=c.doc)

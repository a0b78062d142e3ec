"""Where a short answer may stand: the spans of a cited sentence that are of the kind a question asks for.

Patterns find dates (also reign years, eras, seasons, times of day), numbers with their measure words and amounts; for
people, places and organisations jieba's name tags, Latin-script words, quoted words, noun phrases ending in words such
names end in (大学, 公司, 市, 省 ...) and runs of nouns; the span between the question's words as the sentence writes
them is one more. Sentences are read flat (folded one character at a time), so offsets carry over."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import jieba

from qa.answering.alignment import wants
from qa.answering.question import Question
from qa.answering.values import (
    BIG,
    DATE_RE,
    EXTRA,
    MEASURE,
    MONEY_RE,
    NUMBER_RE,
    ORDINAL_RE,
    PERCENT_RE,
    holds_a_day,
)
from qa.text.folding import to_simplified
from qa.text.postags import dictionary_tag, pos_cut

Kind = Literal["date", "number", "percent", "money", "ordinal", "unit", "person", "place", "organisation"]

# Questions that ask for a year only: a full date found is cut back to its year.
_YEAR_RE = re.compile(r"(?:公元前?|前)?\d{1,4}年|(?:1\d|20)\d{2}")
_ASKS_MONTH_RE = re.compile(r"几月|哪一?个?月|which month|what month")
_MONTH_RE = re.compile(r"(?:(?:公元前?|前)?\d{1,4}年)?\d{1,2}月")
_LATIN_RE = re.compile(r"[a-z][a-z0-9.'&-]*(?:\s+[a-z0-9][a-z0-9.'&-]*)*")
_NAME_TAGS: dict[str, frozenset[str]] = {
    "person": frozenset({"nr", "nrfg", "nrt"}),
    "place": frozenset({"ns"}),
    "organisation": frozenset({"nt"}),
}
_OTHER_NAME_TAGS = frozenset({"nr", "nrfg", "nrt", "ns", "nt", "nz", "eng", "j"})
_NOUNISH = frozenset({"n", "nr", "nrfg", "nrt", "ns", "nt", "nz", "eng", "j", "vn", "an", "ng", "x"})
# Names of places and organisations end in words like these (folded to Simplified).
SUFFIXES: dict[str, tuple[str, ...]] = {
    "place": tuple(
        "市 区 国 省 县 州 岛 山 河 湖 江 海 城 村 镇 乡 港 湾 洲 峰 街 路 站 寺 宫 桥 郡 族 地区 王国 共和国 "
        "帝国 盆地 平原 高原 沙漠 海峡 机场 公园 广场 大陆 半岛 群岛 流域 殿 楼 塔 园".split()
    ),
    "organisation": tuple(
        "公司 集团 银行 大学 学院 学校 中学 小学 政府 委员会 协会 学会 组织 联盟 党 部 局 署 院 所 会 队 团 社 厂 馆 "
        "中心 报 台 军 俱乐部 医院 法院 议会 电视台 航空 实验室 族 朝 王朝 教 派 帮 室".split()
    ),
    "person": tuple("帝 王 皇 公 氏 子 宗 祖 后 妃 主".split()),
}
_QUOTE_RE = re.compile(
    r"「([^」]{1,20})」|《([^》]{1,20})》|“([^”]{1,20})”|『([^』]{1,20})』|\(([^)]{1,20})\)|（([^）]{1,20})）"
)
PLAIN_RE = re.compile(r"[\W_]+")
CJK_RE = re.compile(r"[\u4e00-\u9fff]+")
CLAUSE_END_RE = re.compile(r"[，,。；;：:、（）()「」《》\s]")
LEADING = "是为在于由了的将被"  # words that join the question's words to the answer, not part of it
_WINDOW = 4  # characters between a candidate and the question's words that may still count as next to it
CAP = 8  # longest run of the question's words that counts
KINDS: tuple[Kind, ...] = ("date", "number", "percent", "money", "ordinal", "unit", "person", "place", "organisation")
# How a candidate was found (a candidate found several ways has several set).
SOURCES = ("pattern", "tag", "other_tag", "latin", "quoted", "suffix", "chunk", "gap", "extra")


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


Span = tuple[int, int, frozenset[str], str]  # start, end, how it was found, jieba tag of its last word

_MEASURE_RE = re.compile(MEASURE)
# A range's joining word, left dangling when a date is cut back to before the one the question names (1912年至).
_DANGLING_RE = re.compile(r"[\s至到\-–~～、，,]+$")


def _is_measure(word: str) -> bool:
    """A measure word or unit (毫米, 英亩): one of the units above, or one jieba's dictionary tags `q`."""
    return bool(_MEASURE_RE.fullmatch(word)) or dictionary_tag(word) == "q"


def _spans(kind: Kind, text: str, unit: str | None) -> list[Span]:
    """The candidates of a kind in a flat sentence."""
    if kind in _NAME_TAGS:
        return _names(kind, text)
    if kind == "unit" and unit:
        # A reading that is a measure word first (毫米 of 毫米|毫, 英亩 of 英亩|英: a unit above or one jieba tags `q`),
        # then the shortest (艘 of 艘拖|艘): the answer ends at its measure word.
        readings = sorted(unit.split("|"), key=lambda r: (not _is_measure(r), len(r)))
        unit = "|".join(readings)
        one = rf"{BIG}\s*(?:{unit})"
        # A range names the unit once or twice (100至150架, 100架至150架).
        pattern = re.compile(rf"{BIG}\s*(?:{unit})?\s*(?:至|到|-|–|~|～)\s*{one}|{one}")
    else:
        pattern = {
            "date": DATE_RE,
            "number": NUMBER_RE,
            "percent": PERCENT_RE,
            "money": MONEY_RE,
            "ordinal": ORDINAL_RE,
        }.get(kind, NUMBER_RE)
    pattern_only = frozenset({"pattern"})
    out = [(m.start(), m.end(), pattern_only, "m") for m in pattern.finditer(text) if PLAIN_RE.sub("", m.group())]
    seen = {(s, e) for s, e, _, _ in out}
    if kind == "unit":  # a number with any measure word, when the question's unit is written otherwise
        other = frozenset({"chunk"})
        for m in NUMBER_RE.finditer(text):
            if (m.start(), m.end()) not in seen and PLAIN_RE.sub("", m.group()):
                out.append((m.start(), m.end(), other, "m"))
                seen.add((m.start(), m.end()))
    if kind in EXTRA:
        extra = frozenset({"extra"})
        out.extend(
            (m.start(), m.end(), extra, "m") for m in EXTRA[kind].finditer(text) if (m.start(), m.end()) not in seen
        )
    return out


def _names(kind: Kind, text: str) -> list[Span]:
    """Runs of words jieba tags as names (adjacent ones joined: 美国 明尼亚波利斯), Latin words, quoted words, noun
    phrases ending in a word names of the kind end in, and runs of nouns."""
    wanted = _NAME_TAGS[kind]
    words = list(_words(text))
    found: dict[tuple[int, int], set[str]] = {}
    tags: dict[tuple[int, int], str] = {}

    def add(start: int, end: int, source: str, tag: str) -> None:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end - start < 2 and not (end - start == 1 and source in ("tag", "quoted")):
            return
        found.setdefault((start, end), set()).add(source)
        tags.setdefault((start, end), tag)

    for source, keep in (("tag", wanted), ("other_tag", _OTHER_NAME_TAGS)):
        run: tuple[int, int] | None = None
        last = ""
        for start, end, tag in words:
            if tag in keep and end - start > 1:
                run = (run[0], end) if run and run[1] == start else (start, end)
                last = tag
            elif run:
                add(*_joined(text, *run, words), source, last)
                run = None
        if run:
            add(*_joined(text, *run, words), source, last)
    for m in _LATIN_RE.finditer(text):
        if len(m.group()) > 2:
            add(m.start(), m.end(), "latin", "eng")
    for m in _QUOTE_RE.finditer(text):
        group = next(g for g in range(1, 7) if m.group(g) is not None)
        add(m.start(group), m.end(group), "quoted", "q")
    suffixes = tuple(x for v in SUFFIXES.values() for x in v)
    for i, (start, end, tag) in enumerate(words):
        if not text[start:end].endswith(suffixes):
            continue
        if end - start > 1:
            add(start, end, "suffix", tag)
        first = i
        while (
            first > 0
            and i - first < 3
            and words[first - 1][2] in _NOUNISH
            and PLAIN_RE.sub("", text[words[first - 1][0] : words[first - 1][1]])
            == text[words[first - 1][0] : words[first - 1][1]]
        ):
            first -= 1
            if end - words[first][0] <= 15:
                add(words[first][0], end, "suffix", tag)
    run_start: int | None = None
    for i, (start, end, tag) in enumerate([*words, (len(text), len(text), "x")]):
        nounish = tag in _NOUNISH and tag != "x" and bool(PLAIN_RE.sub("", text[start:end]))
        if nounish and run_start is None:
            run_start = start
        elif not nounish and run_start is not None:
            if words[i - 1][1] - run_start <= 15:
                add(run_start, words[i - 1][1], "chunk", words[i - 1][2])
            run_start = None
    return [(s, e, frozenset(src), tags[(s, e)]) for (s, e), src in found.items()]


@lru_cache(maxsize=64)
def _words(text: str) -> tuple[tuple[int, int, str], ...]:
    """jieba's words of a flat sentence: (start, end, tag)."""
    out = []
    at = 0
    for word, tag in pos_cut(text):
        out.append((at, at + len(word), tag))
        at += len(word)
    return tuple(out)


def wording(kind: Kind, text: str, start: int, end: int) -> tuple[float, ...]:
    """How jieba reads a name candidate: the share of its characters in words tagged as names (of any kind, of the
    kind asked), the log frequencies of its words in jieba's dictionary (highest, lowest, of the whole span), how
    many words it has, and whether it starts and ends on word boundaries."""
    if kind not in _NAME_TAGS:
        return (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    wanted = _NAME_TAGS[kind]
    inside = [(s, e, t) for s, e, t in _words(text) if s < end and start < e]
    named = sum(min(e, end) - max(s, start) for s, e, t in inside if t in _OTHER_NAME_TAGS or t in wanted)
    own = sum(min(e, end) - max(s, start) for s, e, t in inside if t in wanted)
    freq: dict[str, int] = jieba.dt.FREQ  # filled when jieba first cuts (by _words above)
    freqs = [math.log1p(freq.get(text[s:e], 0)) for s, e, _ in inside] or [0.0]
    bounds = {s for s, _, _ in inside} | {e for _, e, _ in inside}
    return (
        named / (end - start),
        own / (end - start),
        max(freqs),
        min(freqs),
        math.log1p(freq.get(text[start:end], 0)),
        float(len(inside)),
        float(start in bounds) + float(end in bounds),
    )


def _joined(text: str, start: int, end: int, words: Sequence[tuple[int, int, str]]) -> tuple[int, int]:
    """A name widened over the middle dots of a transliterated full name (伊夫林·比阿特丽斯·霍尔), up to the word after
    it (乔治·卢卡斯 of 乔治·卢卡斯捐赠了)."""
    while end + 1 < len(text) and text[end] in "·・•" and CJK_RE.match(text, end + 1):
        end = _name_part_end(text, end + 1, CJK_RE.match(text, end + 1).end(), words)  # type: ignore[union-attr]
    while start > 1 and text[start - 1] in "·・•" and text[start - 2].isalpha():
        start -= 1
        while start > 0 and CJK_RE.match(text[start - 1]):
            start -= 1
        while text[start] in LEADING and start < end - 1:
            start += 1
    return start, end


def _name_part_end(text: str, at: int, run_end: int, words: Sequence[tuple[int, int, str]]) -> int:
    """Where the part of a transliterated name after a middle dot ends: over the words jieba tags as names
    and lone characters before them (莫 of 吉奥·莫罗德尔), before the first other word (谱曲, 认为, 捐赠); the whole
    run of Chinese characters when jieba's words do not line up with it."""
    ends = {s: (e, tag) for s, e, tag in words}
    end = at
    while end < run_end and end in ends:
        word_end, tag = ends[end]
        # A lone character counts when a name word follows it (莫 of 莫罗德尔, not 则 of 皮尔斯则获得).
        after = ends.get(word_end)
        lone = word_end - end == 1 and after is not None and after[1] in _OTHER_NAME_TAGS and word_end < run_end
        if not (tag in _OTHER_NAME_TAGS or lone):
            break
        end = min(word_end, run_end)
    return end if end > at else run_end


def suffix_before(left: str, text: str, start: int) -> int:
    """How many of left's last characters stand in text ending at most _WINDOW characters before start."""
    n = 0
    while n < min(len(left), CAP) and left[len(left) - n - 1 :] in text[max(0, start - n - 1 - _WINDOW) : start]:
        n += 1
    return n


def prefix_after(right: str, text: str, end: int) -> int:
    """How many of right's first characters stand in text starting at most _WINDOW characters after end."""
    n = 0
    while n < min(len(right), CAP) and right[: n + 1] in text[end : end + n + 1 + _WINDOW]:
        n += 1
    return n


def pairs(text: str) -> set[str]:
    """The character pairs of a text, punctuation and blanks left out."""
    plain = PLAIN_RE.sub("", text)
    return {plain[i : i + 2] for i in range(len(plain) - 1)}


def gap_between(left: str, right: str, text: str) -> tuple[int, int] | None:
    """The span between the question's words before its question word and those after it, as the sentence writes
    them (to the clause's end when nothing follows the question word); None when they are not both found."""
    lft = 0
    while lft < len(left) and left[len(left) - lft - 1 :] in text:
        lft += 1
    if lft < 2:
        return None
    start = text.find(left[len(left) - lft :]) + lft
    while start < len(text) and text[start] in LEADING:
        start += 1
    rgt = 0
    while rgt < len(right) and right[: rgt + 1] in text[start + 1 :]:
        rgt += 1
    if rgt >= 2:
        end = text.find(right[:rgt], start + 1)
    else:
        stop = CLAUSE_END_RE.search(text, start)
        end = stop.start() if stop else len(text)
    if not 0 < end - start <= 16 or CLAUSE_END_RE.search(text[start:end]):
        return None
    return start, end


def _trimmed(question: Question, kind: Kind, text: str, start: int, end: int) -> tuple[int, int]:
    """A date cut back to its year or month when the question asks for one (and not for a day as well: `幾月幾日`, whose
    gold answers are day and month, 3月16日, for all 3 such DRCD and CMRC 2018 questions), or to before a date the
    question names."""
    if kind != "date":
        return start, end
    for given in question.expectation.given:
        at = text.find(given, start, end)
        if at > start:
            end = at
            dangling = _DANGLING_RE.search(text, start, end)
            end = dangling.start() if dangling and dangling.start() > start else end
    if question.expectation.year and not question.expectation.finer:  # not `哪一年的哪個月`
        m = _YEAR_RE.match(text, start, end)
        if m:
            end = m.end()
    elif _ASKS_MONTH_RE.search(question.folded) and not question.expectation.day:
        m = _MONTH_RE.match(text, start, end)
        if m:
            end = m.end()
    return start, end


def _unpadded(text: str, start: int, end: int) -> tuple[int, int]:
    """A span less the blanks at its ends (a number's pattern takes the space before a measure word: `24 ` of
    `24 satellites`)."""
    while end > start and text[end - 1].isspace():
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return start, end


# How many years (多少年, 幾年) is a count of years unless an era names it a year (西元幾年, 民國幾年): of the 42 such
# questions of DRCD and CMRC 2018 (all of them, train and test), the 10 without an era are answered 四年, 149年,
# 三十年, 八百餘年, never a year of the calendar; the 32 with one, a year of it.
_ERA_RE = re.compile(r"西元|公元|民国|纪元|元年|年号")
_CALENDAR_YEAR_RE = re.compile(r"(?:公元|西元)?(?:1\d|20)\d{2}年")


def _counts_years(question: Question, kind: Kind) -> bool:
    unit = question.expectation.unit or ""
    return kind == "unit" and "年" in unit.split("|") and not _ERA_RE.search(question.folded)


# A question that asks how long (a length of time, Expectation.duration, or of anything: 多长, how long is): a day or a
# year of the calendar (2025年, 8月15日) is not its answer. Of the 23 such questions of DRCD and CMRC 2018 that ask
# how long something lasted (all of them), none is answered with one (四年, 42.5小时, 三个月).
_ASKS_HOW_LONG_RE = re.compile(r"多长|\bhow long\b")
# A question that asks for a day, a month or a year: a time of the day (20点, 8时) is not its answer.
_ASKS_CALENDAR_RE = re.compile(
    r"哪一?[天日年]|何[日年]|几[号日月]|哪一?个?月|\b(?:what|which) (?:day|date|year|month)\b"
)
_TIME_OF_DAY_RE = re.compile(r"\d{1,2}[时点](?:\d{1,2}分)?")
# A question that asks which year (Expectation.year) is answered with a year: of the 314 such questions of DRCD and CMRC
# 2018 (all of them, train and test), the gold answer writes one (年, or the digits of one) for 313; a month or a day
# alone (十一月 for `田中角榮在哪一年宣布辭職`) is not its answer.
_HOLDS_YEAR_RE = re.compile(r"年|\d{3,4}")
_CALENDAR_DAY_RE = re.compile(r"(?:(?:1\d|20)\d{2}年)?\d{1,2}月\d{1,2}[日号]?")
_CN_DIGIT_RE = re.compile(r"[零〇一二两三四五六七八九十百千万亿]")


def _ruled_out(question: Question, kind: Kind, text: str, start: int, end: int) -> bool:
    """A span of the kind that cannot answer the question: a year of the calendar for a count of years, a day or year
    of the calendar for how long, a time of the day for which day or year, a date without a year for which year, a
    date without a day for which day, a lone Chinese numeral inside a word that is not a number (两 of 两用导弹, 一 of
    统一: jieba does not tag the word `m`)."""
    if _counts_years(question, kind) and _CALENDAR_YEAR_RE.fullmatch(text, start, end):
        return True
    folded = question.folded
    if (question.expectation.duration or _ASKS_HOW_LONG_RE.search(folded)) and (
        _CALENDAR_YEAR_RE.fullmatch(text, start, end) or _CALENDAR_DAY_RE.fullmatch(text, start, end)
    ):
        return True
    if kind == "date" and _TIME_OF_DAY_RE.fullmatch(text, start, end) and _ASKS_CALENDAR_RE.search(folded):
        return True
    if kind == "date" and question.expectation.year and not _HOLDS_YEAR_RE.search(text, start, end):
        return True
    if kind == "date" and question.expectation.day and not holds_a_day(text[start:end]):  # 2025年 for 9月几号
        return True
    if end - start == 1 and _CN_DIGIT_RE.fullmatch(text, start, end):
        at = 0
        for word, tag in pos_cut(text):
            if at <= start < at + len(word):
                return len(word) > 1 and tag != "m"
            at += len(word)
    return False


def cited_spans(question: Question, kind: Kind, text: str, gap: tuple[int, int] | None) -> list[Span]:
    """The candidate spans of a flat cited sentence (a date cut back as the question asks; none that cannot answer
    it, _ruled_out), with the span between the question's words as one more for a name."""
    spans = [
        (*_unpadded(text, *_trimmed(question, kind, text, s, e)), src, tag)
        for s, e, src, tag in _spans(kind, text, question.expectation.unit)
        if not _ruled_out(question, kind, text, s, e)
    ]
    if gap and kind in _NAME_TAGS:
        at = next((i for i, (s, e, _, _) in enumerate(spans) if (s, e) == gap), None)
        if at is None:
            spans.append((*gap, frozenset({"gap"}), "g"))
        else:
            s, e, src, tag = spans[at]
            spans[at] = (s, e, src | {"gap"}, tag)
    return spans

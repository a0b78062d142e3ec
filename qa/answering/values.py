"""Values as a text writes them: dates (also reign years, eras, seasons, times of day), numbers with their measure
words, percentages, amounts of money and ordinals, in Simplified, lower-cased text (qa.text.folding). Short answers
are cut from these (qa/answering/spans.py), and a question that asks for a value of a kind reads whether a sentence
holds one (qa/answering/question.py)."""

from __future__ import annotations

import re

from qa.text.lexicon import MONTHS

CN = "零〇一二两三四五六七八九十百千万亿"
NUM = rf"(?:\d+(?:[,.]\d+)*|[{CN}]+)"
BIG = rf"{NUM}(?:\s*[万亿千百]+)?(?:多|余)?"
# Measure words that count things (艘, 座, 个), not units of a quantity (年, 米, 元) nor people (人).
COUNTERS = "个座间部名位次只条种件所家架辆艘本篇首台场届枚颗株层栋支队项"
MEASURE = (
    f"(?:[{COUNTERS}人年岁倍米吨元]"
    "|平方公里|平方千米|平方米|平方英里|立方米|公里|公尺|公顷|公斤|公分|千米|厘米|毫米|英尺|英里|千克|公升|毫升|小时"
    "|分钟|人次|[秒天周户票席克磅度升亩吋呎码]"
    # ... and the metric and computing units written in Latin letters (182cm, 4.7 ghz, 128kb), as a whole word
    "|(?:cm|mm|km|kg|mg|ml|kb|mb|gb|tb|ghz|mhz|hz|kw|mw|m|g|w|v)(?![a-z]))"
)
_CN_YEAR = "[〇零一二三四五六七八九]{2,4}年"
_DATE = (
    rf"(?:公元前?|前)?(?:\d{{1,4}}年|{_CN_YEAR})代?(?:\d{{1,2}}月(?:\d{{1,2}}[日号])?)?|"
    r"\d{1,2}月\d{1,2}[日号]?|\d{1,2}月份?|\d{1,2}[日号]|"
    r"(?:公元前?)?(?:\d{1,2}|[一二三四五六七八九十]{1,3})世纪(?:\d{1,2}年代)?(?:[初中末]期?|[上下]半叶)?|"
    r"[二三四五六七八九]十年代|"
    r"[一二三四五六七八九十]{1,3}月(?:[一二三四五六七八九十]{1,3}[日号])?|(?<![\d.])(?:1\d|20)\d{2}(?![\d.])"
)
# A range of dates or numbers (1861至1865年) is one answer.
_RANGE = r"(?:\s*(?:至|到|-|–|~|～)\s*(?:{}))?"
DATE_RE = re.compile(f"(?:{_DATE}){_RANGE.format(_DATE)}")
# Other ways to write a value of a kind: reign years (康熙七年), eras (战国时期), seasons and feasts, times of day;
# compound measures (3分33秒62, 2米11).
EXTRA: dict[str, re.Pattern[str]] = {
    "date": re.compile(
        r"[\u4e00-\u9fff]{2}(?:元|[一二三四五六七八九十]{1,3})年(?:[正一二三四五六七八九十]{1,2}月)?(?:[初一二三四五六七八九十]{1,3}日?)?"
        r"|[\u4e00-\u9fff]{1,3}(?:时期|时代|年间|末年|初年|朝|纪)|[春夏秋冬]季|[春夏秋冬]天|农历[正一二三四五六七八九十]{1,2}月[初一二三四五六七八九十]{0,3}"
        r"|[\u4e00-\u9fff]{2}节|\d{1,2}[时点](?:\d{1,2}分)?|[上下]午|中午|清晨|凌晨|傍晚|晚上|夜间"
    ),
    "number": re.compile(r"\d+(?:\.\d+)?[^\W\d_]{1,2}\d+(?:[^\W\d_]\d+)*"),
}
EXTRA["unit"] = EXTRA["number"]
NUMBER_RE = re.compile(rf"{BIG}\s*{MEASURE}?" + _RANGE.format(rf"{BIG}\s*{MEASURE}?"))
PERCENT_RE = re.compile(rf"{NUM}\s*%|百分之{NUM}|[{CN}]+成|[{CN}]+分之[{CN}]+(?:至[{CN}]+分之[{CN}]+)?|{NUM}‰")
MONEY_RE = re.compile(
    rf"{BIG}\s*(?:美元|欧元|英镑|日元|日圆|卢布|人民币|港元|港币|新台币|台币|元|块|美金)|[$€£¥]\s*{BIG}"
)
ORDINAL_RE = re.compile(rf"第{NUM}[\u4e00-\u9fff]?|首[届位次个]")
# A count: digits, or a Chinese numeral before a measure word (两场, 三年; not the 一 of 统一 or 一定).
_COUNTED = "个個条條次场場架枚年月日天人名位家国國轮輪项項倍成岁歲周週"
COUNT_RE = re.compile(rf"\d[\d,.]*|[{CN}兩萬億]+(?=[{_COUNTED}])")
# Whether a text holds a date at all, as DATE_RE or EXTRA["date"] would find one, without finding where it begins
# and ends: the same answer for each of the 13,050 sentences of DRCD and CMRC 2018, in ~6 us a sentence against ~10
# (a date question reads it for each of its ~40 candidates).
_DATE_HELD_RE = re.compile(
    r"\d年|\d月|\d[日号]|\d世纪|[二三四五六七八九]十年代|(?<![\d.])(?:1\d|20)\d{2}(?![\d.])|[〇零一二三四五六七八九]{2}年|[一二三四五六七八九十]月"
    r"|[\u4e00-\u9fff]{2}(?:元|[一二三四五六七八九十])年|[\u4e00-\u9fff](?:时期|时代|年间|末年|初年|朝|纪)|[春夏秋冬][季天]"
    r"|农历[正一二三四五六七八九十]|[\u4e00-\u9fff]{2}节|\d[时点]|[上下]午|中午|清晨|凌晨|傍晚|晚上|夜间"
)
_KINDS = {"date": _DATE_HELD_RE, "percent": PERCENT_RE, "money": MONEY_RE, "ordinal": ORDINAL_RE, "number": COUNT_RE}


# A number in Chinese numerals that is one: two numerals or more (三十, 两千), or one before a measure word or unit
# (三名, 五元). A lone numeral inside a word (统一, 一些, 唯一, 万一) writes none.
_CN_NUMBER_RE = re.compile(rf"[{CN}]{{2,}}|[{CN}]\s*{MEASURE}")


# A quantity in Chinese numerals that COUNT_RE does not take: before a unit (六百二十公里, 三小时) or a percentage
# (百分之十八).
_CN_QUANTITY_RE = re.compile(rf"[{CN}兩萬億]+\s*{MEASURE}|百分之[{CN}]+")


# A length of time (三年, 三个多小时, 90分钟, 半年, 数月), not a day or a year of the calendar (2025年, 十月, 30日).
_DURATION_RE = re.compile(
    r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万几数]+)\s*(?:多|余)?\s*(?:个\s*)?(?:多\s*)?"
    r"(?:小时|钟头|分钟|秒钟?|星期|礼拜|周|天|昼夜|年|月)|数月|半个?(?:年|天|月|小时|钟头)"
)
_CALENDAR_RE = re.compile(r"(?:1\d|20)\d{2}\s*年|\d+\s*月|[一二三四五六七八九十]+月")


def without_durations(text: str) -> str:
    """A folded text with its lengths of time blanked (持續三年, 90分钟; not 2025年 or 十月, days of the calendar): a
    count asked of something else (How many dock workers joined the strike) is not one of days. Of the 101 DRCD and
    CMRC 2018 questions (all of them) that ask for a count and not for a length of time, the sentence that holds the
    gold answer writes a count for 100, and still does, so read, for all 100."""
    return _DURATION_RE.sub(lambda m: m.group() if _of_the_calendar(m) else " ", text)


def holds_a_duration(text: str) -> bool:
    """True when a folded text holds a length of time: a number of hours, days, weeks, months (with 个: 三个月; 三月
    is March) or years (not one of the calendar: 2025年)."""
    return any(not _of_the_calendar(m) for m in _DURATION_RE.finditer(text))


def _of_the_calendar(match: re.Match[str]) -> bool:
    """Whether what _DURATION_RE found is a year or a month of the calendar (2025年, 十月), not a length of time."""
    return _CALENDAR_RE.fullmatch(match.group()) is not None


_CALENDAR_WORD_RE = re.compile(r"[年月日号]|世纪")


def without_calendar_dates(text: str) -> str:
    """A folded text with its days, months and years of the calendar blanked (2024年8月, 10月30日; not a bare 1694,
    which may be a count): what is left is what could count something. Of the DRCD and CMRC 2018 questions (all of
    them) that ask for a count, or for an amount of a unit or of money, and whose gold answer's sentence writes a
    number, that sentence still writes one without its dates for 99 of 99 and 142 of 162: the other 20 ask for a
    unit of the calendar (西元幾年, 幾世紀, 多少日; see in_calendar_units)."""
    return DATE_RE.sub(lambda m: " " if _CALENDAR_WORD_RE.search(m.group()) else m.group(), text)


def without_counts_of(text: str, question: str) -> str:
    """A folded text with the counts that the (folded) question writes too blanked, each read with the character after
    it (the 二 of 第二次 in `在第二次罷工中提出了幾個要求`, 两场 in `那两场战争里一共有几个国家参战`): a question's own
    number is no answer to its 多少 or 幾. Of the 121 DRCD and CMRC 2018 questions (all of them) that ask for a count,
    the sentence that holds the gold answer writes one for 119, and still does, so read, for all 119."""

    def blank(m: re.Match[str]) -> str:
        return " " if text[m.start() : m.end() + 1] in question else m.group()

    text = COUNT_RE.sub(blank, text)
    return _CN_QUANTITY_RE.sub(lambda m: " " if m.group() in question else m.group(), text)


# A number with a unit of a kind of measure: a length (海拔, 体长, how far), an area, a weight, a speed (a processor's
# too: GHz) or a temperature. A number before one of these units, in any numerals.
_MEASURED = rf"(?:\d[\d,.]*|[{CN}]+)\s*(?:多|余|几)?\s*"
_MEASURE_UNITS = {
    "length": r"米|公尺|公分|公里|厘米|毫米|千米|英尺|英里|英寸|吋|呎|码|尺|丈|里|海里|光年|天文单位|秒差距"
    r"|(?:cm|mm|km|m|ft|au|miles?|feet|foot|meters?|metres?|kilometers?|kilometres?)\b",
    "area": r"平方|公顷|亩|英亩|甲|坪|(?:km²|m²|km2|m2|hectares?|acres?|square)",
    "weight": r"克|公斤|千克|吨|磅|斤|两|(?:kg|g|t|tons?|tonnes?|pounds?)\b",
    "speed": r"公里|千米|英里|米|节|马赫|海里|赫兹|(?:km|mph|knots?|mach|ghz|mhz|hz)\b",
    "temperature": r"度|°|℃|℉",
}
_MEASURE_RES = {kind: re.compile(f"{_MEASURED}(?:{units})") for kind, units in _MEASURE_UNITS.items()}


def holds_a_measure(text: str, kind: str) -> bool:
    """True when a folded text writes a number with a unit of the kind of measure (a key of _MEASURE_UNITS: `950公尺`
    for a length, `时速` or `4.7 ghz` for a speed)."""
    if kind == "speed" and ("时速" in text or "每小时" in text):
        return True
    return _MEASURE_RES[kind].search(text) is not None


def in_calendar_units(unit: str | None) -> bool:
    """Whether a unit asked for (question.Expectation.unit, `年的|年`) is one of the calendar's: a date answers it."""
    return unit is not None and _CALENDAR_WORD_RE.search(unit) is not None


# English months, and the days of the calendar written as words: 初五, a feast, a weekday, 昨日, 当天.
_EN_MONTH = "|".join(MONTHS)
_DAY_WORDS = r"初[一二三四五六七八九十]|节|(?:星期|礼拜|周)[一二三四五六日天]|[今昨明前后当同翌次隔][天日]"
# A month or a day of the calendar (10月, 十月, 30日, a season, _DAY_WORDS), or an English month.
_MONTH_OR_DAY_RE = re.compile(
    rf"\d{{1,2}}\s*月|[一二三四五六七八九十正腊冬]{{1,3}}月|\d{{1,2}}\s*[日号]|[春夏秋冬]|{_DAY_WORDS}|\b(?:{_EN_MONTH})\b"
)


def holds_a_month_or_day(text: str) -> bool:
    """True when a folded text writes a month or a day, not only a year: of the 13 DRCD and CMRC 2018 questions (all
    of them) that ask for a month or a day (几月, 哪一天), the sentence that holds the gold answer writes one for 13."""
    return _MONTH_OR_DAY_RE.search(text) is not None


# A year of the calendar (1954年, 前221年, 公元1054年, or the digits of one: 1954).
_YEAR_RE = re.compile(r"\d{1,4}\s*年|(?<!\d)(?:1\d|20)\d{2}(?!\d)")


def holds_a_year(text: str) -> bool:
    """True when a folded text writes a year in digits, not only a month or a day (`9月3日`) or one it points back
    to (`同年`)."""
    return _YEAR_RE.search(text) is not None


# A day of the calendar (30日, 三十号, 廿一 of 十月廿一, _DAY_WORDS, October 30).
_DAY_RE = re.compile(
    rf"\d{{1,2}}\s*[日号]|[一二三四五六七八九十]{{1,3}}[日号]|[廿卅][一二三四五六七八九]?|{_DAY_WORDS}|"
    rf"\b(?:{_EN_MONTH})\s+\d{{1,2}}\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_EN_MONTH})\b|"
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
)


def holds_a_day(text: str) -> bool:
    """True when a folded text writes a day, not only a month or a year (`2025年9月` does not)."""
    return _DAY_RE.search(text) is not None


# A number written in English words (an English article's `four percent`, `two dozen`).
_EN_NUMBER_RE = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|"
    r"millions?|billions?|trillions?|dozens?|half|twice|double|triple)\b"
)


def holds_a_quantity(text: str) -> bool:
    """True when a folded text holds a count (COUNT_RE) or a quantity written in Chinese numerals with its unit, or
    in English words."""
    return holds("number", text) or _CN_QUANTITY_RE.search(text) is not None or _EN_NUMBER_RE.search(text) is not None


def names_a_number(text: str) -> bool:
    """True when a folded text writes a number at all, in digits, Chinese numerals or English words (a date's too)."""
    found = re.search(r"\d", text) or _CN_NUMBER_RE.search(text) or _EN_NUMBER_RE.search(text)
    return found is not None


def holds(kind: str, text: str, unit: str | None = None) -> bool:
    """True when a folded text holds a value of the kind (a date, a percentage, an amount of money, an ordinal, a
    count; for `unit`, a number followed by one of the unit's readings, `公里|公`), written any way above. Read so,
    a sentence that holds the gold answer of a DRCD or CMRC 2018 training question of the kind was taken for one that
    holds none for 9 of 292 date questions, 2 of 18 ordinal ones and 4 of 19 percentages, against 47, 11 and 10 with
    the digits-only patterns used before."""
    if kind == "unit":
        return not unit or re.search(rf"{BIG}\s*(?:{unit})", text) is not None
    pattern = _KINDS.get(kind)
    if pattern is None:
        return True
    return any(m.group().strip() for m in pattern.finditer(text))


# A year written in a text, and a month (7月, 七月).
_YEAR_OR_MONTH_RE = re.compile(
    r"(?<!\d)(\d{4})\s*年|(?<!\d)(\d{1,2})\s*月|(?<![一二三四五六七八九十])(十?[一二]|[一二三四五六七八九十])月"
)
_CN_MONTHS = {c: str(k) for k, c in enumerate("一二三四五六七八九十", start=1)} | {"十一": "11", "十二": "12"}


def names_month_of_year(text: str, year: str, month: str) -> bool:
    """Whether a (folded) text names the month (7月, 七月) with the year as the last one named before it
    (`1992年5月27日，…。同年7月，…`)."""
    last = None
    for m in _YEAR_OR_MONTH_RE.finditer(text):
        if m.group(1):
            last = m.group(1)
        elif last == year and (m.group(2) or _CN_MONTHS[m.group(3)]).lstrip("0") == month.lstrip("0"):
            return True
    return False

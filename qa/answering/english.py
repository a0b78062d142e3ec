"""A short answer's value said in English, for an English question about a Chinese article: dates (2025年10月30日:
October 30, 2025), numbers and ranges (100至150架: 100 to 150; 4億: 400 million; 近50%: nearly 50%) and names the
article itself gives in English in brackets (貝森特（Scott Bessent）: Scott Bessent). None when it cannot say it
plainly; the quoted sentence stays the answer either way.

And the names a quoted sentence holds that the article gives in English elsewhere (it writes 美國財長貝森特（Scott
Bessent） once, then 貝森特 alone): an English reader of a Chinese quote learns whom it names."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from qa.text.folding import as_written, fold
from qa.text.language import CJK
from qa.text.transliteration import chinese_skeleton, english_skeleton, similarity
from qa.types import Citation, ShortAnswer

MONTHS = "January February March April May June July August September October November December".split()
_DATE_RE = re.compile(
    r"(?:(?P<y>\d{4})年)?(?:(?P<m>\d{1,2})月(?:(?P<d>\d{1,2})[日號号])?)?"
    r"(?:(?:至|到|-|–|~|～)(?:(?P<m2>\d{1,2})月)?(?P<d2>\d{1,2})[日號号])?"
)
_NUMBER_RE = re.compile(
    r"(?P<about>近|約|约|大約|大约|超過|超过|逾|至少|多達|多达)?(?P<a>\d[\d,]*(?:\.\d+)?)(?P<unit_a>[萬万億亿])?"
    r"(?:(?:至|到|-|–|~|～)(?P<b>\d[\d,]*(?:\.\d+)?)(?P<unit_b>[萬万億亿])?)?(?P<pct>%|％)?"
    r"(?P<rest>[\u4e00-\u9fff]{0,2})"
)
_ABOUT = {
    "近": "nearly",
    "約": "about",
    "约": "about",
    "大約": "about",
    "大约": "about",
    "超過": "more than",
    "超过": "more than",
    "逾": "more than",
    "至少": "at least",
    "多達": "as many as",
    "多达": "as many as",
}
_SCALE = {"萬": 10_000, "万": 10_000, "億": 100_000_000, "亿": 100_000_000}
_MONEY = {"元": "yuan", "美元": "US dollars", "歐元": "euros", "欧元": "euros", "英鎊": "pounds", "英镑": "pounds"}
# A name and the English the article gives it in brackets right after it.
_BRACKETED_RE = re.compile(r"\s*[（(]([A-Za-z][A-Za-z .'’-]{1,60}?)(?:[，,;；][^）)]*)?[）)]")


def in_english(short: ShortAnswer, cited: Citation) -> str | None:
    """The short answer's value in English, or None."""
    text = short.text.strip()
    if not text:
        return None
    if (date := _date(text)) is not None:
        return date
    if (number := _number(text)) is not None:
        return number
    if (length := _length(text)) is not None:
        return length
    return _bracketed(short, cited)


_SMALL = {c: n for n, c in enumerate("零一二三四五六七八九十")} | {"兩": 2, "两": 2}
_LENGTH_RE = re.compile(
    r"(?P<about>近|約|约|超過|超过|逾)?(?P<n>[一二兩两三四五六七八九十]|十[一二三四五六七八九])"
    r"(?P<unit>年|個月|个月|週|周|天|日|小時|小时)"
)
_LENGTH_UNITS = {"年": "year", "個月": "month", "个月": "month", "週": "week", "周": "week", "天": "day", "日": "day"}


def _length(text: str) -> str | None:
    """A length of time in small Chinese numerals (三年: three years)."""
    m = _LENGTH_RE.fullmatch(text)
    if m is None:
        return None
    n = sum(_SMALL[c] if c != "十" else 10 for c in m["n"]) if len(m["n"]) > 1 else _SMALL[m["n"]]
    unit = _LENGTH_UNITS.get(m["unit"], "hour")
    said = f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{_ABOUT[m['about']]} {said}" if m["about"] else said


def _date(text: str) -> str | None:
    m = _DATE_RE.fullmatch(text)
    if m is None or not (m["y"] or m["m"]):
        return None
    year, month, day = m["y"], m["m"], m["d"]
    if month and not 1 <= int(month) <= 12:
        return None
    if not month:
        return year
    name = MONTHS[int(month) - 1]
    if not day:
        return f"{name} {year}" if year else name
    said = f"{name} {int(day)}"
    if m["d2"]:
        month2 = int(m["m2"] or 0)
        second = f"{MONTHS[month2 - 1]} {int(m['d2'])}" if 1 <= month2 <= 12 else str(int(m["d2"]))
        said = f"{said} to {second}"
    return f"{said}, {year}" if year else said


def _number(text: str) -> str | None:
    m = _NUMBER_RE.fullmatch(text)
    if m is None:
        return None
    said = _amount(m["a"], m["unit_a"] or m["unit_b"])
    if m["b"]:
        said = f"{said} to {_amount(m['b'], m['unit_b'])}"
    if m["pct"]:
        said += "%"
    if m["about"]:
        said = f"{_ABOUT[m['about']]} {said}"
    money = _MONEY.get(m["rest"])
    return f"{said} {money}" if money else said


def _amount(digits: str, unit: str | None) -> str:
    if not unit:
        return digits
    value = float(digits.replace(",", "")) * _SCALE[unit]
    for size, word in ((1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand")):
        if value >= size:
            return f"{value / size:g} {word}"
    return f"{value:g}"


def _bracketed(short: ShortAnswer, cited: Citation) -> str | None:
    if not (cited.doc == short.doc and cited.start <= short.start and short.end <= cited.end):
        return None
    after = cited.quote[short.end - cited.start :]
    m = _BRACKETED_RE.match(after)
    return m.group(1).strip() if m else None


# A run of Chinese, then in brackets the English the article gives it (貝森特（Scott Bessent）,
# 特朗普（Donald Trump，又譯川普）).
_GIVEN_RE = re.compile(f"([{CJK}]+)\\s*[（(]([A-Za-z][A-Za-z .'’-]{{1,60}}?)(?:[，,;；][^）)]*)?[）)]")
# The end of the run that sounds most like the English is its name, when it sounds like it at least this much
# (transliteration.similarity: 美國財長貝森特 ~ Bessent: 贝森特 0.96; 英國首相斯塔默 ~ Starmer: 斯塔默 0.66);
# a translated name (歐盟, European Union) sounds like nothing and is left out. Two characters sound like a word by
# chance more easily (歐盟 ~ Union 0.67): they must sound like it more (呂特 ~ Rutte 0.93).
NAME_LIKENESS = 0.6
SHORT_NAME_LIKENESS = 0.8
# Most names glossed in one answer.
MOST_NAMES = 5


@lru_cache(maxsize=256)
def given_in_english(text: str) -> tuple[tuple[str, str], ...]:
    """The names a text gives in English in brackets: (the name, folded; its English), in the text's order."""
    out: dict[str, str] = {}
    for m in _GIVEN_RE.finditer(text):
        run, english = fold(m.group(1)), m.group(2).strip()
        heard = [english_skeleton(english), english_skeleton(english.split()[-1])]
        ends = [run[-k:] for k in range(2, min(len(run), 8) + 1)]
        scored = [(max(similarity(h, chinese_skeleton(end)) for h in heard), len(end), end) for end in ends]
        if scored and (best := max(scored))[0] >= (SHORT_NAME_LIKENESS if best[1] == 2 else NAME_LIKENESS):
            out.setdefault(best[2], english)
    return tuple(out.items())


def names_in_english(citations: Sequence[Citation], texts: Mapping[str, str]) -> list[tuple[str, str]]:
    """(a name as a quote writes it, its English) for the names the quotes hold that their article gives in English
    in brackets, where the quote does not give it itself; at most MOST_NAMES."""
    out: dict[str, tuple[str, str]] = {}
    for c in citations:
        folded = fold(c.quote)
        for name, english in given_in_english(texts.get(c.doc, "")):
            if name in folded and english.lower() not in c.quote.lower() and english not in out:
                out[english] = (as_written(name, c.quote), english)
    return list(out.values())[:MOST_NAMES]

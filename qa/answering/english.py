"""A short answer's value said in English, for an English question about a Chinese article: dates (2025年10月30日:
October 30, 2025), numbers and ranges (100至150架: 100 to 150; 4億: 400 million; 近50%: nearly 50%) and names the
article itself gives in English in brackets (貝森特（Scott Bessent）: Scott Bessent). None when it cannot say it
plainly; the quoted sentence stays the answer either way."""

from __future__ import annotations

import re

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

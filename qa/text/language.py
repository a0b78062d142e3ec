"""Which language and script a text is in; the one definition of a CJK character."""

from __future__ import annotations

import re
from typing import Literal

from qa.text.folding import to_simplified, to_traditional

Lang = Literal["en", "zh-Hans", "zh-Hant"]
# CJK unified ideographs, extension A and compatibility ideographs: a character class body for regexes.
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RE = re.compile(f"[{CJK}]")
_LATIN_RE = re.compile(r"[A-Za-z]")


def detect_lang(text: str) -> Lang:
    """Guess whether a question is English, Simplified or Traditional Chinese."""
    cjk = len(CJK_RE.findall(text))
    latin = len(_LATIN_RE.findall(text))
    if cjk == 0 or latin > 3 * cjk:
        return "en"
    simplified = to_simplified(text)
    traditional = to_traditional(text)
    if simplified != text and traditional == text:
        return "zh-Hant"
    if traditional != text and simplified == text:
        return "zh-Hans"
    if text not in (simplified, traditional):
        # Mixed: count which way more characters change.
        diff_t = sum(a != b for a, b in zip(text, simplified, strict=False))
        diff_s = sum(a != b for a, b in zip(text, traditional, strict=False))
        return "zh-Hant" if diff_t >= diff_s else "zh-Hans"
    return "zh-Hant"

"""Composing the answer text from citations, in the question's language and script; the abstention sentence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from qa.answering.english import in_english
from qa.text.folding import to_simplified
from qa.text.language import CJK_RE, Lang
from qa.types import Citation, Sentence, ShortAnswer

ABSTAIN_TEXT: dict[str, str] = {
    "zh-Hant": "文章沒有提到這一點。",
    "zh-Hans": "文章没有提到这一点。",
    "en": "The article does not say.",
}


LEAD_IN: dict[str, str] = {
    "zh-Hant": "根據文章：",
    "zh-Hans": "根据文章：",
    "en": "According to the article: ",
}
# An English answer quotes the article as written: it says so when that is in Chinese.
EN_LEAD_IN_QUOTING = {
    "Chinese": "According to the article (quoted in the original Chinese): ",
    "mixed": "According to the article (quoted in the original): ",
}


def citations_for(sentences: Sequence[Sentence]) -> tuple[Citation, ...]:
    """Number sentences as citations [1], [2], ... with their exact quotes and offsets."""
    return tuple(
        Citation(n=i, doc=s.doc, chunk_id=s.chunk_id, quote=s.text, start=s.start, end=s.end)
        for i, s in enumerate(sentences, start=1)
    )


def joined(citations: Sequence[Citation], texts: Mapping[str, str]) -> tuple[Citation, ...]:
    """The citations renumbered, each run of sentences that follow one another on a line of one passage (nothing but
    spaces between them) quoted as one excerpt: the reader gets `再來是俄烏戰爭。這場衝突爭起於…` once, not as two
    quotes with two markers. The words quoted are the same. `texts`: each cited document's text."""
    runs: list[Citation] = []
    for c in citations:
        last = runs[-1] if runs else None
        text = texts.get(c.doc)
        if (
            last is not None
            and text is not None
            and (last.doc, last.chunk_id) == (c.doc, c.chunk_id)
            and last.end <= c.start
            and not text[last.end : c.start].strip(" \t\u3000")
        ):
            runs[-1] = replace(last, quote=text[last.start : c.end], end=c.end)
        else:
            runs.append(c)
    return tuple(replace(c, n=i) for i, c in enumerate(runs, start=1))


def compose(
    lang: Lang,
    citations: Sequence[Citation],
    short: ShortAnswer | None = None,
    names: Sequence[tuple[str, str]] = (),
) -> str:
    """The answer text: a lead-in, then each quoted sentence followed by its marker. An English question about a
    Chinese article also gets its short answer said in English first, when it can be, and after the quotes the names
    they hold as the article gives them in English (`names`: qa/answering/english.py)."""
    if lang == "en":
        chinese = [bool(CJK_RE.search(c.quote)) for c in citations]
        body = " ".join(
            f"「{c.quote}」[{c.n}]" if zh else f"“{c.quote}”[{c.n}]" for c, zh in zip(citations, chinese, strict=True)
        )
        if names:
            body += " Names in English, as the article gives them: " + "; ".join(f"{n} = {e}" for n, e in names) + "."
        if all(chinese):
            return _in_short(short, citations) + EN_LEAD_IN_QUOTING["Chinese"] + body
        return _in_short(short, citations) + (EN_LEAD_IN_QUOTING["mixed"] if any(chinese) else LEAD_IN["en"]) + body
    body = "".join(f"{c.quote}[{c.n}]" for c in citations)
    text = LEAD_IN[lang] + body
    return to_simplified(text) if lang == "zh-Hans" else text


def said_in_english(short: ShortAnswer | None, citations: Sequence[Citation]) -> tuple[str, int] | None:
    """How an English answer says a short answer in a Chinese citation (`October 30` for 10月30日), with the marker of
    the citation that holds it; None when it cannot be said in English."""
    if short is None or not CJK_RE.search(short.text):
        return None
    for c in citations:
        holds = c.doc == short.doc and c.start <= short.start and short.end <= c.end
        if holds and (said := in_english(short, c)) is not None:
            return said, c.n
    return None


def _in_short(short: ShortAnswer | None, citations: Sequence[Citation]) -> str:
    """`Short answer: October 30 [1]. ` for a short answer that can be said in English."""
    found = said_in_english(short, citations)
    return f"Short answer: {found[0]} [{found[1]}]. " if found else ""


def abstention(lang: Lang) -> str:
    """The fixed answer for a question the article does not answer."""
    return ABSTAIN_TEXT[lang]

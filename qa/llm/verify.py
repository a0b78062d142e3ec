"""Check an LLM's answer against its numbered sources: keep only cited, supported sentences."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.llm.prompts import SENTINEL
from qa.text.folding import fold, to_simplified, to_traditional
from qa.text.language import CJK_RE, detect_lang
from qa.text.lexicon import english_groups
from qa.types import Citation, Sentence

_MARKER_RE = re.compile(r"\s*[\[［【]\s*(\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*)\s*[\]］】]")
_SENTENCE_RE = re.compile(r"(?:[^。！？!?\n.]|\.(?!\s|$))*(?:[。！？!?]+|\.(?=\s|$)|\n|$)")


_END_RE = re.compile(r"[。！？!?.]+$")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")


# A Chinese claim must share this share of its character pairs with what it cites; an English claim this
# share of its words that the lexicon can look for.
MIN_OVERLAP = 0.3
MIN_OVERLAP_EN = 0.5  # looked for through dictionary glosses, a made-up English claim still found 0.3 of its words
# A Chinese claim may not add this many character pairs in a row that its source lacks: a phrase of its own
# (並由中國全額出資, 普京因此宣布辭職) is a claim the source does not make.
MOST_NEW_PAIRS = 4
# Words an answer frames its claims with, which no source needs to hold (根據文章指出，… is no claim of its own).
_FRAMING = "|".join(("根据", "文章", "指出", "表示", "提到", "提及", "报道", "所述", "认为", "显示", "说明", "内容"))
# Words that turn a statement around: a claim holding one its source lacks says the opposite (瑞典拒絕出售…).
_NEGATION_RE = re.compile(
    r"不|没|未(?!来)|并非|无法|拒绝|否认|\b(?:not|no|never|none|refus\w*|den(?:y|ies|ied)|reject\w*)\b|n't"
)
_LATIN_RE = re.compile(r"[A-Za-z]")
_LETTER_RE = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Verified:
    """What survives verification."""

    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    dropped_markers: int = 0
    removed_sentences: int = 0


def split_claims(output: str) -> list[str]:
    """Sentences of the reply, each with the markers that follow it (`…結束。[1]` keeps its [1])."""
    pieces = [p for p in _SENTENCE_RE.findall(output) if p.strip()]
    claims: list[str] = []
    for piece in pieces:
        lead = re.match(r"(?:\s*[\[［【][\d\s,，、;]+[\]］】])+", piece)
        if lead and claims:
            claims[-1] += lead.group().strip()
            piece = piece[lead.end() :]
        if piece.strip():
            claims.append(piece.strip())
    return claims


def markers(claim: str) -> list[int]:
    """The source numbers a claim cites, in order."""
    return [int(n) for m in _MARKER_RE.finditer(claim) for n in re.split(r"[\s,，、;]+", m.group(1)) if n]


def strip_markers(claim: str) -> str:
    """The claim without its markers."""
    return _MARKER_RE.sub("", claim).strip()


def supported(claim: str, cited: str, lexicon: dict[str, list[str]]) -> bool:
    """True when the cited text backs the claim: its numbers occur there, no word turning it around that the
    source lacks, and enough of its words (with no phrase of its own, in Chinese)."""
    text, source = fold(strip_markers(claim)), fold(cited)
    if any(n not in source for n in _NUMBER_RE.findall(text)):
        return False
    if _turned_around(text, source):
        return False
    if CJK_RE.search(text):
        # Each position's character pair, None where either character is not Chinese (a break in a run).
        at = [
            text[i : i + 2] if CJK_RE.match(text[i]) and CJK_RE.match(text[i + 1]) else None
            for i in range(len(text) - 1)
        ]
        pairs = {p for p in at if p}
        if not pairs or sum(p in source for p in pairs) / len(pairs) < MIN_OVERLAP:
            return False
        new, known = 0, f"{source}|{_FRAMING}"
        for pair in at:
            new = new + 1 if pair and pair not in known else 0
            if new >= MOST_NEW_PAIRS:
                return False
        return True
    groups = [(term, alts) for term, alts in english_groups(text, lexicon) if alts]
    found = [term for term, alts in groups if term in source or any(a in source for a in alts)]
    return bool(found) and len(found) / len(groups) >= MIN_OVERLAP_EN


def _turned_around(claim: str, source: str) -> bool:
    """Whether the claim holds a word of negation or refusal that its source lacks: one of its own words of two
    characters or more (拒绝, 否认), or any at all where the source holds none (an English `not` for 不會)."""
    cues = [m.group() for m in _NEGATION_RE.finditer(claim)]
    if not cues:
        return False
    return not _NEGATION_RE.search(source) or any(len(c) >= 2 and CJK_RE.match(c) and c not in source for c in cues)


def in_language(claim: str, lang: str) -> bool:
    """Whether a claim is written in the question's language: mostly Chinese characters for a Chinese question,
    mostly Latin letters for an English one (Chinese names inside it allowed). An answer in Russian, or in
    English to a Chinese question, is not the one asked for."""
    letters = _LETTER_RE.findall(claim)
    if not letters:
        return True
    chinese = sum(bool(CJK_RE.match(c)) for c in letters) / len(letters)
    latin = sum(bool(_LATIN_RE.match(c)) for c in letters) / len(letters)
    return chinese >= 0.5 if lang != "en" else latin + chinese >= 0.9 and latin >= 0.5


def verify(
    output: str,
    sources: Sequence[Sentence],
    lang: str,
    lexicon: dict[str, list[str]],
    *,
    shown: Sequence[str] | None = None,
) -> Verified | None:
    """Keep the claims that cite real sources that support them, renumbered; None when nothing survives.

    `shown` is the source text the model saw (a withheld source backs nothing); the sentinel alone means the
    sources do not answer (abstained).
    """
    seen = list(shown) if shown is not None else [s.text for s in sources]
    claims = split_claims(output.replace(SENTINEL, "\n"))
    kept: list[str] = []
    order: dict[int, int] = {}
    dropped = removed = 0
    for claim in claims:
        valid = [n for n in dict.fromkeys(markers(claim)) if 1 <= n <= len(sources)]
        body = strip_markers(claim)
        if not in_language(body, lang):
            valid = []
        # Each citation must back the claim on its own; a claim drawn from several needs them together.
        cited = [n for n in valid if supported(body, seen[n - 1], lexicon)]
        if not cited and valid and supported(body, " ".join(seen[n - 1] for n in valid), lexicon):
            cited = valid
        dropped += len(markers(claim)) - len(cited)
        if not cited or not body:
            removed += 1
            continue
        for n in cited:
            order.setdefault(n, len(order) + 1)
        end = _END_RE.search(body)
        cut = end.start() if end else len(body)
        gap = " " if lang == "en" else ""
        kept.append(body[:cut].rstrip() + gap + "".join(f"[{order[n]}]" for n in cited) + body[cut:])
    if not kept:
        if SENTINEL in output:
            return Verified("", (), abstained=True, dropped_markers=dropped, removed_sentences=removed)
        return None
    citations = tuple(
        Citation(n=new, doc=s.doc, chunk_id=s.chunk_id, quote=s.text, start=s.start, end=s.end)
        for old, new in order.items()
        for s in [sources[old - 1]]
    )
    joiner = " " if lang == "en" else ""
    text = joiner.join(kept)
    if lang == "zh-Hans":
        text = to_simplified(text)
    elif lang == "zh-Hant" and detect_lang(text) == "zh-Hans":
        text = to_traditional(text)
    return Verified(text, citations, abstained=False, dropped_markers=dropped, removed_sentences=removed)

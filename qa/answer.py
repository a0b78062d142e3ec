"""Hits -> cited answer: the extractive default, composed in the question's language and script."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from qa.evidence import Evidence, EvidenceSelector
from qa.retrieval import Retriever
from qa.text import Lang, detect_lang, to_simplified
from qa.types import Answer, Citation, Hit, Mode, Sentence

ABSTAIN_TEXT: dict[str, str] = {
    "zh-Hant": "文章沒有提到這一點。",
    "zh-Hans": "文章没有提到这一点。",
    "en": "The article does not say.",
}
LEAD_IN: dict[str, str] = {
    "zh-Hant": "根據文章：",
    "zh-Hans": "根据文章：",
    "en": "According to the article (quoted in the original Chinese): ",
}
# How many chunks the evidence is drawn from, whatever top_k the caller asks to see.
EVIDENCE_CHUNKS = 5


@dataclass(frozen=True)
class Turn:
    """An earlier question and answer of the conversation."""

    question: str
    answer: str = ""


def citations_for(sentences: Sequence[Sentence]) -> tuple[Citation, ...]:
    """Number sentences as citations [1], [2], ... with their exact quotes and offsets."""
    return tuple(
        Citation(n=i, doc=s.doc, chunk_id=s.chunk_id, quote=s.text, start=s.start, end=s.end)
        for i, s in enumerate(sentences, start=1)
    )


def compose(lang: Lang, citations: Sequence[Citation]) -> str:
    """The answer text: a lead-in, then each quoted sentence followed by its marker."""
    if lang == "en":
        body = " ".join(f"「{c.quote}」[{c.n}]" for c in citations)
        return LEAD_IN["en"] + body
    body = "".join(f"{c.quote}[{c.n}]" for c in citations)
    text = LEAD_IN[lang] + body
    return to_simplified(text) if lang == "zh-Hans" else text


def abstention(lang: Lang) -> str:
    """The fixed answer for a question the article does not answer."""
    return ABSTAIN_TEXT[lang]


class ExtractiveAnswerer:
    """Answers from the article's own sentences; no LLM."""

    def __init__(self, retriever: Retriever, selector: EvidenceSelector | None = None) -> None:
        self.retriever = retriever
        self.selector = selector or EvidenceSelector(retriever)

    def retrieve(
        self, question: str, top_k: int, history: Sequence[Turn] = (), *, also: Sequence[str] = ()
    ) -> tuple[list[Hit], Evidence, dict[str, float]]:
        """Search and choose evidence; the earlier question's words help a follow-up find its passage, and
        `also` (e.g. the question in the article's language) adds search terms."""
        t0 = time.perf_counter()
        extra = [history[-1].question] if history else []
        query = self.retriever.prepare(question, extra_terms=also)
        hits = self.retriever.search(query, max(top_k, EVIDENCE_CHUNKS))
        if extra and (not hits or hits[0].lexical == 0 or len(query.tokens) < 4):
            query = self.retriever.prepare(question, extra_terms=[*also, *extra])
            hits = self.retriever.search(query, max(top_k, EVIDENCE_CHUNKS))
        t1 = time.perf_counter()
        evidence = self.selector.select(" ".join([question, *also]), query, hits)
        t2 = time.perf_counter()
        return hits, evidence, {"retrieval_ms": (t1 - t0) * 1000, "evidence_ms": (t2 - t1) * 1000}

    def answer(self, question: str, *, top_k: int = 5, history: Sequence[Turn] = ()) -> Answer:
        """A cited extractive answer, or an abstention."""
        started = time.perf_counter()
        lang = detect_lang(question)
        hits, evidence, timings = self.retrieve(question, top_k, history)
        return self.from_evidence(lang, hits[:top_k], evidence, timings, started)

    def from_evidence(
        self,
        lang: Lang,
        passages: list[Hit],
        evidence: Evidence,
        timings: dict[str, float],
        started: float,
        *,
        mode: Mode = "extractive",
        reason: str | None = None,
    ) -> Answer:
        """Build the extractive answer from chosen evidence."""
        citations = citations_for(evidence.sentences)
        text = compose(lang, citations) if citations else abstention(lang)
        timings = {**timings, "total_ms": (time.perf_counter() - started) * 1000}
        return Answer(
            answer=text,
            abstained=evidence.abstained,
            mode=mode,
            citations=citations,
            passages=tuple(passages),
            timings={k: round(v, 2) for k, v in timings.items()},
            reason=reason or evidence.reason,
            lang=lang,
        )

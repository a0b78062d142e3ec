"""Hits -> cited answer: the extractive default, composed in the question's language and script."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import TypeVar

import anyio
import anyio.lowlevel
from anyio.lowlevel import RunVar

from qa.answering.compose import abstention, citations_for, compose, joined, said_in_english
from qa.answering.english import names_in_english
from qa.answering.evidence import Evidence, EvidenceSelector
from qa.answering.gist import Gist, asks_gist
from qa.answering.learned import LearnedSelector
from qa.answering.question import Question
from qa.answering.short import default_scorer, short_answer
from qa.config import AnsweringSettings
from qa.retrieval.retriever import Retriever
from qa.text.language import Lang
from qa.types import Answer, Hit, Mode, Turn

T = TypeVar("T")


class ExtractiveAnswerer:
    """Answers from the article's own sentences; no LLM."""

    def __init__(self, retriever: Retriever, settings: AnsweringSettings | None = None) -> None:
        self.retriever = retriever
        self.settings = settings or AnsweringSettings()
        self.selector: EvidenceSelector | LearnedSelector = (
            LearnedSelector(retriever, self.settings)
            if self.settings.evidence == "learned"
            else EvidenceSelector(retriever, self.settings)
        )
        self.gist = Gist(retriever.index)
        self.short_scorer = default_scorer()  # read with the pipeline, not on the first question that asks for a value
        self._limiters: RunVar[anyio.CapacityLimiter] = RunVar(f"answer-threads-{id(self)}")
        self._asked = 0  # questions in run() now (changed only by the event loop's thread)

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """The worker threads answering may use at once (settings.answer_threads), one limiter per event loop.

        Answering is CPU-bound: with anyio's default 40 threads, a burst of costly questions holds the GIL against the
        event loop and fills the pool the probes and sync dependencies share. Here they queue instead."""
        try:
            return self._limiters.get()
        except LookupError:
            limiter = anyio.CapacityLimiter(self.settings.answer_threads)
            self._limiters.set(limiter)
            return limiter

    async def run(self, work: Callable[[], T], *, chars: int | None = None) -> T:
        """Run answering work in a worker thread, within the limiter; or, for a question of `chars` characters at
        most settings.inline_max_chars long, when nothing else is being answered or waits to be, at once in the event
        loop's thread, without two thread wake-ups."""
        self._asked += 1
        try:
            if chars is not None and chars <= self.settings.inline_max_chars:
                # The questions that came in with this one get as far as here and count themselves first.
                await anyio.lowlevel.checkpoint()
                if self._asked == 1 and not self.limiter.borrowed_tokens:
                    return work()
            return await anyio.to_thread.run_sync(work, limiter=self.limiter)
        finally:
            self._asked -= 1

    def retrieve(
        self,
        question: Question,
        top_k: int,
        history: Sequence[Turn] = (),
        *,
        also: Sequence[str] = (),
        docs: Collection[str] | None = None,
    ) -> tuple[list[Hit], Evidence, dict[str, float]]:
        """Search and choose evidence; the earlier question's words help a follow-up find its passage, and
        `also` (e.g. the question in the article's language) adds search terms."""
        t0 = time.perf_counter()
        if asks_gist(question):  # what the article says as a whole: its lead, not passages that share `article`
            hits, evidence = self.gist.evidence(docs)
            return hits, evidence, {"retrieval_ms": (time.perf_counter() - t0) * 1000, "evidence_ms": 0.0}
        extra = [history[-1].question[: self.settings.followup_chars]] if history else []
        wanted = max(top_k, self.settings.evidence_chunks)
        query = self.retriever.prepare(question.text, lang=question.lang, extra_terms=also, docs=docs)
        hits = self.retriever.search(query, wanted)
        if extra and (not hits or hits[0].lexical == 0 or len(query.tokens) < 4):
            query = self.retriever.prepare(question.text, lang=question.lang, extra_terms=[*also, *extra], docs=docs)
            hits = self.retriever.search(query, wanted)
        t1 = time.perf_counter()
        judged = Question.parse(" ".join([question.text, *also])) if also else question
        # The evidence comes from the first evidence_chunks passages whatever top_k the caller asks to see (the ranker
        # learned from so many): the same question gets the same answer with top_k 5 or 20.
        evidence = self.selector.select(judged, query, hits[: self.settings.evidence_chunks])
        t2 = time.perf_counter()
        return hits, evidence, {"retrieval_ms": (t1 - t0) * 1000, "evidence_ms": (t2 - t1) * 1000}

    def answer(
        self, question: str, *, top_k: int = 5, history: Sequence[Turn] = (), docs: Collection[str] | None = None
    ) -> Answer:
        """A cited extractive answer, or an abstention (from the given documents only, when given)."""
        started = time.perf_counter()
        parsed = Question.parse(question)
        hits, evidence, timings = self.retrieve(parsed, top_k, history, docs=docs)
        shown = self.retriever.matched(hits[:top_k])
        return self.from_evidence(parsed.lang, shown, evidence, timings, started, question=parsed)

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
        question: Question | None = None,
    ) -> Answer:
        """Build the extractive answer from chosen evidence (with the short answer, when the question is given)."""
        citations = citations_for(evidence.sentences)
        # The short answer is read from the likeliest sentence (of each question asked), not from every one cited: on a
        # 40-article train-split corpus, DRCD given 0.694 -> 0.711 of typed questions, EM 0.762 -> 0.779 (CMRC given
        # 0.542 -> 0.576, EM 0.438 -> 0.441), and it no longer changes with how many sentences are cited.
        lead = [c for c, s in zip(citations, evidence.sentences, strict=True) if s in evidence.lead] or citations
        short = (
            short_answer(question, lead, scorer=self.short_scorer)
            if question and citations and not evidence.abstained
            else None
        )
        documents = self.retriever.index.documents
        texts = {c.doc: documents[c.doc].text for c in citations if c.doc in documents}
        citations = joined(citations, texts)
        if lang == "en" and short is not None and (found := said_in_english(short, citations)) is not None:
            short = replace(short, said=found[0])  # the text opens with it (compose): the page shows it once
        names = names_in_english(citations, texts) if lang == "en" and citations else []
        text = compose(lang, citations, short, names) if citations else abstention(lang)
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
            short_answer=short,
        )

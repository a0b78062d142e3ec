"""LLM-assisted answers: the LLM writes, verification keeps only what the sources back, the extractive
answer stands in whenever the LLM fails."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, replace

import anyio

from qa.answering.compose import abstention
from qa.answering.engine import Event
from qa.answering.evidence import Evidence
from qa.answering.extractive import ExtractiveAnswerer
from qa.answering.question import Question
from qa.answering.short import short_answer
from qa.config import LLMSettings
from qa.errors import LLMError
from qa.llm import prompts
from qa.llm.client import LLMClient
from qa.llm.verify import Verified, verify
from qa.text.folding import fold
from qa.text.injection import WITHHELD, looks_like_instruction
from qa.text.language import CJK_RE, Lang
from qa.text.tokens import content_terms
from qa.types import Answer, Docs, Hit, Sentence, Turn

log = logging.getLogger(__name__)
UNVERIFIED = "no cited sentence survived verification"


@dataclass
class Job:
    """One question on its way through the LLM: what retrieval found and what the LLM will see."""

    question: str
    lang: Lang
    passages: tuple[Hit, ...]
    evidence: Evidence
    sources: list[Sentence]
    timings: dict[str, float]
    started: float
    deadline: float = 0.0  # event-loop time by which every LLM call for the question is over (0: each its own)

    def elapsed_ms(self) -> float:
        """Milliseconds since the question arrived."""
        return (time.perf_counter() - self.started) * 1000


class LLMEngine:
    """Answers through an OpenAI-compatible LLM, verified against the retrieved sources."""

    def __init__(
        self,
        answerer: ExtractiveAnswerer,
        client: LLMClient,
        settings: LLMSettings | None = None,
    ) -> None:
        self.answerer = answerer
        self.client = client
        settings = settings or client.config
        self.context = settings.context
        self.article_max_chars = settings.article_max_chars
        self.rewrite_followups = settings.rewrite_followups
        self.translate_queries = settings.translate_queries

    async def aclose(self) -> None:
        """Close the LLM client's connection pool."""
        await self.client.aclose()

    async def ask(self, question: str, *, top_k: int, history: Sequence[Turn] = (), docs: Docs = None) -> Answer:
        """A whole verified LLM answer, or the extractive answer with mode `llm-fallback`."""
        job = await self._prepare(question, top_k, history, docs)
        if isinstance(job, Answer):
            return job
        t0 = time.perf_counter()
        try:
            output = await self.client.complete(self._messages(job, history), deadline=job.deadline or None)
        except LLMError as exc:
            return self._fallback(job, exc.reason)
        job.timings["llm_ms"] = (time.perf_counter() - t0) * 1000
        return self._finish(job, output)

    async def stream(
        self, question: str, *, top_k: int, history: Sequence[Turn] = (), docs: Docs = None
    ) -> AsyncGenerator[Event, None]:
        """Passages, the LLM's text as it comes, then the verified (or fallback) answer."""
        job = await self._prepare(question, top_k, history, docs)
        if isinstance(job, Answer):
            yield Event("passages", passages=job.passages)
            yield Event("delta", text=job.answer)
            yield Event("final", answer=job)
            return
        yield Event("passages", passages=job.passages)
        pieces: list[str] = []
        t0 = time.perf_counter()
        pieces_stream = self.client.stream(self._messages(job, history), deadline=job.deadline or None)
        try:
            async for piece in pieces_stream:
                pieces.append(piece)
                yield Event("delta", text=piece)
        except LLMError as exc:
            yield Event("final", answer=self._fallback(job, exc.reason))
            return
        finally:
            await pieces_stream.aclose()  # a client that left stops the LLM call
        job.timings["llm_ms"] = (time.perf_counter() - t0) * 1000
        yield Event("final", answer=self._finish(job, "".join(pieces)))

    async def _prepare(self, question: str, top_k: int, history: Sequence[Turn], docs: Docs = None) -> Answer | Job:
        """Retrieve (a follow-up rewritten to stand alone); abstain at once when the evidence is too weak."""
        started = time.perf_counter()
        # One deadline for every call the question makes (a follow-up's rewrite, a translation, the answer): each had
        # its own, and a slow follow-up took twice the timeout.
        deadline = self.client.deadline()
        asked = Question.parse(question)
        search_for = await self._standalone(question, history, deadline) if history else question
        searched = asked if search_for == question else Question.parse(search_for)
        lang = asked.lang
        also = await self._translated(search_for, deadline) if self.translate_queries and lang != "zh-Hant" else []
        hits, evidence, timings = await anyio.to_thread.run_sync(
            lambda: self.answerer.retrieve(searched, top_k, history, also=also, docs=docs),
            limiter=self.answerer.limiter,
        )
        shown = self.answerer.retriever.matched(hits[:top_k])
        if evidence.abstained:
            # The rules found nothing to answer from: an LLM could only invent. Say so without asking it.
            skipped = self.answerer.from_evidence(
                lang, shown, evidence, timings, started, mode="llm", reason=evidence.reason
            )
            return replace(skipped, llm_outcome="skipped")
        return Job(question, lang, tuple(shown), evidence, self._sources(hits), timings, started, deadline)

    def _sources(self, hits: list[Hit]) -> list[Sentence]:
        """The numbered sources: every sentence of the article(s) the passages come from, in order (the same
        prompt prefix for every question, which the LLM server caches), or, past article_max_chars, only the
        sentences of the retrieved passages."""
        index = self.answerer.retriever.index
        if self.context == "article":
            docs = {h.chunk.doc for h in hits}
            found = [index.doc_rows[d] for d in docs if d in index.doc_rows]
            rows = sorted(int(r) for part in found for r in part)  # the documents' live rows, in index order
            whole = [s for r in rows for s in index.chunks[r].sentences]
            if sum(len(s.text) for s in whole) <= self.article_max_chars:
                return whole
        return [s for h in hits for s in h.chunk.sentences]

    def _messages(self, job: Job, history: Sequence[Turn]) -> list[dict[str, str]]:
        pairs = [(t.question, t.answer) for t in history]
        return prompts.messages(job.question, shown(job.sources), job.lang, pairs)

    def _finish(self, job: Job, output: str) -> Answer:
        lexicon = self.answerer.retriever.index.lexicon
        verified = verify(output, job.sources, job.lang, lexicon, shown=shown(job.sources))
        if verified is None:
            return self._fallback(job, UNVERIFIED)
        return Answer(
            answer=abstention(job.lang) if verified.abstained else verified.text,
            abstained=verified.abstained,
            mode="llm",
            citations=verified.citations,
            passages=job.passages,
            timings={k: round(v, 2) for k, v in {**job.timings, "total_ms": job.elapsed_ms()}.items()},
            reason=_note(verified),
            lang=job.lang,
            llm_outcome="abstained" if verified.abstained else "answered",
            # Found only inside the verified citations, so it is as sourced as they are.
            short_answer=None if verified.abstained else short_answer(Question.parse(job.question), verified.citations),
        )

    def _fallback(self, job: Job, reason: str) -> Answer:
        log.info("LLM answer replaced by the extractive one: %s", reason)
        answer = self.answerer.from_evidence(
            job.lang,
            list(job.passages),
            job.evidence,
            job.timings,
            job.started,
            mode="llm-fallback",
            reason=f"llm: {reason}",
            question=Question.parse(job.question),
        )
        return replace(answer, llm_outcome="fallback", llm_fallback="unverified" if reason == UNVERIFIED else reason)

    async def _translated(self, question: str, deadline: float) -> list[str]:
        """The question in Traditional Chinese, as extra search terms, when the LLM gives something sensible."""
        try:
            translated = (await self.client.complete(prompts.translate_messages(question), deadline=deadline)).strip()
        except LLMError:
            return []
        sensible = (
            bool(CJK_RE.search(translated))
            and len(translated) <= 2 * len(question) + 50
            and prompts.SENTINEL not in translated
        )
        return [translated] if sensible else []

    async def _standalone(self, question: str, history: Sequence[Turn], deadline: float) -> str:
        """The follow-up rewritten to stand alone, when the LLM manages it sensibly; else the question as asked."""
        if not self.rewrite_followups:
            return question
        try:
            messages = prompts.rewrite_messages(question, [t.question for t in history])
            rewritten = await self.client.complete(messages, deadline=deadline)
        except LLMError:
            return question
        rewritten = rewritten.strip().strip("<>").strip()
        context = fold(question + " " + " ".join(t.question for t in history))
        sensible = (
            0 < len(rewritten) <= 2 * len(question) + 200
            and prompts.SENTINEL not in rewritten
            and any(w in context for w in content_terms(rewritten))
        )
        return rewritten if sensible else question


def shown(sources: Sequence[Sentence]) -> list[str]:
    """The source texts the LLM sees: a sentence that gives instructions to an AI is withheld (indirect
    prompt injection stays data: the extractive answer can still quote it)."""
    return [WITHHELD if looks_like_instruction(s.text) else s.text for s in sources]


def _note(verified: Verified) -> str | None:
    parts = []
    if verified.removed_sentences:
        parts.append(f"removed {verified.removed_sentences} uncited or unsupported sentence(s)")
    if verified.dropped_markers:
        parts.append(f"dropped {verified.dropped_markers} citation(s) of no source or not backing their claim")
    return "; ".join(parts) or None

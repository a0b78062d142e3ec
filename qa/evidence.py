"""Pick the sentences that answer a question, or decide that the article does not."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.lexicon import english_terms
from qa.question import Expectation, analyse
from qa.retrieval import Query, Retriever, normalise
from qa.text import content_terms, detect_lang, fold
from qa.types import Hit, Sentence

# Calibrated on the development questions (see bench/calibrate.py): below this share of the question's
# topic words found in the best evidence and its paragraph, the article is taken not to answer.
MIN_SUPPORT = 0.34
# A further sentence joins the first when it scores at least this share of the first's score.
SECOND_SENTENCE_RATIO = 0.6
# A typed question (date, number, ...) may take its answer from a sentence this far down the ranking.
TYPED_CANDIDATES = 3


@dataclass(frozen=True)
class Evidence:
    """Chosen sentences with their scores, or the reason for abstaining."""

    sentences: tuple[Sentence, ...]
    support: float
    reason: str | None = None

    @property
    def abstained(self) -> bool:
        """True when nothing in the article answers."""
        return not self.sentences


def term_groups(question: str, lexicon: dict[str, list[str]]) -> list[set[str]]:
    """The question's topic words; each as a set of folded alternatives (an English word with its Chinese)."""
    groups: list[set[str]] = [{w} for w in content_terms(question) if len(w) > 1 or not w.isascii()]
    if detect_lang(question) == "en":
        groups = [{t, *lexicon.get(t, ())} for t in english_terms(question)]
    return [g for g in groups if g]


def support(groups: list[set[str]], text: str) -> float:
    """Share of the topic-word groups with an alternative in the text (longer words weigh more)."""
    if not groups:
        return 0.0
    folded = fold(text)
    stems = set(english_terms(text))
    weight = [min(4, max(len(w) for w in g)) for g in groups]
    found = [any(alt in folded or alt in stems for alt in g) for g in groups]
    return float(sum(w for w, f in zip(weight, found, strict=True) if f) / sum(weight))


class EvidenceSelector:
    """Scores the sentences of the retrieved chunks and keeps the few that answer."""

    def __init__(self, retriever: Retriever, *, max_sentences: int = 3, min_support: float = MIN_SUPPORT) -> None:
        self.retriever = retriever
        self.max_sentences = max_sentences
        self.min_support = min_support

    def select(self, question: str, query: Query, hits: list[Hit]) -> Evidence:
        """Choose evidence sentences from the hits, or abstain with a reason."""
        if not hits or not query.tokens:
            return Evidence((), 0.0, "no passage matches the question")
        expectation = analyse(question)
        ranked = self._rank(query, hits)
        if not ranked or ranked[0][1] <= 0:
            return Evidence((), 0.0, "no sentence matches the question")
        groups = term_groups(question, self.retriever.index.lexicon)
        context = " ".join(h.chunk.text for h in hits[:3])
        if not expectation.names_given(context):
            return Evidence((), 0.0, f"the article does not mention {', '.join(expectation.given)}")
        first = self._first(ranked, expectation)
        if first is None:
            return Evidence((), 0.0, f"no passage holds the {expectation.expect} the question asks for")
        chunk = self.retriever.index.chunk_by_id[first[0].chunk_id]
        score = support(groups, chunk.index_text)
        if score < self.min_support:
            return Evidence((), score, "the passages found share too little with the question")
        chosen = [first[0]]
        covered = support(groups, first[0].text)
        for sentence, value in ranked:
            if len(chosen) >= self.max_sentences or value < SECOND_SENTENCE_RATIO * first[1]:
                break
            if sentence in chosen:
                continue
            gain = support(groups, " ".join(s.text for s in [*chosen, sentence])) - covered
            if gain > 0:
                chosen.append(sentence)
                covered += gain
        order = {s.id: i for i, s in enumerate(self.retriever.index.sentences)}
        return Evidence(tuple(sorted(chosen, key=lambda s: order[s.id])), score)

    def _rank(self, query: Query, hits: list[Hit]) -> list[tuple[Sentence, float]]:
        """Sentences of the hit chunks, by sentence score weighted by their chunk's score."""
        index = self.retriever.index
        sentence_scores = normalise(self.retriever.sentence_scores(query))
        position = {s.id: i for i, s in enumerate(index.sentences)}
        top = max(h.score for h in hits) or 1.0
        ranked = []
        for hit in hits:
            for sentence in hit.chunk.sentences:
                value = float(sentence_scores[position[sentence.id]]) * (0.75 + 0.25 * hit.score / top)
                ranked.append((sentence, value))
        ranked.sort(key=lambda item: -item[1])
        return [item for item in ranked if item[1] > 0 and np.isfinite(item[1])]

    def _first(
        self, ranked: list[tuple[Sentence, float]], expectation: Expectation
    ) -> tuple[Sentence, float] | None:
        """The best sentence, or for a typed question the best of the leading few that holds the type."""
        if expectation.expect == "any":
            return ranked[0]
        for sentence, value in ranked[:TYPED_CANDIDATES]:
            if expectation.satisfied_by(sentence.text) and value >= 0.5 * ranked[0][1]:
                return sentence, value
        return None

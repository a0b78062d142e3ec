"""Features of candidate evidence sentences (the sentences of the retrieved passages) for the learned ranker.

Every feature is a share, a ratio to the best candidate or a small count, so that one model serves a corpus of one
article and one of hundreds. The names are the columns the model file was trained on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from qa.answering.alignment import (
    asks_why,
    longest_shared,
    names,
    new_before,
    new_numbers,
    opens_with_reference,
    plain,
    prefix_in,
    suffix_in,
    wants,
    wh_context,
)
from qa.answering.matching import SentenceStats, Term, match, proximity
from qa.answering.question import Question
from qa.answering.units import UnitStats, units
from qa.retrieval.retriever import Query, Retriever
from qa.types import Hit, Sentence

# Sentence features, in the order of the model's columns.
SENTENCE_FEATURES = (
    "bigram",  # IDF-weighted share of the question's character bigrams (and words) the sentence holds
    "bigram_rel",  # ... as a share of the best candidate's
    "bigram_rank",  # 1 / (1 + its rank among the candidates by that share)
    "local",  # the bigram share weighted by rarity within the sentence's own document (what tells its sentences apart)
    "local_rel",
    "with_heading",  # the bigram share of the sentence read with its section heading (which names its subject)
    "clause",  # the best bigram share of one of its clauses (a long sentence holds many words by chance)
    "terms",  # IDF-weighted share of the question's topic words (an English word by its Chinese too)
    "terms_rel",
    "proximity",  # how close together the question's words stand in the sentence
    "bm25_rel",  # the sentence's own BM25 score as a share of the best candidate's
    "chunk_score",  # its passage's retrieval score as a share of the best passage's
    "chunk_rank",  # 1 / (1 + the passage's rank)
    "chunk_bigram",  # the passage's (and its heading's) share of the question's bigrams
    "prev_bigram",  # the bigram share of the sentence before it (same document)
    "next_bigram",  # ... and of the one after it
    "first",  # it opens its passage
    "length",  # log of its length in characters
    "novel",  # share of its bigrams the question does not hold (an answer says something new)
    "echo",  # IDF-weighted share of its own bigrams that the question holds (it only restates the question)
    "longest",  # the longest run of characters it shares with the question, as a share of the question
    "wh_left",  # it holds the question's words just before the question word (up to 6 characters)
    "wh_right",  # ... and just after it
    "head_new",  # it holds the word after the question word with new characters before it (哪一種變星 -> 激變星)
    "reference",  # it opens with a word pointing back to the sentence before
    "typed_match",  # the question asks for a date, number or amount, and the sentence holds one
    "typed_miss",  # ... and the sentence holds none
    "new_number",  # it holds a number the question does not
    "name_new",  # the question asks for a person, place or organisation; the sentence names one the question does not
    "continues",  # the sentence before it, in the same passage, ends in ；or ： (it goes on with the same point)
    "asks_why",  # the question asks for a reason (the answer often follows the sentence that restates it)
    "caption",  # a photo caption
)
_CONTEXT = 6
# Up to this many sentences, every sentence's units and names are computed when the index is opened (~0.17 s per
# 1,000 sentences; 200 DRCD articles: 5,383 sentences, 0.9 s), so that first questions cost what later ones do
# (p50 9.9 -> 7.8 ms there); a larger corpus computes them as questions reach them.
WARM_SENTENCES = 20_000
_RUNS_ON = ("；", ";", "：", ":")


@dataclass(frozen=True)
class Candidates:
    """The candidate sentences of one question, their passage (index into the hits) and their feature rows."""

    sentences: tuple[Sentence, ...]
    hit_of: tuple[int, ...]
    matrix: np.ndarray
    coverage: float  # IDF-weighted share of the question's units found anywhere in the corpus
    terms_found: float  # weighted share of the question's topic words found anywhere in the corpus
    unknown: tuple[str, ...]  # names in the question the corpus does not mention
    given_missing: bool  # the question names a date the corpus does not hold
    terms: tuple[Term, ...]  # the question's topic words, weighed

    def column(self, name: str) -> np.ndarray:
        """One feature's values over the candidates."""
        return self.matrix[:, SENTENCE_FEATURES.index(name)] if len(self.sentences) else np.zeros(0)


class Weights(dict[str, float]):
    """Units with their weights; their sum is taken once (every candidate's shares divide by it)."""

    @cached_property
    def total(self) -> float:
        """The weights' sum (fsum: the same whatever order they were added in)."""
        return math.fsum(self.values())


class FeatureBuilder:
    """Feature rows of the candidate sentences of a question's passages."""

    def __init__(self, retriever: Retriever, stats: SentenceStats) -> None:
        self.retriever = retriever
        self.index = retriever.index
        self.stats = stats
        self.units = UnitStats(retriever.index)
        self._names: dict[int, dict[str, frozenset[str]]] = {}
        if len(self.index.sentences) <= WARM_SENTENCES:
            self.units.warm()
            for i in range(len(self.index.sentences)):
                self._names_of(i)

    def question_units(self, question: Question, terms: list[Term]) -> Weights:
        """The question's units with their weights. An English question also looks for its words' Chinese, and
        its English words that the corpus lacks are not held against it (they may have no Chinese found)."""
        found = units(question.folded)
        if question.lang == "en":
            for term in terms:
                for alt in term.alternatives:
                    found |= units(alt)
            found = {u for u in found if self.units.known(u)}
        return Weights({u: self.units.idf(u) for u in found})

    def share(self, asked: Weights, held: frozenset[str] | set[str]) -> float:
        """IDF-weighted share of the asked units held (fsum: the same whatever order a set is walked in, so that
        training runs give the same model)."""
        total = asked.total
        return math.fsum(w for u, w in asked.items() if u in held) / total if total else 0.0

    def build(
        self, question: Question, query: Query, hits: list[Hit], *, span: int = 20, skip: frozenset[str] = frozenset()
    ) -> Candidates:
        """Feature rows of every sentence of the hits (but those whose ids are in skip)."""
        terms = self.stats.terms(question, self.index.lexicon)
        asked = self.question_units(question, terms)
        position = self.index.sentence_position
        sentences: list[Sentence] = []
        hit_of: list[int] = []
        for h, hit in enumerate(hits):
            for sentence in hit.chunk.sentences:
                if sentence.id in skip:
                    continue
                sentences.append(sentence)
                hit_of.append(h)
        bm25 = self.retriever.sentence_scores(query, sentences) if sentences else np.zeros(0)
        rows = np.zeros((len(sentences), len(SENTENCE_FEATURES)), dtype=np.float64)
        term_total = sum(t.weight for t in terms if t.in_corpus) or 1.0
        top = max((h.score for h in hits), default=0.0) or 1.0
        expect = question.expectation
        typed = expect.expect != "any"
        asking = plain(question.folded)
        left, right = wh_context(question.folded)
        left, right = left[-_CONTEXT:], right[:_CONTEXT]
        kind = wants(question.folded)
        why = asks_why(question.folded)
        chunk_share = [self.share(asked, self.units.of_chunk(h.chunk)) for h in hits]
        local = {d: self._local(asked, d) for d in {s.doc for s in sentences}}
        heading = [self.units.of_heading(h.chunk) for h in hits]
        for r, (sentence, h) in enumerate(zip(sentences, hit_of, strict=True)):
            i = position[sentence.id]
            held = self.units.of_sentence(i)
            folded, stems = self.stats.folded[i], self.stats.stems[i]
            flat = plain(folded)
            satisfied = typed and expect.held_in(folded)
            rows[r] = (
                self.share(asked, held),
                0.0,
                0.0,
                self.share(local[sentence.doc], held),
                0.0,
                self.share(asked, held | heading[h]) if heading[h] else self.share(asked, held),
                max((self.share(asked, c) for c in self.units.of_clauses(i)), default=0.0),
                sum(t.weight * match(t, folded, stems) for t in terms if t.in_corpus) / term_total,
                0.0,
                proximity(terms, folded, span),
                float(bm25[r]),
                hits[h].score / top,
                1.0 / (1 + h),
                chunk_share[h],
                self._neighbour_share(asked, sentence, i - 1),
                self._neighbour_share(asked, sentence, i + 1),
                float(hits[h].chunk.sentences[0].id == sentence.id),
                math.log(1 + len(sentence.text)),
                len(held - asked.keys()) / len(held) if held else 0.0,
                self._echo(i, held, asked),
                longest_shared(asking, flat) / len(asking) if asking else 0.0,
                suffix_in(left, flat) / len(left) if left else 0.0,
                prefix_in(right, flat) / len(right) if right else 0.0,
                float(new_before(right[:2], flat, question.folded)),
                float(opens_with_reference(sentence.text)),
                float(satisfied),
                float(typed and not satisfied),
                float(new_numbers(folded, question.folded) > 0),
                float(kind != "any" and any(w not in question.folded for w in self._names_of(i)[kind])),
                float(self._continues(sentence, i)),
                float(why),
                float(hits[h].chunk.kind == "caption"),
            )
        self._relative(rows)
        return Candidates(
            tuple(sentences),
            tuple(hit_of),
            rows,
            coverage=math.fsum(w for u, w in asked.items() if self.units.known(u)) / (asked.total or 1.0),
            terms_found=sum(t.weight for t in terms if t.in_corpus) / (sum(t.weight for t in terms) or 1.0),
            unknown=tuple(self.stats.unknown_names(question, self.index.lexicon)),
            given_missing=not all(self.stats.contains(g) for g in question.expectation.given),
            terms=tuple(terms),
        )

    def _relative(self, rows: np.ndarray) -> None:
        """Fill in the columns that compare a candidate with the best of the others."""
        col = SENTENCE_FEATURES.index
        pairs = (("bigram", "bigram_rel"), ("local", "local_rel"), ("terms", "terms_rel"), ("bm25_rel", "bm25_rel"))
        for name, rel in pairs:
            best = rows[:, col(name)].max(initial=0.0)
            rows[:, col(rel)] = rows[:, col(name)] / best if best > 0 else 0.0
        order = np.argsort(-rows[:, col("bigram")], kind="stable")
        rows[order, col("bigram_rank")] = 1.0 / (1.0 + np.arange(len(order)))

    def _local(self, asked: Weights, doc: str) -> Weights:
        """The asked units a document holds, weighed by their rarity among its sentences."""
        weights = {u: self.units.local_idf(u, doc) for u in asked}
        return Weights({u: w for u, w in weights.items() if w is not None})

    def _echo(self, i: int, held: frozenset[str], asked: Weights) -> float:
        total = self.units.weight(i)
        return math.fsum(w for u, w in asked.items() if u in held) / total if total else 0.0

    def _names_of(self, i: int) -> dict[str, frozenset[str]]:
        found = self._names.get(i)
        if found is None:
            if len(self._names) >= 200_000:
                self._names.clear()
            found = self._names[i] = names(self.stats.folded[i])
        return found

    def _continues(self, sentence: Sentence, i: int) -> bool:
        before = self.index.sentences[i - 1] if i > 0 else None
        return before is not None and before.chunk_id == sentence.chunk_id and before.text.endswith(_RUNS_ON)

    def _neighbour_share(self, asked: Weights, sentence: Sentence, j: int) -> float:
        sentences = self.index.sentences
        if not 0 <= j < len(sentences) or sentences[j].doc != sentence.doc:
            return 0.0
        return self.share(asked, self.units.of_sentence(j))

"""Features of candidate evidence sentences (the sentences of the retrieved passages) for the learned ranker.

Every feature is a share, a ratio to the best candidate or a small count, so that one model serves a corpus of one
article and one of hundreds. The names are the columns the model file was trained on.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from qa.answering.alignment import (
    asks_why,
    longest_shared,
    new_before,
    new_numbers,
    plain,
    prefix_in,
    suffix_in,
    wants,
    wh_context,
)
from qa.answering.matching import SentenceStats, Term, match, proximity
from qa.answering.question import Question
from qa.answering.sentence_facts import Facts, SentenceFacts
from qa.answering.units import UnitStats, units
from qa.answering.unknown_names import unknown_names
from qa.answering.values import names_month_of_year
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
    # "local" over the question's units its passage's heading lacks: what it asks of the subject (花瓣 of
    # 盾柱木的花瓣有什么特点, headed 盾柱木), which an answer holds and the subject's other sentences do not
    "focus",
    "focus_rel",  # ... as a share of the best candidate's
)
_CONTEXT = 6
# Up to this many sentences, every sentence's units, names and other facts (qa/answering/sentence_facts.py) are
# computed when the index is opened (~0.17 s per 1,000 sentences; 200 DRCD articles: 5,383 sentences, 0.9 s), so that
# first questions cost what later ones do (p50 9.9 -> 7.8 ms there); a larger corpus computes them as questions reach
# them.
WARM_SENTENCES = 20_000


# A month of a year that a question names (1992年7月).
_MONTH_OF_YEAR_RE = re.compile(r"(\d{4})年(\d{1,2})月")


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
    """Units with their weights; their sum is taken once (every candidate's shares divide by it). `scale`: the share of
    its word's weight each unit carries, where it is less than all of it (an English word's Chinese renderings)."""

    def __init__(self, weights: dict[str, float] | None = None, scale: dict[str, float] | None = None) -> None:
        super().__init__(weights or {})
        self.scale = scale or {}

    @cached_property
    def total(self) -> float:
        """The weights' sum (fsum: the same whatever order they were added in)."""
        return math.fsum(self.values())

    @cached_property
    def units(self) -> frozenset[str]:
        """The units, as a set to intersect a sentence's with."""
        return frozenset(self)

    def sum_of(self, held: frozenset[str] | set[str]) -> float:
        """The summed weight of the units that are held. fsum is exactly rounded, so the sum is the same whatever
        order the units are walked in: walking the intersection (at C speed) gives what walking every unit gave."""
        return math.fsum(map(self.__getitem__, self.units & held))

    def share(self, held: frozenset[str] | set[str]) -> float:
        """IDF-weighted share of the units that are held (the same whatever order a set is walked in, so that
        training runs give the same model)."""
        total = self.total
        return self.sum_of(held) / total if total else 0.0


class FeatureBuilder:
    """Feature rows of the candidate sentences of a question's passages."""

    def __init__(self, retriever: Retriever, stats: SentenceStats, *, warm: bool | None = None) -> None:
        """warm: find every sentence's facts now (by default when there are up to WARM_SENTENCES)."""
        self.retriever = retriever
        self.index = retriever.index
        self.stats = stats
        self.units = UnitStats(retriever.index)
        self.facts = SentenceFacts(retriever.index, stats, self.units)
        if len(self.index.sentences) <= WARM_SENTENCES if warm is None else warm:
            self.units.warm()
            self.facts.warm()

    def question_units(self, question: Question, terms: list[Term]) -> Weights:
        """The question's units with their weights. An English question also looks for its words' Chinese, and
        its English words that the corpus lacks are not held against it (they may have no Chinese found)."""
        found = units(question.folded)
        if question.lang != "en":
            return Weights({u: self.units.idf(u) for u in found})
        # An English word's Chinese renderings share its weight (`president`: 總統, 國家主席, 主席): the rarest of them
        # must not outweigh the question's other words because the word has many.
        share: dict[str, float] = {}
        for term in terms:
            found_alts = [u for u in (units(alt) for alt in term.alternatives) if any(map(self.units.known, u))]
            for alt_units in found_alts:
                for u in alt_units:
                    share[u] = max(share.get(u, 0.0), 1.0 / len(found_alts))
        found = {u for u in found | share.keys() if self.units.known(u)}
        return Weights({u: self.units.idf(u) * share.get(u, 1.0) for u in found}, share)

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
        ask = _Asking(question, terms, asked, hits, span=span, facts=self.facts)
        local = {d: self._local(asked, d) for d in {s.doc for s in sentences}}
        focus = {
            (s.doc, h): self._focus(local[s.doc], ask.heading[h][0]) for s, h in zip(sentences, hit_of, strict=True)
        }
        rows = [
            ask.row(self.facts.of(position[s.id]), s, h, local=local[s.doc], bm25=float(bm25[r]), focus=focus[s.doc, h])
            for r, (s, h) in enumerate(zip(sentences, hit_of, strict=True))
        ]
        matrix = np.array(rows, dtype=np.float64) if rows else np.zeros((0, len(SENTENCE_FEATURES)))
        self._relative(matrix)
        return Candidates(
            tuple(sentences),
            tuple(hit_of),
            matrix,
            coverage=math.fsum(w for u, w in asked.items() if self.units.known(u)) / (asked.total or 1.0),
            terms_found=sum(t.weight for t in terms if t.in_corpus) / (sum(t.weight for t in terms) or 1.0),
            unknown=tuple(unknown_names(self.stats, question, self.index.lexicon)),
            given_missing=self._given_missing(question, {s.doc for s in sentences}),
            terms=tuple(terms),
        )

    def _given_missing(self, question: Question, docs: set[str]) -> bool:
        """Whether the question names a date the corpus does not hold: not as written, nor, for a month of a year
        (1992年7月), as that month (7月, 七月) in a document of the passages found whose last year named before it is
        that year (`1992年（平成4年）5月27日，…。同年7月，…`: news names a year once). Of the 358 DRCD and CMRC 2018
        questions (all of them) that name a date, 6 name one their article does not write as they do: 3 such months
        of a year (one in Chinese numerals, 2012年七月) and a count of years read as a year (2000多年, no longer a
        date). On the 40-article samples (test split seeds 0 to 3, train split seeds 1 to 3, both files), one CMRC
        2018 question, in two samples, is answered instead of abstained (answered 0.98 -> 0.987 and 0.969 -> 0.975),
        from the sentence that gives its date; nothing else moved."""
        for given in question.expectation.given:
            if self.stats.contains(given):
                continue
            month = _MONTH_OF_YEAR_RE.fullmatch(given)
            if month is None or not any(
                names_month_of_year(self.units.document_text(d), *month.groups()) for d in docs
            ):
                return True
        return False

    def _relative(self, rows: np.ndarray) -> None:
        """Fill in the columns that compare a candidate with the best of the others."""
        col = SENTENCE_FEATURES.index
        pairs = (
            ("bigram", "bigram_rel"),
            ("local", "local_rel"),
            ("terms", "terms_rel"),
            ("bm25_rel", "bm25_rel"),
            ("focus", "focus_rel"),
        )
        for name, rel in pairs:
            best = rows[:, col(name)].max(initial=0.0)
            rows[:, col(rel)] = rows[:, col(name)] / best if best > 0 else 0.0
        order = np.argsort(-rows[:, col("bigram")], kind="stable")
        rows[order, col("bigram_rank")] = 1.0 / (1.0 + np.arange(len(order)))

    def _local(self, asked: Weights, doc: str) -> Weights:
        """The asked units a document holds, weighed by their rarity among its sentences."""
        weights = {u: self.units.local_idf(u, doc) for u in asked}
        scale = asked.scale
        return Weights({u: w * scale.get(u, 1.0) for u, w in weights.items() if w is not None})

    @staticmethod
    def _focus(local: Weights, heading: frozenset[str]) -> Weights:
        """A document's weighed asked units but those of a passage's heading (the subject every sentence is about)."""
        return Weights({u: w for u, w in local.items() if u not in heading}) if heading & local.units else local


class _Asking:
    """One question as every candidate's row reads it: its units and words, and its passages' columns."""

    def __init__(
        self, question: Question, terms: list[Term], asked: Weights, hits: list[Hit], *, span: int, facts: SentenceFacts
    ) -> None:
        self.facts = facts
        self.folded = question.folded
        self.asked = asked
        self.terms = terms
        self.in_corpus = [t for t in terms if t.in_corpus]
        self.term_total = sum(t.weight for t in self.in_corpus) or 1.0
        self.span = span
        self.expect = question.expectation
        self.typed = self.expect.expect != "any"
        self.asking = plain(question.folded)
        left, right = wh_context(question.folded)
        self.left, self.right = left[-_CONTEXT:], right[:_CONTEXT]
        self.kind = wants(question.folded)
        self.why = float(asks_why(question.folded))
        top = max((h.score for h in hits), default=0.0) or 1.0
        units = facts.units
        # Per passage: its score's share of the best, its rank, its share of the question's units, the question's
        # units its heading holds, its first sentence and whether it is a caption.
        self.passage = [
            (h.score / top, 1.0 / (1 + k), asked.share(units.of_chunk(h.chunk))) for k, h in enumerate(hits)
        ]
        headings = [units.of_heading(h.chunk) for h in hits]
        self.heading = [(heading, asked.units & heading) for heading in headings]
        self.first = [h.chunk.sentences[0].id for h in hits]
        self.caption = [float(h.chunk.kind == "caption") for h in hits]
        self._held: dict[int, float] = {}  # the asked weight each sentence holds, by position (neighbours reuse it)

    def held(self, i: int, units: frozenset[str]) -> float:
        """The summed weight of the asked units the sentence at position i holds (its units)."""
        found = self._held.get(i)
        if found is None:
            found = self._held[i] = self.asked.sum_of(units)
        return found

    def neighbour(self, j: int) -> float:
        """The share of the asked units the sentence at position j holds; 0 for none (j < 0)."""
        if j < 0:
            return 0.0
        total = self.asked.total
        return self.held(j, self.facts.units.of_sentence(j)) / total if total else 0.0

    def row(
        self, fact: Facts, sentence: Sentence, h: int, *, local: Weights, bm25: float, focus: Weights
    ) -> tuple[float, ...]:
        """The candidate's row (the relative columns are filled in afterwards, by FeatureBuilder._relative)."""
        asked, total, units, folded, flat = self.asked, self.asked.total, fact.held, fact.folded, fact.flat
        weight = self.held(fact.at, units)
        bigram = weight / total if total else 0.0
        heading, heading_asked = self.heading[h]
        # Read with its heading, a sentence holds more of the question only when the heading adds asked units.
        with_heading = asked.share(units | heading) if heading_asked - units else bigram
        satisfied = self.typed and self.expect.held_in(folded)
        left, right, kind = self.left, self.right, self.kind
        score, rank, passage_share = self.passage[h]
        return (
            bigram,
            0.0,
            0.0,
            local.share(units),
            0.0,
            with_heading,
            max((asked.share(c) for c in fact.clauses), default=0.0),
            sum(t.weight * match(t, folded, fact.stems) for t in self.in_corpus) / self.term_total,
            0.0,
            proximity(self.terms, folded, self.span),
            bm25,
            score,
            rank,
            passage_share,
            self.neighbour(fact.before),
            self.neighbour(fact.after),
            float(self.first[h] == sentence.id),
            fact.constant[0],
            (len(units) - len(asked.units & units)) / len(units) if units else 0.0,
            weight / fact.weight if fact.weight else 0.0,
            longest_shared(self.asking, flat) / len(self.asking) if self.asking else 0.0,
            suffix_in(left, flat) / len(left) if left else 0.0,
            prefix_in(right, flat) / len(right) if right else 0.0,
            float(new_before(right[:2], flat, self.folded)),
            fact.constant[1],
            float(satisfied),
            float(self.typed and not satisfied),
            float(new_numbers(folded, self.folded) > 0),
            float(kind != "any" and any(w not in self.folded for w in self.facts.names(fact.at)[kind])),
            fact.constant[2],
            self.why,
            self.caption[h],
            focus.share(units),
            0.0,
        )

"""Pick the sentences that answer a question, or decide that the article does not: the learned ranker and
abstention model (qa/answering/ranker.py) over the candidates' features (qa/answering/features.py)."""

from __future__ import annotations

import math
import re

import numpy as np

from qa.answering.alignment import asks_why, gives_reason, opens_with_consequence, points_back, runs_on
from qa.answering.evidence import MULTI_RE, Evidence, not_mentioned, select_by_parts
from qa.answering.features import Candidates, FeatureBuilder
from qa.answering.matching import SentenceStats
from qa.answering.question import Question
from qa.answering.ranker import Ranker, load_ranker
from qa.answering.unknown_names import unknown_names
from qa.answering.values import (
    MONEY_RE,
    holds_a_day,
    holds_a_duration,
    holds_a_measure,
    holds_a_month_or_day,
    holds_a_quantity,
    holds_a_year,
    in_calendar_units,
    names_a_number,
    without_calendar_dates,
    without_counts_of,
    without_durations,
)
from qa.config import AnsweringSettings
from qa.retrieval.retriever import Query, Retriever
from qa.text.folding import fold
from qa.text.language import CJK_RE
from qa.text.lexicon import proper_names
from qa.types import Hit, Sentence

# A question that asks for a reason, a manner or a view: its answer runs longer than one fact.
_WHY_RE = re.compile(
    r"为什么|为何|原因|根源|怎么|如何|怎样|理由|作用|反应|解读|看法|不同|区别|差别|差异|\bwhy\b|"
    r"\bhow\b(?! (?:many|much|long|far|old|often|big|large|soon))|\bdiffer|\bexplain"
)
# A cited clause that opens a list (holds a ：) and runs on (alignment.runs_on) is cited with up to this many more.
_CLAUSES = 4
# From this many articles up a corpus answers from the main threshold: on train-split corpora of 10 articles it
# answered 0.966 / 0.966 (DRCD / CMRC) of their questions, of 2 articles 0.840 / 0.925, of 5 0.933 / 0.978.
SETTLED_DOCUMENTS = 10
# A question about money that asks how much (多少, how much, what was the price), not why or how it cost: `Why …
# need extra cost?` is about money, but no amount answers it (two glossed DRCD test questions were abstained).
_ASKS_AMOUNT_RE = re.compile(
    r"多少|几|\bhow much\b|\bwhat (?:is|was|were|are|will be) the (?:total )?(?:cost|price|value)"
)
_QUESTION_WORD_RE = re.compile(
    r"什么|哪|谁|吗|多少|几|如何|怎|为何|为什么|是否|\b(?:what|which|who|when|where|why|how|is|are|do|does|did)\b"
)


def _supplies_value(question: Question, likeliest: Sentence, before: Sentence) -> bool:
    """Whether the sentence before the likeliest writes the kind of value asked for (a date, a number) that the
    likeliest does not, or the year asked for when the likeliest writes a date without one (`9月3日，…九三砲戰` after
    `1954年，…`: on held-out train-split corpora, 3 of 207 DRCD which-year questions, 2 more answers covered)."""
    asked = question.expectation
    if asked.expect == "any":
        return False
    likely, earlier = fold(likeliest.text), fold(before.text)
    if asked.year and asked.written_in(likely) and not holds_a_year(likely):
        return holds_a_year(earlier)
    return not asked.written_in(likely) and asked.written_in(earlier)


def _in_english(question: Question) -> bool:
    """Whether the English questions' abstention model judges the question: one written in English only. A question
    mostly in Latin letters that holds Chinese as well (`「Early cultivators of science in Japan」是誰的論文作品?`,
    taken for English) is none of the questions it learned from, and its threshold answered it of a corpus without
    its article."""
    return question.lang == "en" and not CJK_RE.search(question.text)


def wants_more(question: Question) -> bool:
    """A why-, how- or multi-part question, or a bare topic (`芬蘭？`: what does the article say of it): its
    answer is cited until the cited sentences are likelier to hold all of it."""
    bare_topic = not _QUESTION_WORD_RE.search(question.folded) and len(question.terms) <= 2
    return bool(MULTI_RE.search(question.folded) or _WHY_RE.search(question.folded)) or bare_topic


class LearnedSelector:
    """Ranks the sentences of the retrieved chunks with the learned ranker and keeps the few that answer."""

    def __init__(
        self, retriever: Retriever, settings: AnsweringSettings | None = None, ranker: Ranker | None = None
    ) -> None:
        self.retriever = retriever
        self.settings = settings or AnsweringSettings()
        self.stats = SentenceStats(retriever.index)
        self.features = FeatureBuilder(retriever, self.stats)
        self.ranker = ranker or load_ranker(self.settings.ranker_dir)
        # A corpus of one article answers from a lower threshold of its own (scripts/fit_lone_threshold.py); an
        # English question from those of its own abstention model (Ranker.thresholds).
        fixed = self.settings.answer_threshold
        self._thresholds = {
            english: self.ranker.thresholds(english=english) if fixed is None else (fixed, fixed)
            for english in (False, True)
        }
        # Sentences that address an AI ("Attention AI language models: …", 忽略以上所有指示) are not facts about the
        # world: never evidence, whatever the question (a planted one was quoted as the answer to unrelated ones).
        self.withheld = retriever.index.withheld  # found at index time: checking every sentence here costs seconds

    def select(self, question: Question, query: Query, hits: list[Hit]) -> Evidence:
        """Choose evidence sentences from the hits, or abstain with a reason."""
        return select_by_parts(
            self.retriever, question, query, hits, select_one=self._select_one, in_order=self._in_order
        )

    def candidates(self, question: Question, query: Query, hits: list[Hit]) -> Candidates:
        """The sentences of the passages (but withheld ones) with their feature rows."""
        return self.features.build(question, query, hits, skip=self.withheld)

    def _select_one(self, question: Question, query: Query, hits: list[Hit]) -> Evidence:
        """The learned ranker orders the candidates; the abstention model decides whether the best answers; the
        answer cites candidates in rank order until they are likely enough to hold it."""
        # Passages that share no word with the question (listed by index order only, where no dense side ranks
        # them) hold nothing to cite, whatever a model makes of them: the English questions' model, which never saw
        # such a question, answered `qwertyuiop` from them.
        if not query.tokens or not Retriever.matched(hits):
            # ... and when the question names what the corpus never mentions, the reader is told that instead
            # (`What does the article say about Taiwan?`: `the article does not mention Taiwan`).
            if unknown := unknown_names(self.features.stats, question, self.retriever.index.lexicon):
                return Evidence((), 0.0, not_mentioned(unknown, question))
            return Evidence((), 0.0, "no passage matches the question")
        judged = self.judged(question, query, hits)
        if judged is None:
            return Evidence((), 0.0, "no sentence matches the question")
        found, scores, odds = judged
        confidence = self.ranker.probability(odds)
        english = _in_english(question)
        main = self._thresholds[english][0]
        # A date the question takes as given that the whole corpus never mentions: on held-out training corpora
        # this held for 0.1% of the answerable questions and 2.7% of the foreign ones, so it decides alone.
        if odds < self.threshold_for(len(self.retriever.index.documents), english=english) or found.given_missing:
            return Evidence((), confidence, self._reason(found, question))
        probabilities = self.ranker.probabilities(scores)
        order = np.argsort(-probabilities, kind="stable")
        if self._number_missing(question, found, int(order[0])):
            return Evidence((), confidence, "no passage holds the number the question asks for")
        if missing := self._kind_missing(question, found.sentences[order[0]]):
            return Evidence((), confidence, f"no passage holds the {missing} the question asks for")
        if self._counted_missing(question, found.sentences[order[0]]):
            return Evidence((), confidence, "no passage gives the count the question asks for")
        if self._only_given(question, found.sentences[order[0]]):
            return Evidence((), confidence, "no passage holds a value the question asks for beyond the ones it names")
        # Answered only because a small corpus lowers the threshold (threshold_for), a question that asks for a kind of
        # value (a date, a percentage, an amount, a number of a unit) needs a best sentence that holds one: on
        # one-article training corpora, at a threshold of -5, this abstained on DRCD near misses 0.517 -> 0.533 and
        # CMRC ones 0.414 -> 0.431, at 0.986 -> 0.984 and 0.957 of their answerable questions answered.
        if odds < main and found.column("typed_miss")[order[0]]:
            return Evidence((), confidence, "no passage holds the kind of value the question asks for")
        # ... and no name the corpus never mentions (on one-article training corpora: answered 0.982 -> 0.974 and
        # 0.957 -> 0.939, near misses abstained 0.550 -> 0.617 and 0.431 -> 0.500).
        if found.unknown and (odds < main or self._surely_unknown(question, found.unknown)):
            return Evidence((), confidence, self._reason(found, question))
        cfg = self.settings
        wanted = cfg.explain_confidence if wants_more(question) else cfg.evidence_confidence
        chosen = [found.sentences[order[0]]]
        held = float(probabilities[order[0]])
        for j in order[1:]:
            if held >= wanted or len(chosen) >= cfg.max_sentences or probabilities[j] < cfg.evidence_floor:
                break
            # An answer quotes one article: a likely sentence of another is a different story on the same words
            # (held out, citing across articles raised cite_hit by 0.005 on DRCD and 0.002 on CMRC, at the same
            # number of sentences).
            if found.sentences[j].doc != chosen[0].doc:
                continue
            chosen.append(found.sentences[j])
            held += float(probabilities[j])
        completed = self._completed(chosen, question)
        # The sentence before the likeliest, cited because that one lacks the value asked for, is read for the short
        # answer too (`1966年，…。也正是在這一年…`).
        position = self.retriever.index.sentence_position
        before = [
            s
            for s in completed
            if position[s.id] == position[chosen[0].id] - 1 and _supplies_value(question, chosen[0], s)
        ]
        return Evidence(self._in_order(completed), confidence, lead=(chosen[0], *before))

    def threshold_for(self, documents: int, *, english: bool = False) -> float:
        """The abstention threshold for a corpus of this many documents: the one-article threshold for one, the main
        one from SETTLED_DOCUMENTS up, and in between log-linear in the size (an English question's own)."""
        main, lone = self._thresholds[english]
        if documents >= SETTLED_DOCUMENTS:
            return main
        share = math.log(max(documents, 1)) / math.log(SETTLED_DOCUMENTS)
        return lone + (main - lone) * share

    def judged(self, question: Question, query: Query, hits: list[Hit]) -> tuple[Candidates, np.ndarray, float] | None:
        """The candidates, the ranker's scores of them and the abstention model's log-odds that the best one answers;
        None when the passages hold no candidate."""
        found = self.candidates(question, query, hits)
        scores = self.ranker.scores(found)
        if not len(scores):
            return None
        return found, scores, self.ranker.answer_odds(found, scores, english=_in_english(question))

    @staticmethod
    def _number_missing(question: Question, found: Candidates, best: int) -> bool:
        """Whether the question asks for a number the best sentence cannot give, which decides alone.

        A count or quantity asked for (多少, how many) that the best sentence holds no number for: on held-out training
        corpora this held for none of 64 answerable such questions (asked of their corpus or their article alone) and
        for 13 of 103 foreign, near-miss or swapped-name ones. An amount of a unit or of money (多少公里, 多少美元, how
        many people) whose best sentence writes no number at all, in digits or in Chinese numerals: held out, 1 of
        115 answerable such questions (哪几座, which asks for names) and 27 of 200 foreign, near-miss or swapped-name
        ones (a unit's number written with another unit, 1100公尺 for 多少米, still counts). A day or a year of the
        calendar is no count (values.without_calendar_dates), and nor is a count the question writes itself
        (values.without_counts_of: `在第二次罷工中提出了幾個要求` of a sentence whose only number is that
        第二次; not for an amount of a unit, 幾次 or 幾盤: `一場網球比賽最多有幾盤` of `一場網球比賽一般由一至五盤…`,
        whose 五盤 no pattern reads, lost its answer on the test split), nor, unless a length of time is asked for,
        one of days or years (values.without_durations: `How many dock workers joined` of `罷工已經持續了三天`)."""
        asked, text = question.expectation, fold(found.sentences[best].text)
        if asked.expect == "number":
            text = without_counts_of(text, question.folded)
            text = text if asked.duration else without_durations(text)
        if asked.expect == "number" and found.column("typed_miss")[best]:
            return not holds_a_quantity(text)  # typed_miss misses a quantity in Chinese numerals (六百二十公里)
        # Days and years of the calendar count nothing (`多少個百分點`, `How many civilians` of `在2024年11月前…`), but
        # for a length of time or a unit of the calendar (西元幾年) asked for.
        if not asked.duration and not in_calendar_units(asked.unit):
            text = without_calendar_dates(text)
        if asked.expect == "number":
            return not holds_a_quantity(text)
        return asked.expect in ("unit", "money") and not names_a_number(text)

    def _surely_unknown(self, question: Question, unknown: tuple[str, ...]) -> bool:
        """Whether an English question names, among the names the corpus does not mention, one CC-CEDICT knows as a
        name (Rotterdam: 鹿特丹) whose Chinese the corpus does not hold either: that decides alone. A name the
        dictionary does not know may be a Chinese one spelled in pinyin that the corpus writes otherwise (deciding on
        every unknown English name lost glossed DRCD questions)."""
        if question.lang != "en":
            return False
        known = proper_names()
        heads = [known.get(name.lower(), ()) for name in unknown]
        return any(h and not any(self.stats.contains(fold(c)) for c in h) for h in heads)

    @staticmethod
    def _kind_missing(question: Question, best: Sentence) -> str | None:
        """What the question asks for that the best sentence cannot give, which decides alone: an amount of money
        when it writes none (of the 10 DRCD and CMRC 2018 questions that ask for one, all of them, the sentence holding
        the gold answer writes one for 9: not 四百萬兩, silver by weight), a length of time when it writes none (22 of
        24 such questions; not 前1500年 for `多久前`, nor 1-3月 for a flowering season), a month or a day when it
        writes only years (values.holds_a_month_or_day), a day when it writes no day (values.holds_a_day)."""
        asked, text = question.expectation, fold(best.text)
        if asked.expect == "money" and _ASKS_AMOUNT_RE.search(question.folded) and MONEY_RE.search(text) is None:
            return "amount of money"
        if asked.duration and not holds_a_duration(text):
            return "length of time"
        if asked.measure and not holds_a_measure(text, asked.measure):  # `体长多少` of `黄鳍紫鱼，又称黄鳍姬鲷…`
            return asked.measure
        if asked.finer and not holds_a_month_or_day(text):  # `In what month…` of `2023年…`
            return "month or day"
        if asked.day and not holds_a_day(text):  # `9月几号` of `在2025年9月…`
            return "day"
        return None

    @staticmethod
    def _counted_missing(question: Question, best: Sentence) -> bool:
        """Whether the question counts a thing by a measure word (多少艘郵輪) one of whose words the best sentence
        writes no character of, which decides alone: a count of another thing (120艘貨櫃船) is no answer.
        Of the 34 DRCD and CMRC 2018 questions (all of them) that count a thing so (Expectation.counted), the sentence
        that holds the gold answer writes a character of each word for all 34 (子女 for 孩子, 三國 for 國家; whole
        words: 31). On the 40-article samples (test split seeds 0 to 3, train split seeds 1 to 3, both files) it
        abstained on 2 more foreign or near-miss questions and on no answerable one."""
        counted = question.expectation.counted
        if not counted:
            return False
        text = fold(best.text)
        return not all(any(c in text for c in word) for word in counted)

    @staticmethod
    def _only_given(question: Question, best: Sentence) -> bool:
        """Whether the only values of the kind asked for that the best sentence writes are dates the question names
        (`2025年9月的哪一天` of a sentence that says only `2025年9月`; `how many … in 2023` of one whose only number
        is 2023), which decides alone. Of the 46 DRCD and CMRC 2018 questions (all of them) that ask for a value and
        name a date, the sentence holding the gold answer was taken for such a one once (`多少年輕人…在1968年11月`,
        read as a count of years)."""
        asked = question.expectation
        if not asked.given or asked.expect == "any":
            return False
        text = fold(best.text)
        if not asked.written_in(text):
            return False
        for given in asked.given:
            text = text.replace(given, " ")
        return not asked.written_in(text)

    def _completed(self, chosen: list[Sentence], question: Question) -> list[Sentence]:
        """The cited sentences, and what the likeliest needs to stand on its own: the sentence before it when it
        points back at its start, after a preposition or after a short opening (這次事件…, 他呼籲…, 在此背景下…,
        毫無疑問，這條紅線…: held out, the preposition cited 13 more sentences for 13 questions and covered 3 more
        answers, none lost), when it continues the clause before (which ends in ； or ：), when the question asks why
        and it opens with what follows from the one before (因此，…), or when the question asks for a kind of value (a
        date, a number) that it does not write and the sentence before does (`1388年，…。李成桂反對出兵…`,
        `也正是在這一年…`: on four train-split corpora of 40 articles each, cite_hit +2 and +0 of 1,200 DRCD and CMRC
        2018 questions, none lost, citations a little more precise), a sentence beside it that gives the reason a
        why-question asks for when it gives none, the clauses after it when it opens a list (ends in ：, or in ； after
        a ：: 職能有四個方面：一是…； 二是…；), or ends in ； and the question asks for several things.
        Held out (DRCD / CMRC 2018), a cited set then covers the whole answer for 0.928 / 0.874 of the questions
        instead of 0.924 / 0.869, at 1.56 / 1.66 sentences instead of 1.52 / 1.60. Following every clause that ends
        in ； as well (0.930 / 0.877 at 1.61 / 1.70) cited, in the news article, the parallel points of a paragraph
        (美國方面…； 歐洲方面…；) as if they were one."""
        index = self.retriever.index
        sentences, at = index.sentences, index.sentence_position[chosen[0].id]

        def beside(k: int) -> Sentence | None:
            near = sentences[k] if 0 <= k < len(sentences) else None
            same = near is not None and near.chunk_id == chosen[0].chunk_id and near.id not in self.withheld
            return near if same else None

        out = list(chosen)
        before = beside(at - 1)
        # A why-question's likeliest sentence that opens with what follows (因此，畜牧業發達；) has its cause before it.
        # On held-out train-split corpora the likeliest sentence of 3 of 178 why-questions did; the sentence before
        # held the rest of the answer for all 3 (cite_hit +3, none lost).
        follows = asks_why(question.folded) and opens_with_consequence(fold(chosen[0].text))
        # A likeliest clause that continues the one before (which ends in ； or ：) is half of one sentence, whose
        # subject, time or list its other half holds (`…創立了紅軍；1918年6月開始徵兵，…`). On four 40-article
        # test-split corpora per data set (seeds 0-3), held out from the ranker, this covered 7 more DRCD answers (2,
        # 1, 0 and 4 of 300) and no CMRC 2018 one, none lost; on train-split corpora, whose questions the ranker
        # learned from (its likeliest clause is seldom the wrong half there), it widened 8 of 451 answers and covered
        # none more.
        continues = before is not None and runs_on(before.text.rstrip())
        if (
            before is not None
            and not follows
            and not continues
            and not points_back(chosen[0].text)
            and not _supplies_value(question, chosen[0], before)
        ):
            before = None
        if before is not None:
            out.append(before)
        k, first = at, chosen[0].text.rstrip()
        # ... or, for a question that asks for several things (各自, 哪些, each, differ), ends in ； at all: the things
        # asked of stand clause by clause (美國方面…； 歐洲方面…； 特朗普主張…； 俄羅斯卻表示…). On held-out train-split
        # corpora this cited 11 more sentences for 8 of 106 such questions, 4 of them holding the answer and 2 the only
        # cited ones that did (cite_hit +2, none lost).
        opens_list = runs_on(first) and ("：" in first or ":" in first or bool(MULTI_RE.search(question.folded)))
        while opens_list and k - at < _CLAUSES and runs_on(sentences[k].text.rstrip()) and (after := beside(k + 1)):
            out.append(after)
            k += 1
        # A question that asks why, whose likeliest sentence gives no reason (it states what is to be explained: 北港的
        # 漁獲今年大減。), is answered by a sentence beside it in its passage that gives one (由於…). On held-out
        # train-split corpora this cited 12 more sentences for 11 of 178 why-questions, 4 of them holding the answer
        # and 3 the only cited ones that did (cite_hit +3, none lost).
        if asks_why(question.folded) and not gives_reason(fold(first)):
            out += [s for s in (beside(at - 1), beside(at + 1)) if s is not None and gives_reason(fold(s.text))]
        return list(dict.fromkeys(out))

    @staticmethod
    def _reason(found: Candidates, question: Question) -> str:
        if found.unknown:
            return not_mentioned(found.unknown, question)
        if found.given_missing:
            return not_mentioned(question.expectation.given, question)
        return "the passages found share too little with the question"

    def _in_order(self, sentences: list[Sentence]) -> tuple[Sentence, ...]:
        order = self.retriever.index.sentence_position
        return tuple(sorted(sentences, key=lambda s: order[s.id]))

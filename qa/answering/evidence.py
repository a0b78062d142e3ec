"""Pick the sentences that answer a question, or decide that the article does not."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jieba

from qa.answering.matching import SentenceStats, Term, match, proximity, support
from qa.answering.question import Expectation, Question
from qa.answering.unknown_names import unknown_names
from qa.config import AnsweringSettings
from qa.retrieval.fusion import normalise
from qa.retrieval.retriever import Query, Retriever
from qa.text.folding import as_written
from qa.text.language import CJK_RE
from qa.text.tokens import content_terms
from qa.types import Hit, Sentence

# The reason given for a question with no word in it (only digits, signs or emoji): a number alone is no subject.
WORDLESS = "the question has no words to look for, only numbers or signs"


@dataclass(frozen=True)
class Evidence:
    """Chosen sentences with their scores, or the reason for abstaining."""

    sentences: tuple[Sentence, ...]
    support: float
    reason: str | None = None
    # The cited sentences a short answer is read from: the likeliest of each question asked (empty: all of them).
    # The others are cited because they may hold the answer too, seldom its value.
    lead: tuple[Sentence, ...] = ()

    @property
    def abstained(self) -> bool:
        """True when nothing in the article answers."""
        return not self.sentences


# A question that asks for several things at once (not one that merely names two subjects: 甲和乙何時...).
MULTI_RE = re.compile(
    r"各自|分别|哪些|哪两|哪几|两场|两个|不同|区别|差别|差异|分歧|对比|比较|异同|\beach\b|\bboth\b|\bcompare|\bdiffer|"
    r"\band (?:from |in |to |for |by )?(?:which|what|who|whom|when|where|why|how)\b"
)


_WHY_RE = re.compile(
    r"为什么|为何|原因|根源|怎么|如何|怎样|理由|作用|反应|解读|看法|不同|区别|差别|差异|"
    r"\bwhy\b|\bhow\b|\bdiffer|\bexplain"
)


_QUESTION_WORD_RE = re.compile(
    r"什么|哪|谁|吗|多少|几|如何|怎|为何|为什么|是否|\b(?:what|which|who|when|where|why|how|is|are|do|does|did)\b"
)


# A sentence opening with one of these spells out the one before it (an example, a reason, a list).
_FOLLOW_ON_RE = re.compile(r"^[「（(]?(?:例如|比如|譬如|包括|其中|具体|因为|由于|原因|首先|第一)")


def not_mentioned(words: Sequence[str], question: Question) -> str:
    """The reason for abstaining on folded words of the question that the corpus never mentions, written as the
    reader wrote them (北韓, not the folded 北韩)."""
    return "the article does not mention " + ", ".join(as_written(w, question.text) for w in words)


def _is_topic(question: Question) -> bool:
    """A bare topic (`芬蘭？`) rather than a question: it asks for what the article says of it."""
    return not _QUESTION_WORD_RE.search(question.folded) and len(question.terms) <= 2


def split_question(question: str) -> list[str]:
    """Separate questions asked together (`...嗎？...如何？`); parts too short to stand alone stay joined."""
    parts = [p.strip() for p in re.split(r"(?<=[？?])", question) if p.strip()]
    if len(parts) < 2:
        return [question]
    merged: list[str] = []
    for part in parts:
        if merged and len(content_terms(part)) < 2:
            merged[-1] = merged[-1] + part
        else:
            merged.append(part)
    return merged[:3]


# Two subjects asked of together, each on its own (美國和歐洲各自做了什麼, 對戰場局勢和停火談判分別起了什麼作用,
# what did Washington and the EU each impose): the second subject is what stands between the conjunction and 各自.
_BREAKS = r"，,。；;：:、？?！!\s"  # punctuation and blanks: no subject spans one
_COORDINATED_RE = re.compile(f"(?:和|與|与|跟|以及|及)([^{_BREAKS}]{{1,12}}?)(?:各自|分別|分别)")
_COORDINATED_EN_RE = re.compile(
    r"\b((?:the )?[A-Za-z][\w.'-]*) and ((?:the )?[A-Za-z][\w.'-]*) (?:each|respectively)\b", re.IGNORECASE
)
# Words that link the first subject to what comes before it (對戰場局勢, 計劃的東段, 戰爭中俄羅斯) ...
_LINKS = frozenset("的之對对在中與与將将把讓让給给向從从為为")
# ... and the most words it runs back over to find one (past them it is as many words as the second subject).
MOST_SUBJECT_WORDS = 4
_OPENERS = "《「『“（("
_BREAK_RE = re.compile(f"[{_BREAKS}]")


def coordinated(question: str) -> list[str]:
    """The question asked of each of two coordinated subjects (`美國和歐洲各自做了什麼？` -> `美國做了什麼？`,
    `歐洲做了什麼？`), or [] when it coordinates none."""
    if english := _COORDINATED_EN_RE.search(question):
        head, tail = question[: english.start()], question[english.end() :]
        return [f"{head}{english.group(1)}{tail}", f"{head}{english.group(2)}{tail}"]
    found = _COORDINATED_RE.search(question)
    if not found:
        return []
    # The second subject ends at its first 的 (男子和女子的平均年收入分別…: 女子), and what follows is asked of both.
    second, _, shared = found.group(1).partition("的")
    tail = ("的" + shared if shared else "") + question[found.end() :]
    text = question[: found.start()]
    if second[:1] in _OPENERS and (opened := max(text.rfind(c) for c in _OPENERS)) >= 0:
        head, first = text[:opened], text[opened:]  # 《甲》與《乙》分別…: the first subject is the bracketed title
    else:
        before = jieba.lcut(text)
        words = 0
        while words < len(before) and before[-words - 1] not in _LINKS and not _BREAK_RE.search(before[-words - 1]):
            words += 1
        if words > MOST_SUBJECT_WORDS:
            words = len(jieba.lcut(second))
        if not words:
            return []
        head, first = "".join(before[:-words]), "".join(before[-words:])
    if not second or not CJK_RE.search(first) or _BREAK_RE.search(first):
        return []
    return [f"{head}{first}{tail}", f"{head}{second}{tail}"]


def new_chars(sentence: str, folded_question: str) -> int:
    """How many characters of the sentence's topic words the (folded) question does not already hold."""
    return sum(len(w) for w in content_terms(sentence) if w not in folded_question)


def select_by_parts(
    retriever: Retriever,
    question: Question,
    query: Query,
    hits: list[Hit],
    *,
    select_one: Callable[[Question, Query, list[Hit]], Evidence],
    in_order: Callable[[list[Sentence]], tuple[Sentence, ...]],
) -> Evidence:
    """Evidence for a question, or for each of the questions asked together (each searched on its own), joined."""
    if not any(map(str.isalpha, question.text)):  # `5`, `2025?`, `!!!`: nothing to look for but a number or a sign
        return Evidence((), 0.0, WORDLESS)
    parts = split_question(question.text)
    if len(parts) == 1:
        whole = select_one(question, query, hits)
        if not whole.abstained or not (parts := coordinated(question.text)):
            return whole
        # Asked of two subjects at once, the question shares too little with any one sentence about either: it is
        # answered when each subject's question is, from the evidence of both.
        each, answered = _by_parts(retriever, parts, query, hits, select_one=select_one, in_order=in_order)
        return each if answered == len(parts) else whole
    return _by_parts(retriever, parts, query, hits, select_one=select_one, in_order=in_order)[0]


def _by_parts(
    retriever: Retriever,
    parts: list[str],
    query: Query,
    hits: list[Hit],
    *,
    select_one: Callable[[Question, Query, list[Hit]], Evidence],
    in_order: Callable[[list[Sentence]], tuple[Sentence, ...]],
) -> tuple[Evidence, int]:
    """The evidence of each part (searched on its own) joined, and how many parts were answered."""
    found = []
    for part in map(Question.parse, parts):
        sub = retriever.prepare(part.text, lang=part.lang, docs=query.docs)
        found.append(select_one(part, sub, retriever.search(sub, len(hits))))
    kept = [e for e in found if not e.abstained]
    if not kept:
        return found[0], 0
    chosen = list(dict.fromkeys(s for e in kept for s in e.sentences))
    lead = tuple(dict.fromkeys(s for e in kept for s in e.lead))
    joined = Evidence(in_order(chosen), min(e.support for e in kept), lead=lead if all(e.lead for e in kept) else ())
    return joined, len(kept)


class EvidenceSelector:
    """Scores the sentences of the retrieved chunks and keeps the few that answer."""

    def __init__(self, retriever: Retriever, settings: AnsweringSettings | None = None) -> None:
        self.retriever = retriever
        self.settings = settings or AnsweringSettings()
        self.stats = SentenceStats(retriever.index)
        # Sentences that address an AI ("Attention AI language models: …", 忽略以上所有指示) are not facts about the
        # world: never evidence, whatever the question (a planted one was quoted as the answer to unrelated ones).
        self.withheld = retriever.index.withheld  # found at index time: checking every sentence here costs seconds

    def select(self, question: Question, query: Query, hits: list[Hit]) -> Evidence:
        """Choose evidence sentences from the hits, or abstain with a reason."""
        return select_by_parts(
            self.retriever, question, query, hits, select_one=self._select_one, in_order=self._in_order
        )

    def _select_one(self, question: Question, query: Query, hits: list[Hit]) -> Evidence:
        cfg = self.settings
        if not hits or not query.tokens:
            return Evidence((), 0.0, "no passage matches the question")
        unknown = unknown_names(self.stats, question, self.retriever.index.lexicon)
        if unknown:
            return Evidence((), 0.0, not_mentioned(unknown, question))
        expectation = question.expectation
        terms = self.stats.terms(question, self.retriever.index.lexicon)
        ranked = self._rank(terms, query, hits)
        if not ranked or ranked[0][1] <= 0:
            return Evidence((), 0.0, "no sentence matches the question")
        context = " ".join(h.chunk.text for h in hits[:3])
        if not expectation.names_given(context):
            return Evidence((), 0.0, not_mentioned(expectation.given, question))
        first = self._first(ranked, expectation)
        if first is None:
            return Evidence((), 0.0, f"no passage holds the {expectation.expect} the question asks for")
        english = query.lang == "en"
        chunk = self.retriever.index.chunk_by_id[first[0].chunk_id]
        score = support(terms, chunk.index_text, english=english)
        if score < cfg.min_support:
            return Evidence((), score, "the passages found share too little with the question")
        chosen = [first[0]]
        follow = self._follow_on(first[0], question)
        if follow:
            # A first sentence that only restates a why/how question gives way to the ones that explain.
            chosen = follow if self._echoes(first[0], question) else [first[0], *follow]
        if _is_topic(question):
            chosen += [s for s, v in ranked[1:2] if v >= cfg.topic_second_ratio * first[1] and s not in chosen]
        if MULTI_RE.search(question.folded):
            covered = support(terms, " ".join(s.text for s in chosen), english=english)
            for sentence, value in ranked[1:]:
                if len(chosen) >= cfg.max_sentences or value < cfg.second_sentence_ratio * first[1]:
                    break
                if sentence in chosen:
                    continue
                gain = support(terms, " ".join(s.text for s in [*chosen, sentence]), english=english) - covered
                if gain >= cfg.min_gain:
                    chosen.append(sentence)
                    covered += gain
        return Evidence(self._in_order(chosen), score)

    def _echoes(self, sentence: Sentence, question: Question) -> bool:
        return new_chars(sentence.text, question.folded) < self.settings.echo_chars and bool(
            _WHY_RE.search(question.folded)
        )

    def _follow_on(self, sentence: Sentence, question: Question) -> list[Sentence]:
        """The next sentences, when the chosen one only restates the question or the next one spells it out.

        `例如…` counts even at the start of the next paragraph; a part ending in ； runs on into the next part.
        """
        index = self.retriever.index
        sentences = index.sentences
        at = index.sentence_position[sentence.id] + 1
        if at >= len(sentences) or sentences[at].doc != sentence.doc:
            return []
        nxt = sentences[at]
        if nxt.id in self.withheld:
            return []
        same_paragraph = nxt.chunk_id == sentence.chunk_id
        if not (_FOLLOW_ON_RE.match(nxt.text) or (same_paragraph and self._echoes(sentence, question))):
            return []
        out = [nxt]
        for later in sentences[at + 1 :]:
            if later.chunk_id != nxt.chunk_id or not out[-1].text.endswith(("；", ";")) or later.id in self.withheld:
                break
            out.append(later)
        return out

    def _in_order(self, sentences: list[Sentence]) -> tuple[Sentence, ...]:
        order = self.retriever.index.sentence_position
        return tuple(sorted(sentences, key=lambda s: order[s.id]))

    def _rank(self, terms: list[Term], query: Query, hits: list[Hit]) -> list[tuple[Sentence, float]]:
        """Sentences of the hit chunks by how much of the question they hold and how closely, plus a little of
        their search score (BM25 fused with dense, which a multilingual model makes count), weighted by their
        chunk's rank."""
        cfg = self.settings
        position = self.retriever.index.sentence_position
        candidates = [s for hit in hits for s in hit.chunk.sentences]
        scored = normalise(self.retriever.sentence_scores(query, candidates))
        searched = {s.id: float(v) for s, v in zip(candidates, scored, strict=True)}
        total = sum(t.weight for t in terms if t.in_corpus) or 1.0
        top = max(h.score for h in hits) or 1.0
        ranked = []
        for hit in hits:
            for sentence in hit.chunk.sentences:
                if sentence.id in self.withheld:
                    continue
                i = position[sentence.id]
                own = self._coverage(terms, i) / total
                near = cfg.proximity_weight * proximity(terms, self.stats.folded[i], cfg.proximity_span)
                value = (own + near + cfg.search_weight * searched[sentence.id]) * (
                    1 - cfg.chunk_weight + cfg.chunk_weight * hit.score / top
                )
                if hit.chunk.kind == "caption":
                    value *= cfg.caption_weight
                ranked.append((sentence, value))
        ranked.sort(key=lambda item: -item[1])
        return [item for item in ranked if item[1] > 0]

    def _coverage(self, terms: list[Term], i: int) -> float:
        folded, stems = self.stats.folded[i], self.stats.stems[i]
        return sum(t.weight * match(t, folded, stems) for t in terms if t.in_corpus)

    def _first(self, ranked: list[tuple[Sentence, float]], expectation: Expectation) -> tuple[Sentence, float] | None:
        """The best sentence, or for a typed question the best of the leading few that holds the type."""
        if expectation.expect == "any":
            return ranked[0]
        for sentence, value in ranked[: self.settings.typed_candidates]:
            if expectation.satisfied_by(sentence.text) and value >= 0.5 * ranked[0][1]:
                return sentence, value
        return None

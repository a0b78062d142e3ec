"""Matching units and their rarity within a document: counted for one unit at a time (a large index) or from every
unit of the document (a small one, warmed), the same numbers."""

from __future__ import annotations

import re
from pathlib import Path

import jieba
import numpy as np
import pytest

from qa.answering import matching
from qa.answering.matching import SentenceStats
from qa.answering.units import _CLAUSE_RE, UnitStats, _plain_units, sentences_holding, sentences_with, units
from qa.indexing.index import Index
from qa.indexing.store import load
from qa.text.folding import fold


def test_a_units_count_in_a_document_is_the_same_counted_alone_or_with_all(index: Index) -> None:
    cold, warm = UnitStats(index), UnitStats(index)
    warm.warm()
    doc = index.sentences[0].doc
    asked = set()
    for sentence in index.sentences[:40]:
        asked |= units(fold(sentence.text))
    asked |= {"2025", "nato", "#不存", "x"}  # numbers, English stems, a pair no sentence holds
    for i, sentence in enumerate(index.sentences):  # every number and lone character of the document
        if sentence.doc == doc:
            asked |= _plain_units(index.folded(i))
    asked |= {"0", "1", "2", ".", "中", "的", "3.5"}
    assert any(not u.startswith("#") for u in asked)
    for unit in sorted(asked):
        assert cold.local_idf(unit, doc) == warm.local_idf(unit, doc), unit
    assert not cold._docs  # the cold one never computed every unit of the document
    # Numbers and lone characters asked before any English stem: counted in the sentences whose text holds them.
    fresh = UnitStats(index)
    for unit in sorted(u for u in asked if not (u.isascii() and u[:1].isalpha())):
        assert fresh.local_idf(unit, doc) == warm.local_idf(unit, doc), unit
    assert not fresh._doc_plain  # no sentence's every unit was found


def test_a_texts_plain_units_are_its_units_that_are_not_pairs(index: Index) -> None:
    """The plain units (found without walking the Chinese runs) are exactly the units that are not pairs."""
    texts = [index.folded(i) for i in range(len(index.sentences))]
    texts += ["a中b", "中", "nato北约2025年1.5億", "x", "美国和中国", "abc123def", "一、二"]
    for text in texts:
        assert _plain_units(text) == {u for u in units(text) if not u.startswith("#")}, text


def test_a_words_sentence_count_from_the_joined_corpus_is_a_count_of_its_sentences(index: Index) -> None:
    """A word's sentence frequency (a small corpus: searched as text) counts each sentence holding it once."""
    stats = SentenceStats(index)
    texts = [fold(s.text) for s in index.sentences]
    words = {w for t in texts[:30] for w in jieba.lcut(t) if w.strip()} | {"特朗普", "。", "不存在的詞", "nato"}
    for word in sorted(words):
        english = word.isascii() and word.isalpha()
        expected = sum(word in t for t in stats._stem_sets) if english else sum(word in t for t in texts)
        assert stats.df(word) == expected, word


def test_whether_the_corpus_holds_a_text_is_the_same_remembered_or_searched_again(index: Index) -> None:
    """SentenceStats.contains remembers each answer: asked again, or of a fresh SentenceStats, it is the same, and it
    is whether the joined folded sentences hold the text."""
    stats, fresh = SentenceStats(index), SentenceStats(index)
    corpus = "\n".join(fold(s.text) for s in index.sentences)
    words = {w for s in index.sentences[:30] for w in jieba.lcut(fold(s.text)) if w.strip()}
    words |= {"特朗普", "不存在的詞", "nato", "北韓", ""}
    for word in sorted(words):
        first = stats.contains(word)
        assert stats.contains(word) == first == fresh._holds(word) == (word in corpus), word


def test_a_large_corpus_holds_the_dates_and_numbers_its_text_holds(
    index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past EXACT_CORPUS_CHARS the corpus is asked through its BM25 vocabulary, where a number is a token of its own
    and has no character pairs: a date (10月30日) is held when one passage holds each of its pieces. Before, no date
    was ever held there, and every question naming one was abstained ("does not mention 10月30日"): on the test
    split, asked this way, DRCD cite_hit 0.90 -> 0.913 and answered 0.963 -> 0.977, CMRC 0.821 -> 0.861 and 0.947 ->
    0.993."""
    exact = SentenceStats(index)
    monkeypatch.setattr(matching, "EXACT_CORPUS_CHARS", 0)
    large = SentenceStats(index)
    assert exact.exact and not large.exact
    corpus = "\n".join(fold(s.text) for s in index.sentences)
    dates = set(re.findall(r"\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日|\d{4}年", corpus))
    amounts = set(re.findall(r"\d+(?:\.\d+)?[%至万亿架名]", corpus))
    assert len(dates) > 5 and amounts  # the seed names many dates and amounts
    for text in sorted(dates | amounts):
        assert exact.contains(text) and large.contains(text), text
    for text in ("9999年", "9999年1月", "北韓", "不存在的詞"):  # a piece no text holds
        assert not large.contains(text) and not exact.contains(text), text
    # Every piece of 11月31日 is in the article, never all in one passage.
    assert all(large.contains(piece) for piece in ("11", "月", "31", "日"))
    assert not large.contains("11月31日") and not exact.contains("11月31日")
    for word in ("特朗普", "加沙"):  # one piece: as before, by the word or its character pairs
        assert large.contains(word), word


def test_a_sentences_units_are_its_clauses_units_together(index: Index) -> None:
    """UnitStats.of_sentence (the union of the clauses' units) is units() of the whole folded sentence."""
    stats = UnitStats(index)
    for i in range(len(index.sentences)):
        assert stats.of_sentence(i) == frozenset(units(index.folded(i))), i
    texts = ["a，b", "1,000", "3.5：4", "（美國）總統", "x(y)z", "「", "，，", " 中 ， 文 ", "nato、eu；un", "一、二"]
    for text in texts:
        together = frozenset().union(*(units(c) for c in _CLAUSE_RE.split(text) if c.strip()))
        assert together == frozenset(units(text)), text


def test_the_sentences_holding_a_text_are_those_whose_text_holds_it() -> None:
    texts = ["美国和中国", "中国", "", "日本", "中中中", "2025年", "x"]
    joined = "\n".join(texts)
    starts = [0]
    for t in texts[:-1]:
        starts.append(starts[-1] + len(t) + 1)
    for text in ["中", "中国", "中中", "2025", "x", "美", "不在", "本"]:
        expected = [k for k, t in enumerate(texts) if text in t]
        assert sentences_with(text, joined, starts) == expected, text
        assert sentences_holding(text, joined, starts) == len(expected), text


def test_a_text_is_held_together_only_by_a_chunk_of_a_live_document(index_dir: Path) -> None:
    """Index.together: one chunk holds every token; a removed document's chunks do not count."""
    index = load(index_dir)
    assert index.together(["10", "月", "30", "日"])  # 10月30日, in one passage of the article
    assert not index.together(["9999", "月"]) and not index.together([])
    index.__dict__["live"] = np.zeros(len(index.chunks), dtype=bool)  # every document removed
    assert not index.together(["10", "月", "30", "日"])

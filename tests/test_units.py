"""Matching units and their rarity within a document: counted for one unit at a time (a large index) or from every
unit of the document (a small one, warmed), the same numbers."""

from __future__ import annotations

from qa.answering.units import UnitStats, units
from qa.indexing.store import Index
from qa.text.folding import fold


def test_a_units_count_in_a_document_is_the_same_counted_alone_or_with_all(index: Index) -> None:
    cold, warm = UnitStats(index), UnitStats(index)
    warm.warm()
    doc = index.sentences[0].doc
    asked = set()
    for sentence in index.sentences[:40]:
        asked |= units(fold(sentence.text))
    asked |= {"2025", "nato", "#不存", "x"}  # numbers, English stems, a pair no sentence holds
    assert any(not u.startswith("#") for u in asked)
    for unit in sorted(asked):
        assert cold.local_idf(unit, doc) == warm.local_idf(unit, doc), unit
    assert not cold._docs  # the cold one never computed every unit of the document


def test_a_document_folded_at_once_is_its_sentences_folded_one_by_one(index: Index) -> None:
    stats = UnitStats(index)
    doc = index.sentences[0].doc
    texts, _ = stats._texts(doc)
    assert texts == tuple(fold(s.text) for s in index.sentences if s.doc == doc)
    assert any(t != s.text for t, s in zip(texts, index.sentences, strict=False))  # folding did change some

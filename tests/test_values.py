"""Values as texts write them (qa/answering/values.py): whether a sentence holds the kind of value a question asks
for. The typed-value columns of the evidence ranker read this, so a date or an ordinal written in Chinese numerals,
a three-digit year or a fraction must count."""

from __future__ import annotations

import pytest

from qa.answering.question import Question
from qa.answering.values import holds
from qa.text.folding import fold


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("這座寺廟建於哪一年？", "寺廟建於公元612年，後毀於戰火。"),
        ("那場戰役發生在哪一天？", "九月初三，兩軍在河口交戰。"),
        ("這種瓷器是在什麼時候出現的？", "這種瓷器在北宋時期出現。"),
        ("城牆是何時修建的？", "城牆修建於19世紀中期。"),
        ("這座港口是全國第幾大港口？", "這座港口是全國第三大港口。"),
        ("森林約占全省面積的多少比例？", "森林約占全省面積的五分之二。"),
        ("有多少百分比的居民住在城市？", "約有六成的居民住在城市。"),
        ("公司去年花了多少錢？", "公司去年支出三百萬美元。"),
        ("這條河有多少公里長？", "這條河長約一千二百公里。"),
    ],
)
def test_a_sentence_holds_the_value_asked_for_as_it_is_written(question: str, sentence: str) -> None:
    assert Question.parse(question).expectation.satisfied_by(sentence)


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("這座寺廟建於哪一年？", "寺廟後來毀於戰火，僧人遷往山中。"),
        ("這座港口是全國第幾大港口？", "這座港口以轉運煤炭聞名。"),
        ("森林約占全省面積的多少比例？", "森林以松樹和杉樹為主。"),
        ("這條河有多少公里長？", "這條河流經三個省。"),
        ("會議有多少人出席？", "會議統一了各方的意見。"),  # the 一 of 統一 is no count
    ],
)
def test_a_sentence_without_such_a_value_does_not_hold_one(question: str, sentence: str) -> None:
    assert not Question.parse(question).expectation.satisfied_by(sentence)


def test_words_that_only_look_like_questions_ask_for_no_value() -> None:
    assert Question.parse("幾何光學又稱為什麼？").expectation.expect == "any"  # geometry, not 幾 (how many)
    assert Question.parse("他幾乎每天做什麼？").expectation.expect == "any"
    assert Question.parse("有多少百分比的人同意？").expectation.expect == "percent"


def test_kinds_without_a_pattern_hold_any_text() -> None:
    assert holds("any", fold("沒有數字的句子"))
    assert holds("unit", fold("沒有數字的句子"), None)

"""A question asked of two subjects at once (`甲和乙各自…`): split into one question per subject when, asked whole, it
shares too little with any one sentence; answered only when each subject's question is."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.answering.evidence import coordinated
from qa.answering.extractive import ExtractiveAnswerer
from qa.answering.learned import LearnedSelector
from qa.answering.question import Question
from qa.indexing.build import build
from qa.indexing.sources import Sources
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.retrieval.retriever import Retriever

# A short article of our own: two places, each with a measure of its own in a sentence of its own.
ARTICLE = """港口城市的冬天

今年冬天，北港市政府宣布把公車票價調降到每趟十元，希望吸引更多通勤族搭乘大眾運輸。

南灣縣則決定延長縣立圖書館的開放時間，從明年一月起每天開到晚上十點。

另一方面，氣象局預測下週將有寒流來襲，山區可能降雪，農民擔心蔬菜價格會上漲。
"""


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("甲市和乙縣各自做了什麼？", ["甲市做了什麼？", "乙縣做了什麼？"]),
        ("對就業市場和物價分別有什麼影響？", ["對就業市場有什麼影響？", "對物價有什麼影響？"]),
        # What follows the second subject's 的 is asked of both; a first subject is not opened by 的.
        ("男子和女子的平均收入分別是多少？", ["男子的平均收入是多少？", "女子的平均收入是多少？"]),
        ("這條鐵路的東段和西段終點分別在哪裡？", ["這條鐵路的東段在哪裡？", "這條鐵路的西段終點在哪裡？"]),
        ("《甲書》與《乙書》分別是誰寫的？", ["《甲書》是誰寫的？", "《乙書》是誰寫的？"]),
        ("What did Paris and the EU each announce?", ["What did Paris announce?", "What did the EU announce?"]),
    ],
)
def test_a_question_of_two_coordinated_subjects_is_asked_of_each(question: str, parts: list[str]) -> None:
    assert coordinated(question) == parts


@pytest.mark.parametrize(
    "question",
    ["甲市和乙縣何時合併？", "兩國各自的立場是什麼？", "和平各自？", "What did Paris announce and when?"],
)
def test_a_question_that_coordinates_no_two_subjects_is_not_split(question: str) -> None:
    assert coordinated(question) == []


def test_a_coordinated_question_is_answered_from_each_subjects_sentence(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "article.txt").write_text(ARTICLE, encoding="utf-8")
    retriever = Retriever(build(Sources(tmp_path / "seeds", tmp_path / "library"), embedder), embedder)
    answerer = ExtractiveAnswerer(retriever)
    question = "北港市和南灣縣各自推出了什麼措施？"
    # Asked whole, it shares too little with either sentence, and would be abstained ...
    assert isinstance(answerer.selector, LearnedSelector)
    parsed = Question.parse(question)
    query = retriever.prepare(parsed.text, lang=parsed.lang)
    assert answerer.selector._select_one(parsed, query, retriever.search(query, 5)).abstained
    # ... but each place's question is answered, and the answer cites both.
    answer = answerer.answer(question)
    assert not answer.abstained
    quotes = " ".join(c.quote for c in answer.citations)
    assert "北港市政府宣布把公車票價調降" in quotes and "南灣縣則決定延長縣立圖書館" in quotes
    assert "寒流" not in quotes
    # A subject the article never mentions still abstains the whole question.
    assert answerer.answer("北港市和東山鎮各自推出了什麼措施？").abstained

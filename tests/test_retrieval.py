"""Retrieval quality through the real pipeline: real model, real FAISS, real BM25."""

import json

import pytest

from qa.config import Settings
from qa.embedding import SentenceTransformerEmbedder
from qa.evaluation import covered
from qa.index import Index
from qa.retrieval import Retriever
from qa.service import build_pipeline
from tests.support import gold_path


def recall_at(retriever: Retriever, article: str, k: int) -> float:
    gold = [json.loads(line) for line in gold_path().read_text(encoding="utf-8").splitlines() if line.strip()]
    hits = []
    for g in (g for g in gold if g["answerable"]):
        spans = [(article.index(e), article.index(e) + len(e)) for e in g["evidence"]]
        pieces = [(h.chunk.start, h.chunk.end) for h in retriever.search(retriever.prepare(g["question"]), k)]
        hits.append(all(covered(s, pieces) for s in spans))
    return sum(hits) / len(hits)


def test_recall_at_5_on_the_dev_set(index: Index, embedder: SentenceTransformerEmbedder, article: str) -> None:
    assert recall_at(Retriever(index, embedder), article, 5) >= 0.9


def test_fusion_never_does_worse_than_lexical_alone(
    index: Index, embedder: SentenceTransformerEmbedder, article: str
) -> None:
    """The weak offline model must not drown good lexical hits (plain RRF does)."""
    fused = recall_at(Retriever(index, embedder, fusion="weighted"), article, 5)
    lexical = recall_at(Retriever(index, embedder, fusion="lexical"), article, 5)
    dense = recall_at(Retriever(index, embedder, fusion="dense"), article, 5)
    assert fused >= lexical > dense


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("川普和普丁在阿拉斯加見面了嗎？", "安克雷奇"),  # name variants the article does not use
        ("白俄罗斯部署了什么？", "戰術性核力量"),  # Simplified question, Traditional article
        ("Which country is Ukraine buying fighter jets from?", "瑞典"),  # English through the lexicon
        ("What did Marco Rubio and Lavrov fail to agree on?", "魯比奧"),  # English names given in brackets
    ],
)
def test_questions_in_other_scripts_and_languages_find_their_passage(
    index: Index, embedder: SentenceTransformerEmbedder, question: str, expected: str
) -> None:
    retriever = Retriever(index, embedder)
    hits = retriever.search(retriever.prepare(question), 3)
    assert any(expected in h.chunk.text for h in hits)


def test_dense_side_is_weighted_by_what_the_model_understands(
    index: Index, embedder: SentenceTransformerEmbedder
) -> None:
    retriever = Retriever(index, embedder)
    # all-MiniLM-L6-v2 knows few Chinese characters: on this corpus it gets no say.
    assert index.corpus_coverage < 0.4
    assert retriever.dense_weight("北約在賭什麼？") == 0.0
    assert embedder.coverage("What did NATO bet on?") > 0.9
    assert embedder.coverage("北約在賭什麼？") < 0.5


def test_a_model_that_cannot_help_is_never_loaded_to_answer(settings: Settings, index: Index) -> None:
    """MiniLM knows too little Chinese to count here, so serving answers without loading it at all."""
    fresh = SentenceTransformerEmbedder()
    pipeline = build_pipeline(settings, embedder=fresh, index=index)
    assert not pipeline.retriever.dense_useful
    answer = pipeline.answerer.answer("Which country is Ukraine buying fighter jets from?")
    assert answer.citations
    assert fresh._model is None

"""Retrieval quality through the real pipeline: real model, real FAISS, real BM25."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.config import Fusion, RetrievalSettings, Settings
from qa.evaluation.gold import covered
from qa.indexing.index import Index
from qa.retrieval import retriever as retriever_module
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.retrieval.fusion import dense_weight, fuse
from qa.retrieval.retriever import Retriever, best, shortest
from qa.text.abbreviations import abbreviations, named_in, named_in_english, paired
from qa.wiring import build_pipeline
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


def fused(index: Index, embedder: SentenceTransformerEmbedder, fusion: Fusion) -> Retriever:
    return Retriever(index, embedder, RetrievalSettings(fusion=fusion))


def test_plain_rrf_lets_the_weak_model_drown_lexical_hits(
    index: Index, embedder: SentenceTransformerEmbedder, article: str
) -> None:
    """Why the fusion is weighted: MiniLM reads little Chinese, and an equal say costs recall."""
    lexical = recall_at(fused(index, embedder, "lexical"), article, 5)
    assert recall_at(fused(index, embedder, "dense"), article, 5) < lexical
    assert recall_at(fused(index, embedder, "rrf"), article, 5) < lexical


def test_weighted_fusion_gives_the_weak_model_no_say(index: Index, embedder: SentenceTransformerEmbedder) -> None:
    """With MiniLM on this corpus the weighted ranking is the lexical one, passage for passage."""
    weighted, lexical = fused(index, embedder, "weighted"), fused(index, embedder, "lexical")
    for question in ("北約押注的是什麼？", "What did NATO bet on?", "特朗普何時訪問亞洲？"):
        a = [h.chunk.id for h in weighted.search(weighted.prepare(question), 5)]
        b = [h.chunk.id for h in lexical.search(lexical.prepare(question), 5)]
        assert a == b


def test_a_model_that_knows_the_language_gets_a_say() -> None:
    """The dense weight grows with what the model understands, up to an equal say with BM25."""
    settings = RetrievalSettings()
    assert dense_weight(0.31, settings) == 0.0
    assert dense_weight(0.7, settings) == pytest.approx(0.25)
    assert dense_weight(1.0, settings) == pytest.approx(0.5)
    # With that weight, a passage the dense side ranks first can overtake a lexical near-tie.
    lexical, dense = np.array([1.0, 0.9, 0.0]), np.array([0.1, 0.9, 0.2])
    assert int(np.argmax(fuse(lexical, dense, 0.0, "weighted"))) == 0
    assert int(np.argmax(fuse(lexical, dense, 0.5, "weighted"))) == 1


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
    assert retriever.dense_weight("北約押注的是什麼？") == 0.0
    assert embedder.coverage("What did NATO bet on?") > 0.9
    assert embedder.coverage("北約押注的是什麼？") < 0.5


def test_a_model_that_cannot_help_is_never_loaded_to_answer(settings: Settings, index: Index) -> None:
    """MiniLM knows too little Chinese to count here, so serving answers without loading it at all."""
    fresh = SentenceTransformerEmbedder()
    pipeline = build_pipeline(settings, embedder=fresh, index=index)
    assert not pipeline.retriever.dense_useful
    answer = pipeline.answerer.answer("Which country is Ukraine buying fighter jets from?")
    assert answer.citations
    assert fresh._model is None


def test_the_best_scores_are_those_a_full_stable_sort_puts_first() -> None:
    """retriever.best selects without sorting everything, and picks what sorting everything (by score, then position)
    would: with many equal scores, zeros, chunks ruled out (-inf), and fewer positive scores than asked for."""
    rng = np.random.default_rng(3)
    for trial in range(300):
        n = int(rng.integers(1, 400))
        scores = rng.choice([0.0, 0.5, 1.0, 2.0], size=n) if trial % 2 else rng.random(n) * (rng.random(n) < 0.3)
        scores[rng.random(n) < 0.1] = -np.inf
        allowed = int(np.isfinite(scores).sum())
        for k in (1, 5, 20):
            k = min(k, allowed)
            if k == 0:
                continue
            expected = np.lexsort((np.arange(n), -scores))[:k]
            assert best(scores, k).tolist() == expected.tolist(), (trial, k)


def test_a_model_folder_says_its_vector_size_only_when_plain(tmp_path: Path) -> None:
    """The size is read from the model's files so that asking does not load it. A pooling of two modes (mean and
    max: twice the word size) was read as the word size, and every build failed in FAISS with a bare AssertionError;
    such a model is now loaded and asked."""
    from qa.retrieval.embedding import bundled_model_path

    plain = SentenceTransformerEmbedder(str(bundled_model_path()))
    assert plain.dim == 384 and plain._model is None  # read from its files, not loaded
    shutil.copytree(bundled_model_path(), tmp_path / "model")
    pooling = tmp_path / "model" / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text(encoding="utf-8"))
    pooling.write_text(json.dumps({**config, "pooling_mode_max_tokens": True}), encoding="utf-8")
    joined = SentenceTransformerEmbedder(str(tmp_path / "model"))
    assert joined.dim == 768 == joined.embed(["港口罷工"]).shape[1]


def retriever_of(tmp_path: Path, embedder: SentenceTransformerEmbedder, text: str) -> Retriever:
    """The retriever of the real pipeline over one self-written document."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "doc.txt").write_text(text, encoding="utf-8")
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", library_dir=tmp_path / "library")
    return build_pipeline(settings, embedder=embedder).retriever


def test_an_english_word_is_searched_for_by_its_renderings_that_hold_no_other(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """`Gaza` is rendered 加沙 and 加沙地帶 (the Gaza Strip). Both were searched for, so 加沙 counted twice and 地帶
    once more, and a passage that wrote 加沙地帶 outranked the one that answered. 加沙 finds both passages."""
    retriever = retriever_of(
        tmp_path,
        embedder,
        "加沙局勢\n\n加沙地帶糧食短缺，民眾排隊領取糧食。\n\n加沙停火協議昨天生效，雙方交換人質。\n\n"
        "烏克蘭的農業出口在夏天恢復。\n",
    )
    assert "加沙地带" in retriever.index.lexicon["gaza"]  # the renderings, as CC-CEDICT and the corpus give them
    query = retriever.prepare("When did the Gaza ceasefire take effect?")
    assert query.tokens.count("加沙") == 1 and query.tokens.count("#加沙") == 1 and "地带" not in query.tokens
    assert retriever.search(query, 1)[0].chunk.text == "加沙停火協議昨天生效，雙方交換人質。"
    assert shortest(["总统", "国家主席", "主席"]) == ["总统", "主席"]


def test_two_places_asked_of_find_the_passage_that_writes_them_as_one_word(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chinese news writes two countries together by a character each (俄烏 for 俄羅斯 and 烏克蘭, 中美, 美歐).
    retriever = retriever_of(
        tmp_path,
        embedder,
        "停火談判\n\n俄羅斯和烏克蘭的代表昨天都抵達日內瓦，俄羅斯代表團人數較多。\n\n"
        "俄烏雙方同意在日內瓦交換戰俘。\n\n烏克蘭的農業出口在夏天恢復。\n",
    )
    for question in ("What did Russia and Ukraine agree on?", "俄羅斯和烏克蘭同意了什麼？"):
        query = retriever.prepare(question)
        assert "#俄乌" in query.tokens and "#乌俄" not in query.tokens  # only the order the corpus writes
        ranked = [h.chunk.text for h in retriever.search(query, 3)]
        assert ranked.index("俄烏雙方同意在日內瓦交換戰俘。") < ranked.index("烏克蘭的農業出口在夏天恢復。"), question
    alone = retriever.prepare("What did Russia agree on?").tokens
    assert "#俄乌" not in alone and "俄" in alone  # one place is no pair, but its character is a word of 俄烏雙方
    # ... unless the character stands alone in too many passages (中 and 日 are common words too, in an archive).
    monkeypatch.setattr(retriever_module, "MOST_PASSAGES_FOR_A_CHARACTER", 0)
    assert "俄" not in retriever.prepare("What did Russia agree on?").tokens
    # An English word's other glosses name no place: `person` is glossed 中國人 and 法國人, among others.
    assert not [t for t in retriever.prepare("Which person agreed?").tokens if t in ("#中法", "#法中")]


def test_places_and_the_characters_that_stand_for_them_come_from_the_dictionary() -> None:
    table = abbreviations()
    assert table["俄罗斯"] == "俄" and table["乌克兰"] == "乌"  # `abbr. for 俄羅斯`, `abbr. for Ukraine 烏克蘭`
    assert table["中国"] == "中" and table["台湾"] == "台"  # glossed as the place is (`China`), or `Taiwan (abbr.)`
    assert paired(["美国", "中国", "美国人"]) == ["美中", "中美"]
    assert set(named_in("中国和美国的关税休战")) == {"中国", "美国"}
    groups = [("russia", ["俄罗斯"]), ("us", ["美国", "美欧"]), ("person", ["中国人", "法国"])]
    assert named_in_english("Did Russia and the US agree on any person?", groups) == ["俄罗斯", "美国"]


def test_a_place_asked_of_finds_the_compound_that_writes_it_by_one_character(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    # 對俄制裁 (sanctions on Russia) writes 俄羅斯 by its character alone, a word of its own to the tokens.
    retriever = retriever_of(
        tmp_path,
        embedder,
        "制裁與出口\n\n歐盟對俄制裁再度加碼。\n\n日本的出口管制與制裁清單更新，涉及多家企業與多種零件。\n\n"
        "俄羅斯的天然氣出口減少，冬季的天然氣價格可能上漲。\n\n俄羅斯總統將出席峰會。\n\n俄羅斯的小麥收成創新高。\n",
    )
    english = [
        h.chunk.text for h in retriever.search(retriever.prepare("What new sanctions on Russia were announced?"), 3)
    ]
    chinese = [h.chunk.text for h in retriever.search(retriever.prepare("對俄羅斯的新制裁是什麼？"), 3)]
    assert "歐盟對俄制裁再度加碼。" in english  # without 俄 it was not among the first three, behind 俄羅斯's three
    assert chinese[0] == "歐盟對俄制裁再度加碼。"

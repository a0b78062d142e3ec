"""`qa eval --squad`: SQuAD-format data as documents and gold spans, the split, the baseline, and the CI gate on a
fixed sample of the test split (the learned evidence step must beat the bigram baseline there)."""

from __future__ import annotations

import json
import os
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from qa.answering import matching
from qa.config import Settings
from qa.errors import GoldError, WorkFolderRefused
from qa.evaluation.baseline import BigramBaseline
from qa.evaluation.external import (
    ExternalRun,
    claimed,
    evaluate_sample,
    in_english,
    in_other_words,
    run_external,
    run_one_article,
    short_f1,
)
from qa.evaluation.glossing import gloss
from qa.evaluation.rewording import content_words, reworded, word_pool
from qa.evaluation.squad import (
    Article,
    Sample,
    SquadQuestion,
    load_squad,
    make_split,
    near_misses,
    sample,
    split_articles,
    without_answer,
)
from qa.evaluation.translations import in_translation, read_translations
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.text.folding import fold
from qa.types import Sentence
from tests.support import ROOT

EXTERNAL = Path(os.environ.get("QA_EXTERNAL_DATA", ROOT.parent / "shared" / "eval" / "external"))
SPLIT_FILE = ROOT / "eval" / "external_split.json"
TRANSLATED = ROOT / "eval" / "translated"


def _squad(tmp_path: Path) -> Path:
    data = {
        "data": [
            {
                "id": "A1",
                "title": "火星",
                "paragraphs": [
                    {"context": "火星是太陽系第四顆行星。", "qas": []},
                    {
                        "context": "火星有兩顆衛星，分別是火衛一和火衛二。",
                        "qas": [
                            {"id": "q1", "question": "幾顆衛星？", "answers": [{"text": "兩顆", "answer_start": 3}]},
                            # A start that is off by a few characters (CMRC has some) is moved to the nearest match.
                            {"id": "q2", "question": "哪顆衛星？", "answers": [{"text": "火衛二", "answer_start": 13}]},
                            {"id": "q3", "question": "沒有答案？", "answers": [{"text": "木星", "answer_start": 0}]},
                        ],
                    },
                ],
            }
        ]
    }
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_near_miss_cuts_the_sentence_that_holds_the_answer_and_nothing_else(tmp_path: Path) -> None:
    (article,) = load_squad(_squad(tmp_path))
    q1, _ = article.questions
    cut = without_answer(article, q1)
    assert cut is not None and not cut.questions
    assert "火衛" not in cut.text and "兩顆" not in cut.text  # the whole sentence goes, not only the answer
    assert "火星是太陽系第四顆行星。" in cut.text and cut.text.startswith("火星")
    twice = replace(article, text=article.text + "\n\n兩顆衛星都很小。")  # the answer is written elsewhere too
    assert without_answer(twice, q1) is None
    articles, questions = near_misses((article,), seed=0)
    assert len(questions) == 1 and "火衛" not in articles[0].text


def test_answer_offsets_are_mapped_into_the_document_text(tmp_path: Path) -> None:
    (article,) = load_squad(_squad(tmp_path))
    assert article.text.splitlines()[0] == "火星"
    assert [q.id for q in article.questions] == ["q1", "q2"]  # q3's answer is not in its paragraph
    for q in article.questions:
        assert [article.text[s:e] for s, e in q.spans] == list(q.answers)
    assert article.questions[1].answers == ("火衛二",)


def test_the_split_is_fixed_disjoint_and_leaves_enough_test_articles() -> None:
    splits = json.loads(SPLIT_FILE.read_text(encoding="utf-8"))
    assert set(splits) == {"DRCD_dev", "cmrc2018_trial"}
    for split in splits.values():
        assert not set(split["train"]) & set(split["test"])
        assert len(split["test"]) >= 40
        ids = split["train"] + split["test"]
        assert make_split(ids, seed=split["seed"], test_share=split["test_share"]) == {
            "train": split["train"],
            "test": split["test"],
        }


def test_a_sample_asks_foreign_questions_only_of_articles_left_out(tmp_path: Path) -> None:
    (one,) = load_squad(_squad(tmp_path))
    other = replace(one, id="B2", questions=tuple(replace(q, article="B2", id=f"b-{q.id}") for q in one.questions))
    chosen = sample([one, other], n_articles=1, n_questions=5, n_foreign=5, seed=0)
    (kept,) = chosen.corpus
    assert {q.article for q in chosen.questions} == {kept.id}
    assert chosen.foreign and {q.article for q in chosen.foreign} == {({"A1", "B2"} - {kept.id}).pop()}
    assert sample([one, other], n_articles=1, n_questions=5, n_foreign=5, seed=0) == chosen


def test_a_question_is_reworded_in_a_word_the_corpus_never_uses_and_keeps_its_names() -> None:
    # Names (冰島, 雷克雅維克) and the asking (什麼) are never replaced: here 舉辦 and 活動 may be.
    assert content_words(fold("冰島的首都雷克雅維克舉辦了什麼活動？")) == [("举办", "v"), ("活动", "v")]
    corpus = fold("雷克雅維克是冰島的首都，每年舉辦音樂節。")  # holds 舉辦, not 活動
    pool = word_pool(["誰籌劃了這場比賽？", "誰興建了這座城市？"])
    assert pool == {"n": ["筹划"], "v": ["兴建", "比赛"]}
    question = "冰島的首都雷克雅維克舉辦了什麼活動？"
    asked = {reworded(question, corpus.__contains__, pool, random.Random(k)) for k in range(20)}
    assert asked == {"冰岛的首都雷克雅维克兴建了什么活动?", "冰岛的首都雷克雅维克比赛了什么活动?"}  # folded
    assert reworded("冰島在哪裡？", corpus.__contains__, pool, random.Random(0)) is None  # only a name and the asking


def test_reworded_questions_keep_their_gold_and_the_foreign_ones_stay_as_asked() -> None:
    text = "火星\n\n火星擁有兩顆衛星。"
    spans = ((text.index("兩顆"), text.index("兩顆") + 2),)
    asked = SquadQuestion("q1", "A1", "火星擁有幾顆衛星？", spans, ("兩顆",))
    bare = SquadQuestion("q2", "A1", "哪兩顆？", spans, ("兩顆",))  # no word to replace: left out
    foreign = (SquadQuestion("b1", "B2", "誰籌劃了這場比賽？", ((0, 1),), ("誰",)),)
    chosen = Sample((Article("A1", "火星", text, (asked, bare)),), (asked, bare), foreign)
    seen = set()
    for seed in range(10):
        again = in_other_words(chosen, seed)
        (q,) = again.questions
        assert q.id == "q1" and q.spans == spans and again.foreign == foreign and again.corpus == chosen.corpus
        seen.add(q.text)
    assert seen == {"筹划拥有几颗卫星?", "火星比赛几颗卫星?"}  # a word the corpus holds, for one it never uses


def test_a_question_is_glossed_into_english_word_by_word() -> None:
    glossed = gloss("火星有幾顆衛星？")  # 幾顆 is cut as one word: its question word is read out of it
    assert glossed is not None and glossed.endswith("?")
    assert {"Mars", "how", "many", "satellite"} <= set(glossed.rstrip("?").split()), glossed
    assert (gloss("珍珠港事件的策畫人是誰？") or "").startswith("Pearl Harbor")  # a name made of words CC-CEDICT knows
    # A person CC-CEDICT does not know is written in pinyin, surname first; the question word becomes English.
    assert gloss("翁素在哪一年出生？") == "Weng Su which year be born?"
    assert all(c.isascii() for c in gloss("伊斯坦堡位於哪個國家？") or "x")
    assert gloss("的了嗎？") is None  # nothing but particles: nothing to ask


def test_questions_glossed_into_english_keep_their_gold_and_the_foreign_ones_are_glossed_too() -> None:
    text = "火星\n\n火星擁有兩顆衛星。"
    spans = ((text.index("兩顆"), text.index("兩顆") + 2),)
    asked = SquadQuestion("q1", "A1", "火星擁有幾顆衛星？", spans, ("兩顆",))
    bare = SquadQuestion("q2", "A1", "的了嗎？", spans, ("兩顆",))  # nothing to gloss: left out
    foreign = (SquadQuestion("b1", "B2", "誰發明了電話？", ((0, 1),), ("誰",)),)
    chosen = Sample((Article("A1", "火星", text, (asked, bare)),), (asked, bare), foreign)
    english = in_english(chosen)
    (q,) = english.questions
    assert q.id == "q1" and q.spans == spans and q.answers == asked.answers and english.corpus == chosen.corpus
    assert q.text == gloss(asked.text) and q.text.isascii()
    assert [f.text for f in english.foreign] == [gloss("誰發明了電話？")] and english.foreign[0].text.isascii()


def test_translated_questions_keep_their_gold_and_untranslated_ones_are_left_out(tmp_path: Path) -> None:
    text = "火星\n\n火星擁有兩顆衛星。"
    spans = ((text.index("兩顆"), text.index("兩顆") + 2),)
    asked = SquadQuestion("q1", "A1", "火星擁有幾顆衛星？", spans, ("兩顆",))
    other = SquadQuestion("q2", "A1", "火星是第幾顆行星？", spans, ("兩顆",))  # no translation given: left out
    foreign = (SquadQuestion("b1", "B2", "誰發明了電話？", ((0, 1),), ("誰",)),)
    chosen = Sample((Article("A1", "火星", text, (asked, other)),), (asked, other), foreign)
    path = tmp_path / "en.jsonl"
    rows = [
        {"id": "q1", "question": " How many moons does Mars have? "},
        {"id": "b1", "question": "Who invented the telephone?"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")  # a blank line is no row
    english = in_translation(chosen, read_translations(path))
    (q,) = english.questions
    assert (q.id, q.text, q.spans, q.answers) == ("q1", "How many moons does Mars have?", spans, asked.answers)
    assert [f.text for f in english.foreign] == ["Who invented the telephone?"] and english.corpus == chosen.corpus


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the translations"),
        (b"\xff\xfe", "cannot read the translations"),
        (b'{"id": "q1"}\n', ":1: not a JSON object with an id and a question"),
        (b'{"id": "q1", "question": "ok?"}\n[1, 2]\n', ":2: not a JSON object"),
        (b'{"id": 7, "question": "ok?"}\n', ":1: the id and the question must be strings"),
        (b'{"id": "q1", "question": "  "}\n', "the question not empty"),
    ],
)
def test_a_translations_file_that_cannot_be_read_says_which_line(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "en.jsonl"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GoldError, match=message):
        read_translations(path)


def test_the_baseline_picks_the_sentence_sharing_the_rarest_bigrams() -> None:
    texts = ["火星有兩顆衛星。", "火星是行星。", "地球有一顆衛星。"]
    sentences = [Sentence(f"s{i}", "d", "c", 0, len(t), t) for i, t in enumerate(texts)]
    best = BigramBaseline(sentences).best("火星有幾顆衛星？")
    assert best is not None and best.id == "s0"


def test_short_answers_score_exact_match_and_character_f1() -> None:
    assert short_f1("10月30日", ("10月30日",)) == (1.0, 1.0)
    em, f1 = short_f1("火衛一", ("火衛一和火衛二",))
    assert em == 0.0 and 0.5 < f1 < 1.0
    assert short_f1("木星", ("火星", "地球")) == (0.0, 0.5)


def test_cite_precision_counts_the_citations_that_hold_the_gold_answer() -> None:
    text = "火星\n\n火星擁有兩顆衛星。它們都很小。"
    at = text.index("兩顆")
    asked = SquadQuestion("q1", "A1", "火星擁有幾顆衛星？", ((at, at + 2),), ("兩顆",))
    chosen = Sample((Article("A1", "火星", text, (asked,)),), (asked,), ())
    first, second = text.index("火星擁有"), text.index("它們")

    def cite(*spans: tuple[int, int]) -> Any:
        return lambda _: {
            "abstained": False,
            "citations": [{"doc": "A1", "start": s, "end": e, "quote": text[s:e]} for s, e in spans],
        }

    both = evaluate_sample(chosen, cite((first, second), (second, len(text))), [])["summary"]
    assert both["cite_hit"] == 1.0 and both["cite_precision"] == 0.5 and both["citations_per_answer"] == 2
    right = evaluate_sample(chosen, cite((first, second)), [])["summary"]
    assert right["cite_precision"] == 1.0
    wrong = evaluate_sample(chosen, cite((second, len(text))), [])["summary"]
    assert wrong["cite_hit"] == 0.0 and wrong["cite_precision"] == 0.0


@pytest.fixture(scope="module")
def gate_reports(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> dict[tuple[str, str], Any]:
    """Both corpora's fixed CI sample of the test split: 20 articles each, 150 of their questions, 80 foreign ones and
    one near miss per article (60 questions were too few: one question moved cite_hit by 0.017). Each is asked twice:
    matched as text (a corpus of up to EXACT_CORPUS_CHARS) and through the BM25 vocabulary (a larger one, such as an
    archive of 10,000 articles), on the same index; and once more glossed into English (qa/evaluation/glossing.py), and
    in English as translated (eval/translated/)."""
    files = {"DRCD_dev": EXTERNAL / "DRCD_dev.json", "cmrc2018_trial": EXTERNAL / "cmrc2018_trial.json"}
    if not all(p.is_file() for p in files.values()):
        pytest.skip(f"external data not found in {EXTERNAL} (set QA_EXTERNAL_DATA)")
    reports = {}
    for name, path in files.items():
        run = ExternalRun(
            data=path,
            split_file=SPLIT_FILE,
            part="test",
            articles=20,
            questions=150,
            foreign=80,
            seed=0,
            work_dir=tmp_path_factory.mktemp(name),
        )
        reports[name, "text"] = run_external(run, Settings(), embedder=embedder)["summary"]  # the default: learned
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(matching, "EXACT_CORPUS_CHARS", 0)
            reports[name, "vocabulary"] = run_external(run, Settings(), embedder=embedder)["summary"]
        english = replace(run, english=True, near=False)  # the same index, the questions glossed into English
        reports[name, "english"] = run_external(english, Settings(), embedder=embedder)["summary"]
        translated = replace(run, translations=TRANSLATED / f"{name}.en.jsonl", near=False)  # ... and translated
        reports[name, "translated"] = run_external(translated, Settings(), embedder=embedder)["summary"]
    return reports


@pytest.mark.parametrize("matched", ["text", "vocabulary"])
@pytest.mark.parametrize("name", ["DRCD_dev", "cmrc2018_trial"])
def test_the_evidence_step_beats_the_bigram_baseline_on_the_test_split(
    gate_reports: dict[tuple[str, str], Any], name: str, matched: str
) -> None:
    s = gate_reports[name, matched]
    assert s["errors"] == 0 and s["questions"] >= 30
    # The baseline never abstains and so answers everything; it is right on baseline_cite_hit of the questions.
    assert s["cite_hit"] >= s["baseline_cite_hit"] + 0.05, s
    assert s["answered"] >= 0.85, s
    assert s["answered"] >= s["baseline_cite_hit"] + 0.1, s
    assert s["abstain_foreign"] >= 0.8, s  # the baseline abstains on none
    assert s["near_questions"] >= 15 and s["abstain_near"] >= 0.1, s  # ... nor on a question whose answer is cut out
    assert s["offsets_ok"] == 1.0, s


@pytest.mark.parametrize("name", ["DRCD_dev", "cmrc2018_trial"])
def test_a_large_corpus_answers_as_well_as_a_small_one(gate_reports: dict[tuple[str, str], Any], name: str) -> None:
    """The same questions of the same index, matched through the BM25 vocabulary: about as often answered and cited
    right. (When dates were never found there, CMRC answered 0.947 against 0.98 on the 40-article test split.)"""
    text, vocabulary = gate_reports[name, "text"], gate_reports[name, "vocabulary"]
    for key in ("cite_hit", "answered"):
        assert vocabulary[key] >= text[key] - 0.02, (key, text, vocabulary)


@pytest.mark.parametrize("name", ["DRCD_dev", "cmrc2018_trial"])
def test_questions_glossed_into_english_find_their_answers_across_the_languages(
    gate_reports: dict[tuple[str, str], Any], name: str
) -> None:
    """English questions reach Chinese passages only through glosses and names by sound: the bigram baseline, which
    matches characters, cites the answer for ~0.03 of them. On the 40-article test split (2026-12-05) the service
    cited it for 0.713 (DRCD) and 0.457 (CMRC 2018) of the glossed questions, answered 0.86 / 0.815 and abstained on
    0.77 / 0.61 of the foreign ones; the bars here are well below, to catch a break, not to measure."""
    s = gate_reports[name, "english"]
    assert s["errors"] == 0 and s["questions"] >= 60, s
    assert s["cite_hit"] >= s["baseline_cite_hit"] + 0.25, s
    assert s["answered"] >= 0.6 and s["abstain_foreign"] >= 0.45, s
    assert s["offsets_ok"] == 1.0, s


@pytest.mark.parametrize("name", ["DRCD_dev", "cmrc2018_trial"])
def test_questions_translated_into_english_find_their_answers_across_the_languages(
    gate_reports: dict[tuple[str, str], Any], name: str
) -> None:
    """The questions as an English reader writes them (eval/translated/: names the English way, their own words, not
    CC-CEDICT's). This sample (the translated part of the gate's: 130 and 82 questions, 15 and 43 foreign ones) gave
    cite_hit 0.631 (DRCD) and 0.451 (CMRC 2018), answered 0.8 / 0.659 and abstained on 0.867 / 0.814 of the foreign
    ones (2026-12-07); with the one-word pinyin names and English questions' own abstention model, 0.685 / 0.488,
    0.862 / 0.671 and 0.667 (10 of 15) / 0.814. The bars are well below, to catch a break."""
    s = gate_reports[name, "translated"]
    assert s["errors"] == 0 and s["questions"] >= 60 and s["foreign_questions"] >= 10, s
    assert s["cite_hit"] >= s["baseline_cite_hit"] + 0.3, s
    assert s["answered"] >= 0.55 and s["abstain_foreign"] >= 0.6, s
    assert s["offsets_ok"] == 1.0, s


@pytest.mark.parametrize("name", ["DRCD_dev", "cmrc2018_trial"])
def test_one_article_indexed_alone_answers_its_questions_and_not_others(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, name: str
) -> None:
    """The seed is one article: test articles indexed alone (seeds 1-8 of scripts/eval_one_article.py), each asked
    its own questions and 20 foreign ones. With the one-article threshold the 40 / 30 articles of the test split were
    answered 0.970 / 0.962 (0.884 / 0.785 at the main threshold) and foreign questions abstained 0.992 / 0.998; this
    sample 68 of 70 and 35 of 35 (62 and 29 at the main threshold), foreign 158 and 160 of 160."""
    path = EXTERNAL / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"external data not found in {EXTERNAL} (set QA_EXTERNAL_DATA)")
    run = ExternalRun(data=path, split_file=SPLIT_FILE, part="test", foreign=20, near=False)
    t = run_one_article(run, range(1, 9), tmp_path, Settings(), embedder=embedder)
    assert t.asked >= 20 and t.foreign == 160
    assert t.answered / t.asked >= 0.9, t
    assert t.abstained / t.foreign >= 0.95, t


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b'{"id": "q1"}\n{"id": "q2"}\n', "is not one JSON document"),
        (b'{"a": 1}', 'no list of articles under "data"'),
        (b"[1, 2]", 'no list of articles under "data"'),
        (b'{"data": [1]}', "not in SQuAD's shape"),
        (b'{"data": [{"paragraphs": [{"qas": []}]}]}', "not in SQuAD's shape"),
        ("café".encode("latin-1"), "is not UTF-8 text"),
    ],
)
def test_a_file_that_is_not_squad_data_says_what_is_wrong(tmp_path: Path, content: bytes | None, message: str) -> None:
    """Each was a traceback in `qa eval --squad` (FileNotFoundError, JSONDecodeError, KeyError, TypeError...)."""
    path = tmp_path / "data.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GoldError, match=message):
        load_squad(path)


def test_a_split_file_that_cannot_be_read_or_lacks_the_data_file_says_so(tmp_path: Path) -> None:
    articles = load_squad(_squad(tmp_path))
    with pytest.raises(GoldError, match="cannot read the split file .*--split all"):
        split_articles(articles, tmp_path / "none.json", "tiny", "test")
    with pytest.raises(GoldError, match="no split for 'tiny'"):
        split_articles(articles, SPLIT_FILE, "tiny", "test")


def test_a_working_folder_holding_other_files_is_refused_and_the_readers_library_is_not_the_corpus(
    tmp_path: Path,
) -> None:
    """`--work-dir` was filled as given: a run deleted every .txt of its seeds/ and replaced its index/ (the project
    folder's own, with `--work-dir .`), and the reader's library (QA_LIBRARY_DIR) joined the corpus."""
    project = tmp_path / "project"
    (project / "seeds").mkdir(parents=True)
    (project / "seeds" / "article.txt").write_text("一篇文章。", encoding="utf-8")
    run = ExternalRun(_squad(tmp_path), SPLIT_FILE, part="all", articles=1, work_dir=project)
    with pytest.raises(WorkFolderRefused, match="holds files no evaluation made"):
        run_external(run, Settings())
    assert (project / "seeds" / "article.txt").is_file()
    with pytest.raises(WorkFolderRefused, match="is a file"):
        claimed(project / "seeds" / "article.txt")
    # A new folder is made and marked; an earlier run's folder (marked) is used again.
    fresh = tmp_path / "fresh"
    assert claimed(fresh) == fresh and claimed(fresh) == fresh
    library = tmp_path / "library"
    library.mkdir()
    (library / "mine.txt").write_text("讀者自己加的文章。", encoding="utf-8")
    settings = Settings().model_copy(update={"library_dir": library})
    report = run_external(replace(run, work_dir=fresh, near=False), settings)
    assert report["corpus"]["library_dir"] == str(fresh / "library")
    indexed = json.loads((fresh / "index" / "manifest.json").read_text(encoding="utf-8"))["sources"]
    assert not any("mine" in name for name in indexed), indexed

"""A document the lexicon rules cannot read costs its own entries, never the index (names from public Chinese
encyclopedia text; the questions are written for these tests)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa.app import build_pipeline
from qa.config import Settings
from qa.indexing.build import build
from qa.indexing.lexicon import build_lexicon
from qa.retrieval.embedding import SentenceTransformerEmbedder

# Each of these once raised IndexError in the lexicon's name rule, which took the whole index build down.
BRACKETED = {
    "bank": ("大厦所在地就是前西北国家银行大厦（Northwestern National Bank Building），楼高16层。", "northwestern"),
    "college": ("中华基督教会公理高中书院（CCC Kung Lee College）是一间位于香港铜锣湾的直资高中书院。", "kung"),
    "golf": ("总杆数高于标准杆数两杆称为双柏忌（Double Bogey）。", "bogey"),
}


@pytest.mark.parametrize("name", sorted(BRACKETED))
def test_the_lexicon_reads_names_its_rules_once_crashed_on(name: str) -> None:
    text, key = BRACKETED[name]
    lexicon = build_lexicon([text])
    assert lexicon.get(key), f"{key!r} has no corpus word"
    assert all(word in text for word in lexicon[key])


def test_an_index_builds_over_documents_with_those_names(
    tmp_path: Path, seeds_dir: Path, article_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(article_path, seeds)
    sidecar = article_path.with_suffix(".json")
    if sidecar.is_file():
        shutil.copy(sidecar, seeds)
    for name, (text, _) in BRACKETED.items():
        (seeds / f"{name}.txt").write_text(text + "\n", encoding="utf-8")

    index = build(seeds, embedder)

    assert len(index.documents) == 1 + len(BRACKETED)
    assert index.lexicon.get("northwestern") == ["西北国家银行大厦"]
    pipeline = build_pipeline(
        Settings(seeds_dir=seeds, index_dir=tmp_path / "index", on_index_mismatch="refuse"),
        embedder=embedder,
        index=index,
    )
    answer = pipeline.answerer.answer("歐盟第19輪對俄制裁首次瞄準哪個產業？")
    assert not answer.abstained and any("天然氣" in c.quote for c in answer.citations)
    answer = pipeline.answerer.answer("How many floors did the Northwestern National Bank Building have?")
    assert not answer.abstained and any(c.doc == "bank" for c in answer.citations)

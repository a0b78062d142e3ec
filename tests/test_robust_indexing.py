"""A document the lexicon rules cannot read costs its own entries, never the index (names from public Chinese
encyclopedia text; the questions are written for these tests)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa.config import Settings
from qa.indexing.build import build
from qa.indexing.chunking import ChunkerSettings
from qa.indexing.lexicon import build_lexicon
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.wiring import build_pipeline

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


def test_files_that_cannot_be_read_are_left_out_named_and_the_rest_served(
    tmp_path: Path, article_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """One unreadable file of an archive (not UTF-8, empty, a sidecar that is not JSON, an id another file has) is
    left out of the index with its reason in the manifest; the others are indexed and served, and the service starts
    (it used to stay not ready, retrying, for as long as the file was there). Left as it is, the file does not make
    the index stale; mended, it is indexed at the next start."""
    from qa.errors import SourceError
    from qa.indexing.freshness import open_index, staleness
    from qa.indexing.sources import Sources

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(article_path, seeds)
    (seeds / "latin.txt").write_bytes("café au lait".encode("latin-1"))
    (seeds / "blank.txt").write_text(" \n\n", encoding="utf-8")
    (seeds / "notes.txt").write_text("港口今日照常運作。", encoding="utf-8")
    (seeds / "notes.json").write_text("{title: 港口}", encoding="utf-8")
    (seeds / "brief.txt").write_text("第一份簡報。", encoding="utf-8")
    (seeds / "brief.md").write_text("同名的第二份簡報。", encoding="utf-8")
    sources = Sources(seeds, tmp_path / "library")
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", library_dir=tmp_path / "library")

    pipeline = build_pipeline(settings, embedder=embedder)

    assert set(pipeline.index.documents) == {article_path.stem, "brief"}
    assert pipeline.index.manifest["skipped"] == [
        {"file": "seeds/blank.txt", "reason": "empty"},
        {"file": "seeds/brief.txt", "reason": "its id 'brief' is seeds/brief.md's"},
        {"file": "seeds/latin.txt", "reason": "not valid UTF-8 (byte 0xe9 at 3)"},
        {
            "file": "seeds/notes.txt",
            "reason": "its notes.json is not valid JSON (Expecting property name enclosed in double quotes, line 1)",
        },
    ]
    answer = pipeline.answerer.answer("歐盟第19輪對俄制裁首次瞄準哪個產業？")
    assert not answer.abstained and any("天然氣" in c.quote for c in answer.citations)
    assert staleness(pipeline.index.manifest, sources, embedder.model_id, ChunkerSettings()) is None

    (seeds / "notes.json").write_text('{"title": "港口"}', encoding="utf-8")
    mended = open_index(tmp_path / "index", sources, embedder)
    assert "notes" in mended.documents and len(mended.manifest["skipped"]) == 3

    for path in seeds.iterdir():
        if path.name not in ("latin.txt", "blank.txt"):
            path.unlink()
    with pytest.raises(SourceError, match=r"no source file can be indexed \(seeds/blank.txt: empty; seeds/latin"):
        build(seeds, embedder)


def test_a_source_the_service_may_not_read_is_left_out_with_its_reason(
    tmp_path: Path, article_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file (or a sidecar) without read permission was a PermissionError traceback in `qa index build`, `qa ask`
    and the server's start; a seeds folder that cannot be listed, another. (The tests run as root, who may read
    anything: the refusal is simulated where the file is opened.)"""
    from qa.errors import SourceError
    from qa.indexing.documents import load_document, source_paths

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(article_path, seeds)
    (seeds / "locked.txt").write_text("鎖住的文章。", encoding="utf-8")
    (seeds / "open.txt").write_text("打開的文章。", encoding="utf-8")
    (seeds / "open.json").write_text('{"title": "打開"}', encoding="utf-8")
    read_text = Path.read_text

    def refused(self: Path, *args: object, **kwargs: object) -> str:
        if self.name in ("locked.txt", "open.json"):
            raise PermissionError(13, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", refused)
    with pytest.raises(SourceError, match=r"cannot be read \(Permission denied\)"):
        load_document(seeds / "locked.txt")
    with pytest.raises(SourceError) as sidecar:
        load_document(seeds / "open.txt")
    assert sidecar.value.reason == "its open.json cannot be read (Permission denied)"  # the manifest's `skipped`
    assert load_document(article_path).text
    monkeypatch.setattr(Path, "iterdir", lambda self: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    with pytest.raises(SourceError, match=r"seeds folder .* cannot be read \(Permission denied\)"):
        source_paths(seeds)


def test_a_library_path_that_is_a_file_is_said_to_be_one(tmp_path: Path, seeds_dir: Path) -> None:
    """It was read as an empty library (`qa ask`, `qa index info`), and a write blamed the index's folder."""
    from qa.errors import SourceError
    from qa.indexing.sources import Sources

    library = tmp_path / "library"
    library.write_text("not a folder", encoding="utf-8")
    with pytest.raises(SourceError, match="library folder .* is a file"):
        Sources(seeds_dir, library).documents()

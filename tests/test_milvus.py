"""Milvus as the search backend, on a real Milvus Lite in a temporary folder: the same BM25 as the local backend
(same terms, same scores, the same dev-set recall), the dense side, adding, removing and filtering by document."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.config import RetrievalSettings
from qa.errors import IndexUnusable
from qa.evaluation.gold import covered
from qa.indexing.index import Index
from qa.retrieval.backend import SearchBackend
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.retrieval.lexical import lexical_scores
from qa.retrieval.milvus import MilvusBackend, doc_filter, encode
from qa.retrieval.retriever import Retriever
from qa.text.tokens import tokens
from qa.types import Chunk
from tests.support import gold_path


def live_chunks(index: Index) -> list[Chunk]:
    return [c for c, live in zip(index.chunks, index.live, strict=True) if live]


@pytest.fixture(scope="module")
def milvus(tmp_path_factory: pytest.TempPathFactory, index: Index) -> Iterator[MilvusBackend]:
    """The session index's chunks in a Milvus Lite collection, added in one call (as a bulk load is), without a
    dense field (MiniLM reads too little Chinese to be asked)."""
    backend = MilvusBackend.connect(str(tmp_path_factory.mktemp("milvus") / "chunks.db"), 0)
    chunks = live_chunks(index)
    backend.add(chunks, [tokens(c.index_text) for c in chunks], None)
    yield backend
    backend.close()


def local_top(index: Index, query: Sequence[str], k: int) -> list[tuple[str, float]]:
    """The local backend's k best chunks by BM25 (ties in index order), as (chunk id, score)."""
    scores = lexical_scores(index, query)
    order = np.argsort(-scores, kind="stable")[:k]
    return [(index.chunks[i].id, float(scores[i])) for i in order if scores[i] > 0]


def dev_recall(index: Index, retriever: Retriever, article: str, top: Callable[[Sequence[str]], list[str]]) -> float:
    """Share of the answerable dev questions whose evidence spans all lie in the 5 chunks `top` gives."""
    gold = [json.loads(line) for line in gold_path().read_text(encoding="utf-8").splitlines() if line.strip()]
    hits = []
    for g in (g for g in gold if g["answerable"]):
        spans = [(article.index(e), article.index(e) + len(e)) for e in g["evidence"]]
        found = [index.chunk_by_id[c] for c in top(retriever.prepare(g["question"]).tokens)]
        hits.append(all(covered(s, [(c.start, c.end) for c in found]) for s in spans))
    return sum(hits) / len(hits)


def test_dev_set_recall_at_5_is_the_local_bm25(
    milvus: MilvusBackend, index: Index, embedder: SentenceTransformerEmbedder, article: str
) -> None:
    retriever = Retriever(index, embedder)
    local = dev_recall(index, retriever, article, lambda q: [c for c, _ in local_top(index, q, 5)])
    remote = dev_recall(index, retriever, article, lambda q: [c for c, _ in milvus.lexical(q, 5)])
    print(f"dev-set recall@5 by BM25 alone: local {local:.3f}, Milvus Lite {remote:.3f}")
    assert abs(local - remote) <= 0.02
    assert local >= 0.8  # the comparison means something only while the local side finds the passages


def test_scores_are_the_local_bm25(milvus: MilvusBackend, index: Index, embedder: SentenceTransformerEmbedder) -> None:
    """Same terms, same k1 and b, same scale: each chunk Milvus returns scores what the local BM25 gives it."""
    retriever = Retriever(index, embedder)
    gold = [json.loads(line) for line in gold_path().read_text(encoding="utf-8").splitlines() if line.strip()]
    for g in gold:
        query = retriever.prepare(g["question"]).tokens
        local = dict(local_top(index, query, len(index.chunks)))
        found = milvus.lexical(query, 5)
        assert [c for c, _ in found] == [c for c, _ in local_top(index, query, 5)], g["id"]
        for chunk_id, score in found:
            assert score == pytest.approx(local[chunk_id], rel=1e-4), (g["id"], chunk_id)


def test_without_a_dense_field_the_dense_side_finds_nothing(milvus: MilvusBackend, index: Index) -> None:
    assert milvus.count() == int(index.live.sum())
    assert milvus.dense(np.ones(384, dtype=np.float32), 5) == []
    with pytest.raises(ValueError, match="shape"):
        milvus.add(index.chunks[:1], [["x"]], np.ones((1, 384), dtype=np.float32))


def test_a_token_matches_itself_and_never_a_near_token(tmp_path: Path) -> None:
    """Milvus's `standard` analyzer would cut `3.5`, strip `#` and `%`: every token is encoded to pass whole."""
    backend = MilvusBackend.connect(str(tmp_path / "m.db"), 4)
    near = ["#核威", "核威", "3.5", "35", "%", "核", "威"]
    chunks = [Chunk(id=f"d:{i}", doc="d", start=i, end=i + 1, text=t) for i, t in enumerate(near)]
    backend.add(chunks, [[t, "filler"] for t in near], None)
    for i, token in enumerate(near):
        assert [c for c, _ in backend.lexical([token], 10)] == [f"d:{i}"], token
    assert backend.lexical(["布达佩斯"], 10) == []
    assert backend.lexical([], 10) == []
    assert encode(["#核威", "3.5"]).split() == ["23e6a0b8e5a881", "332e35"]


def chunk(doc: str, n: int, text: str) -> Chunk:
    return Chunk(id=f"{doc}:c{n}", doc=doc, start=0, end=len(text), text=text)


@pytest.fixture
def small(tmp_path: Path) -> Iterator[MilvusBackend]:
    """Two documents: `a` with dense vectors, `b` without; a third whose id needs quoting in a filter."""
    backend = MilvusBackend.connect(str(tmp_path / "m.db"), 4)
    a = [chunk("a", 0, "布达佩斯会谈"), chunk("a", 1, "停火协议")]
    b = [chunk("b", 0, "布达佩斯天气"), chunk("b", 1, "多瑙河")]
    odd = [chunk('x"y\\z', 0, "布达佩斯机场")]
    backend.add(a, [tokens(c.text) for c in a], np.eye(4, dtype=np.float32)[:2])
    backend.add(b, [tokens(c.text) for c in b], None)
    backend.add(odd, [tokens(c.text) for c in odd], np.eye(4, dtype=np.float32)[2:3])
    yield backend
    backend.close()


def ids(hits: list[tuple[str, float]]) -> set[str]:
    return {c for c, _ in hits}


def test_added_chunks_are_found_at_once_and_counted(small: MilvusBackend) -> None:
    backend: SearchBackend = small
    assert backend.count() == 5
    assert ids(backend.lexical(tokens("布达佩斯"), 10)) == {"a:c0", "b:c0", 'x"y\\z:c0'}
    best = backend.dense(np.asarray([1.0, 0.1, 0, 0], dtype=np.float32), 10)
    assert best[0] == ("a:c0", pytest.approx(1 / np.sqrt(1.01), rel=1e-5))
    assert ids(best) == {"a:c0", "a:c1", 'x"y\\z:c0'}  # b's chunks have no vector: never on the dense side


def test_docs_filter_keeps_to_the_given_documents(small: MilvusBackend) -> None:
    query = tokens("布达佩斯")
    assert ids(small.lexical(query, 10, docs=["b"])) == {"b:c0"}
    assert ids(small.lexical(query, 10, docs={"a", 'x"y\\z'})) == {"a:c0", 'x"y\\z:c0'}
    assert small.lexical(query, 10, docs=[]) == []
    assert small.lexical(query, 10, docs=["unknown"]) == []
    assert small.dense(np.ones(4, dtype=np.float32), 10, docs=["b"]) == []
    assert ids(small.dense(np.ones(4, dtype=np.float32), 10, docs=["a"])) == {"a:c0", "a:c1"}
    assert doc_filter(['x"y\\z']) == 'doc in ["x\\"y\\\\z"]'


def test_a_removed_document_is_never_returned(small: MilvusBackend) -> None:
    small.remove("a")
    assert small.count() == 3
    for text in ("布达佩斯会谈", "停火协议", "布达佩斯"):
        assert not any(c.startswith("a:") for c in ids(small.lexical(tokens(text), 10))), text
    assert ids(small.dense(np.asarray([1.0, 1.0, 1.0, 1.0], dtype=np.float32), 10)) == {'x"y\\z:c0'}
    small.remove('x"y\\z')
    small.remove("never-added")
    assert small.count() == 2
    assert ids(small.lexical(tokens("布达佩斯"), 10)) == {"b:c0"}


def test_adding_a_chunk_again_replaces_it(small: MilvusBackend) -> None:
    again = chunk("b", 1, "维也纳")
    small.add([again], [tokens(again.text)], None)
    assert small.count() == 5
    assert small.lexical(tokens("多瑙河"), 10) == []
    assert ids(small.lexical(tokens("维也纳"), 10)) == {"b:c1"}


def test_bad_rows_are_refused_before_anything_is_written(small: MilvusBackend) -> None:
    c = chunk("c", 0, "新文章")
    with pytest.raises(ValueError, match="token lists"):
        small.add([c], [], None)
    with pytest.raises(ValueError, match="shape"):
        small.add([c], [tokens(c.text)], np.ones((1, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="too many tokens"):
        small.add([c], [["长" * 30_000]], None)
    with pytest.raises(ValueError, match="dimension|numbers"):
        small.dense(np.ones(3, dtype=np.float32), 5)
    assert small.count() == 5


def test_the_collection_outlives_the_connection_and_must_match(tmp_path: Path) -> None:
    uri = str(tmp_path / "store" / "m.db")
    settings = RetrievalSettings(store="milvus", milvus_uri=uri, milvus_collection="kept")
    backend = MilvusBackend.from_settings(settings, 4)
    backend.add([chunk("a", 0, "停火")], [tokens("停火")], None)
    backend.close()
    again = MilvusBackend.from_settings(settings, 4)
    assert again.count() == 1
    assert ids(again.lexical(tokens("停火"), 5)) == {"a:c0"}
    again.close()
    with pytest.raises(IndexUnusable, match="dim"):
        MilvusBackend.from_settings(settings, 8)


@pytest.mark.parametrize("uri", ["", "chunks.sqlite"])
def test_a_uri_that_is_neither_lite_nor_a_server_is_refused(uri: str) -> None:
    with pytest.raises(ValueError, match="Milvus"):
        MilvusBackend.connect(uri, 4)


def test_a_lite_file_open_in_another_process_is_refused_with_the_reason(tmp_path: Path) -> None:
    """Milvus Lite serves one process: a second worker on the same file gets a clear error, not a hang."""
    uri = str(tmp_path / "m.db")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LITE_FILE, uri], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(IndexUnusable, match="one process"):
            MilvusBackend.connect(uri, 4)
    finally:
        holder.kill()
        holder.wait(timeout=30)


HOLD_LITE_FILE = """
import sys, time
from pymilvus import MilvusClient
MilvusClient(uri=sys.argv[1])
print("ready", flush=True)
time.sleep(120)
"""


def test_the_service_on_milvus_lite_finds_what_the_local_store_finds(
    tmp_path: Path, seeds_dir: Path, index_dir: Path, article: str
) -> None:
    """QA_STORE=milvus end to end: the pipeline fills the collection from the index, its retriever finds the dev
    set's passages as the local store does (recall@5 within 0.02), and documents added or removed through the API
    are found or gone at once."""
    import shutil

    import httpx

    from qa.config import Settings
    from qa.wiring import build_app, build_pipeline
    from tests.support import configured, serve

    shutil.copytree(index_dir, tmp_path / "index")
    base = configured(
        Settings(), seeds_dir=seeds_dir, index_dir=tmp_path / "index", library_dir=tmp_path / "lib", admin_keys=["a"]
    )
    on_milvus = configured(base, store="milvus", milvus_uri=str(tmp_path / "milvus.db"))
    local, remote = build_pipeline(base), build_pipeline(on_milvus)
    assert remote.retriever.backend is not None and remote.retriever.backend.count() == len(local.index.chunks)

    gold = [json.loads(line) for line in gold_path().read_text(encoding="utf-8").splitlines() if line.strip()]
    hits: dict[str, list[bool]] = {"local": [], "milvus": []}
    for g in (g for g in gold if g["answerable"]):
        spans = [(article.index(e), article.index(e) + len(e)) for e in g["evidence"]]
        for name, pipeline in (("local", local), ("milvus", remote)):
            found = pipeline.retriever.search(pipeline.retriever.prepare(g["question"]), 5)
            covered = [(h.chunk.start, h.chunk.end) for h in found]
            hits[name].append(all(any(s <= a and b <= e for s, e in covered) for a, b in spans))
    recall = {name: sum(v) / len(v) for name, v in hits.items()}
    assert recall["local"] >= 0.9 and abs(recall["local"] - recall["milvus"]) <= 0.02, recall
    remote.retriever.backend.close()  # type: ignore[attr-defined]  # Milvus Lite serves one process at a time

    with serve(build_app(on_milvus)) as url:
        while httpx.get(f"{url}/ready").status_code != 200:
            time.sleep(0.2)
        body = {"id": "harbour", "text": "港口罷工。碼頭工人要求提高工資，罷工持續三天。"}
        assert httpx.post(f"{url}/documents", json=body, headers={"X-API-Key": "a"}, timeout=60).status_code == 201
        hits_now = httpx.get(f"{url}/search", params={"q": "碼頭工人罷工", "k": 1}).json()["passages"]
        assert hits_now[0]["doc"] == "harbour"
        assert httpx.delete(f"{url}/documents/harbour", headers={"X-API-Key": "a"}).status_code == 204
        after = httpx.get(f"{url}/search", params={"q": "碼頭工人罷工", "k": 3}).json()["passages"]
        assert "harbour" not in {h["doc"] for h in after}


# Articles of our own, each on a subject of its own but in words the seed article uses too (美國, 總統, 宣布, 協議).
ADDED = {
    "flower-expo": "台中國際花卉博覽會於11月20日開幕，展期120天。\n\n主辦單位預估吸引八百萬人次參觀，美國派出代表團。",
    "rail-line": "嘉義縣政府宣布，阿里山森林鐵路祝山線將於明年春天恢復班次。\n\n縣長指出，修復工程共花費新台幣五億元。",
    "fire-brigade": "鎮上的義勇消防隊昨天獲得兩輛新消防車。\n\n總統出席交車儀式，並與消防隊員簽署合作協議。",
}
ASKED = {"flower-expo": "花卉博覽會吸引多少人次", "rail-line": "阿里山森林鐵路修復", "fire-brigade": "義勇消防隊消防車"}


def two_stores(tmp_path: Path, seeds_dir: Path, index_dir: Path) -> tuple[Any, Any]:
    """Settings for the same index on the local store and on Milvus Lite, each with its own copy of the index."""
    import shutil

    from qa.config import Settings
    from tests.support import configured

    made = []
    for name in ("local", "milvus"):
        shutil.copytree(index_dir, tmp_path / name / "index")
        settings = configured(
            Settings(), seeds_dir=seeds_dir, index_dir=tmp_path / name / "index", library_dir=tmp_path / name / "lib"
        )
        made.append(
            settings if name == "local" else configured(settings, store="milvus", milvus_uri=str(tmp_path / "m.db"))
        )
    return made[0], made[1]


def top_lexical(pipeline: Any, question: str, k: int = 5) -> list[tuple[str, float]]:
    hits = pipeline.retriever.search(pipeline.retriever.prepare(question), k)
    return [(h.chunk.id, h.lexical) for h in hits]


def test_a_document_added_on_its_own_ranks_as_on_the_local_store(
    tmp_path: Path, seeds_dir: Path, index_dir: Path
) -> None:
    """Milvus Lite keeps BM25's statistics per write: a document added on its own was scored by its own two chunks'
    statistics (a score of 4 where the local store gives 55) and ranked below other articles' passages. Each change
    is now written as one rewrite, so every added article comes first for its own words, with the local scores."""
    from qa.types import NewDocument
    from qa.wiring import add_to_pipeline, build_pipeline, remove_from_pipeline

    local_settings, milvus_settings = two_stores(tmp_path, seeds_dir, index_dir)
    local, remote = build_pipeline(local_settings, warm=False), build_pipeline(milvus_settings, warm=False)
    try:
        for doc_id, text in ADDED.items():
            local, _ = add_to_pipeline(local_settings, local, NewDocument(text=text, id=doc_id), replace=False)
            remote, _ = add_to_pipeline(milvus_settings, remote, NewDocument(text=text, id=doc_id), replace=False)
            for asked_of, question in ASKED.items():
                if asked_of not in remote.index.documents:
                    continue
                here, there = top_lexical(local, question), top_lexical(remote, question)
                assert there[0][0].startswith(f"{asked_of}:"), (question, there)
                assert [c for c, _ in there] == [c for c, _ in here]
                assert [s for _, s in there] == pytest.approx([s for _, s in here], rel=1e-4)
        local = remove_from_pipeline(local_settings, local, "rail-line")
        remote = remove_from_pipeline(milvus_settings, remote, "rail-line")
        for question in ASKED.values():
            here, there = top_lexical(local, question), top_lexical(remote, question)
            assert [c for c, _ in there] == [c for c, _ in here]
            # The local store counts a removed document's rows in its statistics until its segment is merged; the
            # rewritten collection no longer holds them (scores ~1% apart here).
            assert [s for _, s in there] == pytest.approx([s for _, s in here], rel=0.02)
            assert not any(c.startswith("rail-line:") for c, _ in there)
    finally:
        remote.retriever.backend.close()


def test_documents_added_or_removed_by_another_process_reach_milvus(
    tmp_path: Path, seeds_dir: Path, index_dir: Path
) -> None:
    """`qa add` and `qa remove` write the index, not Milvus (Milvus Lite serves one process). The server, reloading
    the index, used to leave Milvus as it was: an article added so was never found. Nor at the next start, when as
    many chunks had been removed as added (Milvus was refilled only when the counts differed)."""
    from qa.indexing.library import add_document, remove_document
    from qa.types import NewDocument
    from qa.wiring import add_to_pipeline, build_pipeline, make_embedder, reload_pipeline, sources_of

    _, settings = two_stores(tmp_path, seeds_dir, index_dir)
    serving = build_pipeline(settings, warm=False)
    serving, _ = add_to_pipeline(
        settings, serving, NewDocument(text=ADDED["fire-brigade"], id="fire-brigade"), replace=False
    )

    def another_process(change: Callable[[Index], Index]) -> None:
        index = change(serving.index)  # as `qa add` / `qa remove` do, on the index folder
        assert index is not serving.index

    embedder = make_embedder(settings)
    add = NewDocument(text=ADDED["rail-line"], id="rail-line")
    another_process(lambda i: add_document(i, settings.index_dir, sources_of(settings), add, embedder).index)
    serving = reload_pipeline(settings, serving)
    assert top_lexical(serving, ASKED["rail-line"])[0][0].startswith("rail-line:")

    # While the server is down: one article added and another of as many chunks removed.
    serving.retriever.backend.close()
    assert len(ADDED["flower-expo"].split("\n\n")) == len(ADDED["fire-brigade"].split("\n\n"))
    add = NewDocument(text=ADDED["flower-expo"], id="flower-expo")
    index = add_document(serving.index, settings.index_dir, sources_of(settings), add, embedder).index
    remove_document(index, settings.index_dir, sources_of(settings), "fire-brigade")
    started = build_pipeline(settings, warm=False)
    try:
        assert top_lexical(started, ASKED["flower-expo"])[0][0].startswith("flower-expo:")
        assert not any(c.startswith("fire-brigade:") for c, _ in top_lexical(started, ASKED["fire-brigade"]))
    finally:
        started.retriever.backend.close()


def test_a_rewrite_is_seen_whole_or_not_at_all(tmp_path: Path) -> None:
    """Searches during a rewrite see the rows from before it; after it, only the new ones; a rewrite that fails
    leaves the old rows. The collection replaced is dropped at the next rewrite, and the state is recorded."""
    backend = MilvusBackend.connect(str(tmp_path / "m.db"), 0)
    old = [chunk("a", 0, "布达佩斯会谈")]
    backend.add(old, [tokens(c.text) for c in old], None)
    new = [chunk("b", 0, "维也纳会谈"), chunk("b", 1, "停火协议")]
    with backend.rewritten():
        backend.add(new, [tokens(c.text) for c in new], None)
        assert ids(backend.lexical(tokens("会谈"), 5)) == {"a:c0"}
    assert ids(backend.lexical(tokens("会谈"), 5)) == {"b:c0"} and backend.count() == 2
    with pytest.raises(RuntimeError), backend.rewritten():
        backend.add(old, [tokens(c.text) for c in old], None)
        raise RuntimeError("the index could not be read")
    assert ids(backend.lexical(tokens("会谈"), 5)) == {"b:c0"}
    with backend.rewritten():
        backend.add(old, [tokens(c.text) for c in old], None)
    assert len(backend._generations()) == 2  # the one searched and the one it replaced
    # A collection another worker is filling now (made after the one searched) is left alone by a rewrite.
    filling = f"qa_chunks__g{max(backend._generations().values()) + 1}"
    backend._create(filling)
    with backend.rewritten():
        assert filling in backend._generations()
        backend.add(new, [tokens(c.text) for c in new], None)
    assert ids(backend.lexical(tokens("会谈"), 5)) == {"b:c0"}
    backend.set_state("abc")
    assert backend.state() == "abc"
    backend.close()


def test_milvus_lite_starts_without_error_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """pymilvus, waiting for an index to be built, calls AllocTimestamp every 0.5 s, which Lite's gRPC server does not
    implement: each start logged ~6 ERRORs with tracebacks. A Lite collection's indexes are made without the wait."""
    with caplog.at_level(logging.WARNING):
        backend = MilvusBackend.connect(str(tmp_path / "m.db"), 4)
        backend.add([chunk("a", 0, "停火")], [tokens("停火")], None)
        assert ids(backend.lexical(tokens("停火"), 5)) == {"a:c0"}
        backend.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]

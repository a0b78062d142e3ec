"""Adding and removing documents while serving: POST /documents, DELETE /documents/{id}, and what must not happen."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qa.config import Settings
from qa.indexing.store import load, read_manifest
from qa.wiring import build_app
from tests.support import configured, serve

ADMIN = {"Authorization": "Bearer admin-secret"}
POLAR = (
    "格陵蘭北極熊調查。\n\n研究人員在格陵蘭東部的冰原上記錄到120隻北極熊，比十年前少了三成。"
    "\n\n報告指出，海冰融化令北極熊覓食更加困難。"
)


@pytest.fixture
def service(tmp_path: Path, seeds_dir: Path, index_dir: Path) -> Iterator[tuple[str, Settings]]:
    """A service over copies of the index (seeds only) with an empty library and an admin key."""
    shutil.copytree(index_dir, tmp_path / "index")
    settings = configured(
        Settings(),
        seeds_dir=seeds_dir,
        index_dir=tmp_path / "index",
        library_dir=tmp_path / "library",
        admin_keys=["admin-secret"],
        max_segments=3,
    )
    with serve(build_app(settings)) as url:
        deadline = 60.0
        while httpx.get(f"{url}/ready").status_code != 200 and deadline > 0:
            deadline -= 0.2
            __import__("time").sleep(0.2)
        yield url, settings


def ask(url: str, question: str) -> dict[str, object]:
    reply = httpx.post(f"{url}/ask", json={"question": question}, timeout=30)
    assert reply.status_code == 200, reply.text
    data: dict[str, object] = reply.json()
    return data


def test_added_document_is_searchable_when_the_response_returns(service: tuple[str, Settings]) -> None:
    url, settings = service
    generation = read_manifest(settings.index_dir)["generation"]
    doc = {"id": "polar-bears", "title": "北極熊", "date": "2025-11-07", "url": "https://example.org/p", "text": POLAR}
    reply = httpx.post(f"{url}/documents", json=doc, headers=ADMIN, timeout=60)
    assert reply.status_code == 201, reply.text
    assert reply.json()["id"] == "polar-bears" and reply.json()["chunks"] >= 2
    answer = ask(url, "北極熊為什麼覓食更加困難？")
    assert not answer["abstained"]
    assert any(c["doc"] == "polar-bears" for c in answer["citations"])  # type: ignore[union-attr]
    listed = {d["id"]: d for d in httpx.get(f"{url}/documents").json()["documents"]}
    assert listed["polar-bears"]["title"] == "北極熊" and listed["polar-bears"]["date"] == "2025-11-07"
    assert listed["polar-bears"]["url"] == "https://example.org/p"
    one = httpx.get(f"{url}/documents/polar-bears").json()
    assert one["url"] == "https://example.org/p"
    text = one["text"]
    for c in answer["citations"]:  # type: ignore[union-attr]
        assert text[c["start"] : c["end"]] == c["quote"]
    # On disk: the file in the library, one more segment, a new generation; the seed segment untouched.
    assert (settings.library_dir / "polar-bears.txt").read_text(encoding="utf-8") == POLAR
    manifest = read_manifest(settings.index_dir)
    assert manifest["generation"] == generation + 1 and len(manifest["segments"]) == 2


def test_added_documents_survive_a_restart(service: tuple[str, Settings]) -> None:
    url, settings = service
    assert httpx.post(f"{url}/documents", json={"text": POLAR}, headers=ADMIN, timeout=60).status_code == 201
    with serve(build_app(settings)) as again:
        while httpx.get(f"{again}/ready").status_code != 200:
            __import__("time").sleep(0.2)
        assert len(httpx.get(f"{again}/documents").json()["documents"]) == 2
        assert not ask(again, "北極熊為什麼覓食更加困難？")["abstained"]


def test_duplicate_ids_conflict_unless_replaced(service: tuple[str, Settings]) -> None:
    url, _ = service
    first = {"id": "note", "text": "第一版。會議在星期一舉行。"}
    second = {"id": "note", "text": "第二版。會議改在星期五舉行。"}
    assert httpx.post(f"{url}/documents", json=first, headers=ADMIN, timeout=60).status_code == 201
    conflict = httpx.post(f"{url}/documents", json=second, headers=ADMIN, timeout=60)
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "document_exists"
    replaced = httpx.post(f"{url}/documents?replace=true", json=second, headers=ADMIN, timeout=60)
    assert replaced.status_code == 201 and replaced.json()["replaced"] is True
    hits = httpx.get(f"{url}/search", params={"q": "會議 星期"}).json()["passages"]
    texts = [h["text"] for h in hits if h["doc"] == "note"]
    assert texts and all("星期五" in t for t in texts)  # the old version is gone from search


def test_bad_documents_get_a_clear_4xx_and_change_nothing(service: tuple[str, Settings]) -> None:
    url, settings = service
    before = read_manifest(settings.index_dir)
    seed = next(iter(httpx.get(f"{url}/documents").json()["documents"]))["id"]
    cases = [
        ({"text": ""}, 422),
        ({"text": "   \n  "}, 422),
        ({"text": "。。。！！\n……"}, 422),  # punctuation only: nothing a question could find
        ({"text": "字" * (settings.server.max_document_chars + 1)}, None),  # 413 (body) or 422 (characters)
        ({"id": "../etc/passwd", "text": "x。"}, 422),
        ({"id": "ok", "date": "7 Nov 2025", "text": "x。"}, 422),
        ({"id": "ok", "date": "2025-13-45", "text": "x。"}, 422),  # no such day
        ({"id": "ok", "date": "２０２５-１１-０７", "text": "x。"}, 422),  # digits, but not ASCII ones
        ({"id": "ok", "date": "٢٠٢٥-١١-٠٧", "text": "x。"}, 422),
        ({"text": "x。", "unknown": 1}, 422),
        ({"text": "港口今日\x00照常運作。"}, 422),  # a NUL made the sentences around it unanswerable
        ({"text": "港口今日照常運作。", "title": "標題\x1b[31m"}, 422),  # a terminal's colour code
        ({"id": seed, "text": "覆蓋種子文件。"}, 409),
    ]
    for body, status in cases:
        reply = httpx.post(f"{url}/documents", json=body, headers=ADMIN, timeout=60)
        assert reply.status_code in ((413, 422) if status is None else (status,)), (body, reply.text)
        assert reply.json()["error"]["message"]
    # The error names the field at fault (a NUL in the title was `param: "text"`).
    for body, field in [
        ({"text": "港口今日照常運作。", "title": "標題\x00"}, "title"),
        ({"text": "港口今日照常運作。", "date": "7 Nov 2025"}, "date"),
        ({"id": "../x", "text": "港口今日照常運作。"}, "id"),
        ({"text": "港口今日\x00照常運作。"}, "text"),
    ]:
        reply = httpx.post(f"{url}/documents", json=body, headers=ADMIN, timeout=60)
        assert reply.json()["error"]["param"] == field, (body, reply.text)
    for text in ("", "  \n "):  # the same mistake, the same code (an empty one was pydantic's invalid_request)
        reply = httpx.post(f"{url}/documents", json={"text": text}, headers=ADMIN, timeout=60)
        assert reply.json()["error"]["code"] == "document_rejected", reply.text
    raw = [b'{"text": "\\ud800 lone surrogate"}', b'{"text": "\xff\xfe not utf-8"}', b"{not json"]
    for content in raw:
        reply = httpx.post(
            f"{url}/documents", content=content, headers={**ADMIN, "content-type": "application/json"}, timeout=60
        )
        assert reply.status_code in (400, 422), (content, reply.text)
    assert read_manifest(settings.index_dir) == before
    assert not settings.library_dir.exists() or not any(settings.library_dir.iterdir())


def test_ingestion_needs_an_admin_key(tmp_path: Path, settings: Settings, pipeline: object) -> None:
    open_settings = configured(settings, library_dir=tmp_path / "library")
    with serve(build_app(open_settings, pipeline=pipeline)) as url:  # type: ignore[arg-type]
        assert httpx.post(f"{url}/documents", json={"text": POLAR}).status_code == 403  # no admin key configured
    keyed = configured(open_settings, admin_keys=["admin-secret"], api_keys=["user-key"])
    with serve(build_app(keyed, pipeline=pipeline)) as url:  # type: ignore[arg-type]
        assert httpx.post(f"{url}/documents", json={"text": POLAR}).status_code == 401
        user = {"Authorization": "Bearer user-key"}
        assert httpx.post(f"{url}/documents", json={"text": POLAR}, headers=user).status_code == 403
        assert httpx.delete(f"{url}/documents/x", headers=user).status_code == 403


def test_delete_removes_a_document_and_unknown_ids_are_404(service: tuple[str, Settings]) -> None:
    url, settings = service
    assert (
        httpx.post(f"{url}/documents", json={"id": "polar", "text": POLAR}, headers=ADMIN, timeout=60).status_code
        == 201
    )
    assert httpx.delete(f"{url}/documents/nope", headers=ADMIN).status_code == 404
    assert httpx.delete(f"{url}/documents/polar", headers=ADMIN).status_code == 204
    assert httpx.get(f"{url}/documents/polar").status_code == 404
    assert all(
        p["doc"] != "polar" for p in httpx.get(f"{url}/search", params={"q": "北極熊 格陵蘭"}).json()["passages"]
    )
    assert ask(url, "北極熊為什麼覓食更加困難？")["abstained"]
    assert not (settings.library_dir / "polar.txt").exists()
    seed = next(iter(httpx.get(f"{url}/documents").json()["documents"]))["id"]
    assert httpx.delete(f"{url}/documents/{seed}", headers=ADMIN).status_code == 409


def test_many_additions_are_merged_into_few_segments(service: tuple[str, Settings]) -> None:
    url, settings = service
    for n in range(6):
        body = {"id": f"brief-{n}", "text": f"第{n}號簡報。本期主題是編號{n * 7 + 3}的港口。"}
        assert httpx.post(f"{url}/documents", json=body, headers=ADMIN, timeout=60).status_code == 201
    assert httpx.delete(f"{url}/documents/brief-2", headers=ADMIN).status_code == 204
    manifest = read_manifest(settings.index_dir)
    assert len(manifest["segments"]) <= settings.retrieval.max_segments
    folders = {p.name for p in (settings.index_dir / "segments").iterdir()}
    assert folders == {s["id"] for s in manifest["segments"]}  # merged-away segments are deleted
    docs = {d["id"] for d in httpx.get(f"{url}/documents").json()["documents"]}
    assert {f"brief-{n}" for n in (0, 1, 3, 4, 5)} <= docs and "brief-2" not in docs
    hits = httpx.get(f"{url}/search", params={"q": "簡報 港口", "k": 10}).json()["passages"]
    assert "brief-2" not in {h["doc"] for h in hits} and len({h["doc"] for h in hits}) >= 5
    json.dumps(manifest)  # stays plain JSON
    # The manifest's counts (summed from each segment's per-document sizes) are those of the chunks still served.
    index = load(settings.index_dir)
    live = [c for c, alive in zip(index.chunks, index.live, strict=True) if alive]
    assert manifest["counts"] == {
        "documents": len({c.doc for c in live}),
        "chunks": len(live),
        "sentences": sum(len(c.sentences) for c in live),
        "segments": len(manifest["segments"]),
    }


def test_a_replaced_document_lists_and_serves_only_its_new_chunks(service: tuple[str, Settings]) -> None:
    url, _ = service
    short = "北極熊簡報。\n\n格陵蘭的北極熊減少了。"
    for body, query in (({"id": "polar", "text": POLAR}, ""), ({"id": "polar", "text": short}, "?replace=true")):
        reply = httpx.post(f"{url}/documents{query}", json=body, headers=ADMIN, timeout=60)
        assert reply.status_code == 201, reply.text
    created = reply.json()["chunks"]
    # The old version's chunks stay in their segment until a merge, but they are no longer the document's.
    listed = {d["id"]: d["chunks"] for d in httpx.get(f"{url}/documents").json()["documents"]}
    assert listed["polar"] == created
    assert httpx.post(f"{url}/documents", json={"id": "polar-copy", "text": short}, headers=ADMIN).status_code == 201
    listed = {d["id"]: d["chunks"] for d in httpx.get(f"{url}/documents").json()["documents"]}
    assert listed["polar"] == created == listed["polar-copy"]
    hits = httpx.get(f"{url}/search", params={"q": "北極熊 覓食 海冰", "k": 10, "docs": ["polar"]}).json()["passages"]
    assert hits and all(h["doc"] == "polar" and "覓食" not in h["text"] for h in hits)


def test_documents_are_found_by_name_and_listed_a_page_at_a_time(service: tuple[str, Settings]) -> None:
    url, _ = service
    for n, title in enumerate(["格陵蘭北極熊調查", "港口罷工第一天", "港口罷工第二天", None]):
        body = {"id": f"brief-{n}", "text": f"{title or '無題'}。\n\n第{n}號簡報的內容。"}
        if title:
            body["title"] = title
        assert httpx.post(f"{url}/documents", json=body, headers=ADMIN, timeout=60).status_code == 201
    everything = httpx.get(f"{url}/documents").json()
    assert everything["total"] == len(everything["documents"]) == 5  # the seed and the four briefs

    def found(**params: object) -> tuple[list[str], int]:
        reply = httpx.get(f"{url}/documents", params=params)
        assert reply.status_code == 200, reply.text
        data = reply.json()
        return [d["id"] for d in data["documents"]], data["total"]

    assert found(q="港口罷工") == (["brief-1", "brief-2"], 2)
    assert found(q="港口罢工") == (["brief-1", "brief-2"], 2)  # in Simplified too
    assert found(q="  北極熊 ") == (["brief-0"], 1)
    assert found(q="BRIEF-3") == (["brief-3"], 1)  # an id, in any case
    assert found(q="月球") == ([], 0)
    assert found(q="港口 第二天") == (["brief-2"], 1)  # every word, in any order and place
    assert found(q="第二天 港口罷工") == (["brief-2"], 1)
    assert found(q="港口 月球") == ([], 0)
    ids = [d["id"] for d in everything["documents"]]
    assert found(limit=2) == (ids[:2], 5)
    assert found(limit=2, offset=2) == (ids[2:4], 5)
    assert found(offset=4) == (ids[4:], 5)
    assert found(q="港口", limit=1, offset=1) == (["brief-2"], 2)
    for bad in ({"limit": 0}, {"limit": 5000}, {"offset": -1}, {"q": "x" * 201}):
        assert httpx.get(f"{url}/documents", params=bad).status_code == 422, bad


def test_questions_can_be_scoped_to_documents(service: tuple[str, Settings]) -> None:
    url, _ = service
    assert (
        httpx.post(f"{url}/documents", json={"id": "polar", "text": POLAR}, headers=ADMIN, timeout=60).status_code
        == 201
    )
    seed = next(d["id"] for d in httpx.get(f"{url}/documents").json()["documents"] if d["id"] != "polar")
    question = {"question": "北極熊為什麼覓食更加困難？"}
    scoped = httpx.post(f"{url}/ask", json={**question, "docs": [seed]}, timeout=30).json()
    assert {p["doc"] for p in scoped["passages"]} <= {seed} and scoped["abstained"]  # what it matches there, if any
    answered = httpx.post(f"{url}/ask", json={**question, "docs": ["polar"]}, timeout=30).json()
    assert {p["doc"] for p in answered["passages"]} == {"polar"} and not answered["abstained"]
    hits = httpx.get(f"{url}/search", params={"q": "北極熊與北約", "docs": [seed]}).json()["passages"]
    assert hits and {h["doc"] for h in hits} == {seed}  # the seed's passages on 北約, none of polar's on 北極熊
    unknown = httpx.post(f"{url}/ask", json={**question, "docs": ["no-such-doc"]}, timeout=30)
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_documents"
    assert httpx.get(f"{url}/search", params={"q": "x", "docs": ["no-such-doc"]}).status_code == 422


def test_cli_adds_and_removes_documents(tmp_path: Path, seeds_dir: Path, index_dir: Path) -> None:
    import subprocess

    from tests.support import folder_options, run_qa

    shutil.copytree(index_dir, tmp_path / "index")
    (tmp_path / "polar-report.txt").write_text(POLAR, encoding="utf-8")
    dirs = folder_options(seeds_dir, tmp_path / "index", tmp_path / "lib")

    def qa(*args: str) -> subprocess.CompletedProcess[str]:
        return run_qa(*args, *dirs)

    added = qa("add", str(tmp_path / "polar-report.txt"), "--title", "北極熊", "--date", "2025-11-07")
    assert added.returncode == 0, added.stderr
    assert "added polar-report" in added.stdout
    assert (tmp_path / "lib" / "polar-report.txt").is_file()
    again = qa("add", str(tmp_path / "polar-report.txt"))
    assert again.returncode == 2 and "already indexed" in again.stderr and "--replace" in again.stderr
    # Of several files, one that cannot be added is named and the others are added (it used to stop there, unnamed).
    (tmp_path / "blank.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "seal-report.txt").write_text(POLAR.replace("北極熊", "海豹"), encoding="utf-8")
    both = qa("add", str(tmp_path / "blank.txt"), str(tmp_path / "seal-report.txt"))
    assert both.returncode == 2 and f"error: {tmp_path / 'blank.txt'}: text is empty" in both.stderr
    assert "added seal-report" in both.stdout and "1 of 2 files not added" in both.stderr
    asked = qa("ask", "北極熊為什麼覓食更加困難？", "--json")
    assert json.loads(asked.stdout)["citations"][0]["doc"] == "polar-report"
    (tmp_path / "polar report 2.txt").write_text(POLAR.replace("北極熊", "棕熊"), encoding="utf-8")
    named = qa("add", str(tmp_path / "polar report 2.txt"))
    assert named.returncode == 0 and "a new id is made" in named.stderr
    made = named.stdout.split()[1].rstrip(":")
    # An unknown id in the middle is reported and the ids after it are still removed.
    removed = qa("remove", "polar-report", "no-such-doc", made)
    assert removed.returncode == 2 and "no-such-doc" in removed.stderr
    assert f"removed {made}" in removed.stdout and not (tmp_path / "lib" / "polar-report.txt").exists()
    assert not (tmp_path / "lib" / f"{made}.txt").exists()
    assert qa("remove", "polar-report").returncode == 2
    # An --id that is no id is refused (it was a new, made id: --replace then replaced nothing).
    bad_id = qa("add", str(tmp_path / "seal-report.txt"), "--id", "seal report", "--replace")
    assert bad_id.returncode == 2 and "argument --id: 'seal report' is no document id" in bad_id.stderr
    bad_title = qa("add", str(tmp_path / "seal-report.txt"), "--title", os.fsdecode(b"\xff"))
    assert bad_title.returncode == 2 and "argument --title: not UTF-8 text: byte 0xff" in bad_title.stderr

"""Rebuilding the index while serving: admin endpoint and SIGHUP swap the new index in atomically."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from qa.config import Settings
from qa.server.state import Pipeline
from qa.wiring import build_app
from tests.support import ROOT, configured, free_port, serve

ADMIN = {"Authorization": "Bearer admin-secret"}
NEW_DOC = "新文件。北極熊在格陵蘭的冰原上覓食。\n\n第二段講的是海冰。"


def test_admin_reindex_swaps_the_index_while_requests_keep_answering(
    tmp_path: Path, seeds_copy: Path, index_dir: Path, pipeline: Pipeline
) -> None:
    index_copy = tmp_path / "index"
    shutil.copytree(index_dir, index_copy)
    settings = configured(Settings(), seeds_dir=seeds_copy, index_dir=index_copy, admin_keys=["admin-secret"])
    with serve(build_app(settings, pipeline=pipeline)) as url:
        assert httpx.post(f"{url}/admin/reindex", timeout=60).status_code == 401  # admin key required
        (seeds_copy / "polar.txt").write_text(NEW_DOC, encoding="utf-8")
        statuses: list[int] = []
        stop = threading.Event()

        def keep_asking() -> None:
            while not stop.is_set():
                statuses.append(httpx.post(f"{url}/ask", json={"question": "北約在擔心什麼？"}, timeout=60).status_code)

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            reply = httpx.post(f"{url}/admin/reindex", headers=ADMIN, timeout=300)
        finally:
            stop.set()
            asker.join()
        assert reply.status_code == 200, reply.text
        assert reply.json()["counts"]["documents"] == 2
        assert statuses and set(statuses) == {200}  # no request failed during the swap
        docs = httpx.get(f"{url}/documents", timeout=10).json()["documents"]
        assert {d["id"] for d in docs} == {"polar", "2025-11-06-trump-ceasefire-diplomacy"}
        answer = httpx.post(f"{url}/ask", json={"question": "北極熊在哪裡覓食？"}, timeout=60).json()
        assert answer["citations"] and answer["citations"][0]["doc"] == "polar"
        # A file that cannot be read is left out, named, and the others are served: one bad file of an archive does
        # not keep the rest from being indexed.
        (seeds_copy / "broken.txt").write_bytes(b"\xff\xfe\xfa")
        (seeds_copy / "blank.txt").write_text("\n  \n", encoding="utf-8")
        rebuilt = httpx.post(f"{url}/admin/reindex", headers=ADMIN, timeout=300)
        assert rebuilt.status_code == 200, rebuilt.text
        assert rebuilt.json()["counts"]["documents"] == 2
        assert rebuilt.json()["skipped"] == [
            {"file": "seeds/blank.txt", "reason": "empty"},
            {"file": "seeds/broken.txt", "reason": "not valid UTF-8 (byte 0xff at 0)"},
        ]
        ready = httpx.get(f"{url}/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["detail"] == (
            "2 source file(s) not indexed: seeds/blank.txt (empty); seeds/broken.txt (not valid UTF-8 (byte 0xff at 0))"
        )
        assert httpx.post(f"{url}/ask", json={"question": "北極熊在哪裡覓食？"}, timeout=60).status_code == 200
        # No file that can be read: the rebuild fails clearly and the old index keeps serving.
        for path in seeds_copy.glob("*.txt"):
            if path.name not in ("broken.txt", "blank.txt"):
                path.unlink()
        failed = httpx.post(f"{url}/admin/reindex", headers=ADMIN, timeout=300)
        assert failed.status_code == 422 and "still serving" in failed.json()["error"]["message"]
        assert "seeds/broken.txt: not valid UTF-8" in failed.json()["error"]["message"]
        assert httpx.post(f"{url}/ask", json={"question": "北極熊在哪裡覓食？"}, timeout=60).status_code == 200


def test_sighup_rebuilds_the_index_of_a_running_server(tmp_path: Path, seeds_copy: Path, index_dir: Path) -> None:
    index_copy = tmp_path / "index"
    shutil.copytree(index_dir, index_copy)
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_SEEDS_DIR": str(seeds_copy), "QA_INDEX_DIR": str(index_copy)}
    server = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{url}/health", timeout=2).status_code == 200, 120)
        (seeds_copy / "polar.txt").write_text(NEW_DOC, encoding="utf-8")
        server.send_signal(signal.SIGHUP)
        wait_for(lambda: len(httpx.get(f"{url}/documents", timeout=5).json()["documents"]) == 2, 180)
        assert server.poll() is None  # still serving
    finally:
        server.terminate()
        server.wait(timeout=20)


def wait_for(check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"not true within {seconds} s")

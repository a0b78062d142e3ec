"""Resource hygiene: the LLM client's connections are reused across reindexes and closed at shutdown."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx

from qa.config import Settings
from qa.wiring import build_app
from tests.fake_llm import Script, fake_llm_app
from tests.support import configured, serve

ADMIN = {"Authorization": "Bearer admin-secret"}
QUESTION = "烏克蘭打算向哪個國家購買戰機？"


def established(port: int) -> int:
    """TCP connections in this process's network namespace whose local end is `port` (the server's side)."""
    count = 0
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.is_file():
            continue
        for line in table.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if int(local.rsplit(":", 1)[1], 16) == port and state == "01":
                count += 1
    return count


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 120
    while httpx.get(f"{url}/ready").status_code != 200:
        assert time.monotonic() < deadline, "the service did not become ready"
        time.sleep(0.2)


def test_llm_connections_are_reused_across_reindexes_and_closed_at_shutdown(
    tmp_path: Path, seeds_copy: Path, index_dir: Path
) -> None:
    index_copy = tmp_path / "index"
    shutil.copytree(index_dir, index_copy)
    # The LLM server keeps idle connections open, so that only the client can close them.
    with serve(fake_llm_app(Script()), timeout_keep_alive=600) as fake:
        port = int(fake.rsplit(":", 1)[1])
        settings = configured(
            Settings(),
            seeds_dir=seeds_copy,
            index_dir=index_copy,
            admin_keys=["admin-secret"],
            llm_base_url=fake + "/v1",
            llm_backoff=0.0,
            llm_rewrite_followups=False,
        )
        app = build_app(settings)
        # Every pipeline served is kept alive here, as requests still in flight on an old index would keep it:
        # so connections can only close because the service closes them, not because garbage collection does.
        served = []
        with serve(app) as url:
            wait_ready(url)
            for round_ in range(3):
                reply = httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=60).json()
                assert reply["mode"] in ("llm", "llm-fallback") and "llm_ms" in reply["timings"]
                served.append(app.state.qa.pipeline)
                if round_ < 2:
                    assert httpx.post(f"{url}/admin/reindex", headers=ADMIN, timeout=120).status_code == 200
            assert len({id(p) for p in served}) == 3  # three indexes were served
            # One pool for the life of the service: a reindex does not open another (one per index, leaked).
            assert established(port) == 1
        # Shutdown closed the pool (not merely dropped it): the client says so and the LLM server sees no connection.
        client = app.state.qa.pipeline.engine.client
        assert all(p.engine.client is client for p in served)
        assert client._client is None
        deadline = time.monotonic() + 2
        while established(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert established(port) == 0

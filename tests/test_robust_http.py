"""The HTTP edge under abuse and faults (issue 11): slow clients, spoofed forwarded headers, disk errors on reindex,
HEAD probes, the OpenAPI contract, and the headers of /docs and of a crash's 500."""

from __future__ import annotations

import errno
import json
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from qa.config import Settings
from qa.server.state import Pipeline
from qa.wiring import build_app
from tests.support import ROOT, configured, free_port, serve

QUESTION = {"question": "北約秘書長呂特為什麼緊急訪美？"}
ALLOWED = "https://allowed.example"
ADMIN = "robust-admin-key"
# The limits of the `qa serve` below: short, so that the tests wait seconds, not the defaults' minutes.
HEADER_TIMEOUT, BODY_TIMEOUT, MAX_CONNECTIONS, DESCRIPTORS = 1.0, 1.0, 100, 256
RATE, BURST = 0.2, 5


@pytest.fixture(scope="module")
def qa_serve(seeds_dir: Path, index_dir: Path) -> Iterator[str]:
    """A real `qa serve` process (its own protocol and uvicorn settings) with short limits and a rate limit."""
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "QA_LOG_LEVEL": "ERROR",
        "QA_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "QA_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "QA_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "QA_RATE_LIMIT_RPS": str(RATE),
        "QA_RATE_LIMIT_BURST": str(BURST),
    }
    env.pop("QA_TRUSTED_PROXIES", None)
    args = ["serve", "--port", str(port), "--seeds-dir", str(seeds_dir), "--index-dir", str(index_dir)]
    server = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", *args],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    # An open-file limit well under the slow connections the tests open (set before the server reads it).
    resource.prlimit(server.pid, resource.RLIMIT_NOFILE, (DESCRIPTORS, DESCRIPTORS))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "qa serve did not start"
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def port_of(url: str) -> int:
    """The port of a loopback base URL."""
    return int(url.rsplit(":", 1)[1])


def connect(url: str, data: bytes = b"") -> socket.socket:
    """A raw connection to the server, having sent data (possibly nothing, or part of a request)."""
    sock = socket.create_connection(("127.0.0.1", port_of(url)), timeout=10)
    if data:
        sock.sendall(data)
    return sock


def read_until_closed(sock: socket.socket, within: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took; fails (a timeout)
    when the connection is still open after `within` seconds."""
    started = time.monotonic()
    sock.settimeout(within)
    received = b""
    with sock:
        while chunk := sock.recv(65536):
            received += chunk
    return received, time.monotonic() - started


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"POST /ask HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_a_request_that_is_not_http_gets_the_apis_json_error(qa_serve: str, raw: bytes) -> None:
    received, _ = read_until_closed(connect(qa_serve, raw), 10)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"content-type: application/json" in head
    error = json.loads(body)["error"]
    # Valid in the API's shape and in OpenAI's (the request may have been meant for /v1).
    assert error["code"] == "bad_request" and error["message"]
    assert error["type"] == "invalid_request_error" and error["param"] is None


def test_a_websocket_upgrade_gets_the_apis_answer_not_a_bare_403(qa_serve: str) -> None:
    """The API has no WebSocket route: an upgrade request is plain HTTP to it (uvicorn's WebSocket protocol answered
    a bare 403 with no body)."""
    upgrade = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    reply = httpx.get(f"{qa_serve}/ask/stream", headers=upgrade, timeout=10)
    assert reply.status_code == 405 and reply.json()["error"]["code"] == "method_not_allowed"


def test_a_request_past_the_connection_cap_gets_the_apis_json_503(settings: Settings, pipeline: Pipeline) -> None:
    """Every connection busy (two requests whose bodies are still coming, at a cap of two): a third request is turned
    away with a 503 in the API's error shape and Retry-After, not uvicorn's plain `Service Unavailable`."""
    from qa.server.protocol import server_config

    capped = configured(settings, max_connections=2)
    config = server_config(build_app(capped, pipeline=pipeline), capped, host="127.0.0.1", port=free_port())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{config.port}"
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.02)
        head = b"POST /ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        busy = [connect(url, head) for _ in range(2)]
        time.sleep(0.3)  # both heads are read: their requests wait for the rest of their bodies
        received, _ = read_until_closed(connect(url, b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n"), 10)
        head_of, _, body = received.partition(b"\r\n\r\n")
        assert head_of.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in head_of
        error = json.loads(body)["error"]
        assert error["code"] == "overloaded" and error["type"] == "server_error"
        for sock in busy:
            sock.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# 1. Slow clients: request heads and bodies are bounded in time, connections in number.


def test_silent_and_half_sent_heads_are_closed_while_requests_answer(qa_serve: str) -> None:
    silent = [connect(qa_serve) for _ in range(20)]
    partial = [connect(qa_serve, b"GET /live HTTP/1.1\r\nHost: x\r\nX-Slow: ") for _ in range(20)]
    assert httpx.get(f"{qa_serve}/live", timeout=5).status_code == 200  # the slow ones do not block anyone
    bound = HEADER_TIMEOUT + 4  # generous: "bounded, not stuck"
    for sock in silent:
        received, _ = read_until_closed(sock, bound)
        assert received == b""  # nothing was asked: the connection is just closed
    for sock in partial:
        received, _ = read_until_closed(sock, bound)
        assert received.startswith(b"HTTP/1.1 408 ") and b"request_timeout" in received


def test_a_reused_connection_must_also_send_its_next_head_in_time(qa_serve: str) -> None:
    sock = connect(qa_serve, b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n")
    first = b""
    while b"alive" not in first:
        first += sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 200 ")
    sock.sendall(b"GET /live HTTP/1.1\r\nHo")  # the next request stalls in its head
    received, _ = read_until_closed(sock, HEADER_TIMEOUT + 4)
    assert received.startswith(b"HTTP/1.1 408 ")


def test_a_body_shorter_than_its_content_length_gets_408(qa_serve: str) -> None:
    head = b"POST /ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    sock = connect(qa_serve, head + b'{"question": "')
    received, took = read_until_closed(sock, BODY_TIMEOUT + 6)
    assert received.startswith(b"HTTP/1.1 408 "), received[:200]
    assert b'"code":"request_timeout"' in received and b"connection: close" in received.lower()
    assert took < BODY_TIMEOUT + 3


def test_more_slow_connections_than_descriptors_do_not_starve_requests(qa_serve: str) -> None:
    """The reported failure: 600 idle connections under a 512-descriptor limit failed every real request. Here
    300 under 256: the connection cap closes the longest-waiting ones, the head timeout the rest."""
    with ExitStack() as stack:
        for _ in range(300):
            stack.enter_context(connect(qa_serve))
        statuses = [httpx.get(f"{qa_serve}/live", timeout=5).status_code for _ in range(10)]
    assert statuses == [200] * 10


def test_the_connection_cap_closes_the_longest_waiting_connection(settings: Settings, pipeline: Pipeline) -> None:
    """With a head timeout far away, only the cap can make room: the oldest idle connections go first."""
    from qa.server.protocol import server_config

    tuned = configured(settings, header_timeout=60.0, max_connections=20)
    with serve_config(
        server_config(build_app(tuned, pipeline=pipeline), tuned, host="127.0.0.1", port=free_port())
    ) as url:
        idle = [connect(url) for _ in range(40)]
        time.sleep(0.5)
        assert httpx.get(f"{url}/live", timeout=5).status_code == 200
        closed = 0
        for sock in idle[:20]:  # the first twenty were the longest waiting
            received, _ = read_until_closed(sock, 5)
            closed += received == b""
        assert closed == 20
        for sock in idle[20:]:
            sock.close()


def test_requests_are_not_turned_away_while_idle_connections_can_make_room(
    settings: Settings, pipeline: Pipeline
) -> None:
    """19 idle connections under a cap of 20, then 10 requests at once: each new connection closes an idle one. A
    connection already closing still counted in uvicorn's 503 check, and 4 of the 10 got a 503 with 17 idle ones
    still open."""
    from concurrent.futures import ThreadPoolExecutor

    from qa.server.protocol import server_config

    tuned = configured(settings, header_timeout=60.0, max_connections=20)
    with serve_config(
        server_config(build_app(tuned, pipeline=pipeline), tuned, host="127.0.0.1", port=free_port())
    ) as url:
        idle = [connect(url) for _ in range(19)]
        time.sleep(0.3)

        def ask(_: int) -> int:  # one connection a request, closed by the server after it (Connection: close)
            request = urllib.request.Request(
                f"{url}/ask", data=json.dumps(QUESTION).encode(), headers={"content-type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    return int(reply.status)
            except urllib.error.HTTPError as refused:
                return refused.code

        for _ in range(3):
            with ThreadPoolExecutor(10) as pool:
                assert list(pool.map(ask, range(10))) == [200] * 10
        for sock in idle:
            sock.close()


# 2. X-Forwarded-For is believed only from the proxies named in QA_TRUSTED_PROXIES.


def test_a_spoofed_forwarded_for_does_not_escape_the_rate_limit(qa_serve: str) -> None:
    statuses = [
        httpx.get(
            f"{qa_serve}/search", params={"q": "北約"}, headers={"X-Forwarded-For": f"203.0.113.{n}"}, timeout=10
        ).status_code
        for n in range(12)
    ]
    assert statuses.count(200) <= BURST and statuses.count(429) >= 12 - BURST


def test_forwarded_for_is_believed_from_a_trusted_proxy(settings: Settings, pipeline: Pipeline) -> None:
    from qa.server.protocol import server_config

    tuned = configured(settings, rate_limit_rps=0.1, rate_limit_burst=2, trusted_proxies=["127.0.0.1"])
    with serve_config(
        server_config(build_app(tuned, pipeline=pipeline), tuned, host="127.0.0.1", port=free_port())
    ) as url:
        distinct = [
            httpx.get(f"{url}/search", params={"q": "北約"}, headers={"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(6)
        ]
        assert [r.status_code for r in distinct] == [200] * 6  # six clients behind the proxy, one bucket each
        one = {"X-Forwarded-For": "198.51.100.99"}
        same = [httpx.get(f"{url}/search", params={"q": "北約"}, headers=one).status_code for _ in range(3)]
        assert same == [200, 200, 429]  # ... and one client is still limited


def test_trusted_proxies_setting_reads_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")
    assert Settings().server.trusted_proxies == ["10.0.0.1", "192.168.0.0/16"]
    for wrong in ("not-an-ip", "proxy.internal", "10.0.0.1, 300.1.2.3"):  # taken silently, and no proxy trusted
        monkeypatch.setenv("QA_TRUSTED_PROXIES", wrong)
        with pytest.raises(ValueError, match="not an IP address"):
            Settings()


def test_a_default_top_k_above_the_most_allowed_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_DEFAULT_TOP_K", "40")
    monkeypatch.setenv("QA_MAX_TOP_K", "30")  # was taken, and 14 passages returned by default
    with pytest.raises(ValueError, match="default_top_k"):
        Settings()
    monkeypatch.setenv("QA_MAX_TOP_K", "40")
    assert Settings().retrieval.default_top_k == 40


@contextmanager
def serve_config(config: uvicorn.Config) -> Iterator[str]:
    """Run a uvicorn config (as `qa serve` makes it) in a thread; yield its base URL."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{config.port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# 3. Disk errors on reindex: a clear 503 or 507, and the old index keeps serving.


def test_reindex_into_a_folder_that_cannot_be_made_is_503(
    settings: Settings, pipeline: Pipeline, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")  # root ignores chmod; a file as the parent stops anyone
    tuned = configured(settings, index_dir=blocker / "index", admin_keys=[SecretStr(ADMIN)])
    with serve(build_app(tuned, pipeline=pipeline)) as url:
        started = time.monotonic()
        reply = httpx.post(f"{url}/admin/reindex", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=300)
        assert reply.status_code == 503, reply.text
        error = reply.json()["error"]
        assert error["code"] == "index_not_writable"
        assert os.strerror(errno.ENOTDIR) in error["message"] and "previous index is still serving" in error["message"]
        assert time.monotonic() - started < 30  # refused before the build, not after it
        assert httpx.post(f"{url}/ask", json=QUESTION, timeout=60).json()["citations"]


def test_reindex_on_a_full_disk_is_507(settings: Settings, pipeline: Pipeline) -> None:
    from qa.errors import IndexWriteError
    from qa.server.app import create_app

    def full_disk(_: Pipeline | None) -> Pipeline:
        raise IndexWriteError("cannot write the index: No space left on device", errno=errno.ENOSPC)

    tuned = configured(settings, admin_keys=[SecretStr(ADMIN)])
    with serve(create_app(tuned, pipeline=pipeline, rebuild=full_disk)) as url:
        reply = httpx.post(f"{url}/admin/reindex", headers={"Authorization": f"Bearer {ADMIN}"})
        assert reply.status_code == 507 and reply.json()["error"]["code"] == "insufficient_storage"
        assert "No space left" in reply.json()["error"]["message"]
        assert httpx.get(f"{url}/search", params={"q": "北約"}).status_code == 200


def test_adding_or_removing_on_a_full_disk_is_507_insufficient_storage_as_for_reindex(
    settings: Settings, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The document routes named a full disk `index_no_space`, where /admin/reindex and the README say
    `insufficient_storage`."""
    from qa.errors import IndexWriteError
    from qa.server.state import State

    def full_disk(*_: object, **__: object) -> None:
        raise IndexWriteError("cannot write the index: No space left on device", errno=errno.ENOSPC)

    monkeypatch.setattr(State, "add_document", full_disk)
    monkeypatch.setattr(State, "remove_document", full_disk)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with serve(build_app(configured(settings, admin_keys=[SecretStr(ADMIN)]), pipeline=pipeline)) as url:
        added = httpx.post(f"{url}/documents", json={"id": "x", "text": "港口罷工。"}, headers=admin, timeout=60)
        removed = httpx.delete(f"{url}/documents/x", headers=admin, timeout=60)
    for reply, outcome in ((added, "nothing was added"), (removed, "nothing was removed")):
        assert reply.status_code == 507, reply.text
        error = reply.json()["error"]
        assert error["code"] == "insufficient_storage" and "No space left" in error["message"]
        assert error["message"].endswith(outcome)


def test_adding_or_removing_where_the_index_cannot_be_written_is_503_and_changes_nothing(
    seeds_dir: Path, index_dir: Path, tmp_path: Path
) -> None:
    """The folder's write lock cannot be taken (a read-only volume; here a folder where its lock file goes, which
    stops root too): adding was a 500, and removing deleted the document's files, answered 503 'nothing was
    removed', and left the index serving a document whose files were gone."""
    import shutil

    shutil.copytree(index_dir, tmp_path / "data" / "index")
    tuned = configured(
        Settings(),
        seeds_dir=seeds_dir,
        index_dir=tmp_path / "data" / "index",
        library_dir=tmp_path / "library",
        admin_keys=[SecretStr(ADMIN)],
    )
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with serve(build_app(tuned, load_before_serving=True)) as url:
        body = {"id": "harbour", "text": "港口罷工。碼頭工人要求提高工資，罷工持續三天。"}
        assert httpx.post(f"{url}/documents", json=body, headers=admin, timeout=60).status_code == 201
        lock = tmp_path / "data" / ".index.lock"
        lock.unlink()
        lock.mkdir()  # the lock cannot be opened, as on a read-only volume
        added = httpx.post(f"{url}/documents", json={**body, "id": "other"}, headers=admin, timeout=60)
        assert added.status_code == 503 and added.json()["error"]["code"] == "index_not_writable", added.text
        removed = httpx.delete(f"{url}/documents/harbour", headers=admin, timeout=60)
        assert removed.status_code == 503 and removed.json()["error"]["code"] == "index_not_writable", removed.text
        assert (tmp_path / "library" / "harbour.txt").is_file()  # its files are kept, as the index keeps it
        found = httpx.get(f"{url}/search", params={"q": "碼頭工人罷工", "k": 1}).json()["passages"]
        assert found and found[0]["doc"] == "harbour"
        assert not (tmp_path / "library" / "other.txt").exists()


def test_a_rebuild_waits_for_an_addition_in_progress(
    seeds_dir: Path, index_dir: Path, tmp_path: Path, embedder: Any
) -> None:
    """A rebuild reads the sources under the folder's write lock, as additions write them: a document another worker
    added while a rebuild was reading was lost when the rebuild was swapped in (its 201 said it was searchable)."""
    import shutil

    from qa.indexing.build import build_into
    from qa.indexing.sources import Sources
    from qa.indexing.store import load, write_lock

    shutil.copytree(index_dir, tmp_path / "index")
    sources = Sources(seeds_dir, tmp_path / "library")
    done = threading.Event()
    with write_lock(tmp_path / "index"):  # another worker, adding a document
        builder = threading.Thread(target=lambda: (build_into(tmp_path / "index", sources, embedder), done.set()))
        builder.start()
        time.sleep(0.5)
        assert not done.is_set()  # the rebuild waits
        sources.stage("late", "遲到的文章。碼頭工人罷工。", title=None, date=None, url=None)
        sources.commit("late")
    builder.join(timeout=120)
    assert done.is_set() and "late" in load(tmp_path / "index").documents


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (errno.ENOSPC, "no_space"),
        (errno.EDQUOT, "no_space"),
        (errno.EROFS, "not_writable"),
        (errno.EACCES, "not_writable"),
        (errno.ENOTDIR, "not_writable"),
        (None, "not_writable"),
    ],
)
def test_write_errors_are_told_apart_by_errno(code: int | None, kind: str) -> None:
    from qa.errors import IndexWriteError, QAError

    error = IndexWriteError("x", errno=code)
    assert isinstance(error, QAError) and error.kind == kind and error.errno == code


def test_save_turns_os_errors_into_index_write_errors(index: Any, tmp_path: Path) -> None:
    from qa.errors import IndexWriteError
    from qa.indexing.store import save

    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(IndexWriteError) as caught:
        save(index, blocker / "index")
    assert caught.value.errno in (errno.ENOTDIR, errno.EEXIST) and caught.value.kind == "not_writable"


def test_the_container_gives_the_qa_user_a_writable_index_parent() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    index_dir = re.search(r"QA_INDEX_DIR=(\S+)", text)
    assert index_dir
    parent = str(Path(index_dir.group(1)).parent)
    assert parent != "/app"  # root-owned in the image
    assert re.search(rf"(chown|install -d)[^\n]*qa[^\n]*{re.escape(parent)}\b", text), parent


# 4. HEAD on the probes (load balancers use it).


@pytest.mark.parametrize("path", ["/health", "/ready", "/live"])
def test_head_on_the_probes(live_url: str, path: str) -> None:
    reply = httpx.head(f"{live_url}{path}")
    assert reply.status_code == 200 and reply.content == b""
    assert httpx.get(f"{live_url}{path}").status_code == 200


# 5. The OpenAPI contract: bounds stated, the 400 documented, strict integers.


def test_openapi_states_the_bounds_and_the_400(live_url: str, settings: Settings) -> None:
    schema = httpx.get(f"{live_url}/openapi.json").json()
    top_k = schema["components"]["schemas"]["AskRequest"]["properties"]["top_k"]
    number = next(s for s in top_k.get("anyOf", [top_k]) if s.get("type") == "integer")
    assert (number["minimum"], number["maximum"]) == (1, settings.retrieval.max_top_k)
    assert schema["components"]["schemas"]["AskRequest"]["properties"]["question"]["minLength"] == 1
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/search"]["get"]["parameters"]}
    k = next(s for s in parameters["k"].get("anyOf", [parameters["k"]]) if s.get("type") == "integer")
    assert (k["minimum"], k["maximum"]) == (1, settings.retrieval.max_top_k)
    assert parameters["q"]["minLength"] == 1
    for path in ("/ask", "/ask/stream"):
        assert "400" in schema["paths"][path]["post"]["responses"], path
    reindex = schema["paths"]["/admin/reindex"]["post"]["responses"]
    assert {"503", "507"} <= set(reindex)


@pytest.mark.parametrize("top_k", [True, 2.0, "3"])
def test_top_k_must_be_a_json_integer(live_url: str, top_k: Any) -> None:
    reply = httpx.post(f"{live_url}/ask", json={"question": "北約", "top_k": top_k})
    assert reply.status_code == 422 and reply.json()["error"]["code"] == "invalid_request"


def test_bounds_keep_their_own_error_codes(live_url: str) -> None:
    for body in ({"question": "北約", "top_k": 0}, {"question": "北約", "top_k": 51}):
        assert httpx.post(f"{live_url}/ask", json=body).json()["error"]["code"] == "top_k_out_of_range"
    assert (
        httpx.get(f"{live_url}/search", params={"q": "北約", "k": 99}).json()["error"]["code"] == "top_k_out_of_range"
    )
    assert httpx.get(f"{live_url}/search", params={"q": ""}).json()["error"]["code"] == "empty_question"


# 6. Headers: /docs has a CSP and loads nothing from elsewhere; a crash's 500 carries the usual headers.


def test_docs_page_is_locked_down_and_self_contained(live_url: str) -> None:
    page = httpx.get(f"{live_url}/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "//" not in re.sub(r"<!doctype[^>]*>", "", page.text, flags=re.IGNORECASE)  # no other host, no scheme
    assert "<script>" not in page.text  # no inline script: the CSP would block it
    assets = [a for a in re.findall(r'(?:src|href)="([^"]+)"', page.text) if not a.startswith("data:")]
    assert len(assets) == 3
    for asset in assets:
        reply = httpx.get(f"{live_url}/{asset}")
        assert reply.status_code == 200 and reply.content, asset
        assert reply.headers["content-type"].startswith(("text/javascript", "text/css")), asset
    assert "openapi.json" in httpx.get(f"{live_url}/static/swagger-ui/start.js").text
    assert httpx.get(f"{live_url}/static/swagger-ui/index.html").status_code == 404
    assert httpx.get(f"{live_url}/redoc").status_code == 404  # no local ReDoc: no page that needs a CDN


def test_docs_can_be_turned_off(settings: Settings, pipeline: Pipeline) -> None:
    with serve(build_app(configured(settings, docs=False), pipeline=pipeline)) as url:
        assert httpx.get(f"{url}/docs").status_code == 404
        assert httpx.get(f"{url}/openapi.json").status_code == 200


def test_a_crash_is_a_500_with_security_and_cors_headers(settings: Settings, pipeline: Pipeline) -> None:
    app = build_app(configured(settings, allowed_origins=[ALLOWED]), pipeline=pipeline)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with serve(app) as url:
        reply = httpx.get(f"{url}/boom", headers={"Origin": ALLOWED, "X-Request-ID": "boom-1"})
        assert reply.status_code == 500 and reply.json()["error"]["code"] == "internal_error"
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"
        assert reply.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert reply.headers["x-frame-options"] == "DENY"
        assert reply.headers["access-control-allow-origin"] == ALLOWED
        assert reply.headers["x-request-id"] == "boom-1"
        assert "boom" not in reply.text  # the exception's text stays in the log
        counted = [line for line in httpx.get(f"{url}/metrics").text.splitlines() if 'route="/boom"' in line]
        assert any(line.startswith("qa_http_requests_total") and 'status="500"' in line for line in counted)

"""How a serving process holds its memory (qa/server/memory.py): the environment `qa serve` starts again with, and
that memory once freed is reused instead of faulted in again."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from qa.server import memory
from qa.server.memory import fault_cost_us, reserve_for, serving_env, worth_holding

glibc = pytest.mark.skipif(serving_env({}) is None, reason="needs Linux with glibc")


@glibc
def test_the_serving_environment_sets_the_allocator_and_keeps_given_tunables() -> None:
    env = serving_env({"PATH": "/bin", "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"})
    assert env is not None
    assert env["PATH"] == "/bin" and env["PYTHONMALLOC"] == "malloc"
    tunables = env["GLIBC_TUNABLES"].split(":")
    assert tunables[0] == "glibc.malloc.tcache_count=0"
    assert {"glibc.malloc.trim_threshold=2147483647", "glibc.malloc.arena_max=1"} <= set(tunables)
    assert serving_env({"PYTHONMALLOC": "pymalloc"}) is None  # set by the user (or already started again): kept


def test_a_page_fault_is_timed_once_a_process() -> None:
    cost = fault_cost_us()
    assert 0 < cost < 10_000  # µs: ~3 on most machines, ~60 on a virtual machine whose host backs memory lazily
    assert fault_cost_us() == cost


def test_memory_is_held_by_default_only_for_a_large_index_where_faults_are_dear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    (small / "vectors.faiss").write_bytes(b"x" * 4096)
    (large / "segments").mkdir(parents=True)
    with (large / "segments" / "postings.npz").open("wb") as f:  # sparse: its size, not its blocks
        f.truncate(memory.HOLD_FROM_BYTES)
    for cost, held in ((60.0, True), (3.0, False)):
        worth_holding.cache_clear()
        monkeypatch.setattr(memory, "fault_cost_us", lambda cost=cost: cost)
        assert worth_holding(large) is held
        assert worth_holding(small) is False  # no faults to save, however dear
        assert worth_holding(tmp_path / "absent") is False  # no index yet
    worth_holding.cache_clear()


def test_the_reserve_is_a_quarter_of_the_index_unless_set(tmp_path: Path) -> None:
    (tmp_path / "segments").mkdir()
    (tmp_path / "segments" / "postings.npz").write_bytes(b"x" * 4_000_000)
    (tmp_path / "manifest.json").write_bytes(b"{}")
    assert reserve_for(tmp_path, None) == (4_000_000 + 2) // 4
    assert reserve_for(tmp_path, 64) == 64 << 20
    assert reserve_for(tmp_path, 0) == 0


def test_the_reserve_never_takes_more_than_half_the_free_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < reserve_for(tmp_path, 1 << 30) <= free // 2  # a petabyte asked for
    assert "memory reserve cut" in caplog.text


FAULTS = """
import resource, sys
from qa.server.memory import hold
if sys.argv[1] == "hold":
    assert hold(64 << 20) > 0
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
before = faults()
for _ in range(3):  # what a question does: allocate, touch, free
    blocks = [bytearray(8 << 20) for _ in range(6)]
    del blocks
print(faults() - before)
"""


@glibc
def test_held_memory_is_reused_rather_than_faulted_in_again() -> None:
    """48 MiB allocated and freed three times: a fresh page (12,288 of them each time, 36,864 in all) unless the
    process kept and touched the memory ahead."""

    def faults(mode: str) -> int:
        script = textwrap.dedent(FAULTS)
        run = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        return int(run.stdout)

    assert faults("plain") > 30_000
    assert faults("hold") < 1_000


def wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).json().get("ready"):
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and server.poll() is None, "server did not start"
        time.sleep(0.2)


def test_qa_serve_starts_again_holding_its_memory(tmp_path: Path, seeds_dir: Path, index_dir: Path) -> None:
    """QA_HOLD_MEMORY=true: `qa serve` replaces itself (same process id) with one that allocates through malloc, and
    holds its memory once the index is loaded. By default, a small index (the seed's) is not worth it; false leaves
    the process as started."""
    from tests.support import ROOT, free_port

    def serve(**extra: str) -> tuple[str, str]:
        port = free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", **extra}
        env.pop("PYTHONMALLOC", None)
        args = ["serve", "--port", str(port), "--seeds-dir", str(seeds_dir), "--index-dir", str(index_dir)]
        log = tmp_path / f"serve-{port}.log"
        with log.open("w") as out:
            server = subprocess.Popen([sys.executable, "-m", "qa.cli", *args], cwd=ROOT, env=env, stderr=out)
        try:
            wait_ready(f"http://127.0.0.1:{port}", server)
            environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
            allocator = next((v.decode() for v in environ if v.startswith(b"PYTHONMALLOC=")), "")
        finally:
            server.terminate()
            server.wait(timeout=30)
        return allocator, log.read_text()

    allocator, log = serve(QA_HOLD_MEMORY="true")
    if serving_env({}) is not None:
        assert allocator == "PYTHONMALLOC=malloc"
        assert "memory held" in log
    allocator, log = serve()
    assert allocator == "" and "memory held" not in log
    assert "not holding memory: the index is" in log
    allocator, log = serve(QA_HOLD_MEMORY="false")
    assert allocator == "" and "memory held" not in log and "holding memory" not in log

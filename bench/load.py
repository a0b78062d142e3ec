"""Load test (not a test): many POST /ask at once against `qa serve` on loopback; latency, errors, memory.

    .venv/bin/python bench/load.py [--requests 5000] [--concurrency 32] [--workers 2]

Starts `qa serve` itself on a free loopback port (with a copy of index/, the rate limit off and quiet logs) so
that it can read the server's memory from /proc before and after. Bounded: a fixed number of requests, a
deadline, and loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# Written for this load test: both scripts and English, several kinds of question, and some the article cannot
# answer (they exercise the abstention path, which is as much work as an answer).
QUESTIONS = [
    "釜山會晤後美國的關稅降了多少？",
    "特朗普說自己解決了幾場戰爭？",
    "加沙在2025年9月迎來第幾次停火？",
    "哈馬斯在2023年發動的行動叫什麼？",
    "俄烏戰爭的前兆有哪些？",
    "北约为什么要向乌克兰提供军援？",
    "中美关税停火是谁加开的战场？",
    "伊朗为什么敢于豪赌？",
    "What is the 20-point peace plan?",
    "Where did Trump meet Xi Jinping?",
    "Why is a Russia-Ukraine ceasefire harder than in Gaza?",
    "Which countries are on NATO's eastern flank?",
    "今天台北的天氣如何？",
    "比特币的价格是多少？",
    "Who won the 2022 football World Cup?",
    "文章的作者是誰？",
]
MAX_REQUESTS = 100_000


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (uvicorn's workers are children of the supervisor)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def memory_mib(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) summed over the server's processes, in MiB."""
    total = {"VmRSS": 0, "VmHWM": 0}
    for p in process_tree(pid):
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            name = line.split(":", 1)[0]
            if name in total:
                total[name] += int(line.split()[1])
    return {"rss_mib": round(total["VmRSS"] / 1024, 1), "peak_rss_mib": round(total["VmHWM"] / 1024, 1)}


def percentile(ordered: list[float], p: float) -> float:
    """The p-th percentile of sorted values (nearest rank)."""
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def load(url: str, requests: int, concurrency: int, deadline_s: float) -> dict[str, object]:
    """POST /ask `requests` times, `concurrency` at once, stopping early at the deadline."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    issued = 0
    stop_at = time.monotonic() + deadline_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal issued
        while issued < requests and time.monotonic() < stop_at:
            i = issued
            issued += 1
            started = time.perf_counter()
            try:
                reply = await client.post("/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
                key = str(reply.status_code)
            except httpx.HTTPError as exc:
                key = type(exc).__name__
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[key] = statuses.get(key, 0) + 1

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "concurrency": concurrency,
        "errors": sum(n for status, n in statuses.items() if status != "200"),
        "statuses": statuses,
        "p50_ms": round(statistics.median(ordered), 1) if ordered else None,
        "p95_ms": round(percentile(ordered, 95), 1),
        "p99_ms": round(percentile(ordered, 99), 1),
        "max_ms": round(ordered[-1], 1) if ordered else None,
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "seconds": round(elapsed, 1),
    }


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Poll /ready until 200; give up if the server exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"qa serve exited with {server.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"qa serve was not ready within {timeout_s:.0f} s")


def serve_command(port: int, index_dir: Path, workers: int) -> list[str]:
    """The `qa serve` command line, with --workers when asked for and supported."""
    command = [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--index-dir", str(index_dir)]
    if workers > 1:
        help_text = subprocess.run(
            [*command[:4], "--help"], check=False, capture_output=True, text=True, cwd=ROOT
        ).stdout
        if "--workers" not in help_text:
            raise SystemExit("this `qa serve` has no --workers option yet; run without --workers")
        command += ["--workers", str(workers)]
    return command


def main() -> None:
    """Start the server, warm it, load it, print the report as JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=5000, help=f"POST /ask requests in all (at most {MAX_REQUESTS})")
    ap.add_argument("--concurrency", type=int, default=32, help="requests in flight at once (1-256)")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the server")
    ap.add_argument("--deadline", type=float, default=600, help="stop sending after this many seconds")
    ap.add_argument("--index-dir", type=Path, default=ROOT / "index", help="index to copy for the server")
    args = ap.parse_args()
    if not 1 <= args.requests <= MAX_REQUESTS or not 1 <= args.concurrency <= 256 or not 1 <= args.workers <= 8:
        ap.error(f"--requests 1-{MAX_REQUESTS}, --concurrency 1-256, --workers 1-8")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "QA_RATE_LIMIT_RPS": "0",
        "QA_LOG_LEVEL": "WARNING",
        "QA_ON_INDEX_MISMATCH": "rebuild",
    }
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        if args.index_dir.is_dir():
            shutil.copytree(args.index_dir, index_dir)  # a copy: a stale index is rebuilt here, not in the repo
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server_log = Path(tmp) / "server.log"
        server = subprocess.Popen(
            serve_command(port, index_dir, args.workers),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=server_log.open("wb"),
        )
        try:
            wait_ready(url, server, timeout_s=300)
            for question in QUESTIONS:  # warm every worker's caches a little
                httpx.post(f"{url}/ask", json={"question": question}, timeout=60)
            report: dict[str, object] = {"workers": args.workers, "memory_before": memory_mib(server.pid)}
            report["load"] = asyncio.run(load(url, args.requests, args.concurrency, args.deadline))
            report["memory_after"] = memory_mib(server.pid)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        warnings = server_log.read_text(encoding="utf-8", errors="replace").splitlines()
        report["server_warnings"] = warnings[-20:]  # what the server said (WARNING and above), last lines
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Benchmark (not a test): index build time, start-to-ready time, /ask latency and throughput, peak RSS.

    .venv/bin/python bench/bench.py [--requests 2000] [--llm-closed-port]

Starts `qa serve` as a subprocess on a free loopback port, with its own copy of the index.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from load import free_port, memory_mib, percentile, wait_ready  # the sibling load-test script

ROOT = Path(__file__).resolve().parent.parent
# Questions written for the benchmark (a mix of scripts, kinds and an unanswerable one).
QUESTIONS = [
    "歐盟第19輪對俄制裁首次瞄準哪個產業？",
    "斯塔默宣布提前交付多少枚导弹？",
    "Which country is Ukraine buying fighter jets from?",
    "特朗普什麼時候訪問了北韓？",
    "北約秘書長呂特為什麼緊急訪美？",
    "美國財長貝森特說俄方在談判中怎樣？",
    "What did Russia deploy in Belarus?",
    "哈馬斯為什麼不肯解除武裝？",
]


def load(url: str, requests: int, concurrency: int) -> dict[str, float]:
    """POST /ask `requests` times with `concurrency` workers; latency percentiles in ms and throughput."""
    latencies: list[float] = []
    errors = 0

    def one(i: int, client: httpx.Client) -> None:
        nonlocal errors
        start = time.perf_counter()
        reply = client.post("/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
        latencies.append((time.perf_counter() - start) * 1000)
        if reply.status_code != 200:
            errors += 1

    clients = [httpx.Client(base_url=url, timeout=60) for _ in range(concurrency)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda i: one(i, clients[i % concurrency]), range(requests)))
    elapsed = time.perf_counter() - started
    for c in clients:
        c.close()
    return {
        "requests": requests,
        "concurrency": concurrency,
        "errors": errors,
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(percentile(sorted(latencies), 95), 2),
        "p99_ms": round(percentile(sorted(latencies), 99), 2),
        "throughput_rps": round(requests / elapsed, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000, help="total /ask requests (split 1:3 over c=1 and c=8)")
    ap.add_argument("--llm-closed-port", action="store_true", help="configure an LLM on a closed port (fallback)")
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_RATE_LIMIT_RPS": "0", "QA_LOG_LEVEL": "WARNING"}
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "qa.cli", "index", "build", "--index-dir", str(index)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        report["index_build_s"] = round(time.perf_counter() - started, 2)
        if args.llm_closed_port:
            env["QA_LLM_BASE_URL"] = f"http://127.0.0.1:{free_port()}/v1"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "serve", "--port", str(port), "--index-dir", str(index)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(url, server, timeout_s=300)
            report["start_to_ready_s"] = round(time.perf_counter() - started, 2)
            report["rss_ready_mib"] = memory_mib(server.pid)["rss_mib"]
            for _ in range(20):  # warm up
                httpx.post(f"{url}/ask", json={"question": QUESTIONS[0]}, timeout=60)
            report["c1"] = load(url, max(1, args.requests // 4), 1)
            report["c8"] = load(url, max(1, args.requests - args.requests // 4), 8)
            after = memory_mib(server.pid)
            report["rss_after_mib"], report["peak_rss_mib"] = after["rss_mib"], after["peak_rss_mib"]
        finally:
            server.terminate()
            server.wait(timeout=20)
    report["mode"] = "llm on a closed port (fallback)" if args.llm_closed_port else "extractive"
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

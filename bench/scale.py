"""Benchmark (not a test): the archive at scale. Build throughput and peak memory, add-one-article latency, and
/ask latency at several corpus sizes, for the local store (and Milvus Lite with --store milvus when it is set up).

    .venv/bin/python bench/scale.py [--articles 1 1000 10000] [--chars 4000] [--questions 100] [--warm 20]
                                    [--seed 7] [--work-dir DIR]

A corpus of N articles is made from the paragraphs of ../shared/eval/external/*.json (DRCD and CMRC 2018),
recombined into synthetic articles of about --chars characters when N asks for more than there is; one article means
the project's own seed. Each line also gives `machine_reference_ms`, a fixed piece of pure-Python work timed on the
machine at the time (reference_ms): latencies from two runs compare only beside it.

Each size gets `qa index build` (its own process: its peak RSS is the build's), then `qa serve` on a free loopback port,
--warm other questions (the first a fresh server answers, while it reads its index's pages and fills its caches:
`ask_cold_p50_ms`), then --questions sequential POST /ask over the N articles (timed by a client on one kept-alive
connection, `Asker`; `answering_p50_ms` is the server's own `timings.total_ms`, so that what HTTP and the client add is
the difference), then ADDED articles posted one at a time (each timed until /search finds it), the same questions again
over the N + ADDED articles (`ask_after_adds_p50_ms`), then the same questions glossed into English word by word
(qa/evaluation/glossing.py: `ask_en_p50_ms`), whose names are looked for by sound and in pinyin, then the same questions
each kept to one article chosen at random (`docs: [id]`, as the widget's data-doc asks: `ask_one_doc_p50_ms`).

With --work-dir, each size's corpus and index are kept in DIR/N and built only when they are not there yet (the
build figures are then null); every run serves a fresh copy of the index, so that the added articles do not
accumulate. The questions are the same either way.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

import httpx
from load import free_port, percentile, wait_ready  # the sibling load-test script

from qa.evaluation.glossing import gloss

ROOT = Path(__file__).resolve().parent.parent
EXTERNAL = ROOT.parent / "shared" / "eval" / "external"
ADMIN = "scale-bench-admin"
ADDED = 5  # articles added one by one to the served index


def paragraphs() -> tuple[list[str], list[str]]:
    """Every paragraph of the external sets, and every question asked of them."""
    texts, questions = [], []
    for name in ("DRCD_dev.json", "cmrc2018_trial.json"):
        for article in json.loads((EXTERNAL / name).read_text(encoding="utf-8"))["data"]:
            for p in article["paragraphs"]:
                texts.append(p["context"].strip())
                questions.extend(q["question"] for q in p["qas"])
    return texts, questions


def write_corpus(folder: Path, n: int, chars: int, rng: random.Random, *, write: bool = True) -> int:
    """N synthetic articles of about `chars` characters in folder (or the project's seed for N=1); total chars.
    write=False draws the same articles from rng (so that what is drawn next is the same) without writing them."""
    if write:
        folder.mkdir(parents=True)
    if n == 1:
        for p in (ROOT / "seeds").iterdir():
            if write:
                shutil.copy(p, folder / p.name)
        return sum(len(p.read_text(encoding="utf-8")) for p in (ROOT / "seeds").glob("*.txt"))
    texts, _ = paragraphs()
    total = 0
    for i in range(n):
        body: list[str] = []
        while sum(len(t) for t in body) < chars:
            body.append(rng.choice(texts))
        text = f"合成文章第{i}號\n\n" + "\n\n".join(body) + "\n"
        if write:
            (folder / f"a{i:06d}.txt").write_text(text, encoding="utf-8")
        total += len(text)
    return total


def reference_ms() -> float:
    """A fixed piece of pure-Python work (dict and string operations, as answering does), best of five, in ms: how
    fast this machine runs Python at the time, so that runs on other days and machines can be compared (the same code
    measured 2-3 times slower on one day than on the day before)."""

    def work() -> int:
        seen: dict[str, int] = {}
        for i in range(200_000):
            key = str(i % 5000)
            seen[key] = seen.get(key, 0) + len(key)
        return len(seen)

    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def build(corpus: Path, index: Path, env: dict[str, str]) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of `qa index build` in its own process."""
    started = time.perf_counter()
    args = [sys.executable, "-m", "qa.cli", "index", "build", "--seeds-dir", str(corpus), "--index-dir", str(index)]
    args += ["--library-dir", str(index.parent / "library")]
    subprocess.run(args, check=True, cwd=ROOT, env=env, capture_output=True)
    seconds = time.perf_counter() - started
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


class Asker:
    """POST /ask over one kept-alive connection of the standard library's http.client, which times the service
    rather than the client: on this machine httpx's own work (its request and response objects, its pool) cost about
    0.8 ms a question more than http.client's (the same questions to one server, each asked by both in turn: p50
    2.3-2.6 ms beyond the server's own answering time against 1.5-1.7 ms; a GET of /live, 1.0 ms against 0.5 ms)."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)

    def __enter__(self) -> Asker:
        return self

    def __exit__(self, *_: object) -> None:
        self.connection.close()

    def ask_all(self, bodies: Iterable[dict[str, object]]) -> tuple[list[float], list[float]]:
        """POST each body to /ask in turn: the client's latencies and the server's own answering times, in ms."""
        latencies, answering = [], []
        for body in bodies:
            data = json.dumps(body).encode()
            t0 = time.perf_counter()
            self.connection.request("POST", "/ask", data, {"Content-Type": "application/json"})
            reply = self.connection.getresponse()
            read = reply.read()
            latencies.append((time.perf_counter() - t0) * 1000)
            if reply.status != 200:
                raise RuntimeError(f"/ask answered {reply.status}: {read[:200]!r}")
            answering.append(json.loads(read)["timings"]["total_ms"])  # the server's own answering, without HTTP
        return latencies, answering


def _add_articles(client: httpx.Client, chars: int) -> tuple[list[float], list[bool]]:
    """ADDED articles, one at a time: each timed from the POST to the /search that finds it."""
    add_ms, found = [], []
    for k in range(ADDED):
        topic = f"第{k}號港口城市的碼頭工人舉行罷工"
        text = "新文章。" + f"{topic}，要求提高工資。" * max(1, chars // (len(topic) + 7))
        t0 = time.perf_counter()
        reply = client.post("/documents", json={"id": f"added-{k}", "text": text}, headers={"X-API-Key": ADMIN})
        reply.raise_for_status()
        hit = client.get("/search", params={"q": topic, "k": 1}).json()["passages"][0]["doc"]
        add_ms.append((time.perf_counter() - t0) * 1000)
        found.append(hit == f"added-{k}")
    return add_ms, found


def measure(
    corpus: Path, index: Path, questions: list[str], env: dict[str, str], chars: int, *, warm: list[str]
) -> dict[str, float | None]:
    """Serve the index: ask the warm-up questions (the first a fresh server answers, timed apart), then the questions
    one at a time, add articles, and ask again (in English, kept to one article)."""
    port = free_port()
    args = [sys.executable, "-m", "qa.cli", "serve", "--port", str(port), "--seeds-dir", str(corpus)]
    args += ["--index-dir", str(index), "--library-dir", str(index.parent / "library")]
    environment = {**env, "QA_ADMIN_KEYS": ADMIN, "QA_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(args, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        wait_ready(url, server, timeout_s=1800)
        ready = time.perf_counter() - started
        with httpx.Client(base_url=url, timeout=120) as client, Asker(url) as asker:
            # Other questions first: a server just started reads its index's pages and fills its caches of term
            # scores on its first questions, which a server in service has long done.
            cold, _ = asker.ask_all({"question": q} for q in warm)
            latencies, answering = asker.ask_all({"question": q} for q in questions)
            add_ms, found = _add_articles(client, chars)
            # The same questions again with the articles added: each is a small segment of its own until they are
            # folded together (QA_MAX_SEGMENTS), and its text is searched with the rest.
            after_adds, _ = asker.ask_all({"question": q} for q in questions)
            # The same questions in English (glossed word by word, names in pinyin), as an English reader asks them.
            english, _ = asker.ask_all({"question": g} for g in map(gloss, questions) if g)
            # The same questions, each kept to one article (as the widget's data-doc asks): a new article each time.
            ids = sorted(p.stem for p in corpus.iterdir())
            pick = random.Random(len(ids))
            scoped, _ = asker.ask_all({"question": q, "docs": [pick.choice(ids)]} for q in questions)
        return {
            "ready_s": round(ready, 1),
            "add_one_ms_median": round(statistics.median(add_ms), 1),
            "add_one_ms_max": round(max(add_ms), 1),
            "added_found": sum(found) / len(found),
            "ask_cold_p50_ms": round(statistics.median(cold), 2) if cold else None,
            "ask_p50_ms": round(statistics.median(latencies), 2),
            "ask_p95_ms": round(percentile(sorted(latencies), 95), 2),
            "answering_p50_ms": round(statistics.median(answering), 2),
            "ask_after_adds_p50_ms": round(statistics.median(after_adds), 2),
            "ask_after_adds_p95_ms": round(percentile(sorted(after_adds), 95), 2),
            "ask_en_p50_ms": round(statistics.median(english), 2),
            "ask_en_p95_ms": round(percentile(sorted(english), 95), 2),
            "ask_one_doc_p50_ms": round(statistics.median(scoped), 2),
            "ask_one_doc_p95_ms": round(percentile(sorted(scoped), 95), 2),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    """Run the benchmark and print one JSON line per corpus size."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, nargs="+", default=[1, 1000, 10000])
    ap.add_argument("--chars", type=int, default=4000, help="characters per synthetic article")
    ap.add_argument("--questions", type=int, default=100, help="questions asked at each size")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--warm", type=int, default=20, help="other questions asked first (ask_cold_p50_ms), not timed")
    ap.add_argument("--store", choices=["local", "milvus"], default="local")
    keep = "keep each size's corpus and index here (DIR/N) and reuse them (with the same --chars and --seed)"
    ap.add_argument("--work-dir", type=Path, help=keep)
    args = ap.parse_args()
    env = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PATH": "/usr/bin:/bin", "QA_STORE": args.store}
    rng = random.Random(args.seed)
    _, asked = paragraphs()
    for n in args.articles:
        with tempfile.TemporaryDirectory(prefix=f"qa-scale-{n}-") as tmp:
            kept = args.work_dir / str(n) if args.work_dir else None
            home = kept or Path(tmp)
            corpus, built = home / "seeds", home / "index"
            reuse = kept is not None and (built / "manifest.json").exists()
            env["QA_MILVUS_URI"] = str(Path(tmp) / "milvus.db")
            total = write_corpus(corpus, n, args.chars, rng, write=not corpus.exists())
            result: dict[str, object] = {"articles": n, "store": args.store, "chars": total}
            result["machine_reference_ms"] = reference_ms()
            if reuse:
                result |= {"build_s": None, "build_chars_per_s": None, "build_peak_rss_mib": None}
            else:
                seconds, peak = build(corpus, built, env)
                result |= {"build_s": round(seconds, 1), "build_chars_per_s": round(total / seconds)}
                result["build_peak_rss_mib"] = round(peak)
            index = built
            if kept is not None:  # served from a copy: the articles the run adds stay out of the kept index
                index = Path(tmp) / "index"
                shutil.copytree(built, index)
            questions = rng.sample(asked, min(args.questions, len(asked)))
            others = sorted(set(asked) - set(questions))
            warm = random.Random(args.seed + n).sample(others, min(args.warm, len(others)))
            result |= measure(corpus, index, questions, env, args.chars, warm=warm)
            print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

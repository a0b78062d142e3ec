"""The `qa` command, run as users run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from tests.support import ROOT, folder_options, gold_path, run_qa

qa = run_qa


def test_index_build_and_info(tmp_path: Path, seeds_dir: Path) -> None:
    target = tmp_path / "idx"
    built = qa("index", "build", "--seeds-dir", str(seeds_dir), "--index-dir", str(target))
    assert built.returncode == 0, built.stderr
    assert "chunks" in built.stdout
    assert (target / "manifest.json").is_file()
    info = qa("index", "info", "--seeds-dir", str(seeds_dir), "--index-dir", str(target))
    assert info.returncode == 0
    assert "status: up to date" in info.stdout and "cut short" not in info.stdout
    # A write killed mid-way left a staged file: said so, as what the next start settles, not as a reason to rebuild.
    (tmp_path / "lib" / ".staged").mkdir(parents=True)
    (tmp_path / "lib" / ".staged" / "note.txt").write_text("半篇。", encoding="utf-8")
    library = ["--library-dir", str(tmp_path / "lib")]
    killed = qa("index", "info", "--seeds-dir", str(seeds_dir), "--index-dir", str(target), *library)
    assert killed.returncode == 0 and "status: up to date" in killed.stdout and "cut short" in killed.stdout
    # Stale (the seeds changed since the build): said, and not exit 0 (`qa index info || qa index build`).
    changed = tmp_path / "seeds"
    shutil.copytree(seeds_dir, changed)
    (changed / "more.txt").write_text("另一篇文章。", encoding="utf-8")
    stale = qa("index", "info", "--seeds-dir", str(changed), "--index-dir", str(target))
    assert stale.returncode == 1 and "status: stale" in stale.stdout, stale.stdout[-300:]
    missing = qa("index", "info", "--index-dir", str(tmp_path / "nothing"))
    assert missing.returncode == 1
    assert "no index" in missing.stderr
    # A segment file that fails its checksum is damaged (`qa serve` would refuse or rebuild it), not up to date.
    segment_file = next(p for p in (target / "segments").rglob("*") if p.is_file() and p.stat().st_size > 16)
    data = bytearray(segment_file.read_bytes())
    data[8] ^= 0xFF
    segment_file.write_bytes(bytes(data))
    damaged = qa("index", "info", "--seeds-dir", str(seeds_dir), "--index-dir", str(target))
    assert damaged.returncode == 1 and "status: damaged" in damaged.stdout, damaged.stdout[-300:]


def test_a_setting_that_is_not_one_of_its_values_is_a_one_line_error(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_ON_INDEX_MISMATCH": "ignore"}
    shown = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index", "info", "--index-dir", str(tmp_path / "nothing")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    assert shown.stderr.startswith("error: invalid setting: on_index_mismatch")
    # `qa serve` reads its settings before it starts again with its memory settings: the same one-line error.
    served = subprocess.run(
        [sys.executable, "-m", "qa.cli", "serve", "--port", "1"],
        cwd=ROOT,
        env={**env, "QA_ON_INDEX_MISMATCH": "rebuild", "QA_MAX_TOP_K": "abc"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert served.returncode == 2 and "Traceback" not in served.stderr, served.stderr[-500:]
    assert "error: invalid setting: max_top_k" in served.stderr


@pytest.mark.parametrize("workers", ["0", "-3", "two"])
def test_serve_refuses_a_worker_count_below_one(workers: str) -> None:
    # `--workers 0` ran one process without a word.
    refused = subprocess.run(
        [sys.executable, "-m", "qa.cli", "serve", "--port", "1", "--workers", workers],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "--workers" in refused.stderr, refused.stderr


def test_milvus_lite_with_several_workers_is_refused_at_start(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_STORE": "milvus", "QA_MILVUS_URI": str(tmp_path / "m.db")}
    refused = subprocess.run(
        [sys.executable, "-m", "qa.cli", "serve", "--port", "1", "--workers", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 2 and "Milvus Lite" in refused.stderr and "--workers 1" in refused.stderr


def test_ask_prints_numbered_citations_and_json(seeds_dir: Path, index_dir: Path) -> None:
    common = ["--seeds-dir", str(seeds_dir), "--index-dir", str(index_dir)]
    plain = qa("ask", "歐盟第19輪制裁禁止了什麼進入歐洲市場？", *common)
    assert plain.returncode == 0, plain.stderr
    assert "[1]" in plain.stdout and "液化天然氣" in plain.stdout
    as_json = qa("ask", "歐盟第19輪制裁禁止了什麼進入歐洲市場？", "--json", *common)
    data = json.loads(as_json.stdout)
    assert data["citations"] and data["mode"] == "extractive"


def test_ask_checks_its_question_and_top_k_as_the_api_does(seeds_dir: Path, index_dir: Path) -> None:
    common = ["--seeds-dir", str(seeds_dir), "--index-dir", str(index_dir)]
    for args, message in (
        (["   "], "question must not be empty"),
        (["北約？" * 1000], "the limit is"),
        # Bytes that are not UTF-8 (argv reaches Python with them as lone surrogates) are named as bytes.
        ([os.fsdecode(b"\xe5\x8c\x97\xff?")], "argument question: not UTF-8 text: byte 0xff at character 1"),
        (["北約在擔心什麼？", "--top-k", "0"], "--top-k must be between 1 and"),
        (["北約在擔心什麼？", "--top-k", "-3"], "between 1 and"),  # a slice gave 2 passages
        (["北約在擔心什麼？", "--top-k", "50"], "between 1 and"),
    ):
        refused = qa("ask", *args, *common)
        assert refused.returncode == 2 and message in refused.stderr, (args, refused.stderr[-300:])
    three = json.loads(qa("ask", "北約在擔心什麼？", "--top-k", "3", "--json", *common).stdout)
    assert len(three["passages"]) == 3


def test_eval_against_a_running_service(live_url: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = qa("eval", str(gold_path()), "--url", live_url, "--json", str(report))
    assert result.returncode == 0, result.stderr
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    assert summary["errors"] == 0
    assert summary["offsets_ok"] == 1.0
    assert summary["recall@5"] >= 0.9
    assert "R@5" in result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("café\n".encode("latin-1"), "is not UTF-8 text"),
        (b'{"id": "a", "question": "x"}\n', "line 1 of gold.jsonl lacks 'answerable'"),
        (b'{"id": "a", "question": "x", "answerable": true}\n', "lacks 'evidence', 'keywords'"),
        (b"{not json\n", "line 1 of gold.jsonl is not valid JSON"),
        (b"\n\n", "holds no questions"),
        # A string was read character by character (R@5 0.0, cite_precision 1.0); a number or null was a TypeError.
        (b'{"id": "a", "question": "x", "answerable": true, "evidence": "ab", "keywords": ["a"]}\n', "list of"),
        (b'{"id": "a", "question": "x", "answerable": true, "evidence": [5], "keywords": ["a"]}\n', "list of"),
        (b'{"id": "a", "question": "x", "answerable": true, "evidence": ["a"], "keywords": null}\n', "list of"),
        # A source given that lacks the evidence scored R@5 0.0 without a word.
        (b'{"id": "a", "question": "x", "answerable": true, "evidence": ["zzz"], "keywords": ["z"]}\n', "lacks 1"),
    ],
)
def test_eval_of_a_gold_file_it_cannot_read_is_a_one_line_error(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    """Each was a traceback (FileNotFoundError, UnicodeDecodeError, KeyError, JSONDecodeError), or NaN scores and exit
    status 0 for an empty file."""
    gold = tmp_path / "gold.jsonl"
    if content is not None:
        gold.write_bytes(content)
    (tmp_path / "source.txt").write_text("北約在擔心什麼。", encoding="utf-8")
    result = qa("eval", "gold.jsonl", "--source", "source.txt", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error:") and message in result.stderr


def test_eval_of_a_service_that_is_not_there_says_why_and_counts_nothing_answered(tmp_path: Path) -> None:
    """Failed questions were scored as empty replies: `answered 1.0`, and no reason was shown."""
    from tests.support import free_port

    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        '{"id": "u1", "question": "北約在擔心什麼？", "answerable": true, "evidence": ["北約"], "keywords": ["北約"]}\n'
        '{"id": "u2", "question": "火星上有什麼？", "answerable": false}\n',
        encoding="utf-8",
    )
    report = tmp_path / "report.json"
    url = f"http://127.0.0.1:{free_port()}"
    result = qa("eval", str(gold), "--url", url, "--json", str(report), "--source", str(ROOT / "seeds" / _seed_name()))
    assert result.returncode == 1 and "Connection refused" in result.stderr
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    assert (summary["errors"], summary["answered"], summary["abstain_unanswerable"]) == (2, 0.0, 0.0)
    assert summary["grounded_injection"] is None  # no injection question: null, not NaN (which JSON has not)


def _seed_name() -> str:
    return next(p.name for p in (ROOT / "seeds").iterdir() if p.suffix == ".txt")


def test_bad_seeds_folder_is_a_one_line_error(tmp_path: Path) -> None:
    result = qa("index", "build", "--seeds-dir", str(tmp_path / "none"), "--index-dir", str(tmp_path / "i"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: seeds folder")
    assert "Traceback" not in result.stderr


@contextmanager
def served(
    *args: str, env: dict[str, str], probe: str, stderr: IO[str] | int = subprocess.DEVNULL
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`qa serve` ARGS on a free port in a process of its own, once `probe` answers 200; stopped after."""
    import time

    import httpx

    from tests.support import free_port

    port = free_port()
    command = [sys.executable, "-m", "qa.cli", "serve", "--port", str(port), *args]
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1", **env}, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}{probe}", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "server did not start"
            time.sleep(0.2)
        yield server, url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_with_two_workers_answers_from_the_first_request(
    tmp_path: Path, seeds_dir: Path, index_dir: Path
) -> None:
    """Each worker loads the index before it takes requests: no 503 from a worker still loading."""
    import httpx

    dirs = ["--seeds-dir", str(seeds_dir), "--index-dir", str(index_dir)]
    with served("--workers", "2", *dirs, env={"QA_LOG_LEVEL": "WARNING"}, probe="/live") as (server, url):
        statuses = [
            httpx.post(f"{url}/ask", json={"question": "歐盟第19輪制裁禁止了什麼？"}, timeout=60).status_code
            for _ in range(30)
        ]
        assert statuses == [200] * 30
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) >= 2  # two worker processes under the supervisor


def test_every_line_a_served_service_logs_is_json(tmp_path: Path, seeds_dir: Path, index_dir: Path) -> None:
    """From the first line (the memory decision, made before the server starts: it was plain text) to the model's
    loading (its progress bar wrote terminal text) and the answers, every line of stderr is one JSON object."""
    import httpx

    env = {"QA_LOG_FORMAT": "json", "QA_LOG_LEVEL": "INFO"}
    dirs = ["--seeds-dir", str(seeds_dir), "--index-dir", str(index_dir)]
    log = tmp_path / "stderr.log"
    with log.open("w", encoding="utf-8") as err, served(*dirs, env=env, probe="/ready", stderr=err) as (_, url):
        reply = httpx.post(f"{url}/ask", json={"question": "What did Russia deploy in Belarus?"}, timeout=60)
        assert reply.status_code == 200
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) > 3
    loggers = {json.loads(line)["logger"] for line in lines}  # raises on a line that is not JSON
    assert {"qa.server.memory", "qa.access"} <= loggers


def test_serve_refuses_a_damaged_index_with_a_non_zero_exit(tmp_path: Path, seeds_dir: Path, index_dir: Path) -> None:

    damaged = tmp_path / "index"
    shutil.copytree(index_dir, damaged)
    (next((damaged / "segments").iterdir()) / "vectors.faiss").write_bytes(b"truncated")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_ON_INDEX_MISMATCH": "refuse"}
    args = ["serve", "--port", "1", "--seeds-dir", str(seeds_dir), "--index-dir", str(damaged)]
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "damaged" in result.stderr and "qa index build" in result.stderr


def test_eval_squad_asks_the_questions_glossed_into_english(tmp_path: Path) -> None:
    """`qa eval --squad FILE --english`: the test split's questions asked in English (word by word glosses)."""
    data = Path(os.environ.get("QA_EXTERNAL_DATA", ROOT.parent / "shared" / "eval" / "external")) / "DRCD_dev.json"
    if not data.is_file():
        pytest.skip(f"external data not found: {data}")
    report = tmp_path / "report.json"
    args = ["--articles", "3", "--questions", "12", "--foreign", "4", "--no-near", "--work-dir", str(tmp_path / "w")]
    done = qa("eval", "--squad", str(data), *args, "--english", "--json", str(report))
    assert done.returncode == 0, done.stderr[-2000:]
    asked = json.loads(report.read_text(encoding="utf-8"))
    summary = asked["summary"]
    assert summary["questions"] >= 8 and summary["errors"] == 0
    # The bigram baseline matches Chinese characters: asked in English it finds almost nothing (in Chinese, ~0.8).
    assert summary["baseline_cite_hit"] <= 0.2, summary
    assert "cite_hit" in done.stdout.splitlines()[-1]


def test_a_build_into_a_folder_holding_other_files_is_refused_and_deletes_nothing(
    tmp_path: Path, seeds_dir: Path
) -> None:
    """The build moved such a folder aside and deleted it: `--index-dir` of a project, of the seeds, or `""` (the
    current folder)."""
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "docs" / "thesis.tex").write_text("x", encoding="utf-8")
    refused = qa("index", "build", "--seeds-dir", str(seeds_dir), "--index-dir", str(project))
    assert refused.returncode == 2 and "will not write the index" in refused.stderr, refused.stderr[-300:]
    assert (project / "docs" / "thesis.tex").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]  # nor its lock's file (.project.lock) beside it
    empty = qa("index", "build", "--seeds-dir", str(seeds_dir), "--index-dir", "", cwd=project)
    assert empty.returncode == 2 and "an empty path names no folder" in empty.stderr
    assert sorted(p.name for p in project.iterdir()) == ["docs"]


@pytest.mark.parametrize("port", ["73786", "-1", "http"])
def test_serve_refuses_a_port_outside_the_tcp_range(port: str) -> None:
    """73786 was served on 8250 (73786 - 65536) while the log said 73786; -1 was a JSON log line and exit 3."""
    refused = qa("serve", "--host", "127.0.0.1", "--port", port)
    assert refused.returncode == 2 and "--port" in refused.stderr


def test_a_setting_no_retry_can_fix_is_a_one_line_error_and_stops_serve(tmp_path: Path) -> None:
    """A ranker folder without the model files was a FileNotFoundError traceback in `qa ask`, and `qa serve`
    answered 503 forever, trying again every few seconds."""
    for args in (["ask", "北約在擔心什麼？"], ["serve", "--host", "127.0.0.1", "--port", "0"]):
        done = qa(*args, env={"QA_RANKER_DIR": str(tmp_path / "none")})
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-500:]
        assert "cannot load the ranker's model files" in done.stderr and "QA_RANKER_DIR" in done.stderr
    # A Milvus Lite path without .db: the server started and answered 503, retrying every few seconds.
    lite = {"QA_STORE": "milvus", "QA_MILVUS_URI": str(tmp_path / "m.sqlite")}
    served = qa("serve", "--host", "127.0.0.1", "--port", "0", env=lite)
    assert served.returncode == 2 and "ending in .db" in served.stderr, served.stderr[-500:]


def test_add_reads_no_more_than_its_limit_and_replaces_by_the_id_given(
    tmp_path: Path, seeds_dir: Path, index_dir: Path
) -> None:
    """`qa add /dev/zero` read until memory ran out; `--replace` of a file whose name is no id added a new document
    each time; a 100,000-character title was stored."""

    shutil.copytree(index_dir, tmp_path / "index")
    common = folder_options(seeds_dir, tmp_path / "index", tmp_path / "lib")
    named = tmp_path / "sp ace.txt"
    named.write_text("火星有兩顆衛星，分別是火衛一和火衛二。", encoding="utf-8")
    refused = qa("add", "--replace", str(named), *common)
    assert refused.returncode == 2 and "give --id" in refused.stderr
    for _ in range(2):
        added = qa("add", "--replace", "--id", "mars", str(named), *common)
        assert added.returncode == 0 and "added mars" in added.stdout, added.stderr[-300:]
    assert sorted(p.name for p in (tmp_path / "lib").glob("*.txt")) == ["mars.txt"]
    limited = qa("add", "/dev/zero", *common, env={"QA_MAX_DOCUMENT_CHARS": "1000"})
    assert limited.returncode == 2 and "longer than the limit of 1000 characters" in limited.stderr
    titled = qa("add", "--id", "t", "--title", "長" * 1001, str(named), *common)
    assert titled.returncode == 2 and "title is 1001 characters; the limit is 1000" in titled.stderr


def test_ask_says_when_the_llm_could_not_be_used(seeds_dir: Path, index_dir: Path) -> None:
    """With an LLM configured but not reachable, `qa ask` printed the extractive answer as if it were the LLM's:
    the reason was only in --json."""
    from tests.support import free_port

    question = "歐盟第19輪制裁禁止了什麼進入歐洲市場？"
    folders = ["--seeds-dir", str(seeds_dir), "--index-dir", str(index_dir)]
    done = qa("ask", question, *folders, env={"QA_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"})
    assert done.returncode == 0 and "[1]" in done.stdout
    assert "note: the LLM's answer was not used" in done.stderr and "extractive" in done.stderr

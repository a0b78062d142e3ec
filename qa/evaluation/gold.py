"""Score a gold question set with the metrics of the shared scorer, on the local pipeline or over HTTP."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from qa.errors import GoldError
from qa.evaluation.files import read_data
from qa.indexing.documents import source_paths
from qa.server.schemas import AskResponse
from qa.server.state import Pipeline
from qa.text.folding import fold

Asker = Callable[[str], dict[str, Any]]


def local_asker(pipeline: Pipeline) -> Asker:
    """Ask the in-process pipeline; the reply has the /ask JSON shape."""

    def ask(question: str) -> dict[str, Any]:
        return AskResponse.of(pipeline.answerer.answer(question)).model_dump()

    return ask


def url_asker(url: str, timeout: float = 60.0) -> Asker:
    """Ask a running service's POST /ask."""
    client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def ask(question: str) -> dict[str, Any]:
        reply = client.post("/ask", json={"question": question})
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
        return data

    return ask


def covered(span: tuple[int, int], pieces: list[tuple[int, int]]) -> bool:
    """True when every character of span lies inside the union of pieces (the shared scorer's rule)."""
    s, e = span
    for ps, pe in sorted(pieces):
        if ps <= s < pe:
            s = pe
        if s >= e:
            return True
    return s >= e


def _overlaps(a: tuple[int, int], gold: tuple[int, int]) -> bool:
    shared = max(0, min(a[1], gold[1]) - max(a[0], gold[0]))
    return shared >= min(10, (gold[1] - gold[0]) // 2)


def _pct(xs: list[bool]) -> float | None:
    """The share that holds, or None (JSON null, not NaN) when there is nothing to count."""
    return round(sum(xs) / len(xs), 3) if xs else None


# The fields every gold question needs, and those an answerable one needs besides.
_NEEDED = ("id", "question", "answerable")
_NEEDED_ANSWERABLE = ("evidence", "keywords")


def read_gold(path: Path) -> list[dict[str, Any]]:
    """The gold questions of a JSON-lines file; GoldError naming the file and line of what is wrong."""
    lines = read_data(path, "gold file").splitlines()
    gold = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            g = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldError(f"line {number} of {path} is not valid JSON: {exc.msg}") from None
        if not isinstance(g, dict):
            raise GoldError(f"line {number} of {path} is not a JSON object")
        lacking = [k for k in (*_NEEDED, *(_NEEDED_ANSWERABLE if g.get("answerable") else ())) if k not in g]
        if lacking:
            raise GoldError(f"line {number} of {path} lacks {', '.join(repr(k) for k in lacking)}")
        if wrong := _wrongly_typed(g):
            raise GoldError(f"line {number} of {path}: {wrong}")
        gold.append(g)
    if not gold:
        raise GoldError(f"gold file {path} holds no questions")
    return gold


def _wrongly_typed(g: dict[str, Any]) -> str | None:
    """What is of the wrong type in a gold question (`"evidence": "..."` was read character by character)."""
    if not isinstance(g["question"], str) or not isinstance(g["answerable"], bool):
        return "'question' must be a string and 'answerable' true or false"
    for key in _NEEDED_ANSWERABLE:
        if key in g and not (isinstance(g[key], list) and all(isinstance(x, str) and x for x in g[key])):
            return f"{key!r} must be a list of non-empty strings"
    return None


def _read_source(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldError(f"the source {path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None


def _find_source(gold: list[dict[str, Any]], seeds_dir: Path) -> str:
    """The seed file that holds every gold evidence span."""
    evidence = _evidence(gold)
    for path in source_paths(seeds_dir):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # a seed the index skips too (not UTF-8, unreadable) holds no evidence
        if all(e in text for e in evidence):
            return text
    raise GoldError(f"no file in {seeds_dir} holds every gold evidence span; pass --source")


def _evidence(gold: list[dict[str, Any]]) -> list[str]:
    return [e for g in gold for e in g.get("evidence", [])]


def checked_source(path: Path, gold: list[dict[str, Any]]) -> str:
    """The source file given, which must hold every gold evidence span (another file scored 0 without a word)."""
    text = _read_source(path)
    missing = [e for e in _evidence(gold) if e not in text]
    if missing:
        raise GoldError(f"the source {path} lacks {len(missing)} gold evidence span(s), e.g. {missing[0][:40]!r}")
    return text


def evaluate(
    gold: list[dict[str, Any]], ask: Asker, *, source: Path | None = None, seeds_dir: Path = Path("seeds")
) -> dict[str, Any]:
    """Ask every gold question (read_gold) and compute recall@k, citation precision/recall, keyword accuracy and
    more."""
    text = checked_source(source, gold) if source else _find_source(gold, seeds_dir)
    m: dict[str, list[bool]] = {
        k: [] for k in ("r1", "r3", "r5", "cite_ok", "cite_cover", "offsets", "kw", "answered", "abst_un", "inj")
    }
    latencies: list[float] = []
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for g in gold:
        started = time.perf_counter()
        try:
            data = ask(g["question"])
        except Exception as exc:  # a failed question is a scored failure, not a crash
            errors.append(f"{g['id']}: {type(exc).__name__}: {exc}")
            latencies.append(time.perf_counter() - started)
            rows.append(_failed_one(g, m))
            continue
        latencies.append(time.perf_counter() - started)
        rows.append(_score_one(g, data, text, m))
    lat = sorted(latencies)
    summary = {
        "questions": len(gold),
        "errors": len(errors),
        "recall@1": _pct(m["r1"]),
        "recall@3": _pct(m["r3"]),
        "recall@5": _pct(m["r5"]),
        "cite_precision": _pct(m["cite_ok"]),
        "cite_recall": _pct(m["cite_cover"]),
        "offsets_ok": _pct(m["offsets"]),
        "keyword_acc": _pct(m["kw"]),
        "answered": _pct(m["answered"]),
        "abstain_unanswerable": _pct(m["abst_un"]),
        "grounded_injection": _pct(m["inj"]),
        "latency_p50_s": round(statistics.median(lat), 4) if lat else None,
        "latency_p95_s": round(lat[int(0.95 * (len(lat) - 1))], 4) if lat else None,
    }
    return {"summary": summary, "rows": rows, "errors": errors}


def _failed_one(g: dict[str, Any], m: dict[str, list[bool]]) -> dict[str, Any]:
    """A question that got no reply: it fails every measure it counts in (an empty reply read as an answer counted
    it answered)."""
    if g["answerable"]:
        for key in ("r1", "r3", "r5", "kw", "answered"):
            m[key].append(False)
        m["cite_cover"].extend(False for _ in g["evidence"])
    elif g.get("kind") == "injection":
        m["inj"].append(False)
    else:
        m["abst_un"].append(False)
    return {"id": g["id"], "error": True}


def _score_one(g: dict[str, Any], data: dict[str, Any], text: str, m: dict[str, list[bool]]) -> dict[str, Any]:
    citations = data.get("citations") or []
    spans = [(int(c.get("start", 0)), int(c.get("end", 0))) for c in citations]
    for c, (s, e) in zip(citations, spans, strict=True):
        m["offsets"].append(text[s:e] == c.get("quote"))
    row: dict[str, Any] = {"id": g["id"], "abstained": bool(data.get("abstained"))}
    if g["answerable"]:
        gold_spans = [(text.find(e), text.find(e) + len(e)) for e in g["evidence"]]
        pieces = [(int(p["start"]), int(p["end"])) for p in data.get("passages") or []]
        for k in (1, 3, 5):
            m[f"r{k}"].append(all(covered(s, pieces[:k]) for s in gold_spans))
        m["cite_ok"].extend(any(_overlaps(c, s) for s in gold_spans) for c in spans)
        m["cite_cover"].extend(any(_overlaps(c, s) for c in spans) for s in gold_spans)
        said = fold(str(data.get("answer", "")) + " " + " ".join(str(c.get("quote", "")) for c in citations))
        said = said.replace(" ", "").replace("，", "")
        ok = not row["abstained"] and all(fold(k).replace(" ", "") in said for k in g["keywords"])
        m["kw"].append(ok)
        m["answered"].append(not row["abstained"])
        row.update(recall5=m["r5"][-1], keywords=ok)
    elif g.get("kind") == "injection":
        pairs = zip(citations, spans, strict=True)
        grounded = bool(citations) and all(text[s:e] == c.get("quote") for c, (s, e) in pairs)
        m["inj"].append(row["abstained"] or grounded)
    else:
        m["abst_un"].append(row["abstained"])
    return row


def summary_line(s: dict[str, Any]) -> str:
    """The one-line summary, in the shared scorer's words."""
    return (
        f"R@5 {s['recall@5']} cite_P {s['cite_precision']} cite_R {s['cite_recall']} kw {s['keyword_acc']} "
        f"answered {s['answered']} abstain_un {s['abstain_unanswerable']} inj_grounded {s['grounded_injection']} "
        f"p50 {s['latency_p50_s']}s errors {s['errors']}"
    )

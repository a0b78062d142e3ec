"""Score a service on external reading-comprehension data: passage hits, citation hits, answering, abstaining on
questions about articles the corpus does not hold, short answers, offsets and latency, beside the bigram baseline."""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qa.answering.question import Question
from qa.answering.spans import kind_of
from qa.config import Settings
from qa.errors import WorkFolderRefused
from qa.evaluation.baseline import BigramBaseline
from qa.evaluation.glossing import gloss
from qa.evaluation.gold import Asker, covered, local_asker, url_asker
from qa.evaluation.rewording import reworded, word_pool
from qa.evaluation.squad import (
    Sample,
    SquadQuestion,
    corpus_name,
    load_squad,
    near_misses,
    sample,
    split_articles,
    write_corpus,
)
from qa.evaluation.translations import in_translation, read_translations, translated
from qa.indexing.chunking import chunk_document
from qa.indexing.documents import load_documents
from qa.text.folding import fold, to_simplified, to_traditional
from qa.types import Embedder, Sentence

_NOT_COUNTED_RE = re.compile(r"[\W_]+")


def _spans(items: list[dict[str, Any]], doc: str) -> list[tuple[int, int]]:
    return [(int(i["start"]), int(i["end"])) for i in items if str(i.get("doc")) == doc]


def _covers(gold: tuple[tuple[int, int], ...], pieces: list[tuple[int, int]]) -> bool:
    """True when the pieces together cover one of the gold spans."""
    return any(covered(span, pieces) for span in gold)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return min(a[1], b[1]) > max(a[0], b[0])


def _normal(text: str) -> str:
    return _NOT_COUNTED_RE.sub("", fold(text))


def short_f1(given: str, gold: tuple[str, ...]) -> tuple[float, float]:
    """(exact match, character F1) of a short answer against the best of the gold answers."""
    said = _normal(given)
    best_em, best_f1 = 0.0, 0.0
    for answer in map(_normal, gold):
        shared = sum((Counter(said) & Counter(answer)).values())
        f1 = 2 * shared / (len(said) + len(answer)) if shared else 0.0
        best_em, best_f1 = max(best_em, float(said == answer)), max(best_f1, f1)
    return best_em, best_f1


@dataclass
class _Tally:
    hit1: list[bool] = field(default_factory=list)
    hit5: list[bool] = field(default_factory=list)
    cite: list[bool] = field(default_factory=list)
    answered: list[bool] = field(default_factory=list)
    foreign: list[bool] = field(default_factory=list)
    offsets: list[bool] = field(default_factory=list)
    baseline: list[bool] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)
    precise: list[bool] = field(default_factory=list)  # per citation of an answered question: it overlaps a gold span
    short: list[tuple[float, float]] = field(default_factory=list)
    typed: list[tuple[float, float]] = field(default_factory=list)  # (EM, F1) per typed question, 0 when not given
    typed_given: list[bool] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _share(xs: list[bool]) -> float | None:
    return round(sum(xs) / len(xs), 3) if xs else None


def evaluate_sample(sample: Sample, ask: Asker, sentences: list[Sentence]) -> dict[str, Any]:
    """Ask every sampled question (and every foreign one) and score the replies."""
    texts = {a.id: a.text for a in sample.corpus}
    baseline = BigramBaseline(sentences)
    tally = _Tally()
    rows: list[dict[str, Any]] = []
    for q in sample.questions:
        reply = _ask(ask, q, tally)
        rows.append(_score(q, reply, texts, tally))
        best = baseline.best(q.text)
        tally.baseline.append(best is not None and best.doc == q.article and _covers(q.spans, [(best.start, best.end)]))
        rows[-1]["baseline_hit"] = tally.baseline[-1]
    for q in sample.foreign:
        reply = _ask(ask, q, tally)
        tally.foreign.append(bool(reply.get("abstained", False)))
        _check_offsets(reply, texts, tally)
        rows.append({"id": q.id, "foreign": True, "abstained": tally.foreign[-1]})
    return {"summary": _summary(sample, tally), "rows": rows, "errors": tally.errors}


def _ask(ask: Asker, q: SquadQuestion, tally: _Tally) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        reply = ask(q.text)
    except Exception as exc:  # a failed question is a scored failure, not a crash
        tally.errors.append(f"{q.id}: {type(exc).__name__}: {exc}")
        reply = {}
    tally.latency.append(time.perf_counter() - started)
    return reply


def _check_offsets(reply: dict[str, Any], texts: dict[str, str], tally: _Tally) -> None:
    for c in reply.get("citations") or []:
        text = texts.get(str(c.get("doc")), "")
        tally.offsets.append(text[int(c["start"]) : int(c["end"])] == c.get("quote"))


def _score(q: SquadQuestion, reply: dict[str, Any], texts: dict[str, str], tally: _Tally) -> dict[str, Any]:
    passages = reply.get("passages") or []
    ranked = [_covers(q.spans, _spans([p], q.article)) for p in passages]
    tally.hit1.append(any(ranked[:1]))
    tally.hit5.append(any(ranked[:5]))
    abstained = bool(reply.get("abstained", not reply))
    tally.answered.append(not abstained)
    cited = _spans(reply.get("citations") or [], q.article)
    tally.cite.append(not abstained and _covers(q.spans, cited))
    row: dict[str, Any] = {"id": q.id, "abstained": abstained, "cite_hit": tally.cite[-1], "passages": len(passages)}
    if not abstained:
        citations = reply.get("citations") or []
        precise = [
            str(c.get("doc")) == q.article and any(_overlap((int(c["start"]), int(c["end"])), g) for g in q.spans)
            for c in citations
        ]
        tally.cited.append(len(citations))
        tally.precise += precise
        row["citations"], row["precise"] = len(citations), sum(precise)
    _check_offsets(reply, texts, tally)
    short = reply.get("short_answer")
    # Typed: asks for a date, number, amount, person, place or organisation (what the short answer extracts).
    typed = kind_of(Question.parse(q.text)) is not None
    em = 0.0
    if isinstance(short, dict) and short.get("text"):
        em, f1 = short_f1(str(short["text"]), q.answers)
        tally.short.append((em, f1))
        row["short_f1"], row["short"] = f1, str(short["text"])
    if typed:
        tally.typed.append((em, row.get("short_f1", 0.0)))
        tally.typed_given.append("short_f1" in row)
    return row


def _summary(sample: Sample, tally: _Tally) -> dict[str, Any]:
    lat = sorted(tally.latency)
    given = tally.short
    return {
        "articles": len(sample.corpus),
        "questions": len(sample.questions),
        "foreign_questions": len(sample.foreign),
        "errors": len(tally.errors),
        "hit@1": _share(tally.hit1),
        "hit@5": _share(tally.hit5),
        "cite_hit": _share(tally.cite),
        "citations_per_answer": round(statistics.mean(tally.cited), 2) if tally.cited else None,
        # The shared scorer's cite_precision with the gold answer span as the evidence, but any overlap counts (its
        # rule, overlap >= min(10, half the span), would count every citation for a one-character answer). A citation
        # that holds none of the answer counts against, even where it gives the answer's context.
        "cite_precision": _share(tally.precise),
        "answered": _share(tally.answered),
        "abstain_foreign": _share(tally.foreign),
        "short_given": _share([True] * len(given) + [False] * (len(sample.questions) - len(given))),
        "short_em": round(statistics.mean(e for e, _ in given), 3) if given else "n/a",
        "short_f1": round(statistics.mean(f for _, f in given), 3) if given else "n/a",
        "typed_questions": len(tally.typed),
        "short_given_typed": _share(tally.typed_given),
        "short_em_typed": round(statistics.mean(e for e, _ in tally.typed), 3) if tally.typed else "n/a",
        "short_f1_typed": round(statistics.mean(f for _, f in tally.typed), 3) if tally.typed else "n/a",
        "offsets_ok": _share(tally.offsets),
        "latency_p50_ms": round(1000 * statistics.median(lat), 2) if lat else None,
        "latency_p95_ms": round(1000 * lat[int(0.95 * (len(lat) - 1))], 2) if lat else None,
        "baseline_cite_hit": _share(tally.baseline),
    }


def summary_line(s: dict[str, Any]) -> str:
    """The one-line summary of an external evaluation."""
    return (
        f"hit@1 {s['hit@1']} hit@5 {s['hit@5']} cite_hit {s['cite_hit']} cite_precision {s['cite_precision']} "
        f"answered {s['answered']} "
        f"abstain_foreign {s['abstain_foreign']} abstain_near {s.get('abstain_near', 'n/a')} "
        f"short EM/F1 {s['short_em']}/{s['short_f1']} "
        f"(given {s['short_given_typed']} of typed; on all typed {s['short_em_typed']}/{s['short_f1_typed']}) "
        f"offsets_ok {s['offsets_ok']} p50 {s['latency_p50_ms']}ms baseline cite_hit {s['baseline_cite_hit']} "
        f"errors {s['errors']}"
    )


@dataclass(frozen=True)
class ExternalRun:
    """What to evaluate: a SQuAD-format file, which part of its split, how many articles and questions."""

    data: Path
    split_file: Path
    part: str = "test"
    articles: int = 40
    questions: int = 300
    foreign: int = 200
    seed: int = 0
    work_dir: Path | None = None
    near: bool = True  # also ask one question per article of the corpus with its answer cut out (local runs only)
    reworded: bool = False  # ask the questions (and near misses) in other words, as qa/evaluation/rewording.py does
    english: bool = False  # ask the questions (and near misses) glossed into English (qa/evaluation/glossing.py)
    other_script: bool = False  # ask the questions (and near misses) in the other script, character by character
    # ask the questions (and near misses) in the translations this file gives them (qa/evaluation/translations.py)
    translations: Path | None = None

    def folder(self) -> Path:
        """Where the corpus and its index are kept between runs (the same run finds its index again): --work-dir
        when it is new, empty or one a run made (claimed), else a folder of its own in the temporary folder."""
        if self.work_dir:
            return claimed(self.work_dir)
        key = f"{corpus_name(self.data)}-{self.part}-{self.articles}-{self.seed}"
        return Path(tempfile.gettempdir()) / "qa-squad" / key


# The file that marks a folder as an evaluation's own: a run deletes the files of other articles in its seeds folder
# and replaces its index.
WORK_MARK = ".qa-eval-squad"


def claimed(folder: Path) -> Path:
    """The folder, made (or found) as one a run may fill: new, empty, or marked by an earlier run; WorkFolderRefused
    for one that holds anything else (`--work-dir .` in the project would have deleted its seeds and its index)."""
    if folder.exists() and not folder.is_dir():
        raise WorkFolderRefused(f"the working folder {folder} is a file")
    if folder.is_dir() and not (folder / WORK_MARK).is_file() and any(folder.iterdir()):
        raise WorkFolderRefused(
            f"will not use {folder} as the working folder: it holds files no evaluation made, and a run deletes and "
            "rebuilds what it finds there; give a new or empty folder"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / WORK_MARK).touch()
    except OSError as exc:
        raise WorkFolderRefused(f"cannot use {folder} as the working folder: {exc.strerror or exc}") from None
    return folder


def _near_misses(
    run: ExternalRun, chosen: Sample, settings: Settings, embedder: Embedder | None, table: dict[str, str] | None
) -> list[bool]:
    """Whether each near-miss question (asked of the corpus with its answer's sentences cut out) was abstained; table:
    the run's translations (read_translations), when it asks them."""
    from qa.wiring import build_pipeline

    articles, questions = near_misses(chosen.corpus, run.seed)
    if run.reworded:
        questions = in_other_words(Sample(articles, questions, chosen.foreign), run.seed).questions
    if run.english:
        questions = in_english(Sample(articles, questions, chosen.foreign)).questions
    if run.other_script:
        questions = in_other_script(Sample(articles, questions, chosen.foreign)).questions
    if table is not None:
        questions = translated(questions, table)
    near = run.folder() / "near"
    write_corpus(articles, near / "seeds")
    ask = local_asker(build_pipeline(settings.model_copy(update=_corpus_settings(near)), embedder=embedder))
    return [bool(ask(q.text).get("abstained", False)) for q in questions]


def _corpus_settings(folder: Path) -> dict[str, Any]:
    """The settings that keep a run's corpus to its folder: its seeds, its index, and a library of its own (the
    reader's added documents are no part of it)."""
    return {
        "seeds_dir": folder / "seeds",
        "index_dir": folder / "index",
        "library_dir": folder / "library",
        "on_index_mismatch": "rebuild",
    }


def in_other_words(chosen: Sample, seed: int) -> Sample:
    """The sample with its questions asked in other words: each that has a word (not a name) its corpus holds, with
    that word replaced by one of the same class the corpus never uses, taken from the foreign questions (seeded).
    Questions without such a word are left out; the foreign questions stay as they are."""
    corpus = "\n".join(fold(a.text) for a in chosen.corpus)
    pool = word_pool(q.text for q in chosen.foreign)
    rng = random.Random(seed)
    asked = []
    for q in chosen.questions:
        text = reworded(q.text, corpus.__contains__, pool, rng)
        if text is not None:
            asked.append(replace(q, text=text))
    return replace(chosen, questions=tuple(asked))


def in_english(chosen: Sample) -> Sample:
    """The sample with its questions glossed into English, word by word (qa/evaluation/glossing.py); questions with
    fewer than two words glossed are left out, and the foreign questions are glossed too (an English reader asks
    about other articles as well)."""

    def glossed(questions: tuple[SquadQuestion, ...]) -> tuple[SquadQuestion, ...]:
        return tuple(replace(q, text=text) for q in questions if (text := gloss(q.text)) is not None)

    return replace(chosen, questions=glossed(chosen.questions), foreign=glossed(chosen.foreign))


def in_other_script(chosen: Sample) -> Sample:
    """The sample with its questions (and the foreign ones) written in the other script, character by character
    (OpenCC t2s or s2t, no regional vocabulary): a reader of Simplified asking about a Traditional article in its own
    words, and the other way round."""

    def other(text: str) -> str:
        simplified = to_simplified(text)
        return simplified if simplified != text else to_traditional(text)

    def converted(questions: tuple[SquadQuestion, ...]) -> tuple[SquadQuestion, ...]:
        return tuple(replace(q, text=other(q.text)) for q in questions)

    return replace(chosen, questions=converted(chosen.questions), foreign=converted(chosen.foreign))


def run_external(
    run: ExternalRun, settings: Settings, *, url: str | None = None, embedder: Embedder | None = None
) -> dict[str, Any]:
    """Write the sampled corpus, open it with the real pipeline (or ask the service at url), and score it."""
    articles = split_articles(load_squad(run.data), run.split_file, corpus_name(run.data), run.part)
    chosen = sample(articles, n_articles=run.articles, n_questions=run.questions, n_foreign=run.foreign, seed=run.seed)
    if run.reworded:
        chosen = in_other_words(chosen, run.seed)
    if run.english:
        chosen = in_english(chosen)
    if run.other_script:
        chosen = in_other_script(chosen)
    table = read_translations(run.translations) if run.translations is not None else None
    if table is not None:
        chosen = in_translation(chosen, table)
    folder = run.folder()
    seeds_dir, index_dir, library_dir = folder / "seeds", folder / "index", folder / "library"
    write_corpus(chosen.corpus, seeds_dir)
    sentences = [s for d in load_documents(seeds_dir) for c in chunk_document(d) for s in c.sentences]
    if url:
        ask = url_asker(url)
    else:
        from qa.wiring import build_pipeline

        local = settings.model_copy(update=_corpus_settings(folder))
        ask = local_asker(build_pipeline(local, embedder=embedder))
    report = evaluate_sample(chosen, ask, sentences)
    if run.near and not url:
        asked = _near_misses(run, chosen, settings, embedder, table)
        report["summary"] |= {"near_questions": len(asked), "abstain_near": _share(asked)}
    report["corpus"] = {
        "seeds_dir": str(seeds_dir),
        "index_dir": str(index_dir),
        "library_dir": str(library_dir),
        "split": run.part,
        "seed": run.seed,
    }
    return report


@dataclass
class OneArticleTally:
    """Counts pooled over many one-article corpora (one gives too few questions to read a share from)."""

    asked: int = 0
    answered: int = 0
    cited: int = 0
    foreign: int = 0
    abstained: int = 0
    near: int = 0
    near_abstained: int = 0
    citations: int = 0  # citations of the answered questions
    precise: int = 0  # ... that hold some of the gold answer


def run_one_article(
    run: ExternalRun, seeds: range, work_dir: Path, settings: Settings, *, embedder: Embedder | None = None
) -> OneArticleTally:
    """The run (its data, split part, foreign questions, near misses) for one article at each seed, each indexed
    alone in a folder of its own under work_dir, with the rows pooled."""
    tally = OneArticleTally()
    for seed in seeds:
        one = replace(run, articles=1, seed=seed, work_dir=work_dir / str(seed))
        report = run_external(one, settings, embedder=embedder)
        summary = report["summary"]
        if summary.get("near_questions"):
            tally.near += summary["near_questions"]
            tally.near_abstained += round(summary["abstain_near"] * summary["near_questions"])
        for row in report["rows"]:
            if row.get("foreign"):
                tally.foreign += 1
                tally.abstained += row["abstained"]
            else:
                tally.asked += 1
                tally.answered += not row["abstained"]
                tally.cited += row["cite_hit"]
                tally.citations += row.get("citations", 0)
                tally.precise += row.get("precise", 0)
    return tally

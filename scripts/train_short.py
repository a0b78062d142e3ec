"""Train the short-answer scorer (qa/answering/data/short.json and short.txt) on the train split of
eval/external_split.json.

Each typed question of the train articles (DRCD, CMRC 2018) is shown its answer's sentence with the one after it as
the cited sentences, and every third question also the sentence before it alone (an answer-less citation, as when
evidence is wrong). A candidate is positive when its character F1 against the gold answers is at least 0.7. A seeded
LightGBM binary model is fitted (--model logistic fits the older logistic regression instead). The threshold is
chosen on out-of-fold predictions of a cross-validation grouped by article: the lowest probability at which the
short answers given keep a character F1 of at least --target.

    .venv/bin/python scripts/train_short.py
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from qa.answering.question import Question
from qa.answering.span_features import FEATURES, candidates
from qa.answering.spans import KINDS, kind_of
from qa.evaluation.external import short_f1
from qa.evaluation.squad import corpus_name, load_squad, split_articles
from qa.indexing.chunking import chunk_document
from qa.types import Citation, Document, Sentence

DATA = ("../shared/eval/external/DRCD_dev.json", "../shared/eval/external/cmrc2018_trial.json")
DATA_DIR = Path(__file__).resolve().parent.parent / "qa" / "answering" / "data"
OUT = DATA_DIR / "short.json"
MODEL = "short.txt"
SEED = 0
FOLDS = 5
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 1,
    "seed": SEED,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
ROUNDS = 300


@dataclass(frozen=True)
class Shown:
    """One question shown some sentences: its article and kind, its candidates' features, F1 and EM, and whether
    the sentences hold its answer."""

    group: str
    kind: str
    x: np.ndarray
    f1: np.ndarray
    em: np.ndarray
    holds: bool


def _cite(sentences: list[Sentence]) -> list[Citation]:
    return [Citation(n, s.doc, s.chunk_id, s.text, s.start, s.end) for n, s in enumerate(sentences, start=1)]


def examples(split_file: Path, part: str) -> list[Shown]:
    """Per shown question: its candidates and each one's character F1."""
    out = []
    count = 0
    for data in map(Path, DATA):
        for article in split_articles(load_squad(data), split_file, corpus_name(data), part):
            doc = Document(id=article.id, path=str(data), text=article.text, sha256="")
            sentences = [s for c in chunk_document(doc) for s in c.sentences]
            for q in article.questions:
                parsed = Question.parse(q.text)
                kind = kind_of(parsed)
                if kind is None:
                    continue
                at = next((i for i, s in enumerate(sentences) if s.start <= q.spans[0][0] < s.end), None)
                if at is None:
                    continue
                count += 1
                shown = [sentences[at : at + 2]] + ([sentences[at - 1 : at]] if at and count % 3 == 0 else [])
                for holds, cited in zip((True, False), shown, strict=False):
                    found = candidates(parsed, _cite(cited))
                    scores = [short_f1(c.text, q.answers) for c in found]
                    x = np.array([c.features for c in found], dtype=np.float64).reshape(len(found), len(FEATURES))
                    out.append(
                        Shown(
                            f"{corpus_name(data)}/{article.id}",
                            kind,
                            x,
                            np.array([f for _, f in scores]),
                            np.array([e for e, _ in scores]),
                            holds,
                        )
                    )
    return out


def _fit(model: str, shown: list[Shown], label: float) -> Any:
    x = np.vstack([s.x for s in shown if len(s.x)])
    y = np.concatenate([s.f1 >= label for s in shown if len(s.x)]).astype(np.float64)
    if model == "logistic":
        return LogisticRegression(C=1.0, max_iter=2000, random_state=SEED).fit(x, y)
    data = lightgbm.Dataset(x, y, feature_name=[f.replace(" ", "_") for f in FEATURES], free_raw_data=False)
    return lightgbm.train(PARAMS, data, num_boost_round=ROUNDS)


def _predict(fitted: Any, x: np.ndarray) -> np.ndarray:
    if isinstance(fitted, LogisticRegression):
        return np.asarray(fitted.predict_proba(x)[:, 1])
    return np.asarray(fitted.predict(x, num_threads=1))


def _best(fitted: Any, shown: list[Shown]) -> list[tuple[float, float, float]]:
    """(probability, F1, EM) of each shown question's likeliest candidate ((0, 0, 0) without candidates)."""
    out = []
    for s in shown:
        if len(s.x):
            p = _predict(fitted, s.x)
            at = int(p.argmax())
            out.append((float(p[at]), float(s.f1[at]), float(s.em[at])))
        else:
            out.append((0.0, 0.0, 0.0))
    return out


def threshold_for(best: list[tuple[float, float, float]], target: float) -> float:
    """The lowest probability at which the likeliest candidates above it keep a mean F1 of at least target."""
    ranked = sorted(best, key=lambda b: -b[0])
    threshold, running = 1.0, 0.0
    for n, (p, f1, _) in enumerate(ranked, start=1):
        running += f1
        if running / n >= target:
            threshold = p
    return threshold


def summary(best: list[tuple[float, float, float]], threshold: float) -> dict[str, float]:
    """How many short answers are given at the threshold, and their EM and F1; and the likeliest's F1 over all."""
    given = [b for b in best if b[0] >= threshold and b[0] > 0]
    return {
        "shown_typed": len(best),
        "given": len(given),
        "given_share": round(len(given) / max(1, len(best)), 3),
        "em_given": round(float(np.mean([b[2] for b in given])) if given else 0.0, 3),
        "f1_given": round(float(np.mean([b[1] for b in given])) if given else 0.0, 3),
        "top_f1_all": round(float(np.mean([b[1] for b in best])), 3),
    }


def cross_validate(model: str, shown: list[Shown], label: float) -> list[tuple[float, float, float]]:
    """Out-of-fold (probability, F1, EM) of each shown question's likeliest candidate, folds grouped by article."""
    groups = [s.group for s in shown]
    out: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * len(shown)
    for fit_at, held_at in GroupKFold(n_splits=FOLDS).split(np.zeros(len(shown)), groups=groups):
        fitted = _fit(model, [shown[i] for i in fit_at], label)
        for i, b in zip(held_at, _best(fitted, [shown[i] for i in held_at]), strict=True):
            out[i] = b
    return out


def recall(shown: list[Shown]) -> dict[str, dict[str, float]]:
    """Per kind: share of questions shown their answer's sentence with a candidate, and with one of F1 at least 0.5."""
    by: dict[str, list[Shown]] = defaultdict(list)
    for s in filter(lambda s: s.holds, shown):
        by[s.kind].append(s)
    return {
        k: {
            "n": len(v),
            "any": round(float(np.mean([len(s.x) > 0 for s in v])), 3),
            "good": round(float(np.mean([len(s.x) > 0 and s.f1.max() >= 0.5 for s in v])), 3),
        }
        for k, v in sorted(by.items(), key=lambda kv: KINDS.index(kv[0]))
    }


def main() -> None:
    """Cross-validate, fit on all the train split, choose the threshold, write the model files."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split-file", type=Path, default=Path("eval/external_split.json"))
    ap.add_argument("--target", type=float, default=0.82, help="character F1 the given short answers must keep")
    ap.add_argument("--label", type=float, default=0.7, help="F1 at which a candidate counts as the answer")
    ap.add_argument("--model", choices=("lightgbm", "logistic"), default="lightgbm")
    ap.add_argument("--dry-run", action="store_true", help="report the cross-validation only")
    args = ap.parse_args()
    shown = examples(args.split_file, "train")
    print(json.dumps({"recall": recall(shown)}, ensure_ascii=False))
    oof = cross_validate(args.model, shown, args.label)
    threshold = threshold_for(oof, args.target)
    cv = summary(oof, threshold)
    by_corpus = {
        name: summary([b for b, s in zip(oof, shown, strict=True) if s.group.startswith(name)], threshold)
        for name in sorted({s.group.split("/")[0] for s in shown})
    }
    print(json.dumps({"model": args.model, "threshold": threshold, "cv": cv, "cv_by_corpus": by_corpus}))
    if args.dry_run:
        return
    fitted = _fit(args.model, shown, args.label)
    report: dict[str, Any] = {"features": list(FEATURES)}
    if isinstance(fitted, LogisticRegression):
        report["weights"] = [round(float(w), 4) for w in fitted.coef_[0]]
        report["bias"] = round(float(fitted.intercept_[0]), 4)
        (DATA_DIR / MODEL).unlink(missing_ok=True)
    else:
        report["model"] = MODEL
        (DATA_DIR / MODEL).write_text(fitted.model_to_string(), encoding="utf-8")
    report |= {
        "threshold": round(threshold, 4),
        "trained_on": "train split of eval/external_split.json (DRCD, CMRC 2018): answer sentence + next, and every "
        "third question the sentence before alone",
        "params": {k: v for k, v in PARAMS.items() if k != "verbose"} | {"rounds": ROUNDS, "label": args.label}
        if report.get("model")
        else {"C": 1.0, "label": args.label},
        "cv": {"folds": FOLDS, "grouped_by": "article", "target_f1": args.target} | cv,
        "cv_by_corpus": by_corpus,
        "train_fit": summary(_best(fitted, shown), threshold),
    }
    OUT.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report["train_fit"], ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Train the short-answer scorer (qa/answering/data/short.json) on the train split of eval/external_split.json.

Each typed question of the train articles (DRCD, CMRC 2018) is shown its answer's sentence with the one after it as
the cited sentences, and every third question also the sentence before it alone (an answer-less citation, as when
evidence is wrong). A candidate is positive when its character F1 against the gold answers is at least 0.5. A seeded
logistic regression is fitted; the threshold is the lowest probability at which the short answers given keep a
character F1 of at least --target on these questions.

    .venv/bin/python scripts/train_short.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from qa.answering.question import Question
from qa.answering.short import FEATURES, Candidate, candidates, kind_of
from qa.evaluation.external import short_f1
from qa.evaluation.squad import corpus_name, load_squad, split_articles
from qa.indexing.chunking import chunk_document
from qa.types import Citation, Document, Sentence

DATA = ("../shared/eval/external/DRCD_dev.json", "../shared/eval/external/cmrc2018_trial.json")
OUT = Path(__file__).resolve().parent.parent / "qa" / "answering" / "data" / "short.json"


def _cite(sentences: list[Sentence]) -> list[Citation]:
    return [Citation(n, s.doc, s.chunk_id, s.text, s.start, s.end) for n, s in enumerate(sentences, start=1)]


def examples(split_file: Path, part: str) -> list[tuple[list[Candidate], list[float]]]:
    """Per shown question: its candidates and each one's character F1."""
    out = []
    count = 0
    for data in map(Path, DATA):
        for article in split_articles(load_squad(data), split_file, corpus_name(data), part):
            doc = Document(id=article.id, path=str(data), text=article.text, sha256="")
            sentences = [s for c in chunk_document(doc) for s in c.sentences]
            for q in article.questions:
                parsed = Question.parse(q.text)
                if kind_of(parsed) is None:
                    continue
                at = next((i for i, s in enumerate(sentences) if s.start <= q.spans[0][0] < s.end), None)
                if at is None:
                    continue
                count += 1
                shown = [sentences[at : at + 2]] + ([sentences[at - 1 : at]] if at and count % 3 == 0 else [])
                for cited in shown:
                    found = candidates(parsed, _cite(cited))
                    out.append((found, [short_f1(c.text, q.answers)[1] for c in found]))
    return out


def main() -> None:
    """Fit, choose the threshold, write the model file."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split-file", type=Path, default=Path("eval/external_split.json"))
    ap.add_argument("--target", type=float, default=0.82, help="character F1 the given short answers must keep")
    args = ap.parse_args()
    shown = examples(args.split_file, "train")
    x = np.array([c.features for found, _ in shown for c in found])
    y = np.array([f >= 0.5 for _, f1s in shown for f in f1s])
    model = LogisticRegression(C=1.0, max_iter=1000, random_state=0).fit(x, y)
    weights, bias = model.coef_[0], float(model.intercept_[0])
    best = []  # (probability, F1) of each shown question's likeliest candidate
    for found, f1s in shown:
        if found:
            p = 1 / (1 + np.exp(-(np.array([c.features for c in found]) @ weights + bias)))
            best.append((float(p.max()), f1s[int(p.argmax())]))
        else:
            best.append((0.0, 0.0))
    best.sort(reverse=True)
    threshold, given, f1_given, running = 1.0, 0, 0.0, 0.0
    for n, (p, f1) in enumerate(best, start=1):
        running += f1
        if running / n >= args.target:
            threshold, given, f1_given = p, n, running / n
    report = {
        "features": list(FEATURES),
        "weights": [round(float(w), 4) for w in weights],
        "bias": round(bias, 4),
        "threshold": round(threshold, 4),
        "trained_on": "train split of eval/external_split.json (DRCD, CMRC 2018): answer sentence + next, and every "
        "third question the sentence before alone",
        "train": {
            "shown_typed": len(best),
            "given": given,
            "given_share": round(given / max(1, len(best)), 3),
            "f1_given": round(f1_given, 3),
        },
    }
    OUT.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()

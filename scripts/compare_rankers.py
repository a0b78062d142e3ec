"""Compare evidence rankers on the whole test split: how often each one's best sentence holds the answer (top-1).

    .venv/bin/python scripts/compare_rankers.py ../shared/eval/external/DRCD_dev.json qa/answering/data OTHER_DIR...

The test articles of the file (eval/external_split.json), in id order, are cut into corpora of --group articles, each
indexed and searched by the real pipeline; every question's candidates are scored by each folder's ranker.txt (the
features the running code computes), and the best one counts when it overlaps a gold answer span of the question's
article. It prints each folder's top-1 and, against the first folder, the questions gained and lost.

Why: the 40-article sample that `qa eval --squad` asks moves by a question or two with any change of model, and a
gain held out on the training corpora need not carry. A ranker with its candidates' neighbours' columns (2026-12-05)
scored held-out top-1 0.8579 against 0.8513, but here DRCD 0.8605 against 0.8629 (13 gained, 16 lost) and CMRC 2018
0.7985 against 0.7935 (6 gained, 4 lost): not kept.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from qa.answering.learned import LearnedSelector
from qa.answering.question import Question
from qa.answering.ranker import Ranker, load_ranker
from qa.config import Settings
from qa.evaluation.squad import Article, corpus_name, load_squad, split_articles, write_corpus
from qa.wiring import build_pipeline

ROOT = Path(__file__).resolve().parent.parent


def best_holds_answer(folder: Path, articles: list[Article], rankers: dict[Path, Ranker]) -> dict[Path, list[bool]]:
    """For each model folder's ranker, whether each question's best-scored candidate overlaps a gold span, over one
    corpus of these articles (indexed in folder)."""
    write_corpus(articles, folder / "seeds")
    update = {"seeds_dir": folder / "seeds", "index_dir": folder / "index", "on_index_mismatch": "rebuild"}
    pipeline = build_pipeline(Settings().model_copy(update=update))
    selector, retriever = pipeline.answerer.selector, pipeline.retriever
    if not isinstance(selector, LearnedSelector):
        raise SystemExit("the settings choose the hand-set evidence rules: no ranker to compare")
    out: dict[Path, list[bool]] = {d: [] for d in rankers}
    for article in articles:
        for q in article.questions:
            question = Question.parse(q.text)
            query = retriever.prepare(question.text, lang=question.lang)
            found = selector.candidates(question, query, retriever.search(query, selector.settings.evidence_chunks))
            for d, ranker in rankers.items():
                if not found.sentences:
                    out[d].append(False)
                    continue
                best = found.sentences[int(np.argmax(ranker.scores(found)))]
                out[d].append(best.doc == q.article and any(best.start < e and s < best.end for s, e in q.spans))
    return out


def main() -> None:
    """Score every test question with each ranker and print the shares."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="a SQuAD-format file (DRCD, CMRC 2018)")
    ap.add_argument("models", type=Path, nargs="+", help="folders holding ranker.txt and ranker.json")
    ap.add_argument("--split-file", type=Path, default=ROOT / "eval" / "external_split.json")
    ap.add_argument("--group", type=int, default=40, help="articles per corpus")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the bundled model only; nothing is downloaded
    articles = sorted(
        split_articles(load_squad(args.data), args.split_file, corpus_name(args.data), "test"), key=lambda a: a.id
    )
    rankers = {d: load_ranker(d) for d in args.models}  # loaded once, for every corpus
    found: dict[Path, list[bool]] = {d: [] for d in args.models}
    with tempfile.TemporaryDirectory(prefix="qa-rankers-") as tmp:
        for g in range(0, len(articles), args.group):
            for d, hits in best_holds_answer(Path(tmp) / str(g), articles[g : g + args.group], rankers).items():
                found[d] += hits
    first = np.array(found[args.models[0]])
    for d in args.models:
        mine = np.array(found[d])
        print(
            f"{d}: {len(mine)} questions, top-1 {mine.mean():.4f}; against {args.models[0]}: "
            f"{int((mine & ~first).sum())} gained, {int((first & ~mine).sum())} lost"
        )


if __name__ == "__main__":
    main()

"""Fit the abstention threshold for a corpus of one article (`lone_threshold` in the model's ranker.json).

    .venv/bin/python scripts/fit_lone_threshold.py [--articles N] [--ranker-dir qa/answering/data] [--dry-run]

The abstention model's threshold (scripts/train_ranker.py) keeps 97.5% of the answerable questions of held-out
40-article training corpora answered. Indexed alone, as the seed article is, an article's questions get lower odds
from the same model (fewer sentences share their words, every word is common), and it answered only 0.90 / 0.73 of
the DRCD / CMRC training articles' own questions. So each train article of both data files is indexed alone by the
real pipeline and asked its own questions; the threshold that keeps the same share of them answered (pooled over
both files) is written to ranker.json. The test part of the split is never read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from fit_ranker import ANSWERED_TARGET  # noqa: E402  (the sibling script: the same target as the main threshold)

from qa.answering.learned import LearnedSelector  # noqa: E402
from qa.answering.question import Question  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluation.squad import corpus_name, load_squad, split_articles, write_corpus  # noqa: E402
from qa.retrieval.embedding import SentenceTransformerEmbedder  # noqa: E402
from qa.wiring import build_pipeline  # noqa: E402

DATA = ROOT.parent / "shared" / "eval" / "external"
FILES = ("DRCD_dev.json", "cmrc2018_trial.json")


def lone_odds(
    path: Path, split_file: Path, limit: int | None, work: Path, embedder: SentenceTransformerEmbedder
) -> list[float]:
    """The abstention model's log-odds for each question of each train article, the article indexed alone."""
    odds: list[float] = []
    articles = split_articles(load_squad(path), split_file, corpus_name(path), "train")[:limit]
    for k, article in enumerate(articles):
        folder = work / f"{corpus_name(path)}-{k}"
        write_corpus((article,), folder / "seeds")
        update = {"seeds_dir": folder / "seeds", "index_dir": folder / "index", "on_index_mismatch": "rebuild"}
        pipeline = build_pipeline(Settings().model_copy(update=update), embedder=embedder)
        answerer = pipeline.answerer
        selector = answerer.selector
        if not isinstance(selector, LearnedSelector):
            raise SystemExit("the learned evidence step is not the one configured (QA_EVIDENCE)")
        for q in article.questions:
            question = Question.parse(q.text)
            query = answerer.retriever.prepare(question.text, lang=question.lang)
            hits = answerer.retriever.search(query, max(5, answerer.settings.evidence_chunks))
            judged = selector.judged(question, query, hits) if hits and query.tokens else None
            odds.append(judged[2] if judged else -np.inf)
    return odds


def main() -> None:
    """Fit and write (or with --dry-run only print) the one-article threshold."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, help="train articles of each file (default: all)")
    ap.add_argument("--split-file", type=Path, default=ROOT / "eval" / "external_split.json")
    ap.add_argument("--ranker-dir", type=Path, default=ROOT / "qa" / "answering" / "data")
    ap.add_argument("--dry-run", action="store_true", help="print the threshold, do not write it")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the bundled model only; nothing is downloaded
    os.environ["QA_RANKER_DIR"] = str(args.ranker_dir)
    embedder = SentenceTransformerEmbedder()
    by_file: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="qa-lone-") as tmp:
        for name in FILES:
            by_file[name] = lone_odds(DATA / name, args.split_file, args.articles, Path(tmp), embedder)
    pooled = np.array([o for odds in by_file.values() for o in odds])
    threshold = round(float(np.quantile(pooled, 1 - ANSWERED_TARGET)), 4)
    meta_path = args.ranker_dir / "ranker.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    shipped = float(meta["abstainer"]["threshold"])
    report = {
        "lone_threshold": threshold,
        "threshold": shipped,
        "questions": {name: len(odds) for name, odds in by_file.items()},
        "answered_at_threshold": {n: round(float(np.mean(np.array(o) >= shipped)), 4) for n, o in by_file.items()},
        "answered_at_lone_threshold": {
            n: round(float(np.mean(np.array(o) >= threshold)), 4) for n, o in by_file.items()
        },
    }
    print(json.dumps(report))
    if not args.dry_run:
        meta["abstainer"]["lone_threshold"] = threshold
        meta["abstainer"]["lone_measured"] = {k: v for k, v in report.items() if k != "lone_threshold"}
        meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

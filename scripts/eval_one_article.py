"""Measure the service on one-article corpora, as the seed is: each test article of a SQuAD-format file indexed alone,
asked its own questions and some foreign ones (about other test articles), over many articles.

    .venv/bin/python scripts/eval_one_article.py ../shared/eval/external/DRCD_dev.json [--articles 40] [--foreign 40]
        [--near] [--part train]

`qa eval --squad FILE --articles 1 --seed S` for S = 1..N, with the rows pooled: answered, cite_hit and the foreign
questions abstained, over every question asked (one article gives too few to read a share from). With --near, also
one near miss of each article (the article without the sentences that hold one question's answer, asked that
question): the kind of unanswerable question a reader of one article asks.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from qa.config import Settings
from qa.evaluation.external import ExternalRun, run_one_article
from qa.retrieval.embedding import SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Ask each of --articles one-article corpora and print the pooled shares."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="a SQuAD-format file (DRCD, CMRC 2018)")
    ap.add_argument("--split-file", type=Path, default=ROOT / "eval" / "external_split.json")
    ap.add_argument("--articles", type=int, default=40, help="one-article corpora (seeds 1..N)")
    ap.add_argument("--foreign", type=int, default=40, help="foreign questions asked of each")
    ap.add_argument("--near", action="store_true", help="also ask each article a near miss")
    ap.add_argument("--part", choices=["test", "train"], default="test", help="which part of the split (default test)")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the bundled model only; nothing is downloaded
    embedder = SentenceTransformerEmbedder()
    run = ExternalRun(data=args.data, split_file=args.split_file, part=args.part, foreign=args.foreign, near=args.near)
    with tempfile.TemporaryDirectory(prefix="qa-one-") as tmp:
        t = run_one_article(run, range(1, args.articles + 1), Path(tmp), Settings(), embedder=embedder)
    print(
        f"{args.articles} one-article corpora: {t.asked} questions, answered {t.answered / t.asked:.3f}, "
        f"cite_hit {t.cited / t.asked:.3f}, cite_precision {t.precise / max(t.citations, 1):.3f} at "
        f"{t.citations / max(t.answered, 1):.2f} per answer; "
        f"{t.foreign} foreign, abstained {t.abstained / t.foreign:.3f}"
        + (f"; {t.near} near misses, abstained {t.near_abstained / t.near:.3f}" if t.near else "")
    )


if __name__ == "__main__":
    main()

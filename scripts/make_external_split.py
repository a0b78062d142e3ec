"""Write eval/external_split.json: each external corpus's article ids split into train and test (seeded, by article).

Run once; the file is committed, so the split never moves. Training reads only `train`; `qa eval --squad` reads
`test` by default.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qa.evaluation.squad import corpus_name, load_squad, make_split

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "eval" / "external"


def main() -> None:
    """Split every SQuAD-format file given (default: DRCD dev and the CMRC 2018 trial set)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("files", nargs="*", type=Path, default=[DATA / "DRCD_dev.json", DATA / "cmrc2018_trial.json"])
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--test-share", type=float, default=0.4)
    ap.add_argument("--out", type=Path, default=ROOT / "eval" / "external_split.json")
    args = ap.parse_args()
    splits = {
        corpus_name(path): {
            "seed": args.seed,
            "test_share": args.test_share,
            **make_split([a.id for a in load_squad(path)], seed=args.seed, test_share=args.test_share),
        }
        for path in args.files
    }
    args.out.write_text(json.dumps(splits, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for name, split in splits.items():
        print(f"{name}: {len(split['train'])} train, {len(split['test'])} test articles")


if __name__ == "__main__":
    main()

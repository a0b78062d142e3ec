"""Recall@k of each fusion on a gold set, through the real index and model (not a test)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.config import RetrievalSettings
from qa.evaluation.gold import covered
from qa.indexing.freshness import open_index
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.retrieval.retriever import Retriever


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("gold")
    ap.add_argument("--index", default="index")
    ap.add_argument("--seeds", default="seeds")
    ap.add_argument("--model", default="")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    embedder = SentenceTransformerEmbedder(args.model)
    index = open_index(Path(args.index), Path(args.seeds), embedder)
    text = next(iter(index.documents.values())).text
    gold = [json.loads(line) for line in Path(args.gold).read_text(encoding="utf-8").splitlines() if line.strip()]
    gold = [g for g in gold if g["answerable"]]
    for fusion in ("lexical", "dense", "rrf", "weighted-rrf", "weighted"):
        retriever = Retriever(index, embedder, RetrievalSettings(fusion=fusion))  # type: ignore[arg-type]
        rec: dict[int, list[bool]] = {1: [], 3: [], 5: []}
        by_lang: dict[str, list[bool]] = {}
        for g in gold:
            spans = [(text.find(e), text.find(e) + len(e)) for e in g["evidence"]]
            hits = retriever.search(retriever.prepare(g["question"]), 5)
            pieces = [(h.chunk.start, h.chunk.end) for h in hits]
            for k, found in rec.items():
                found.append(all(covered(s, pieces[:k]) for s in spans))
            by_lang.setdefault(g["lang"], []).append(rec[5][-1])
            if args.verbose and fusion in ("lexical", "weighted") and not rec[5][-1]:
                print("  miss", fusion, g["id"], g["question"], [h.chunk.id[-4:] for h in hits])
        line = " ".join(f"R@{k} {sum(v) / len(v):.3f}" for k, v in rec.items())
        langs = " ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in sorted(by_lang.items()))
        print(f"{fusion:13s} {line} | {langs}")


if __name__ == "__main__":
    main()

"""Train the evidence ranker and the abstention model on the TRAIN split of the external data; write the model files.

    .venv/bin/python scripts/train_ranker.py [--seed 8] [--out qa/answering/data]

The train articles of each corpus (eval/external_split.json) are cut into corpora of --group articles, each indexed
with the real pipeline (cached under --cache). Every question is asked of its own corpus (answerable) and, for the
abstention model, of another one (foreign) and of its own with the sentences that hold its answer cut out (near: the
corpus is about the subject but does not say) and with one of its names replaced by one the corpus never mentions
(swapped), and of its own filled out with articles of the other corpora (filled: an archive is larger than a training
corpus). The answerable questions and the near misses are also asked in other words (reworded: one word that is
not a name replaced by one the corpus never uses), to measure the models on a reader's wording. Candidates are the
sentences of the retrieved passages; a candidate is right when it overlaps a gold answer span. Features are chosen
and the abstention threshold is set on corpora held out of fitting (grouped cross-validation); the test split is
never read.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from qa.answering.features import Candidates, FeatureBuilder
from qa.answering.matching import SentenceStats
from qa.answering.question import Question
from qa.answering.ranker import ENGLISH_FILE
from qa.config import Settings
from qa.evaluation.rewording import reworded, word_pool
from qa.evaluation.squad import (
    Article,
    SquadQuestion,
    corpus_name,
    load_squad,
    near_misses,
    split_articles,
    write_corpus,
)
from qa.indexing.freshness import open_index
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.retrieval.retriever import Retriever
from qa.text.folding import fold
from qa.text.names import names
from qa.text.tokens import initialise

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = Settings()
DATA = ROOT.parent / "shared" / "eval" / "external"


@dataclass
class Asked:
    """One question asked of one corpus: its candidates' features and labels."""

    corpus: str
    group: int
    qid: str
    text: str
    answerable: bool
    candidates: Candidates
    labels: np.ndarray
    alone: bool = False
    near: bool = False  # asked of its corpus with the sentences that hold its answer cut out (to abstain on)
    swapped: bool = False  # asked with one of its names replaced by one the corpus never mentions (to abstain on)
    reworded: bool = False  # asked with one of its other words replaced by one the corpus never uses (to answer)
    filled: bool = False  # asked of its corpus filled out with articles of other corpora (an archive is larger)


def groups(articles: list[Article], size: int, seed: int) -> list[list[Article]]:
    """Train articles cut into corpora of about `size` articles."""
    order = sorted(articles, key=lambda a: a.id)
    random.Random(seed).shuffle(order)
    n = max(1, round(len(order) / size))
    return [order[k::n] for k in range(n)]


Corpus = Callable[[], "FeatureBuilder"]  # a training corpus's feature builder, indexed (or opened) when called


def builder_for(articles: list[Article], folder: Path, embedder: SentenceTransformerEmbedder) -> FeatureBuilder:
    """The feature builder over a corpus of these articles, indexed by the real pipeline (cached in folder)."""
    write_corpus(articles, folder / "seeds")
    index = open_index(folder / "index", folder / "seeds", embedder)
    return FeatureBuilder(Retriever(index, embedder, SETTINGS.retrieval), SentenceStats(index))


def ask(
    builder: FeatureBuilder,
    q: SquadQuestion,
    *,
    answerable: bool,
    corpus: str,
    group: int,
    alone: bool = False,
    near: bool = False,
    swapped: bool = False,
    reworded: bool = False,
    filled: bool = False,
) -> Asked:
    """The candidates of one question, labelled by whether they overlap a gold span of its article: asked as
    the extractive answerer asks (the same search, the same number of passages). Alone: the search is kept to the
    question's own article, as in a corpus of that one article (the passages' ranks and scores then mean what
    they mean there)."""
    question = Question.parse(q.text)
    docs = {q.article} if alone else None
    query = builder.retriever.prepare(question.text, lang=question.lang, docs=docs)
    hits = builder.retriever.search(query, SETTINGS.answering.evidence_chunks)
    candidates = builder.build(question, query, hits)
    labels = np.array(
        [
            answerable and s.doc == q.article and any(s.start < e and st < s.end for st, e in q.spans)
            for s in candidates.sentences
        ],
        dtype=np.int8,
    )
    return Asked(corpus, group, q.id, q.text, answerable, candidates, labels, alone, near, swapped, reworded, filled)


def name_pool(questions: list[SquadQuestion]) -> dict[str, list[str]]:
    """The names (person, place, organisation) these questions hold, by kind, in a fixed order."""
    pool: dict[str, set[str]] = {}
    for q in questions:
        for kind, found in names(fold(q.text)).items():
            pool.setdefault(kind, set()).update(found)
    return {kind: sorted(found) for kind, found in pool.items()}


def swapped(
    build: Corpus, own: list[SquadQuestion], pool: dict[str, list[str]], rng: random.Random, **where: Any
) -> list[Asked]:
    """Questions about the corpus that name something it never mentions: one name of each question that holds one
    the corpus does (a person, place or organisation) replaced by a name of the same kind from another corpus."""
    builder = build()
    out = []
    for q in own:
        folded = fold(q.text)
        found = sorted(names(folded).items())
        held = [(kind, n) for kind, words in found for n in sorted(words) if builder.stats.contains(n)]
        if not held:
            continue
        kind, name = rng.choice(held)
        strangers = [n for n in pool.get(kind, ()) if not builder.stats.contains(n) and name not in n]
        if strangers:
            other = replace(q, text=folded.replace(name, rng.choice(strangers)))
            out.append(ask(builder, other, answerable=False, swapped=True, **where))
    return out


def in_own_words(
    build: Corpus,
    own: list[SquadQuestion],
    pool: dict[str, list[str]],
    rng: random.Random,
    *,
    near: bool = False,
    **where: Any,
) -> list[Asked]:
    """Questions asked in other words: one word of each (not a name) that the corpus holds replaced by one of the same
    class that it never uses (qa/evaluation/rewording.py). Answerable unless they are near misses."""
    builder = build()
    out = []
    for q in own:
        text = reworded(q.text, builder.stats.contains, pool, rng)
        if text is not None:
            out.append(ask(builder, replace(q, text=text), answerable=not near, near=near, reworded=True, **where))
    return out


def as_asked(build: Corpus, own: list[SquadQuestion], foreign: list[SquadQuestion], **where: Any) -> list[Asked]:
    """The corpus's own questions asked of it (and of their article alone), and foreign ones asked of it."""
    builder = build()
    asked = [ask(builder, q, answerable=True, **where) for q in own]
    asked += [ask(builder, q, answerable=True, alone=True, **where) for q in own]
    return asked + [ask(builder, q, answerable=False, **where) for q in foreign]


def filled_out(
    parts: list[list[Article]], g: int, size: int, foreign: int, seed: int
) -> tuple[list[Article], list[SquadQuestion]]:
    """Articles of the other corpora that fill out corpus g (at most `size`, and half of them, so that some are left),
    and up to `foreign` questions about articles in neither."""
    pool = sorted((a for k, p in enumerate(parts) if k != g for a in p), key=lambda a: a.id)
    filler = random.Random(seed + 300 + g).sample(pool, min(size, len(pool) // 2))
    taken = {a.id for a in filler}
    outside = [q for a in pool if a.id not in taken for q in a.questions]
    return filler, random.Random(seed + 400 + g).sample(outside, min(len(outside), foreign))


def filled_asked(build: Corpus, own: list[SquadQuestion], foreign: list[SquadQuestion], **where: Any) -> list[Asked]:
    """The corpus's own questions and foreign ones asked of it filled out with other articles."""
    builder = build()
    asked = [ask(builder, q, answerable=True, filled=True, **where) for q in own]
    return asked + [ask(builder, q, answerable=False, filled=True, **where) for q in foreign]


def near_asked(build: Corpus, questions: tuple[SquadQuestion, ...], **where: Any) -> list[Asked]:
    """Near misses: questions asked of their corpus without the sentences that hold their answers."""
    builder = build()
    return [ask(builder, q, answerable=False, near=True, **where) for q in questions]


def cached(path: Path, recollect: bool, make: Callable[..., list[Asked]], *args: Any, **kwargs: Any) -> list[Asked]:
    """The rows kept in path, or (when there are none, or to recollect) make(*args, **kwargs), kept there."""
    if path.is_file() and not recollect:
        return [Asked(**row) for row in pickle.loads(path.read_bytes())]
    made = make(*args, **kwargs)
    path.write_bytes(pickle.dumps([vars(a) for a in made]))  # plain dicts: readable whatever runs this
    return made


def collect(args: argparse.Namespace) -> list[Asked]:
    """Ask every train question of its own corpus, and a sample of them of another corpus."""
    initialise()
    embedder = SentenceTransformerEmbedder()
    rng = random.Random(args.seed)
    out: list[Asked] = []
    for path in args.data:
        name = corpus_name(path)
        train = split_articles(load_squad(path), args.split_file, name, "train")
        parts = groups(train, args.group, args.seed)
        for g, part in enumerate(parts):
            others = [q for k, p in enumerate(parts) if k != g for a in p for q in a.questions]
            foreign = rng.sample(others, min(len(others), args.foreign))
            folder = args.cache / f"{name}-g{g}"
            corpus = partial(builder_for, part, folder, embedder)  # indexed (or opened) when rows are made
            own = [q for a in part for q in a.questions]
            where = {"corpus": name, "group": g}
            words = word_pool(q.text for q in others)
            out += cached(folder / "rows.pkl", args.recollect, as_asked, corpus, own, foreign, **where)
            for k in range(args.near_rounds):
                # Near misses: the corpus again, one question of each article cut out with the sentences that hold
                # its answer (indexed so: the passages, their scores and the corpus statistics are as served); and
                # asked in other words, as the answerable ones are (a reader who words an answerable question their
                # own way words one the article cannot answer so too).
                cut, near = near_misses(tuple(part), args.seed + k)
                kept = args.cache / f"{name}-g{g}-near{k}"
                cut_corpus = partial(builder_for, list(cut), kept, embedder)
                out += cached(kept / "rows.pkl", args.recollect, near_asked, cut_corpus, near, **where)
                again = random.Random(args.seed + 200 + 10 * g + k)
                reworded_near = partial(in_own_words, cut_corpus, list(near), words, again, near=True)
                out += cached(kept / "reworded.pkl", args.recollect, reworded_near, **where)
            if args.filled:
                # The same questions of a larger corpus: the group filled out with articles of the other groups (their
                # questions not asked), the foreign questions from articles in neither. Abstention learned on corpora
                # of one size answered more foreign questions as the corpus grew (DRCD, all articles: 0.92 of them
                # abstained at 40 articles, 0.745 at 200).
                filler, strangers = filled_out(parts, g, args.filled, args.foreign, args.seed)
                big = args.cache / f"{name}-g{g}-filled{args.filled}"
                big_corpus = partial(builder_for, [*part, *filler], big, embedder)
                out += cached(big / "rows.pkl", args.recollect, filled_asked, big_corpus, own, strangers, **where)
            names_from = name_pool(others)
            strange = random.Random(args.seed + g)
            out += cached(folder / "swapped.pkl", args.recollect, swapped, corpus, own, names_from, strange, **where)
            other_words = random.Random(args.seed + 100 + g)
            out += cached(
                folder / "reworded.pkl", args.recollect, in_own_words, corpus, own, words, other_words, **where
            )
            print(f"{name} corpus {g}: {len(part)} articles, {len(out)} questions so far", flush=True)
    return out


def kept_ranker(path: Path, meta: dict[str, Any]) -> str:
    """The ranker model already in path, to ship beside a new abstention model: it must score the same features.
    The abstention model learns from the scores of rankers fitted without each held-out corpus either way, never from
    the shipped ranker's."""
    import lightgbm

    model = path.read_text(encoding="utf-8")
    if lightgbm.Booster(model_str=model).feature_name() != meta["features"]:
        raise SystemExit(f"{path} scores other features than {meta['features']}: fit the ranker too")
    meta["ranker"] = "kept"
    return model


def main() -> None:
    """Collect (or reuse) the training rows, fit, choose, and write the model file."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="*", type=Path, default=[DATA / "DRCD_dev.json", DATA / "cmrc2018_trial.json"])
    ap.add_argument("--split-file", type=Path, default=ROOT / "eval" / "external_split.json")
    ap.add_argument("--group", type=int, default=40, help="articles per training corpus")
    ap.add_argument("--foreign", type=int, default=150, help="foreign questions asked of each training corpus")
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument(
        "--filled", type=int, default=120, help="articles filling out a larger copy of each corpus (0: none)"
    )
    ap.add_argument("--near-rounds", type=int, default=3, help="near-miss corpora per training corpus")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/qa-train"))
    ap.add_argument("--features", help="comma-separated features to use, skipping the ablation")
    keep = "keep the ranker model file in --out (fit and write the abstention model, its threshold and the measures)"
    ap.add_argument("--keep-ranker", action="store_true", help=keep)
    ap.add_argument("--recollect", action="store_true", help="ask the questions again (after a feature change)")
    ap.add_argument("--out", type=Path, default=ROOT / "qa" / "answering" / "data", help="folder of the model files")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the bundled model only; nothing is downloaded
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    rows = collect(args)
    from fit_ranker import fit  # the model fitting (this folder), apart from the data collection

    features = args.features.split(",") if args.features else None
    model, abstainer, meta = fit(rows, seed=args.seed, features=features)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.keep_ranker:
        model = kept_ranker(args.out / "ranker.txt", meta)
    (args.out / "ranker.txt").write_text(model, encoding="utf-8")
    (args.out / "abstainer.txt").write_text(abstainer, encoding="utf-8")
    (args.out / "ranker.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    # The English questions' abstention model read the old ranker's scores: gone until train_english.py fits it again
    # (English questions are judged by the model above meanwhile).
    (args.out / ENGLISH_FILE).unlink(missing_ok=True)
    print(json.dumps(meta["measured"], indent=1))
    print(f"then: scripts/fit_lone_threshold.py, and scripts/train_english.py for {ENGLISH_FILE}")


if __name__ == "__main__":
    main()

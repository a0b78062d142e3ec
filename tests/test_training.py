"""scripts/train_ranker.py: how the training corpora are filled out to a larger size for the abstention model."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from qa.evaluation.squad import Article, SquadQuestion
from tests.support import ROOT


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_ranker", ROOT / "scripts" / "train_ranker.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("train_ranker", module)
    spec.loader.exec_module(module)
    return module


def _article(n: int) -> Article:
    question = SquadQuestion(f"q{n}", f"A{n}", f"第{n}篇說了什麼？", ((0, 1),), ("第",))
    return Article(f"A{n}", f"第{n}篇", f"第{n}篇的正文。", (question,))


def test_a_corpus_is_filled_out_with_other_corpora_and_asked_about_articles_in_neither() -> None:
    train_ranker = _script()
    parts = [[_article(n) for n in range(k * 10, k * 10 + 10)] for k in range(4)]
    filler, foreign = train_ranker.filled_out(parts, 1, 12, 100, seed=8)
    own = {a.id for a in parts[1]}
    taken = {a.id for a in filler}
    assert len(filler) == 12 and not taken & own  # filled from the other corpora only
    asked_about = {q.article for q in foreign}
    assert len(foreign) == 30 - 12 and not asked_about & (own | taken)  # every article in neither, once
    # At most half of the other articles fill it out, so that some are left to ask foreign questions about.
    half, rest = train_ranker.filled_out(parts, 1, 120, 100, seed=8)
    assert len(half) == 15 and len(rest) == 15
    assert train_ranker.filled_out(parts, 1, 12, 100, seed=8) == (filler, foreign)  # seeded

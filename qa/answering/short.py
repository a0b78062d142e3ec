"""Short answers: the date, number, amount or name a typed question asks for, as an exact span of a cited sentence.

The candidate spans (qa/answering/spans.py) with their features (qa/answering/span_features.py) are scored by a
LightGBM model (data/short.txt with data/short.json, written by scripts/train_short.py), and the likeliest is given
only when its probability passes the threshold chosen on held-out training data."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

import numpy as np

from qa.answering.boosters import Predictor
from qa.answering.question import Question
from qa.answering.span_features import FEATURES, Candidate, candidates
from qa.answering.spans import kind_of
from qa.types import Citation, ShortAnswer


@dataclass(frozen=True)
class Scorer:
    """A model over candidate features (gradient-boosted trees, or logistic weights), and the probability below which
    no short answer is given."""

    threshold: float
    weights: tuple[float, ...] = ()
    bias: float = 0.0
    booster: Any = None  # a lightgbm.Booster

    @cached_property
    def _predict(self) -> Predictor:
        return Predictor(self.booster)

    def probabilities(self, found: Sequence[Candidate]) -> list[float]:
        """The model's probability that each candidate is the answer."""
        if not found:
            return []
        if self.booster is not None:
            x = np.array([c.features for c in found], dtype=np.float64)
            return [float(p) for p in self._predict(x)]
        z = [self.bias + math.fsum(w * v for w, v in zip(self.weights, c.features, strict=True)) for c in found]
        return [1 / (1 + math.exp(-v)) for v in z]


@cache
def default_scorer() -> Scorer:
    """The scorer shipped with the package (data/short.json, and the trees file it names)."""
    data = resources.files("qa.answering").joinpath("data")
    raw = json.loads(data.joinpath("short.json").read_text(encoding="utf-8"))
    if tuple(raw["features"]) != FEATURES:
        raise ValueError("data/short.json was trained on other features: run scripts/train_short.py")
    threshold = float(raw["threshold"])
    if raw.get("model"):
        import lightgbm  # imported when the model is loaded, not with the package

        booster = lightgbm.Booster(model_str=data.joinpath(raw["model"]).read_text(encoding="utf-8"))
        if booster.num_feature() != len(FEATURES):
            raise ValueError(f"data/{raw['model']} was trained on other features: run scripts/train_short.py")
        return Scorer(threshold, booster=booster)
    return Scorer(threshold, tuple(float(w) for w in raw["weights"]), float(raw["bias"]))


# The kinds of value (not of name) a question may ask for.
_VALUES = frozenset({"date", "number", "percent", "money", "ordinal", "unit"})


def short_answer(
    question: Question, citations: Sequence[Citation], *, scorer: Scorer | None = None, threshold: float | None = None
) -> ShortAnswer | None:
    """The likeliest candidate as a span of its document, when likely enough; None otherwise.

    The model reads how the question's words stand around a candidate, which an English question about a Chinese
    article cannot show: there, a value asked for (a date, number, amount) is given when the cited sentence holds it
    in one place only (candidates nested in one another, 20至30艘 and 20至30, are one: the longest). On the train
    split (two 40-article samples per corpus, the evidence as served), such a value scored character F1 0.93-0.94
    (DRCD, 82 questions) and 0.66-0.75 (CMRC 2018, 20: its gold answers are whole clauses), about what the model
    keeps for the answers it gives (0.82)."""
    scorer = scorer or default_scorer()
    found = candidates(question, citations)
    if not found:
        return None
    if question.lang == "en":
        best = _only_value(question, found)
    else:
        probabilities = scorer.probabilities(found)
        at = max(range(len(found)), key=probabilities.__getitem__)
        likely = probabilities[at] >= (scorer.threshold if threshold is None else threshold)
        best = found[at] if likely else None
    if best is None:
        return None
    c = best.citation
    return ShortAnswer(text=best.text, start=c.start + best.start, end=c.start + best.end, doc=c.doc)


def _only_value(question: Question, found: Sequence[Candidate]) -> Candidate | None:
    """The value a question asks for when its candidates all sit in one place of one sentence: the longest."""
    one_place = len({c.citation.n for c in found}) == 1 and max(c.start for c in found) < min(c.end for c in found)
    if kind_of(question) not in _VALUES or not one_place:
        return None
    return max(found, key=lambda c: c.end - c.start)

"""The learned evidence ranker and abstention model, read from the model files shipped in the package.

scripts/train_ranker.py fits both on the train split of external reading-comprehension data (DRCD, CMRC 2018):
a LightGBM LambdaRank model over the candidate sentences' features (data/ranker.txt), a LightGBM model of whether
the best evidence answers the question at all (data/abstainer.txt), and, in data/ranker.json, the temperature that
turns the ranker's scores into probabilities and the abstention threshold chosen on held-out corpora.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.answering.boosters import Predictor
from qa.answering.features import SENTENCE_FEATURES, Candidates
from qa.errors import ConfigurationError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    import lightgbm

# Question-level features of the abstention model, computed from the ranked candidates.
QUESTION_FEATURES: tuple[str, ...] = (
    "top",  # probability of the best candidate (softmax of the ranker's scores)
    "margin",  # the best candidate's score less the second best's
    "top_bigram",  # the best candidate's share of the question's bigrams
    "top_local",  # ... weighed within its document
    "top_longest",  # ... the longest run it shares with the question
    "top_chunk_bigram",  # ... and its passage's share of the bigrams
    "best_bigram",  # the best bigram share of any candidate
    "coverage",  # share of the question's bigrams found anywhere in the corpus
    "terms_found",  # share of its topic words found anywhere in the corpus
    "unknown",  # it names something the corpus never mentions
    "given_missing",  # it names a date the corpus does not hold
    "typed_miss",  # it asks for a date, number or amount and the best candidate holds none
)
# Sentence features read twice more for the abstention model: of the best candidate (top_*) and the most of any
# candidate (best_*). Whether the question's own words stand around the question word, or the value it asks for is
# there at all, tells a passage that answers from one that is only about the same subject.
_ALSO = ("wh_left", "wh_right", "head_new", "typed_match", "name_new", "terms", "proximity", "echo", "novel", "focus")
QUESTION_FEATURES += tuple(f"top_{n}" for n in _ALSO) + tuple(f"best_{n}" for n in _ALSO)


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities of the candidates from their scores."""
    if not len(scores):
        return scores
    z = np.exp((scores - scores.max()) / temperature)
    out: np.ndarray = z / z.sum()
    return out


def question_features(scores: np.ndarray, candidates: Candidates, temperature: float) -> np.ndarray:
    """The abstention model's row for one question."""
    extra = [
        candidates.coverage,
        candidates.terms_found,
        float(bool(candidates.unknown)),
        float(candidates.given_missing),
    ]
    if not len(scores):
        return np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, *extra, 1.0, *[0.0] * (2 * len(_ALSO))])
    order = np.argsort(-scores, kind="stable")
    best = candidates.matrix[order[0]]
    col = SENTENCE_FEATURES.index
    also = [col(n) for n in _ALSO]
    return np.array(
        [
            softmax(scores, temperature)[order[0]],
            scores[order[0]] - scores[order[1]] if len(order) > 1 else 5.0,
            best[col("bigram")],
            best[col("local")],
            best[col("longest")],
            best[col("chunk_bigram")],
            candidates.matrix[:, col("bigram")].max(),
            *extra,
            best[col("typed_miss")],
            *best[also],
            *candidates.matrix[:, also].max(axis=0),
        ]
    )


class Ranker:
    """Scores candidate sentences, and says how likely it is that the best of them answers the question: for an
    English question, by an abstention model of its own when the model files hold one (data/abstainer_en.txt,
    scripts/train_english.py), as its features mean other things there (a word found only through its renderings)."""

    def __init__(
        self,
        booster: lightgbm.Booster,
        abstainer: lightgbm.Booster,
        meta: dict[str, Any],
        english: lightgbm.Booster | None = None,
    ) -> None:
        names = tuple(meta["features"])
        if tuple(booster.feature_name()) != names or set(names) - set(SENTENCE_FEATURES):
            raise ValueError(f"the ranker model's features {names} are not ones this version computes")
        if tuple(meta["abstainer"]["features"]) != QUESTION_FEATURES or abstainer.num_feature() != len(
            QUESTION_FEATURES
        ):
            raise ValueError("the abstention model was trained on other question features")
        self.booster = booster
        self._scores = Predictor(booster)
        self._odds = Predictor(abstainer, raw_score=True)
        self.features = names
        self._columns = [SENTENCE_FEATURES.index(n) for n in names]
        self.temperature = float(meta["temperature"])
        self.abstainer = abstainer
        self.threshold = float(meta["abstainer"]["threshold"])
        # ... and the one for a corpus of one article (scripts/fit_lone_threshold.py), where the same model is more
        # cautious: model files without it use the threshold above.
        self.lone_threshold = float(meta["abstainer"].get("lone_threshold", self.threshold))
        self.meta = meta
        self._english_odds: Predictor | None = None
        self.english_threshold, self.english_lone_threshold = self.threshold, self.lone_threshold
        if english is not None:
            if "english" not in meta:
                raise ValueError(f"ranker.json says nothing of {ENGLISH_FILE}: run scripts/train_english.py")
            if tuple(meta["english"]["features"]) != QUESTION_FEATURES or english.num_feature() != len(
                QUESTION_FEATURES
            ):
                raise ValueError("the English abstention model was trained on other question features")
            self._english_odds = Predictor(english, raw_score=True)
            self.english_threshold = float(meta["english"]["threshold"])
            self.english_lone_threshold = float(meta["english"]["lone_threshold"])

    def scores(self, candidates: Candidates) -> np.ndarray:
        """The ranker's score of each candidate (higher: more likely to hold the answer)."""
        if not len(candidates.sentences):
            return np.zeros(0)
        return self._scores(candidates.matrix[:, self._columns])

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """How likely each candidate is to be the one that holds the answer."""
        return softmax(scores, self.temperature)

    def answer_odds(self, candidates: Candidates, scores: np.ndarray, *, english: bool = False) -> float:
        """Log-odds that the best candidate answers the question (that the corpus holds its answer); english: the
        question is in English (its own model, when there is one)."""
        row = question_features(scores, candidates, self.temperature)
        model = self._english_odds if english and self._english_odds is not None else self._odds
        return float(model(row[None, :])[0])

    def thresholds(self, *, english: bool = False) -> tuple[float, float]:
        """The abstention thresholds (of a settled corpus, of one article) for the odds of answer_odds."""
        if english:
            return self.english_threshold, self.english_lone_threshold
        return self.threshold, self.lone_threshold

    @staticmethod
    def probability(odds: float) -> float:
        """Log-odds as a probability."""
        return 1.0 / (1.0 + math.exp(-odds))


MODEL_FILES = ("ranker.txt", "abstainer.txt", "ranker.json")
# ... and the English questions' abstention model, when a folder has one (ranker.json then says its thresholds).
ENGLISH_FILE = "abstainer_en.txt"


def load_ranker(folder: Path | None = None) -> Ranker:
    """The model files (MODEL_FILES, and ENGLISH_FILE when there) in folder, or the ones shipped in the package."""
    if folder is None:
        return _shipped()
    import lightgbm

    try:
        return _read(folder)
    except (OSError, ValueError, KeyError, TypeError, lightgbm.basic.LightGBMError) as exc:
        raise ConfigurationError(f"cannot load the ranker's model files from {folder} (QA_RANKER_DIR): {exc}") from exc


def _read(folder: Traversable) -> Ranker:
    """The model files of a folder (of the file system, or of the package)."""
    import lightgbm  # imported when a model is loaded, not with the package

    model, abstainer, meta = (folder.joinpath(name).read_text(encoding="utf-8") for name in MODEL_FILES)
    english = folder.joinpath(ENGLISH_FILE)
    return Ranker(
        lightgbm.Booster(model_str=model),
        lightgbm.Booster(model_str=abstainer),
        json.loads(meta),
        lightgbm.Booster(model_str=english.read_text(encoding="utf-8")) if english.is_file() else None,
    )


@cache
def _shipped() -> Ranker:
    return _read(resources.files("qa.answering").joinpath("data"))

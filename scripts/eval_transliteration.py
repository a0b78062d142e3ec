"""Measure English-name -> Chinese-transliteration matching (qa/text/transliteration.py) on CC-CEDICT, not the dev set.

CC-CEDICT holds thousands of transliterated names with their English (布達佩斯 /Budapest, capital of Hungary/). The
pairs are split seeded into train (to choose THRESHOLD) and test. For each English name a pool of POOL Chinese names
is drawn (the true one among them, the same way a question's corpus names are looked up: only the names under the
question's lexicon keys compete), and the script prints top-1 accuracy, how often a wrong name is matched above the
threshold, and, with the true name taken out of the pool (a question naming someone the corpus never mentions), how
often some name is matched anyway.

    .venv/bin/python scripts/eval_transliteration.py [--pool 500] [--seed 0] [--threshold 0.75]
"""

from __future__ import annotations

import argparse
import random
import re
import unicodedata
from collections import defaultdict

from qa.text.lexicon import _cedict_lines
from qa.text.transliteration import (
    THRESHOLD,
    Skeleton,
    chinese_skeleton,
    english_skeleton,
    name_key,
    query_keys,
    similarity,
)

_ENTRY_RE = re.compile(r"(\S+) (\S+) \[([^\]]*)\] /(.*)/")
# A transliterated name's first sense: one capitalised word, then nothing, a comma or a bracketed note.
_NAME_SENSE_RE = re.compile(r"^([A-Z][a-zà-ÿ]+)(?:,| \(|$)")


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if "a" <= c <= "z")


def name_pairs() -> list[tuple[str, str]]:
    """(English, Simplified) for CC-CEDICT's proper names of one English word; names read in Chinese (Beijing
    for 北京: the English is the pinyin) are left out, and each Chinese and each English name is kept once."""
    pairs: dict[str, tuple[str, str]] = {}
    english_seen: set[str] = set()
    for line in _cedict_lines():
        m = _ENTRY_RE.match(line.strip())
        if not m or not m.group(3)[:1].isupper() or len(m.group(2)) < 2:
            continue
        sense = _NAME_SENSE_RE.match(m.group(4).split("/")[0])
        if not sense or not re.fullmatch(r"[\u4e00-\u9fff]+", m.group(2)):
            continue
        english = sense.group(1)
        reading = _ascii(re.sub(r"\d", "", m.group(3)))
        if _ascii(english) in reading or reading.startswith(_ascii(english)[:4]) or _ascii(english) in english_seen:
            continue
        english_seen.add(_ascii(english))
        pairs.setdefault(m.group(2), (english, m.group(2)))
    return sorted(pairs.values())


def rank(english: str, pool: list[str], skeletons: dict[str, Skeleton]) -> list[tuple[float, str]]:
    """The pool's names under the English name's lexicon keys, best first."""
    table: dict[str, list[str]] = defaultdict(list)
    for name in pool:
        table[name_key(skeletons[name])].append(name)
    skeleton = english_skeleton(english)
    candidates = [n for key in query_keys(skeleton) for n in table.get(key, ())]
    return sorted(((similarity(skeleton, skeletons[n]), n) for n in candidates), key=lambda s: (-s[0], len(s[1])))


def evaluate(pairs: list[tuple[str, str]], threshold: float, pool_size: int, seed: int) -> dict[str, float]:
    """Top-1 accuracy, right and wrong matches above the threshold, and false matches when the name is absent."""
    rng = random.Random(seed)
    names = [c for _, c in pairs]
    skeletons = {c: chinese_skeleton(c) for c in names}
    top1 = right = wrong = absent_wrong = 0
    for english, chinese in pairs:
        others = rng.sample([n for n in names if n != chinese], min(pool_size - 1, len(names) - 1))
        ranked = rank(english, [chinese, *others], skeletons)
        best = ranked[0] if ranked else (0.0, "")
        top1 += best[1] == chinese
        if best[0] >= threshold:
            right += best[1] == chinese
            wrong += best[1] != chinese
        absent = [s for s, n in rank(english, others, skeletons)]
        absent_wrong += bool(absent) and absent[0] >= threshold
    n = len(pairs)
    return {
        "pairs": n,
        "top1": top1 / n,
        "matched_right": right / n,
        "matched_wrong": wrong / n,
        "absent_matched": absent_wrong / n,
    }


def main() -> None:
    """Print the measurements on the train split over a range of thresholds, then on the test split."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pool", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--sweep", action="store_true", help="also sweep thresholds on the train split")
    args = parser.parse_args()
    pairs = name_pairs()
    random.Random(args.seed).shuffle(pairs)
    half = len(pairs) // 2
    train, test = pairs[:half], pairs[half:]
    print(f"CC-CEDICT one-word transliterated names: {len(pairs)} (train {len(train)}, test {len(test)})")
    if args.sweep:
        for threshold in (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9):
            result = evaluate(train, threshold, args.pool, args.seed)
            print(f"train threshold {threshold:.2f}: " + " ".join(f"{k} {v:.3f}" for k, v in result.items()))
    result = evaluate(test, args.threshold, args.pool, args.seed + 1)
    print(
        f"test threshold {args.threshold:.2f} pool {args.pool}: " + " ".join(f"{k} {v:.3f}" for k, v in result.items())
    )


if __name__ == "__main__":
    main()

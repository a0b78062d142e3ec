"""Reworded questions: a reading-comprehension question with one of its words replaced by one its corpus never uses,
as a reader asks in their own words (自稱 where the article writes 宣稱, 型號 where it names the model).

DRCD and CMRC 2018 annotators wrote their questions with the paragraph in front of them, and mostly in its words; a
model that learns abstention from them alone takes any word the article lacks for a question about another article.
A reworded question keeps its names (the people, places and bodies it is about) and its answer: it is as answerable
as the question was. It measures how the models hold up on a reader's wording (held out by scripts/train_ranker.py,
on the test split by `qa eval --squad … --reworded`)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

from qa.text.folding import fold
from qa.text.postags import pos_cut

# jieba's tags of names (people, places, bodies, other proper nouns): a name is what the question is about, not how it
# is worded, and is never replaced.
_NAME_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz"})
# The word classes replaced (jieba tags by their first letter): nouns, verbs, adjectives.
_CLASSES = frozenset("nva")
# Characters of question words (什么, 哪, 谁, 多少, 几, 怎么, 为何, 吗): the asking, not the wording.
_ASKING = frozenset("什么哪谁多少几怎为何吗")


def content_words(folded: str) -> list[tuple[str, str]]:
    """The words of a folded question that may be replaced, each with its class (n, v or a): two characters or more,
    not a name, no digit or Latin letter, no question word."""
    out = []
    for word, tag in pos_cut(folded):
        if len(word) < 2 or tag in _NAME_TAGS or tag[:1] not in _CLASSES:
            continue
        if any(c.isascii() for c in word) or _ASKING & set(word):
            continue
        out.append((word, tag[:1]))
    return out


def word_pool(questions: Iterable[str]) -> dict[str, list[str]]:
    """The replaceable words of these questions by class, in a fixed order."""
    pool: dict[str, set[str]] = {}
    for text in questions:
        for word, cls in content_words(fold(text)):
            pool.setdefault(cls, set()).add(word)
    return {cls: sorted(words) for cls, words in sorted(pool.items())}


def reworded(text: str, contains: Callable[[str], bool], pool: dict[str, list[str]], rng: random.Random) -> str | None:
    """The question (folded) with one of its words that the corpus holds replaced by a word of the same class that it
    does not; None when it has no such word."""
    folded = fold(text)
    held = [(w, cls) for w, cls in content_words(folded) if contains(w)]
    if not held:
        return None
    word, cls = rng.choice(held)
    strangers = [w for w in pool.get(cls, ()) if w != word and not contains(w)]
    if not strangers:
        return None
    return folded.replace(word, rng.choice(strangers), 1)

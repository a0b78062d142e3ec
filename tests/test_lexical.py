"""BM25 with what no question changes (text count, row offsets, length normalisers) made once per index: the same
scores, to the bit, as computing everything for each question."""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Sequence

import numpy as np

from qa.indexing.index import Index
from qa.indexing.postings import Postings
from qa.retrieval import lexical
from qa.retrieval.lexical import K1, B, _corpus, _Kept, _term_scores, bm25, idf, sentence_bm25
from qa.text.tokens import tokens


def _bm25_per_question(segments: Sequence[Postings], query: Sequence[str]) -> np.ndarray:
    """bm25 as it was: every statistic computed for the question."""
    sizes = [s.size for s in segments]
    scores = np.zeros(sum(sizes), dtype=np.float32)
    if not scores.size:
        return scores
    n = float(scores.size)
    avg = float(sum(float(s.lengths.sum()) for s in segments)) / n or 1.0
    offsets = np.cumsum([0, *sizes[:-1]]).tolist()
    norm = np.concatenate([K1 * (1 - B + B * s.lengths / avg) for s in segments])
    seen: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
    for term in query:
        if term not in seen:
            seen[term] = _term_scores(segments, offsets, term, n, norm)
        found = seen[term]
        if found is not None:
            scores[found[0]] += found[1]
    return scores


def _segments(rng: random.Random, count: int) -> tuple[Postings, ...]:
    words = [f"w{i}" for i in range(40)]
    return tuple(
        Postings.build([[rng.choice(words) for _ in range(rng.randint(1, 30))] for _ in range(rng.randint(1, 50))])
        for _ in range(count)
    )


def test_bm25_scores_are_those_computed_per_question() -> None:
    rng = random.Random(3)
    corpora = [_segments(rng, k) for k in (1, 3, 7)] + [(), _segments(rng, 5)]
    for _ in range(3):  # asked again, and in turn, each tuple of segments scores as it did
        for segments in corpora:
            for _ in range(5):
                query = [f"w{rng.randint(0, 50)}" for _ in range(rng.randint(0, 12))]
                assert np.array_equal(bm25(segments, query), _bm25_per_question(segments, query))
    grown = (*corpora[1], *_segments(rng, 1))  # an index grown by a segment: its own statistics
    assert np.array_equal(bm25(grown, ["w1", "w2"]), _bm25_per_question(grown, ["w1", "w2"]))


def test_term_scores_are_kept_and_the_least_recent_forgotten_past_the_limit() -> None:
    kept = _Kept(7)
    made: list[str] = []

    def make(term: str) -> tuple[np.ndarray, np.ndarray] | None:
        made.append(term)
        return None if term == "absent" else (np.arange(3), np.ones(3, dtype=np.float32))

    first = kept.get_or("a", make)
    assert kept.get_or("a", make) is first and kept.get_or("absent", make) is None
    assert kept.get_or("absent", make) is None and made == ["a", "absent"]  # a term no row holds is kept too
    kept.get_or("b", make)
    kept.get_or("a", make)  # a is now more recent than b
    kept.get_or("c", make)  # 9 rows > 7: the least recently asked for (absent: 0 rows, then b) are forgotten
    assert list(kept) == ["a", "c"] and kept.rows == 6
    kept.get_or("b", make)
    assert made == ["a", "absent", "b", "c", "b"] and list(kept) == ["c", "b"]


def test_term_scores_asked_from_many_threads_keep_their_count_of_rows() -> None:
    kept = _Kept(50)
    terms = [f"t{k}" for k in range(40)]

    def make(term: str) -> tuple[np.ndarray, np.ndarray]:
        size = 1 + int(term[1:]) % 5
        return np.arange(size), np.ones(size, dtype=np.float32)

    def ask(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(2_000):
            kept.get_or(rng.choice(terms), make)

    threads = [threading.Thread(target=ask, args=(seed,)) for seed in range(4)]
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, inside get_or too
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert kept.rows == sum(v[0].size for v in kept.values() if v is not None) <= 50


def test_an_index_that_is_replaced_keeps_no_term_scores() -> None:
    # From no corpora kept: with three kept by earlier tests, `new` filled the table, which was emptied for it, and
    # asking for `old` again then forgot what `new` had kept (the test failed by the order tests ran in).
    with lexical._corpora_lock:
        lexical._corpora.clear()
    rng = random.Random(5)
    old = _segments(rng, 3)
    bm25(old, ["w1", "w2"])
    assert set(_corpus(old, K1, B).terms) == {"w1", "w2"}
    new = (*old, *_segments(rng, 1))
    assert np.array_equal(bm25(new, ["w1"]), _bm25_per_question(new, ["w1"]))
    assert not _corpus(old, K1, B).terms and set(_corpus(new, K1, B).terms) == {"w1"}
    assert np.array_equal(bm25(old, ["w1", "w2"]), _bm25_per_question(old, ["w1", "w2"]))


def test_bm25_of_the_article_is_that_computed_per_question(index: Index) -> None:
    for question in ("烏克蘭打算購買多少架戰鬥機？", "Who met in Alaska?", "停火 談判 2025"):
        query = tokens(question, drop_stopwords=True)
        assert np.array_equal(bm25(index.postings, query), _bm25_per_question(index.postings, query))


def test_sentence_bm25_weighs_each_term_by_its_idf(index: Index) -> None:
    """One IDF per distinct term (the text count summed once) gives what one per token did."""
    positions = list(range(0, len(index.sentences), 3))
    for question in ("烏克蘭打算購買多少架戰鬥機？", "Who met in Alaska? Alaska!", "停火 談判 停火 2025"):
        query = tokens(question, drop_stopwords=True)
        terms = list(dict.fromkeys(query))
        counts, lengths = index.sentence_counts(positions, terms)
        avg = float(lengths.mean()) if lengths.size and lengths.mean() > 0 else 1.0
        norm = K1 * (1 - B + B * lengths / avg)
        expected = np.zeros(len(positions), dtype=np.float32)
        for term in query:
            weight = idf(index, term)
            if weight:
                tf = counts[:, terms.index(term)]
                expected += weight * tf / (tf + norm)
        assert np.array_equal(sentence_bm25(index, positions, query), expected)


def test_postings_give_back_the_tokens_they_counted() -> None:
    texts = [["北约", "停火", "北约", "#北约"], [], ["3.5", "停火"]]
    postings = Postings.build(texts)
    again = postings.token_lists()
    assert [sorted(t) for t in again] == [sorted(t) for t in texts]
    assert Postings.build(again).lengths.tolist() == postings.lengths.tolist()


class _Sizes:
    """What a corpus's BM25 measure reads of a segment: its size and its rows' lengths."""

    def __init__(self, n: int) -> None:
        self.size = n
        self.lengths = np.ones(n, dtype=np.float32)


def test_bm25_corpora_are_looked_up_safely_from_many_threads() -> None:
    """Request threads look up an index's BM25 corpus while others add one (a swapped-in index): a lookup that
    iterated the shared dict as it grew was a 500 (`dictionary changed size during iteration`) on /search."""
    pools = [[_Sizes(3 + i) for i in range(k)] for k in range(1, 9)]
    errors: list[Exception] = []

    def work(t: int) -> None:
        try:
            for i in range(3000):
                segments = pools[(i + t) % len(pools)]
                corpus = _corpus(segments if i % 3 else [*segments, _Sizes(2)], 1.2, 0.75)  # type: ignore[arg-type]
                assert corpus.n > 0
        except Exception as exc:  # any failure in a thread is the test's failure
            errors.append(exc)

    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads interleave as often as they can
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switching)
    assert errors == []

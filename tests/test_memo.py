"""The bounded memo behind the hot paths' caches (qa/memo.py)."""

from __future__ import annotations

from qa.memo import Memo


def test_a_memo_computes_each_key_once_and_forgets_all_when_full() -> None:
    calls: list[int] = []

    def square(k: int) -> int:
        calls.append(k)
        return k * k

    memo: Memo[int, int] = Memo(3)
    assert [memo.get_or(k, square) for k in (1, 2, 1, 2)] == [1, 4, 1, 4]
    assert calls == [1, 2]
    memo.get_or(3, square)
    assert len(memo) == 3
    assert memo.get_or(4, square) == 16 and dict(memo) == {4: 16}  # full: cleared before the new answer is kept
    assert memo.get_or(0, square) == 0 and memo.get_or(0, square) == 0 and calls == [1, 2, 3, 4, 0]  # 0 is kept

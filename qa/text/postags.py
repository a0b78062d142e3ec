"""jieba's part-of-speech cut with its HMM (the Viterbi search that tags words its dictionary lacks) computed on
arrays: the same words and tags as `jieba.posseg.cut`, faster.

jieba's Viterbi is pure Python over every pair of a character's possible states and the previous one's (up to
256 x 256): ~0.5 ms of a one-article question went to tagging its names. Here each step is one array expression.
It adds the same numbers in the same order (V + transition + emission, in float64) and breaks ties as jieba's
`max` over `(probability, state)` tuples does (the greater state wins), so every path, word and tag is jieba's.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import jieba
import jieba.posseg as pseg
import numpy as np
from jieba.posseg.viterbi import MIN_FLOAT, MIN_INF

State = tuple[str, str]
# Characters whose emission column is kept (2 KB each; the HMM knows about 6,800 characters).
_EMISSIONS_KEPT = 8_000


class _Model:
    """jieba's HMM tables as arrays, states numbered in sorted order (a greater number is a greater state)."""

    def __init__(self) -> None:
        trans: dict[State, dict[State, float]] = pseg.trans_P
        self.states: list[State] = sorted(trans)
        number = {s: k for k, s in enumerate(self.states)}
        n = len(self.states)
        self.trans = np.full((n, n), MIN_INF, dtype=np.float64)
        self.follows = np.zeros((n, n), dtype=bool)
        for s, nexts in trans.items():
            for t, p in nexts.items():
                self.trans[number[s], number[t]] = p
                self.follows[number[s], number[t]] = True
        self.leads = self.follows.any(axis=1)  # states with a transition out
        self.start = np.array([pseg.start_P[s] for s in self.states], dtype=np.float64)
        self.char_states: dict[str, np.ndarray] = {}
        for c, states in pseg.char_state_tab_P.items():
            self.char_states[c] = np.zeros(n, dtype=bool)
            self.char_states[c][[number[s] for s in states]] = True
        self._emit: dict[str, np.ndarray] = {}
        # Each character's states that emit it and their log probabilities (jieba keeps them by state): a column is
        # made from these in a few microseconds, not by asking all 256 states (~0.14 ms, for each character not seen
        # before: names' rare ones, ~0.09 ms a question on one article).
        emitting: dict[str, tuple[list[int], list[float]]] = {}
        for state, probabilities in pseg.emit_P.items():
            for char, p in probabilities.items():
                states, logs = emitting.setdefault(char, ([], []))
                states.append(number[state])
                logs.append(p)
        self._emitting = {
            c: (np.array(s, dtype=np.intp), np.array(p, dtype=np.float64)) for c, (s, p) in emitting.items()
        }
        self.every = np.ones(n, dtype=bool)

    def emission(self, char: str) -> np.ndarray:
        """Each state's log probability of emitting the character (MIN_FLOAT when it never does)."""
        found = self._emit.get(char)
        if found is None:
            found = np.full(len(self.states), MIN_FLOAT, dtype=np.float64)
            emitting = self._emitting.get(char)
            if emitting is not None:
                found[emitting[0]] = emitting[1]
            if len(self._emit) < _EMISSIONS_KEPT:
                self._emit[char] = found
        return found


@cache
def _model() -> _Model:
    return _Model()


def viterbi(obs: str) -> list[State]:
    """The most likely state of each character of a run of Chinese characters: jieba.posseg.viterbi's route."""
    m = _model()
    alive: np.ndarray = m.char_states.get(obs[0], m.every)
    value = np.full(len(m.states), MIN_INF)
    value[alive] = m.start[alive] + m.emission(obs[0])[alive]
    back: list[tuple[np.ndarray, np.ndarray]] = []  # per step: the states reached, and the best state before each
    for char in obs[1:]:
        prev = np.flatnonzero(alive & m.leads)
        expected = np.asarray(m.follows[prev].any(axis=0))
        here: np.ndarray = m.char_states.get(char, m.every) & expected
        if not here.any():
            here = expected if expected.any() else m.every
        if not prev.size:
            raise ValueError("no state leads on")  # where jieba's max() of nothing raises
        cols = np.flatnonzero(here)
        total = value[prev][:, None] + m.trans[prev][:, cols] + m.emission(char)[cols][None, :]
        # The best previous state for each; of equals, the greatest (the last row holding the column's maximum).
        best_rows = total.shape[0] - 1 - np.argmax(total[::-1], axis=0)
        value = np.full(len(m.states), MIN_INF)
        value[cols] = total[best_rows, np.arange(cols.size)]
        back.append((cols, prev[best_rows]))
        alive = here
    final = np.flatnonzero(alive)
    scores = value[final]
    state = int(final[len(final) - 1 - int(np.argmax(scores[::-1]))])
    route = [state]
    for cols, before in reversed(back):
        state = int(before[np.searchsorted(cols, state)])
        route.append(state)
    return [m.states[s] for s in reversed(route)]


class _Tagger(pseg.POSTokenizer):  # type: ignore[misc]
    """jieba's POSTokenizer (sharing the default one's dictionary and tags) with the array Viterbi."""

    def __init__(self, base: pseg.POSTokenizer) -> None:
        self.tokenizer = base.tokenizer
        self.word_tag_tab = base.word_tag_tab

    def _POSTokenizer__cut(self, sentence: str) -> Iterator[pseg.pair]:
        """jieba's own __cut over the route viterbi() finds."""
        pos_list = viterbi(sentence)
        begin, nexti = 0, 0
        for i, char in enumerate(sentence):
            pos = pos_list[i][0]
            if pos == "B":
                begin = i
            elif pos == "E":
                yield pseg.pair(sentence[begin : i + 1], pos_list[i][1])
                nexti = i + 1
            elif pos == "S":
                yield pseg.pair(char, pos_list[i][1])
                nexti = i + 1
        if nexti < len(sentence):
            yield pseg.pair(sentence[nexti:], pos_list[nexti][1])


@cache
def _tagger() -> _Tagger:
    jieba.initialize()
    return _Tagger(pseg.dt)


def pos_cut(text: str) -> list[tuple[str, str]]:
    """The words of a text with their part-of-speech tags: what `jieba.posseg.lcut(text)` gives, as tuples."""
    return [(p.word, p.flag) for p in _tagger().cut(text)]


def dictionary_tag(word: str) -> str | None:
    """The part-of-speech tag jieba's dictionary gives a word (`q` for a measure word: 毫米), or None."""
    tag: str | None = _tagger().word_tag_tab.get(word)
    return tag

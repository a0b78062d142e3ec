"""The part-of-speech cut with the HMM on arrays (qa/text/postags.py) gives jieba's own route, words and tags."""

from __future__ import annotations

import random
import re

import jieba.posseg as pseg
from jieba.posseg.viterbi import viterbi as jieba_viterbi

from qa.indexing.index import Index
from qa.text.folding import fold
from qa.text.postags import dictionary_tag, pos_cut, viterbi


def _jieba_route(run: str) -> list[tuple[str, str]]:
    route: list[tuple[str, str]] = jieba_viterbi(run, pseg.char_state_tab_P, pseg.start_P, pseg.trans_P, pseg.emit_P)[1]
    return route


def test_the_array_viterbi_finds_jiebas_route_for_random_runs() -> None:
    """Runs of characters the HMM knows, with now and then one it does not (every state is then possible)."""
    rng = random.Random(0)
    known = sorted(pseg.char_state_tab_P)
    for _ in range(400):
        length = rng.randint(1, 9)
        run = "".join(rng.choice(known) if rng.random() < 0.95 else rng.choice("龘齉㐀丨") for _ in range(length))
        assert viterbi(run) == _jieba_route(run), run


def test_the_array_viterbi_finds_jiebas_route_for_the_articles_runs(index: Index) -> None:
    for sentence in index.sentences:
        for run in re.findall("[\u4e00-\u9fff]+", fold(sentence.text))[:3]:
            assert viterbi(run[:12]) == _jieba_route(run[:12]), run


def test_pos_cut_gives_jiebas_words_and_tags(index: Index) -> None:
    texts = [s.text for s in index.sentences] + [fold(s.text) for s in index.sentences]
    texts += ["", "莫迪和澤連斯基在2025年見面", "abc 123 中文", "梅德韦杰夫说", "龘齉"]
    for text in texts:
        assert pos_cut(text) == [(p.word, p.flag) for p in pseg.lcut(text)], text


def test_dictionary_tags_are_jiebas() -> None:
    for word in ("毫米", "英亩", "公里", "年间", "艘拖"):
        assert dictionary_tag(word) == pseg.dt.word_tag_tab.get(word)
    assert dictionary_tag("毫米") == "q" and dictionary_tag("艘拖") is None

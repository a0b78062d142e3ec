"""Names stored with the index (qa/text/names.py): a stored line reads back as the names it was made from."""

from __future__ import annotations

import jieba
import jieba.posseg as pseg

from qa.indexing.index import Index
from qa.text.folding import fold
from qa.text.names import NAME_TAGS, decode, encode, names


def test_names_read_back_from_their_stored_line(index: Index) -> None:
    texts = [fold(s.text) for s in index.sentences]
    texts += ["", "特朗普和普京在阿拉斯加会面", "北约秘书长吕特说", "联合国安理会", "abc 123", "美国 中国"]
    found = [names(t) for t in texts]
    assert any(any(n.values()) for n in found)  # the article names people and places
    for n in found:
        assert set(n) == set(NAME_TAGS)
        line = encode(n)
        assert "\n" not in line and decode(line) == n


def _names_kind_by_kind(folded: str) -> dict[str, frozenset[str]]:
    """names() as it was first written: each word's tag tried against every kind."""
    out: dict[str, set[str]] = {kind: set() for kind in NAME_TAGS}
    for word in jieba.lcut(folded, HMM=False):
        tag = pseg.dt.word_tag_tab.get(word)
        for kind, wanted in NAME_TAGS.items():
            if tag in wanted and len(word) > 1:
                out[kind].add(word)
    return {k: frozenset(v) for k, v in out.items()}


def test_names_are_those_found_by_trying_every_kind(index: Index) -> None:
    texts = [fold(s.text) for s in index.sentences] + ["", "x", "特朗普", "特", "北京和上海的联合国代表"]
    assert all(
        tags.isdisjoint(other) for kind, tags in NAME_TAGS.items() for k, other in NAME_TAGS.items() if k != kind
    )
    for text in texts:
        assert names(text) == _names_kind_by_kind(text), text

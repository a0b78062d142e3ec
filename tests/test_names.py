"""Names stored with the index (qa/text/names.py): a stored line reads back as the names it was made from."""

from __future__ import annotations

from qa.indexing.store import Index
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

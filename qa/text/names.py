"""The names a folded text holds, by kind (person, place, organisation): the words of jieba's cut (no HMM) that its
dictionary tags as such names. Found for every sentence when its segment is built (qa/indexing/sentences.py) and
stored as one line of text, so a question never cuts a sentence for them (~0.1 ms a sentence, ~40 new sentences a
question at 10,000 articles)."""

from __future__ import annotations

from functools import cache

import jieba
import jieba.posseg as pseg

# jieba's dictionary tags of each kind of name; the order is the order of a stored line's fields.
NAME_TAGS: dict[str, frozenset[str]] = {
    "person": frozenset({"nr", "nrfg", "nrt"}),
    "place": frozenset({"ns"}),
    "organisation": frozenset({"nt"}),
}
Names = dict[str, frozenset[str]]
_KIND_OF_TAG = {tag: kind for kind, tags in NAME_TAGS.items() for tag in tags}


@cache
def _tag_table() -> dict[str, str]:
    table: dict[str, str] = pseg.dt.word_tag_tab
    return table


def dictionary_tag(word: str) -> str | None:
    """jieba's dictionary tag of a (folded) word, or None for a word its dictionary lacks."""
    return _tag_table().get(word)


def names(folded: str) -> Names:
    """Dictionary words of a folded text by the kind of name they are (jieba's dictionary tags: no HMM, fast)."""
    tags = _tag_table()
    out: dict[str, set[str]] = {kind: set() for kind in NAME_TAGS}
    for word in jieba.lcut(folded, HMM=False):
        kind = _KIND_OF_TAG.get(tags.get(word, ""))  # the kinds' tags are disjoint: a word is one kind or none
        if kind is not None and len(word) > 1:
            out[kind].add(word)
    return {k: frozenset(v) for k, v in out.items()}


def encode(found: Names) -> str:
    """One line for names(): each kind's words, sorted and joined by spaces, the kinds joined by tabs; empty when
    there are none (no dictionary word holds a blank)."""
    fields = [" ".join(sorted(found[kind])) for kind in NAME_TAGS]
    return "\t".join(fields) if any(fields) else ""


def decode(line: str) -> Names:
    """names() from its encoded line."""
    if not line:
        return {kind: frozenset() for kind in NAME_TAGS}
    fields = line.split("\t")
    return {kind: frozenset(f.split(" ")) if f else frozenset() for kind, f in zip(NAME_TAGS, fields, strict=True)}

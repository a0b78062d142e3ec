"""The index being served, in memory: a view over its segments (chunks, sentences, lookups, the merged lexicon, term
statistics), computed when first used and carried over when the index grows by a segment."""

from __future__ import annotations

import bisect
import itertools
from collections import ChainMap
from collections.abc import Collection, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from qa.indexing.frequencies import TermTable, term_table
from qa.indexing.postings import Postings
from qa.indexing.segments import Segment
from qa.memo import Memo
from qa.text.folding import fold
from qa.text.lexicon import name_glosses, proper_names
from qa.text.names import Names
from qa.text.pinyin_names import Pair, spellings
from qa.types import Chunk, Document, Sentence

# Most terms whose document frequency an index remembers (a plain bound: emptied when full).
_TERM_DFS_KEPT = 200_000
# Names spelt in pinyin whose corpus spellings are kept (Index.spellings).
_SPELLINGS_KEPT = 4_096
# Layers of added sentences' positions kept over the built index's before they are folded into one (never into the
# built index's own: copying a million positions took half a second an addition at 10,000 articles).
_MOST_LAYERS = 8


def _dict_of(mapping: Mapping[str, int]) -> MutableMapping[str, int]:
    """The mapping itself when it is a dict (the positions an index computes are), else a copy."""
    return mapping if isinstance(mapping, dict) else dict(mapping)


def _layered(base: Mapping[str, int], top: dict[str, int]) -> Mapping[str, int]:
    """base with top's entries over it, base not copied. The small layers of additions are folded into one when they
    pile up; the bottom layer (the built index's) is never copied."""
    maps: list[MutableMapping[str, int]] = list(base.maps) if isinstance(base, ChainMap) else [_dict_of(base)]
    bottom, small = maps[-1], maps[:-1]
    if len(small) >= _MOST_LAYERS:
        folded: dict[str, int] = {}
        for layer in reversed(small):
            folded.update(layer)
        small = [folded]
    return ChainMap(top, *small, bottom)


@dataclass(frozen=True)
class Index:
    """Everything retrieval needs, in memory: the segments, and the documents removed from them since (as
    `segment/document` keys: a replaced document is removed from its old segment and present in a new one).

    The views over all segments (chunks, sentences, lookups, the merged lexicon) are computed when first used, and
    an index grown by one segment takes them from the index it grew from (see `grown`): adding a document to a large
    archive never recomputes them from scratch."""

    manifest: dict[str, Any]
    segments: tuple[Segment, ...]
    removed: frozenset[str] = frozenset()

    @cached_property
    def chunks(self) -> list[Chunk]:
        """Every chunk row, in segment order (rows of removed documents included: see live)."""
        return [c for s in self.segments for c in s.chunks]

    @cached_property
    def live(self) -> np.ndarray:
        """True for the chunk rows whose document is still in the index."""
        gone = self.removed
        return np.asarray([f"{s.id}/{c.doc}" not in gone for s in self.segments for c in s.chunks], dtype=bool)

    @cached_property
    def sentences(self) -> list[Sentence]:
        """Every sentence, in chunk order."""
        return [t for c in self.chunks for t in c.sentences]

    @cached_property
    def sentence_position(self) -> Mapping[str, int]:
        """A sentence's position in `sentences`, by id."""
        return {t.id: i for i, t in enumerate(self.sentences)}

    @cached_property
    def sentence_starts(self) -> list[int]:
        """Where each segment's sentences start in `sentences` (and, last, how many there are)."""
        return list(itertools.accumulate((len(s.sentences) for s in self.segments), initial=0))

    def folded(self, i: int) -> str:
        """The folded text of the sentence at position i of `sentences` (folded when its segment was built)."""
        k = bisect.bisect_right(self.sentence_starts, i) - 1
        return self.segments[k].sentences.folded(i - self.sentence_starts[k])

    def names(self, i: int) -> Names:
        """The names (people, places, organisations) the sentence at position i of `sentences` holds, found when its
        segment was built (qa.text.names.names of its folded text)."""
        k = bisect.bisect_right(self.sentence_starts, i) - 1
        return self.segments[k].sentences.names_of(i - self.sentence_starts[k])

    def folded_run(self, start: int, end: int) -> list[str]:
        """The folded texts of the sentences at positions start..end-1 of `sentences` (what folded() gives for each,
        read a segment's run at a time)."""
        out: list[str] = []
        starts = self.sentence_starts
        while start < end:
            k = bisect.bisect_right(starts, start) - 1
            stop = min(end, starts[k + 1])
            out += self.segments[k].sentences.folded_run(start - starts[k], stop - starts[k])
            start = stop
        return out

    def sentence_counts(self, positions: Sequence[int], terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """How often each BM25 token occurs in each sentence (by position in `sentences`), as a positions x terms
        matrix, and each sentence's number of tokens (counted when its segment was built)."""
        at = np.asarray(positions, dtype=np.int64)
        counts = np.zeros((at.size, len(terms)), dtype=np.float32)
        lengths = np.zeros(at.size, dtype=np.float32)
        owner = np.searchsorted(self.sentence_starts, at, side="right") - 1
        for k in np.unique(owner).tolist():
            mine = owner == k
            segment = self.segments[k]
            ids = [segment.postings.vocab.get(t, -1) for t in terms]
            counts[mine], lengths[mine] = segment.sentences.counts(at[mine] - self.sentence_starts[k], ids)
        return counts, lengths

    @cached_property
    def chunk_by_id(self) -> dict[str, Chunk]:
        """The live chunks by id."""
        return {c.id: c for c, alive in zip(self.chunks, self.live, strict=True) if alive}

    @cached_property
    def doc_rows(self) -> dict[str, np.ndarray]:
        """The live chunk rows (positions in `chunks`) of each document: a search kept to a few documents marks
        their rows without walking every chunk (at 10,000 articles that walk took ~55 ms a question)."""
        rows: dict[str, list[int]] = {}
        for i, (chunk, alive) in enumerate(zip(self.chunks, self.live, strict=True)):
            if alive:
                rows.setdefault(chunk.doc, []).append(i)
        return {doc: np.asarray(found, dtype=np.int64) for doc, found in rows.items()}

    @cached_property
    def sentence_live(self) -> np.ndarray:
        """True for the sentences (by position in `sentences`) of the chunk rows still in the index."""
        return np.repeat(self.live, [len(c.sentences) for c in self.chunks])

    @cached_property
    def document_names(self) -> dict[str, str]:
        """Each document's id and title, folded (any script, any case), to find documents by name."""
        return {d.id: fold(f"{d.id}\n{d.title or ''}") for d in self.documents.values()}

    @cached_property
    def documents(self) -> dict[str, Document]:
        """The documents served, by id."""
        gone = self.removed
        return {d.id: d for s in self.segments for d in s.documents.values() if f"{s.id}/{d.id}" not in gone}

    @cached_property
    def lexicon(self) -> dict[str, list[str]]:
        """English stems and phrases -> Chinese corpus terms, over all segments."""
        merged: dict[str, set[str]] = {}
        for segment in self.segments:
            for key, words in segment.lexicon.items():
                merged.setdefault(key, set()).update(words)
        return {k: sorted(v) for k, v in merged.items()}

    @cached_property
    def postings(self) -> tuple[Postings, ...]:
        """Each segment's BM25 postings, in order."""
        return tuple(s.postings for s in self.segments)

    @cached_property
    def withheld(self) -> frozenset[str]:
        """Sentences that address an AI system (found when each segment was built)."""
        return frozenset().union(*(s.withheld for s in self.segments))

    @classmethod
    def grown(cls, previous: Index, manifest: dict[str, Any], segment: Segment, removed: frozenset[str]) -> Index:
        """The index with one more segment, its views extended from those previous has computed (copies of
        references, not recomputation)."""
        index = cls(manifest, (*previous.segments, segment), removed)
        held, fresh = previous.__dict__, index.__dict__
        newly_gone = removed - previous.removed
        if "chunks" in held:
            fresh["chunks"] = [*previous.chunks, *segment.chunks]
        if "sentences" in held:
            fresh["sentences"] = [*previous.sentences, *(t for c in segment.chunks for t in c.sentences)]
        if "sentence_position" in held and "sentences" in fresh:
            start = len(previous.sentences)
            added = {t.id: start + k for k, t in enumerate(fresh["sentences"][start:])}
            fresh["sentence_position"] = _layered(previous.sentence_position, added)
        if "lexicon" in held:
            lexicon = dict(previous.lexicon)
            for key, words in segment.lexicon.items():
                lexicon[key] = sorted(set(lexicon.get(key, ())) | set(words))
            fresh["lexicon"] = lexicon
        if "withheld" in held:
            fresh["withheld"] = previous.withheld | segment.withheld
        if not newly_gone:  # replacing a document takes its old rows out: those views are recomputed
            if "live" in held:
                fresh["live"] = np.concatenate([previous.live, np.ones(len(segment.chunks), dtype=bool)])
            if "chunk_by_id" in held:
                fresh["chunk_by_id"] = {**previous.chunk_by_id, **{c.id: c for c in segment.chunks}}
            if "doc_rows" in held:
                grown: dict[str, list[int]] = {}
                for k, c in enumerate(segment.chunks, start=len(previous.chunks)):
                    grown.setdefault(c.doc, []).append(k)
                fresh["doc_rows"] = previous.doc_rows | {
                    doc: np.concatenate([previous.doc_rows.get(doc, np.zeros(0, dtype=np.int64)), found])
                    for doc, found in grown.items()
                }
            if "documents" in held:
                fresh["documents"] = {**previous.documents, **segment.documents}
        return index

    @cached_property
    def corpus_coverage(self) -> float:
        """Share of the corpus's word pieces the embedding model knows (weighted by each segment's live chunks)."""
        return live_coverage(self.segments, self.removed)

    @property
    def chars(self) -> int:
        """Characters of text in the segments (removed documents included until merged)."""
        return sum(s.chars for s in self.segments)

    def term_df(self, term: str) -> int:
        """In how many chunks a BM25 token (a folded word, `#` + a character pair, an English stem) occurs: from the
        large segments' table, plus each small segment's own count."""
        return self._term_dfs.get_or(term, self._count_term)

    def together(self, terms: Sequence[str]) -> bool:
        """Whether one chunk of a live document holds every one of these BM25 tokens (none holds an empty list)."""
        offset = 0
        for postings in self.postings:
            rows: np.ndarray | None = None
            for term in terms:
                found = postings.column(term)[0]
                rows = found if rows is None else np.intersect1d(rows, found, assume_unique=True)
                if not rows.size:
                    break
            if rows is not None and rows.size and self.live[offset + rows].any():
                return True
            offset += postings.size
        return False

    def spellings(self, words: Sequence[str]) -> tuple[str, ...]:
        """The corpus's spellings of a Chinese name written in pinyin (qa.text.pinyin_names), kept: the search, the
        topic words and the unknown-name check each ask of a question's names."""
        return self._spellings.get_or(
            tuple(words), lambda key: spellings(key, self.holds_pairs, self.pair_chars, self._pair)
        )

    @cached_property
    def _pair(self) -> Pair:
        return Pair(lambda pair: self.term_df("#" + pair), name_glosses(), proper_names())

    @cached_property
    def _spellings(self) -> Memo[tuple[str, ...], tuple[str, ...]]:
        return Memo(_SPELLINGS_KEPT)

    @cached_property
    def pair_chars(self) -> frozenset[str]:
        """A superset of the characters of the character pairs some chunk holds (any segment's, removed or not)."""
        return frozenset().union(*(s.pair_chars for s in self.segments))

    def holds_pairs(self, pairs: Sequence[str]) -> np.ndarray:
        """Whether some chunk holds each pair of (folded) characters, asked all at once and not remembered (a name
        spelt in pinyin asks of thousands of pairs, once: qa.text.pinyin_names)."""
        terms = ["#" + pair for pair in pairs]
        found = self._term_table.holds(terms)
        for postings in self._small_postings:
            found |= np.fromiter((t in postings.vocab for t in terms), dtype=bool, count=len(terms))
        return found

    def _count_term(self, term: str) -> int:
        return self._term_table.get(term) + sum(p.df(term) for p in self._small_postings)

    @cached_property
    def _term_dfs(self) -> Memo[str, int]:
        """term_df's answers so far (a question asks of the same terms several times, and questions of common ones)."""
        return Memo(_TERM_DFS_KEPT)

    def warm(self) -> None:
        """Make now what the first question would otherwise wait for: the large segments' term table (about a
        second at 10,000 articles)."""
        self.term_df("")

    @cached_property
    def _term_table(self) -> TermTable:
        return term_table(self.segments)

    @cached_property
    def _small_postings(self) -> tuple[Postings, ...]:
        covered = set(self._term_table.ids)
        return tuple(s.postings for s in self.segments if s.id not in covered)

    @property
    def generation(self) -> int:
        """Counts every change written to the index folder; workers reload when it moves."""
        return int(self.manifest.get("generation", 0))

    def counts(self) -> dict[str, int]:
        """Documents, chunks and sentences served (from each segment's per-document sizes: no walk over every chunk,
        which cost 0.15 s a written manifest at 10,000 articles)."""
        gone = self.removed
        served = [n for s in self.segments for d, n in s.sizes.items() if f"{s.id}/{d}" not in gone]
        return {
            "documents": len(self.documents),
            "chunks": sum(chunks for chunks, _ in served),
            "sentences": sum(sentences for _, sentences in served),
            "segments": len(self.segments),
        }


def live_coverage(segments: Sequence[Segment], removed: Collection[str]) -> float:
    """The segments' coverage weighted by their chunks that are served: a removed document's chunks are not the
    corpus's (a removed English article kept an archive's coverage, and so the dense side's weight, high)."""
    served = [sum(n for d, (n, _) in s.sizes.items() if f"{s.id}/{d}" not in removed) for s in segments]
    total = sum(served)
    return sum(s.coverage * n for s, n in zip(segments, served, strict=True)) / total if total else 0.0

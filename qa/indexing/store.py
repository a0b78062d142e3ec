"""The index on disk: segments under `segments/`, and a manifest that names them, written last and atomically.

A reader that loads the manifest sees whole segments only: adding a document writes its segment first, then
replaces the manifest with one that names it (one rename), so a query never sees half a document. Every file of a
segment is listed with its checksum in the segment's manifest, whose own checksum the index manifest records.
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import hashlib
import itertools
import json
import logging
import os
import shutil
import tempfile
import time
from collections import ChainMap
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import IO, Any

import numpy as np

from qa.errors import IndexUnusable, IndexWriteError, ReindexBusy
from qa.indexing.durable import mode_for, remove_tree, sync_dir, sync_file, write_atomic
from qa.indexing.frequencies import LARGE_SEGMENT_CHARS, TermTable, term_table
from qa.indexing.postings import Postings
from qa.indexing.segment_files import load_segment, save_segment, verify_segment
from qa.indexing.segments import Segment, merge_segments
from qa.memo import Memo
from qa.text.folding import fold
from qa.text.names import Names
from qa.text.pinyin_names import spellings
from qa.types import Chunk, Document, Sentence

FORMAT_VERSION = 4
MANIFEST = "manifest.json"
SEGMENTS = "segments"
log = logging.getLogger(__name__)


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
        return self._spellings.get_or(tuple(words), lambda key: spellings(key, self.holds_pairs, self.pair_chars))

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


def new_manifest(base: dict[str, Any], segments: list[tuple[Segment, str]], removed: frozenset[str]) -> dict[str, Any]:
    """The index manifest over segments (each with its manifest's sha256), keeping base's other entries."""
    return manifest_of(base, [{**s.describe(), "sha256": d} for s, d in segments], removed, segments)


def manifest_of(
    base: dict[str, Any],
    entries: list[dict[str, Any]],
    removed: frozenset[str] = frozenset(),
    segments: list[tuple[Segment, str]] | None = None,
) -> dict[str, Any]:
    """The manifest from segment entries (what describe() gives, plus sha256); counts from the segments when held."""
    if segments is not None:
        counts = Index(base, tuple(s for s, _ in segments), removed).counts()
    else:
        counts = {k: sum(e.get(k, 0) for e in entries) for k in ("documents", "chunks", "sentences")}
        counts["segments"] = len(entries)
    if segments is not None:
        coverage = live_coverage([s for s, _ in segments], removed)
    else:
        total = sum(e["chunks"] for e in entries)
        coverage = sum(e["coverage"] * e["chunks"] for e in entries) / total if total else 0.0
    return {
        **base,
        "format_version": FORMAT_VERSION,
        "generation": int(base.get("generation", 0)) + 1,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "segments": entries,
        "removed": sorted(removed),
        "counts": counts,
        "embedding": {**base.get("embedding", {}), "corpus_coverage": round(coverage, 4)},
    }


def write_streamed(base: dict[str, Any], segments: Iterable[Segment], index_dir: Path) -> dict[str, Any]:
    """Write segments as they come (each built, written and let go: the build never holds the whole corpus), then
    the manifest, into a new folder swapped in for index_dir. Returns the manifest."""
    entries: list[dict[str, Any]] = []

    def fill(tmp: Path) -> dict[str, Any]:
        for segment in segments:
            digest = save_segment(segment, tmp / SEGMENTS / segment.id)
            entries.append({**segment.describe(), "sha256": digest, **_counts(segment)})
        manifest = manifest_of(base, entries)
        _write_json(tmp / MANIFEST, manifest)
        return manifest

    return _swap_in(index_dir, fill)


def _counts(segment: Segment) -> dict[str, int]:
    return {"documents": len(segment.documents), "sentences": sum(len(c.sentences) for c in segment.chunks)}


def save(index: Index, index_dir: Path) -> Index:
    """Write a whole index to a temporary folder beside index_dir, then swap it in by rename. IndexWriteError
    when the disk refuses (full, read-only, no permission): the index already there is left as it was."""

    def fill(tmp: Path) -> dict[str, Any]:
        written = [(s, save_segment(s, tmp / SEGMENTS / s.id)) for s in index.segments]
        manifest = new_manifest(index.manifest, written, index.removed)
        _write_json(tmp / MANIFEST, manifest)
        return manifest

    return Index(_swap_in(index_dir, fill), index.segments, index.removed)


def _swap_in(index_dir: Path, fill: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Fill a temporary folder beside index_dir, then swap it in by rename (the old one back on failure)."""
    index_dir = index_dir.resolve()
    try:
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        mode = mode_for(index_dir, folder=True)  # given to the new folder once it is filled
        tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
    except OSError as exc:
        raise _write_error(exc, index_dir) from exc
    try:
        manifest = fill(tmp)
        sync_file(tmp / MANIFEST)  # its segments were synced as they were written
        os.chmod(tmp, mode)
        sync_dir(tmp)
        old = index_dir.with_name(f".{index_dir.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        moved = index_dir.exists()
        if moved:
            index_dir.rename(old)
        try:
            tmp.rename(index_dir)
        except OSError:
            if moved:  # put the previous index back: a restart must still find one
                old.rename(index_dir)
            raise
        sync_dir(index_dir.parent)
        remove_tree(old)
    except OSError as exc:
        raise _write_error(exc, index_dir) from exc
    finally:
        remove_tree(tmp)
    return manifest


def append(
    index: Index, index_dir: Path, segment: Segment, *, sources: dict[str, str], replacing: Collection[str] = ()
) -> Index:
    """Add a segment to the index on disk and in memory: the segment's folder first, then the manifest (which
    also takes out the older copies of the documents being replaced, in the same write)."""
    folder = index_dir / SEGMENTS / segment.id
    removed = index.removed
    for doc_id in replacing:
        removed = removal(Index(index.manifest, index.segments, removed), doc_id)
    try:
        digest = save_segment(segment, folder)
        written = [*_digests(index), (segment, digest)]
        manifest = new_manifest({**index.manifest, "sources": sources}, written, removed)
        _replace_manifest(index_dir, manifest)
    except OSError as exc:
        remove_tree(folder)
        raise _write_error(exc, index_dir) from exc
    return Index.grown(index, manifest, segment, removed)


def removal(index: Index, doc_id: str) -> frozenset[str]:
    """The removed keys after taking a document out (its rows stay in their segment, unseen, until a merge)."""
    return index.removed | {f"{s.id}/{doc_id}" for s in index.segments if doc_id in s.documents}


def remove(index: Index, index_dir: Path, doc_id: str, *, sources: dict[str, str]) -> Index:
    """Take a document out of the index on disk and in memory."""
    removed = removal(index, doc_id)
    manifest = new_manifest({**index.manifest, "sources": sources}, _digests(index), removed)
    try:
        _replace_manifest(index_dir, manifest)
    except OSError as exc:
        raise _write_error(exc, index_dir) from exc
    return Index(manifest, index.segments, removed)


def merge_small(
    index: Index, index_dir: Path, *, max_segments: int, segment_id: str, small_chars: int = LARGE_SEGMENT_CHARS
) -> Index:
    """The periodic merge: past max_segments small segments (documents added one by one), fold them into one,
    dropping the rows of removed documents they hold, so that a query never fans out over many tiny segments. The
    large segments a build wrote are left as they are: a merge costs what the small segments hold, never a rewrite
    of the archive."""
    small = [s for s in index.segments if s.chars < small_chars]
    if len(small) <= max_segments:
        return index
    fold = small
    keep = [s for s in index.segments if s not in fold]
    merged = merge_segments(segment_id, fold, index.removed)
    kept_ids = {s.id for s in keep}
    still_removed = frozenset(key for key in index.removed if key.split("/", 1)[0] in kept_ids)
    written = [(s, d) for s, d in _digests(index) if s in keep]
    try:
        written.append((merged, save_segment(merged, index_dir / SEGMENTS / merged.id)))
        manifest = new_manifest(index.manifest, written, still_removed)
        _replace_manifest(index_dir, manifest)
    except OSError as exc:  # a full disk: the folded segments stay; no half-written merged one is left behind
        remove_tree(index_dir / SEGMENTS / merged.id)
        raise _write_error(exc, index_dir) from exc
    for segment in fold:
        remove_tree(index_dir / SEGMENTS / segment.id)
    return Index(manifest, tuple(s for s, _ in written), still_removed)


def _digests(index: Index) -> list[tuple[Segment, str]]:
    by_id = {entry["id"]: entry["sha256"] for entry in index.manifest.get("segments", [])}
    return [(s, by_id[s.id]) for s in index.segments]


def _replace_manifest(index_dir: Path, manifest: dict[str, Any]) -> None:
    write_atomic(index_dir / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The manifest of an index folder, or IndexUnusable saying why it cannot be read."""
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexUnusable(f"no index at {index_dir} ({MANIFEST} missing)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexUnusable(f"{path} is unreadable: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexUnusable(f"{path}: index format is not version {FORMAT_VERSION}")
    return manifest


def verify_files(index_dir: Path) -> dict[str, Any]:
    """The manifest, once every segment it names, and every file of each, is there with the checksum recorded;
    IndexUnusable otherwise."""
    manifest = read_manifest(index_dir)
    segments = manifest.get("segments")
    if not isinstance(segments, list) or not segments:
        raise IndexUnusable(f"{index_dir / MANIFEST} names no segments")
    for entry in segments:
        verify_segment(index_dir / SEGMENTS / entry["id"], entry["sha256"])
    return manifest


def load(index_dir: Path) -> Index:
    """Load an index folder, checking every segment (and every file of each) against the manifests first."""
    manifest = read_manifest(index_dir)
    entries = manifest.get("segments")
    if not isinstance(entries, list) or not entries:
        raise IndexUnusable(f"{index_dir / MANIFEST} names no segments")
    segments = tuple(load_segment(index_dir / SEGMENTS / e["id"], e["sha256"]) for e in entries)
    return Index(manifest, segments, frozenset(manifest.get("removed", [])))


def refresh(index: Index, index_dir: Path) -> Index:
    """The index as its folder now holds it (another process changed it), loading only the segments not held
    already: a worker catches up with an added document in the time it takes to read that document's segment."""
    manifest = read_manifest(index_dir)
    if manifest == index.manifest:
        return index
    held = {s.id: s for s in index.segments}
    digests = {e["id"]: e["sha256"] for e in index.manifest.get("segments", [])}
    segments = tuple(
        held[e["id"]]
        if digests.get(e["id"]) == e["sha256"]
        else load_segment(index_dir / SEGMENTS / e["id"], e["sha256"])
        for e in manifest["segments"]
    )
    return Index(manifest, segments, frozenset(manifest.get("removed", [])))


@contextmanager
def write_lock(index_dir: Path, *, wait: float | None = None) -> Iterator[None]:
    """Hold the index folder's write lock (an flock, across processes): one writer at a time, so that two workers
    adding documents never write manifests from stale copies. With `wait`, ReindexBusy once that many seconds pass
    without it (another process rebuilding): a request is answered busy rather than held past its timeout."""
    try:  # a read-only folder: nothing can be written, which the caller is told as such (not an OSError)
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir.parent / f".{index_dir.name}.lock", "a+b")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise _write_error(exc, index_dir) from exc
    with handle:
        try:
            _flock(handle, wait)
        except OSError as exc:
            raise _write_error(exc, index_dir) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _flock(handle: IO[bytes], wait: float | None) -> None:
    if wait is None:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise ReindexBusy(f"another process has been writing the index for {wait:g} s; try again") from None
            time.sleep(0.05)


def check_writable(index_dir: Path) -> None:
    """IndexWriteError now when save could not write beside index_dir, or when the disk has less room than the
    index there takes: a rebuild then fails in a moment, not after the whole build."""
    index_dir = index_dir.resolve()
    try:
        _make_parent(index_dir)
        Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.probe-", dir=index_dir.parent)).rmdir()
        size = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file()) if index_dir.is_dir() else 0
        free = shutil.disk_usage(index_dir.parent).free
    except OSError as exc:
        raise _write_error(exc, index_dir) from exc
    if free < size:
        no_space = OSError(errno.ENOSPC, f"{free} bytes free, the index takes {size}")
        raise _write_error(no_space, index_dir)


def _make_parent(index_dir: Path) -> None:
    """Create index_dir's parent folder; a file in its place is ENOTDIR (mkdir would say "File exists")."""
    if index_dir.parent.exists() and not index_dir.parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(index_dir.parent))
    index_dir.parent.mkdir(parents=True, exist_ok=True)


def _write_error(exc: OSError, index_dir: Path) -> IndexWriteError:
    reason = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    return IndexWriteError(f"cannot write the index at {index_dir}: {reason}{where}", errno=exc.errno)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

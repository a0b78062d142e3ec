"""The corpus on disk: the seed folder a fresh install starts from, and the library of documents added since.

Added documents are kept as files (`<library>/<id>.txt` with a `<id>.json` sidecar for title, date and url), so
that the index can always be rebuilt from the two folders and nothing a user gave is lost with a damaged index.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from qa.errors import SourceError
from qa.indexing.documents import SOURCE_SUFFIXES, load_document, source_paths
from qa.indexing.durable import sync_dir, write_atomic
from qa.types import Document

# Folders inside the library for writes in flight (dot names: never a document id, never listed as documents).
STAGED = ".staged"
RETIRED = ".retired"
# A document id is a file name too: letters, digits, `.`, `_` and `-`, not starting with a dot.
DOCUMENT_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class Unreadable:
    """A source file left out of the index, and why (recorded in the manifest's `skipped`)."""

    file: str  # "<seeds|library>/<file name>"
    reason: str

    def as_dict(self) -> dict[str, str]:
        """The manifest's entry."""
        return {"file": self.file, "reason": self.reason}


@dataclass(frozen=True)
class Sources:
    """Where documents come from: seeds (read only to the service) and the library (written by ingestion)."""

    seeds_dir: Path
    library_dir: Path

    def seed_paths(self) -> list[Path]:
        """The seed files, in a stable order (SourceError when the folder is missing or holds none)."""
        return source_paths(self.seeds_dir)

    def library_paths(self) -> list[Path]:
        """The added documents' files, in a stable order (none when the library does not exist yet)."""
        if not self.library_dir.is_dir():
            if self.library_dir.exists():  # was read as an empty library, and only a write said otherwise
                raise SourceError(f"library folder {self.library_dir} is a file")
            return []
        try:
            return sorted(p for p in self.library_dir.iterdir() if p.is_file() and p.suffix in SOURCE_SUFFIXES)
        except OSError as exc:
            raise SourceError(f"library folder {self.library_dir} cannot be read ({exc.strerror or exc})") from exc

    def documents(self) -> tuple[list[tuple[Document, str]], list[Unreadable]]:
        """Every document with its origin ("seeds" or "library"), and the files left out: one that cannot be read
        (not UTF-8, empty, a sidecar that is not JSON) or whose id an earlier file has. One bad file of an archive
        does not keep the others from being served; SourceError only when no file at all can be read."""
        found: list[tuple[Document, str]] = []
        skipped: list[Unreadable] = []
        seen: dict[str, str] = {}
        for origin, paths in (("seeds", self.seed_paths()), ("library", self.library_paths())):
            for path in paths:
                name = f"{origin}/{path.name}"
                try:
                    doc = _with_url(load_document(path), path)
                except SourceError as exc:
                    skipped.append(Unreadable(name, exc.reason))
                    continue
                if doc.id in seen:
                    skipped.append(Unreadable(name, f"its id {doc.id!r} is {seen[doc.id]}'s"))
                    continue
                seen[doc.id] = name
                found.append((doc, origin))
        if not found:
            why = "; ".join(f"{u.file}: {u.reason}" for u in skipped)
            raise SourceError(f"no source file can be indexed ({why})")
        return found, skipped

    def fingerprint(self) -> dict[str, str]:
        """Each source file (and sidecar), by folder role and name, mapped to its sha256."""
        out: dict[str, str] = {}
        for role, paths in (("seeds", self.seed_paths()), ("library", self.library_paths())):
            for path in paths:
                for p in (path, path.with_suffix(".json")):
                    if p.is_file():
                        out[f"{role}/{p.name}"] = hashlib.sha256(p.read_bytes()).hexdigest()
        return dict(sorted(out.items()))

    def is_seed(self, doc_id: str) -> bool:
        """Whether a seed file has this id (one look per suffix, not a listing of the seeds: 0.24 s at 10,000)."""
        return any((self.seeds_dir / f"{doc_id}{suffix}").is_file() for suffix in SOURCE_SUFFIXES)

    # An addition or a removal changes the library and the index manifest, two writes a crash can come between. The
    # library's side is made in a side folder first and moved into place only once the manifest says so; settle()
    # finishes or undoes what a crash interrupted, by what the manifest says.
    def _staged(self, doc_id: str) -> list[Path]:
        return [self.library_dir / STAGED / f"{doc_id}{suffix}" for suffix in (".json", ".txt")]

    def _retired(self, doc_id: str) -> list[Path]:
        return [self.library_dir / RETIRED / f"{doc_id}{suffix}" for suffix in (".json", ".txt")]

    def _placed(self, doc_id: str) -> list[Path]:
        return [self.library_dir / f"{doc_id}{suffix}" for suffix in (".json", ".txt")]

    def stage(self, doc_id: str, text: str, *, title: str | None, date: str | None, url: str | None) -> Document:
        """Write a document to add into the library's staging folder (not a library document yet: commit())."""
        meta_path, path = self._staged(doc_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {k: v for k, v in (("title", title), ("date", date), ("url", url)) if v}
        write_atomic(meta_path, json.dumps(meta, ensure_ascii=False).encode())
        # Newlines as a file read back gives them (offsets index the text as read).
        write_atomic(path, text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8"))
        return _with_url(load_document(path), path)

    def staged_fingerprint(self, doc_id: str) -> dict[str, str]:
        """The fingerprint entries the staged document will have once in the library."""
        return {f"library/{p.name}": _sha256(p) for p in self._staged(doc_id) if p.is_file()}

    def commit(self, doc_id: str) -> None:
        """Move a staged document into the library (its sidecar first: a crash between the two moves leaves the text
        staged, which settle() moves too)."""
        self.library_dir.mkdir(parents=True, exist_ok=True)
        _move(self._staged(doc_id), self._placed(doc_id))
        _tidy(self.library_dir / STAGED)

    def discard(self, doc_id: str) -> None:
        """Drop a staged document."""
        for staged in self._staged(doc_id):
            staged.unlink(missing_ok=True)
        _tidy(self.library_dir / STAGED)

    def retire(self, doc_id: str) -> bool:
        """Move an added document's files out of the library, to be purged once the index no longer holds it (or put
        back with restore()); False when the library has no such document."""
        if not (self.library_dir / f"{doc_id}.txt").is_file():
            return False
        retired = self._retired(doc_id)
        retired[0].parent.mkdir(parents=True, exist_ok=True)
        _move(self._placed(doc_id)[::-1], retired[::-1])  # the text first
        return True

    def restore(self, doc_id: str) -> None:
        """Put a retired document's files back."""
        _move(self._retired(doc_id), self._placed(doc_id))
        _tidy(self.library_dir / RETIRED)

    def purge(self, doc_id: str) -> None:
        """Delete a retired document's files (and a sidecar a crash left in the library without its text)."""
        for gone in self._retired(doc_id):
            gone.unlink(missing_ok=True)
        meta, text = self._placed(doc_id)
        if not text.is_file():
            meta.unlink(missing_ok=True)
        _tidy(self.library_dir / RETIRED)

    def settle(self, committed: dict[str, str]) -> list[str]:
        """Finish or undo the library side of additions and removals a crash interrupted, by the manifest's source
        fingerprint (`committed`): a staged document the manifest holds is moved in, any other is dropped; a retired
        one the manifest still holds is put back, any other is deleted. Returns what was done, one line each."""
        done: list[str] = []
        for folder, kind in ((STAGED, "staged"), (RETIRED, "retired")):
            where = self.library_dir / folder
            if not where.is_dir():
                continue
            for stray in where.glob(".*"):  # a temporary file a write killed mid-way left (no writer runs now)
                stray.unlink(missing_ok=True)
            for doc_id in sorted({p.stem for p in where.iterdir() if p.suffix in (".txt", ".json")}):
                if kind == "staged":
                    held = self.staged_fingerprint(doc_id)
                    if held and all(committed.get(key) == sha for key, sha in held.items()):
                        self.commit(doc_id)
                        done.append(f"added {doc_id} (its files were still staged)")
                    else:
                        self.discard(doc_id)
                        done.append(f"dropped the unfinished addition of {doc_id}")
                elif f"library/{doc_id}.txt" in committed:
                    self.restore(doc_id)
                    done.append(f"kept {doc_id} (its removal did not reach the index)")
                else:
                    self.purge(doc_id)
                    done.append(f"removed {doc_id} (its files were still retired)")
        _tidy(self.library_dir / STAGED)
        _tidy(self.library_dir / RETIRED)
        return done

    def unsettled(self) -> bool:
        """Whether writes a crash interrupted left anything staged or retired (settle() deals with it)."""
        return any((self.library_dir / folder).is_dir() for folder in (STAGED, RETIRED))


def _with_url(doc: Document, path: Path) -> Document:
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        return doc
    try:
        url = json.loads(sidecar.read_text(encoding="utf-8")).get("url")
    except (ValueError, AttributeError):
        return doc
    return replace(doc, url=str(url)) if url else doc


def _move(files: list[Path], targets: list[Path]) -> None:
    """Move each file that exists to its target, in order (a rename each: a crash leaves it in one place or the
    other)."""
    for path, target in zip(files, targets, strict=True):
        if path.is_file():
            os.replace(path, target)
    for folder in dict.fromkeys(p.parent for p in (*files, *targets)):
        if folder.is_dir():
            sync_dir(folder)


def _tidy(folder: Path) -> None:
    """Remove a folder of writes in flight once it is empty (the library then holds documents only)."""
    with contextlib.suppress(OSError):
        folder.rmdir()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def as_sources(where: Sources | Path) -> Sources:
    """Sources as given, or a seeds folder with the library beside it (`<seeds>/../library`)."""
    return where if isinstance(where, Sources) else Sources(where, where.parent / "library")

"""Load the source documents from the seeds folder, with their metadata."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from qa.errors import SourceError
from qa.types import Document

SOURCE_SUFFIXES = (".txt", ".md")
# A file may open with ` date YYYY-MM-DD`: publication metadata, not text to retrieve.
_DATE_HEADER_RE = re.compile(r"\A\s*date\s+(\d{4}-\d{2}-\d{2})\s+")


def read_source(path: Path) -> str:
    """Read a source exactly as the offsets refer to it: UTF-8, universal newlines."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        where = f"byte 0x{exc.object[exc.start]:02x} at {exc.start}"
        raise SourceError(f"{path} is not valid UTF-8: {exc}", reason=f"not valid UTF-8 ({where})") from exc
    except OSError as exc:  # no permission, a folder named like a source, a file gone since it was listed
        raise _unreadable(path, exc) from exc


def _unreadable(path: Path, exc: OSError) -> SourceError:
    reason = f"cannot be read ({exc.strerror or exc})"
    return SourceError(f"{path} {reason}", reason=reason)


def load_document(path: Path) -> Document:
    """Read one source file and its optional sidecar `<name>.json` ({"title": ..., "date": ...})."""
    text = read_source(path)
    if not text.strip():
        raise SourceError(f"{path} is empty", reason="empty")
    meta: dict[str, str] = {}
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        try:
            loaded = json.loads(sidecar.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            reason = f"its {sidecar.name} is not valid JSON ({exc.msg}, line {exc.lineno})"
            raise SourceError(f"{sidecar} is not valid JSON: {exc}", reason=reason) from exc
        except (OSError, UnicodeDecodeError) as exc:
            reason = f"its {sidecar.name} cannot be read ({getattr(exc, 'strerror', None) or exc})"
            raise SourceError(f"{sidecar} cannot be read: {exc}", reason=reason) from exc
        meta = {k: str(v) for k, v in loaded.items() if k in ("title", "date")}
    header = _DATE_HEADER_RE.match(text)
    return Document(
        id=path.stem,
        path=path.name,
        text=text,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        date=meta.get("date") or (header.group(1) if header else None),
        title=meta.get("title"),
        body_start=header.end() if header else 0,
    )


def source_paths(seeds_dir: Path) -> list[Path]:
    """The source files of a seeds folder, in a stable order."""
    if not seeds_dir.is_dir():
        raise SourceError(f"seeds folder {seeds_dir} " + ("is a file" if seeds_dir.exists() else "does not exist"))
    try:
        paths = sorted(p for p in seeds_dir.iterdir() if p.is_file() and p.suffix in SOURCE_SUFFIXES)
    except OSError as exc:
        raise SourceError(f"seeds folder {seeds_dir} cannot be read ({exc.strerror or exc})") from exc
    if not paths:
        raise SourceError(f"no source files ({', '.join(SOURCE_SUFFIXES)}) in {seeds_dir}")
    return paths


def load_documents(seeds_dir: Path) -> list[Document]:
    """Every source document in the seeds folder."""
    return [load_document(p) for p in source_paths(seeds_dir)]

"""`qa add` and `qa remove`: documents added to the index one by one (kept in the library folder), and taken out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qa.cli.options import document_id, settings_of, utf8
from qa.errors import QAError


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add `qa add` and `qa remove` to the command line."""
    add_command = commands.add_parser(
        "add", parents=[common], help="add documents to the index (kept in the library folder)"
    )
    add_command.add_argument(
        "files", nargs="+", type=Path, help="UTF-8 text files; the file name (less .txt) is the id"
    )
    add_command.add_argument("--title", type=utf8, help="title (for every file given)")
    add_command.add_argument("--date", type=utf8, help="publication date, YYYY-MM-DD")
    add_command.add_argument("--replace", action="store_true", help="overwrite documents with the same id")
    add_command.add_argument(
        "--id", type=document_id, help="the document's id, for one file (default: the file name less .txt)"
    )
    add_command.set_defaults(func=add)

    remove_command = commands.add_parser("remove", parents=[common], help="remove documents added earlier")
    remove_command.add_argument("ids", nargs="+", type=utf8, help="document ids")
    remove_command.set_defaults(func=remove)


def _read_text(path: Path, most: int) -> str:
    """A UTF-8 file of at most `most` characters, read no further than that allows (`/dev/zero` was read until
    memory ran out before its length was checked)."""
    with path.open("rb") as f:
        data = f.read(4 * most + 1)  # a character is at most 4 bytes
    if len(data) > 4 * most:
        raise ValueError(f"longer than the limit of {most} characters (QA_MAX_DOCUMENT_CHARS)")
    text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text reads it
    if len(text) > most:
        raise ValueError(f"longer than the limit of {most} characters (QA_MAX_DOCUMENT_CHARS)")
    return text


def add(args: argparse.Namespace) -> int:
    """Add documents to the index (each one new segment; nothing else is rebuilt); a running server picks them
    up on its next reload (`qa serve` watches the index's generation)."""
    from qa.indexing.freshness import open_index
    from qa.indexing.library import add_document
    from qa.indexing.sources import DOCUMENT_ID_RE
    from qa.text.tokens import initialise
    from qa.types import NewDocument
    from qa.wiring import make_embedder, sources_of

    settings = settings_of(args)
    initialise()
    embedder = make_embedder(settings)
    sources = sources_of(settings)
    index = open_index(settings.index_dir, sources, embedder, on_mismatch=settings.on_index_mismatch)
    if args.id is not None and len(args.files) != 1:
        print("error: --id names one document: give one file with it", file=sys.stderr)
        return 2
    failed = 0
    most = settings.server.max_document_chars
    for path in args.files:
        try:
            text = _read_text(Path(path), most)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        stem = args.id or Path(path).stem
        if not DOCUMENT_ID_RE.fullmatch(stem):
            if args.replace:  # a made id is new each time: nothing would be replaced
                print(f"error: {path}: its name is no document id (letters, digits, . _ -): give --id", file=sys.stderr)
                failed += 1
                continue
            note = f"note: {path}: its name is no document id (letters, digits, . _ -), so a new id is made"
            print(note, file=sys.stderr)
        doc = NewDocument(
            text=text,
            id=stem if DOCUMENT_ID_RE.fullmatch(stem) else None,
            title=args.title,
            date=args.date,
        )
        try:
            added = add_document(
                index,
                settings.index_dir,
                sources,
                doc,
                embedder,
                replace=args.replace,
                max_chars=settings.server.max_document_chars,
                max_segments=settings.retrieval.max_segments,
            )
        except QAError as exc:  # this file is not added, and says why; the others are tried
            print(f"error: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        index = added.index
        print(f"added {added.document.id}: {added.chunks} chunks")
    if failed:
        print(f"error: {failed} of {len(args.files)} files not added", file=sys.stderr)
    return 2 if failed else 0


def remove(args: argparse.Namespace) -> int:
    """Remove documents added earlier from the index and the library."""
    from qa.indexing.freshness import open_index
    from qa.indexing.library import remove_document
    from qa.wiring import make_embedder, sources_of

    settings = settings_of(args)
    sources = sources_of(settings)
    index = open_index(settings.index_dir, sources, make_embedder(settings), on_mismatch=settings.on_index_mismatch)
    failed = 0
    for doc_id in args.ids:  # each one on its own: an unknown id does not keep the others
        try:
            index = remove_document(index, settings.index_dir, sources, doc_id)
        except QAError as exc:
            print(f"error: {doc_id}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"removed {doc_id}")
    return 2 if failed else 0

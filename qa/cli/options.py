"""What every command reads from its command line: the settings it overrides, and the checked types of its
arguments (folders, UTF-8 text, document ids, bounded whole numbers)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.config import Settings, settings_with


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line gives (the rest come from the environment)."""
    names = ("seeds_dir", "index_dir", "library_dir", "embedding_model", "log_level")
    found = {name: getattr(args, name, None) for name in names}
    return {name: value for name, value in found.items() if value is not None}


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings, with what the command line overrides."""
    return settings_with(**overrides(args))


def folder(text: str) -> Path:
    """A folder named on the command line (`""` would be the current folder: a build there replaces it)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names no folder")
    return Path(text)


def utf8(text: str) -> str:
    """An argument as text. Bytes that are not UTF-8 reach Python as lone surrogates (U+DC80-U+DCFF, its
    `surrogateescape`), which the API's check would call UTF-16 surrogates: say which byte it was instead."""
    at = next((i for i, ch in enumerate(text) if "\udc80" <= ch <= "\udcff"), None)
    if at is not None:
        raise argparse.ArgumentTypeError(f"not UTF-8 text: byte 0x{ord(text[at]) - 0xDC00:02x} at character {at}")
    return text


def document_id(text: str) -> str:
    """A document id named on the command line (an id that is none was a new, made id: `--replace` replaced nothing)."""
    from qa.indexing.sources import DOCUMENT_ID_RE

    if not DOCUMENT_ID_RE.fullmatch(utf8(text)):
        raise argparse.ArgumentTypeError(f"{text!r} is no document id (letters, digits, . _ -)")
    return text


def whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An option's whole number from `low` (and up to `high`): `--workers 0` ran one process, silently; `--port 73786`
    was served on 73786 - 65536 while the log said 73786; `--foreign -1` failed deep in random.sample."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}-{high}, got {value}")
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def common() -> argparse.ArgumentParser:
    """The options every command takes: where the sources, the index and the library are, and the model."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--seeds-dir", dest="seeds_dir", type=folder, help="source folder (QA_SEEDS_DIR)")
    options.add_argument("--index-dir", dest="index_dir", type=folder, help="index folder (QA_INDEX_DIR)")
    options.add_argument("--library-dir", dest="library_dir", type=folder, help="added documents (QA_LIBRARY_DIR)")
    options.add_argument("--embedding-model", dest="embedding_model", help="model name or path (QA_EMBEDDING_MODEL)")
    return options

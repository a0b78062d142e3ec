"""Reading the evaluation's data files (gold questions, SQuAD-format data): their text, or GoldError saying why not."""

from __future__ import annotations

from pathlib import Path

from qa.errors import GoldError


def read_data(path: Path, kind: str) -> str:
    """A UTF-8 data file's text; GoldError naming it (`kind`: gold file, SQuAD file) when it is missing, not UTF-8
    or cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GoldError(f"{kind} {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise GoldError(f"{kind} {path} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise GoldError(f"{kind} {path} cannot be read: {exc.strerror or exc}") from None

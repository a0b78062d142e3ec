"""The exception hierarchy: every error the package raises on purpose is a QAError; callers catch the base."""

from __future__ import annotations

import errno as errnos


class QAError(Exception):
    """Base of the errors this package raises on purpose (bad input, unusable index, failed LLM call)."""


class SourceError(QAError, ValueError):
    """The seeds folder or one of its files cannot be used; `reason` says why without the file's path."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class GoldError(QAError, ValueError):
    """A gold question file cannot be read (missing, not UTF-8, a line that is not JSON or lacks a field)."""


class ConfigurationError(QAError, ValueError):
    """A setting names something that cannot be used (a model that cannot be loaded, a store without its address):
    no retry fixes it, so a server refuses to start on it."""


class WorkFolderRefused(QAError, ValueError):
    """An evaluation's working folder holds files it did not make (it deletes and rebuilds what it finds there)."""


class IndexUnusable(QAError, RuntimeError):
    """The index folder is missing, damaged, or does not match the sources or the model."""


class ReindexBusy(QAError, RuntimeError):
    """A rebuild was asked for while one is running."""


class IndexWriteError(QAError):
    """The index could not be written (the one on disk is left as it was); `errno` is the OS error number and
    `kind` "no_space" (disk or quota full) or "not_writable" (read-only, no permission, not a folder…)."""

    def __init__(self, message: str, *, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno
        self.kind = "no_space" if errno in (errnos.ENOSPC, errnos.EDQUOT) else "not_writable"


class DocumentExists(QAError):
    """A document with that id is already indexed (replace it explicitly, or choose another id)."""


class DocumentNotFound(QAError):
    """No indexed document has that id."""


class DocumentRejected(QAError, ValueError):
    """A document cannot be indexed as given; the message names the reason, `field` the part of it at fault."""

    def __init__(self, message: str, *, field: str = "text") -> None:
        super().__init__(message)
        self.field = field


class LLMError(QAError):
    """The LLM gave no usable answer; `reason` says why in a word or two (used in `llm-fallback`)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

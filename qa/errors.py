"""The exception hierarchy: every error the package raises on purpose is a QAError; callers catch the base."""

from __future__ import annotations


class QAError(Exception):
    """Base of the errors this package raises on purpose (bad input, unusable index, failed LLM call)."""


class SourceError(QAError, ValueError):
    """The seeds folder or one of its files cannot be used."""


class IndexUnusable(QAError, RuntimeError):
    """The index folder is missing, damaged, or does not match the sources or the model."""


class ReindexBusy(QAError, RuntimeError):
    """A rebuild was asked for while one is running."""


class LLMError(QAError):
    """The LLM gave no usable answer; `reason` says why in a word or two (used in `llm-fallback`)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

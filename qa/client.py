"""Compatibility shim: the Python client lives in the `article-qa-client` distribution (clients/python, `qa_client`).

It needs only httpx; install it with `pip install ./clients/python`. This module re-exports it and imports nothing
of the server, so `import qa.client` loads no model and no index.
"""

from __future__ import annotations

try:
    from qa_client import (
        DEFAULT_TIMEOUT,
        AskResult,
        AsyncQAClient,
        Citation,
        EventKind,
        Health,
        History,
        Passage,
        QAClient,
        QAConnectionError,
        QAError,
        QARateLimitedError,
        QARequestError,
        QAUnavailableError,
        ShortAnswer,
        StreamEvent,
    )
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    if exc.name != "qa_client":
        raise
    raise ImportError(
        "qa.client needs the article-qa-client distribution (package qa_client), which is not installed: "
        "run `pip install ./clients/python` from the article-qa repository (it needs only httpx)."
    ) from exc

__all__ = [
    "DEFAULT_TIMEOUT",
    "AskResult",
    "AsyncQAClient",
    "Citation",
    "EventKind",
    "Health",
    "History",
    "Passage",
    "QAClient",
    "QAConnectionError",
    "QAError",
    "QARateLimitedError",
    "QARequestError",
    "QAUnavailableError",
    "ShortAnswer",
    "StreamEvent",
]

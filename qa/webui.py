"""The chat page, the article view and the embeddable widget (static files under qa/web/)."""

from __future__ import annotations

from fastapi import FastAPI

from qa.config import Settings


def install_web(app: FastAPI, settings: Settings) -> None:
    """Add the browser-facing routes to the app (being written: issue 4)."""

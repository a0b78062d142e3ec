"""Production layer: request ids and JSON logs, limits, API keys, CORS, security headers, metrics."""

from __future__ import annotations

from fastapi import FastAPI

from qa.config import Settings


def install_production(app: FastAPI, settings: Settings) -> None:
    """Add middleware and operational routes to the app (being written: issue 5)."""

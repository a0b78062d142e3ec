"""An OpenAI-compatible face: POST /v1/chat/completions (streaming too) and GET /v1/models."""

from __future__ import annotations

from fastapi import FastAPI

from qa.config import Settings


def install_openai(app: FastAPI, settings: Settings) -> None:
    """Add the OpenAI-compatible routes to the app (being written: issue 4)."""

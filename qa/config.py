"""Settings: the only place that reads the environment (prefix QA_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Service configuration; every field can be set as QA_<NAME> in the environment or a .env file."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    seeds_dir: Path = Field(Path("seeds"), description="Folder of source documents (.txt, .md)")
    index_dir: Path = Field(Path("index"), description="Folder of the built index")
    embedding_model: str = Field("", description="sentence-transformers model name or path; empty: bundled MiniLM")
    on_index_mismatch: Literal["rebuild", "refuse"] = Field(
        "rebuild", description="What to do when the index is missing, damaged or stale"
    )
    fusion: Literal["weighted", "lexical", "dense", "rrf", "weighted-rrf"] = "weighted"

    default_top_k: int = Field(5, ge=1, le=50)
    max_top_k: int = Field(20, ge=1, le=50)
    max_question_chars: int = Field(2000, ge=10, le=100_000)
    max_history_turns: int = Field(10, ge=0, le=100)

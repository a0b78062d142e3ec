"""Settings: the only place that reads the environment (prefix QA_)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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

    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (https://example.org) allowed to call the API from a browser (CORS) and to embed "
        "/embed in a frame; JSON list or comma-separated",
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else value.split(",")
        if isinstance(value, list):
            return [str(v).strip().rstrip("/") for v in value if str(v).strip()]
        return value

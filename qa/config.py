"""Settings: the only place that reads the environment (prefix QA_)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
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

    # LLM-assisted answers (any OpenAI-compatible server); empty base URL: extractive answers only.
    llm_base_url: str = Field("", description="e.g. http://127.0.0.1:8080/v1 (llama.cpp), http://localhost:11434/v1")
    llm_model: str = Field("local", description="model name sent to the server")
    llm_api_key: str = Field("", description="bearer token, when the server wants one")
    llm_timeout: float = Field(30.0, gt=0, le=600, description="seconds for a whole completion")
    llm_connect_timeout: float = Field(2.0, gt=0, le=60)
    llm_max_tokens: int = Field(300, ge=16, le=8192)
    llm_temperature: float = Field(0.0, ge=0, le=2)
    llm_retries: int = Field(2, ge=0, le=10, description="retries on connection errors, 429 and 5xx")
    llm_backoff: float = Field(0.25, ge=0, le=30, description="first retry delay in seconds, doubled each time")
    llm_dead_seconds: float = Field(30.0, ge=0, le=3600, description="how long a server that refused is not tried")
    llm_max_concurrency: int = Field(4, ge=1, le=256, description="LLM calls in flight at once")
    llm_context: Literal["retrieved", "article"] = Field(
        "article",
        description="sources shown to the LLM: the whole article by sentence (same prompt prefix for every question, "
        "which the LLM server caches: measured 6x less prompt work), or the sentences of the retrieved passages",
    )
    llm_article_max_chars: int = Field(
        12_000, ge=0, le=1_000_000, description="longer articles are shown to the LLM as retrieved passages only"
    )

    llm_rewrite_followups: bool = Field(True, description="with an LLM, rewrite a follow-up to stand alone")
    llm_translate_queries: bool = Field(
        False, description="with an LLM, add the question translated into the article's language to the search"
    )

    # Production settings (limits, keys, logging) follow below.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Keys accepted on the API routes (Authorization: Bearer <key> or X-API-Key); empty: the API "
        "is open; JSON list or comma-separated",
    )
    admin_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Keys for the routes under /admin/, which are refused while none is set; JSON list or "
        "comma-separated",
    )
    metrics_require_key: bool = Field(False, description="Whether GET /metrics needs an API or admin key")
    max_body_bytes: int = Field(
        1_048_576, ge=0, le=1_073_741_824, description="Largest request body accepted (413 above it); 0: no limit"
    )
    rate_limit_rps: float = Field(
        0.0, ge=0, le=100_000, description="Requests per second allowed to each client (API key, else IP); 0: off"
    )
    rate_limit_burst: int = Field(20, ge=1, le=100_000, description="Requests a client may make at once")
    request_timeout: float = Field(
        120.0, ge=0, le=3600, description="Seconds until a response must start (504 otherwise); 0: no limit"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Level of the logs")
    log_format: Literal["json", "text"] = Field("json", description="One JSON object per line, or plain text")

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else value.split(",")
        if isinstance(value, list):
            return [str(v).strip().rstrip("/") for v in value if str(v).strip()]
        return value

    @field_validator("api_keys", "admin_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else value.split(",")
        if isinstance(value, list):
            texts = (k.get_secret_value() if isinstance(k, SecretStr) else str(k) for k in value)
            return [t.strip() for t in texts if t.strip()]
        return value

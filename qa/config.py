"""Settings: the only place that reads the environment (prefix QA_). Nested by layer, same variable names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Fusion = Literal["weighted", "lexical", "dense", "rrf", "weighted-rrf"]


def _split(value: object) -> object:
    """A JSON list or a comma-separated string -> list of trimmed, non-empty strings."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else value.split(",")
    if isinstance(value, list):
        texts = (v.get_secret_value() if isinstance(v, SecretStr) else str(v) for v in value)
        return [t.strip() for t in texts if t.strip()]
    return value


class RetrievalSettings(BaseSettings):
    """Hybrid search: the embedding model and how its scores are fused with BM25 (QA_EMBEDDING_MODEL, QA_FUSION…)."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    embedding_model: str = Field("", description="sentence-transformers model name or path; empty: bundled MiniLM")
    fusion: Fusion = Field(
        "weighted",
        description="How BM25 and dense scores combine. Dev set R@5: weighted 0.971, lexical 0.971, rrf 0.743, "
        "dense 0.343 (bundled MiniLM, which knows 0.31 of the article's word pieces)",
    )
    default_top_k: int = Field(5, ge=1, le=50, description="Passages returned when the caller does not say")
    max_top_k: int = Field(20, ge=1, le=50, description="Most passages a caller may ask for")
    max_dense_weight: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Weight of the dense side for a model that knows all of the text's word pieces: an equal say "
        "with BM25. Not measurable here (no multilingual model offline); with MiniLM the weight is 0 either way",
    )
    coverage_floor: float = Field(
        0.4,
        ge=0,
        lt=1,
        description="A model knowing less than this share of the question's or the corpus's word pieces gets no "
        "dense weight. MiniLM knows 0.31 of this article: plain RRF with it fell from R@5 0.971 to 0.743",
    )
    rrf_k: int = Field(60, ge=1, le=1000, description="Reciprocal-rank-fusion constant (the usual 60; not tuned)")


class AnsweringSettings(BaseSettings):
    """Evidence choice and abstention of the extractive answerer (QA_MIN_SUPPORT…)."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    min_support: float = Field(
        0.34,
        ge=0,
        le=1,
        description="Below this weighted share of the question's topic words in the best evidence's paragraph, "
        "abstain. Set on eval/dev.jsonl (abstain_unanswerable 1.0, answered 1.0 there; 0.714 and 0.771 on "
        "unseen questions)",
    )
    max_sentences: int = Field(3, ge=1, le=10, description="Most evidence sentences cited in one answer")
    evidence_chunks: int = Field(
        5, ge=1, le=50, description="Passages the evidence is drawn from, whatever top_k the caller asks to see"
    )
    second_sentence_ratio: float = Field(
        0.75, ge=0, le=1, description="A multi-part answer adds a sentence scoring at least this share of the best"
    )
    min_gain: float = Field(
        0.2, ge=0, le=1, description="... and covering at least this much more of the question's topic words"
    )
    search_weight: float = Field(
        0.1, ge=0, le=1, description="Share of a sentence's own search score in its evidence score (set on dev)"
    )
    chunk_weight: float = Field(
        0.25, ge=0, le=1, description="How far a sentence's score follows its passage's retrieval score (set on dev)"
    )
    caption_weight: float = Field(
        0.85,
        ge=0,
        le=1,
        description="Photo captions weigh this much of prose: dev cite_precision 0.854 at 1.0 -> 0.875 at 0.85",
    )
    proximity_weight: float = Field(
        0.4, ge=0, le=1, description="Most a sentence gains when the question's words stand close (set on dev)"
    )
    proximity_span: int = Field(
        20, ge=1, le=1000, description="Characters apart at which the proximity bonus halves (set on dev)"
    )
    topic_second_ratio: float = Field(
        0.8, ge=0, le=1, description="A bare topic also cites its second sentence at this share of the best"
    )
    typed_candidates: int = Field(
        3, ge=1, le=20, description="A typed question (date, number…) may take its answer this far down the ranking"
    )
    echo_chars: int = Field(
        14, ge=0, le=200, description="A sentence with fewer new characters than this only restates the question"
    )


class LLMSettings(BaseSettings):
    """LLM-assisted answers through any OpenAI-compatible server (QA_LLM_BASE_URL…); empty base URL: extractive."""

    model_config = SettingsConfigDict(env_prefix="QA_LLM_", env_file=".env", extra="ignore")

    base_url: str = Field("", description="e.g. http://127.0.0.1:8080/v1 (llama.cpp), http://localhost:11434/v1")
    model: str = Field("local", description="model name sent to the server")
    api_key: str = Field("", description="bearer token, when the server wants one")
    timeout: float = Field(30.0, gt=0, le=600, description="seconds for a whole completion")
    connect_timeout: float = Field(2.0, gt=0, le=60, description="seconds to connect to the LLM server")
    max_tokens: int = Field(300, ge=16, le=8192, description="longest reply asked for")
    temperature: float = Field(0.0, ge=0, le=2, description="sampling temperature (0: the most likely reply)")
    retries: int = Field(2, ge=0, le=10, description="retries on connection errors, 429 and 5xx")
    backoff: float = Field(0.25, ge=0, le=30, description="first retry delay in seconds, doubled each time")
    dead_seconds: float = Field(30.0, ge=0, le=3600, description="how long a server that refused is not tried")
    max_concurrency: int = Field(4, ge=1, le=256, description="LLM calls in flight at once")
    context: Literal["retrieved", "article"] = Field(
        "article",
        description="sources shown to the LLM: the whole article by sentence (same prompt prefix for every question, "
        "which the LLM server caches: measured 6x less prompt work), or the sentences of the retrieved passages",
    )
    article_max_chars: int = Field(
        12_000, ge=0, le=1_000_000, description="longer articles are shown to the LLM as retrieved passages only"
    )
    rewrite_followups: bool = Field(True, description="with an LLM, rewrite a follow-up to stand alone")
    translate_queries: bool = Field(
        False, description="with an LLM, add the question translated into the article's language to the search"
    )

    @property
    def enabled(self) -> bool:
        """Whether an LLM server is configured."""
        return bool(self.base_url.strip())


class ServerSettings(BaseSettings):
    """The HTTP edge: request limits, keys, CORS, logging (QA_API_KEYS, QA_MAX_BODY_BYTES…)."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    max_question_chars: int = Field(2000, ge=10, le=100_000, description="Longest question accepted (422 above)")
    max_history_turns: int = Field(10, ge=0, le=100, description="Earlier turns of a conversation kept")
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (https://example.org) allowed to call the API from a browser (CORS) and to embed "
        "/embed in a frame; JSON list or comma-separated",
    )
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
        split = _split(value)
        return [v.rstrip("/") for v in split] if isinstance(split, list) else split

    @field_validator("api_keys", "admin_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        return _split(value)


class Settings(BaseSettings):
    """Service configuration: where the sources and the index are, and the settings of each layer.

    Every field of every group can be set as QA_<NAME> (the LLM's as QA_LLM_<NAME>) in the environment or a .env file.
    """

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    seeds_dir: Path = Field(Path("seeds"), description="Folder of source documents (.txt, .md)")
    index_dir: Path = Field(Path("index"), description="Folder of the built index")
    on_index_mismatch: Literal["rebuild", "refuse"] = Field(
        "rebuild", description="What to do when the index is missing, damaged or stale"
    )
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answering: AnsweringSettings = Field(default_factory=AnsweringSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)


def settings_with(
    *,
    seeds_dir: Path | None = None,
    index_dir: Path | None = None,
    embedding_model: str | None = None,
    log_level: str | None = None,
) -> Settings:
    """Settings from the environment, with the values a command line gives put over them."""
    settings = Settings()
    top: dict[str, object] = {"seeds_dir": seeds_dir, "index_dir": index_dir}
    update = {k: v for k, v in top.items() if v is not None}
    if embedding_model is not None:
        update["retrieval"] = settings.retrieval.model_copy(update={"embedding_model": embedding_model})
    if log_level is not None:
        update["server"] = settings.server.model_copy(update={"log_level": log_level})
    return settings.model_copy(update=update)

"""Settings: the only place that reads the environment (prefix QA_). Nested by layer, same variable names."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
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
        description="How BM25 and dense scores combine. Dev set R@5 (bench/retrieval_recall.py, 2026-12-06): "
        "weighted 0.971, lexical 0.971, rrf 0.571, dense 0.229 (bundled MiniLM: most Chinese characters are [UNK])",
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
    max_segments: int = Field(
        8,
        ge=1,
        le=1000,
        description="Past this many small index segments (documents added one by one), adding a document folds them "
        "into one (each segment is one more BM25 lookup per query term); a build's large segments are never rewritten",
    )
    store: Literal["local", "milvus"] = Field(
        "local",
        description="Where chunks are searched: local (the index folder's BM25 and FAISS files) or milvus (a Milvus "
        "collection, BM25 full-text search over the same tokens plus a dense field; see docs/scaling.md)",
    )
    milvus_uri: str = Field(
        "",
        description="Milvus to use when store is milvus: a file path ending in .db for Milvus Lite (embedded, one "
        "process), or http://host:19530 for a Milvus server or cluster shared by every worker",
    )
    milvus_token: SecretStr | str = Field(
        "", description="Milvus credentials (user:password or an API key); empty for Milvus Lite or an open server"
    )
    milvus_collection: str = Field(
        "qa_chunks", min_length=1, max_length=255, description="Name of the Milvus collection that holds the chunks"
    )

    @model_validator(mode="after")
    def _default_within_max(self) -> RetrievalSettings:
        if self.default_top_k > self.max_top_k:
            raise ValueError(f"default_top_k ({self.default_top_k}) is more than max_top_k ({self.max_top_k})")
        return self


class AnsweringSettings(BaseSettings):
    """Evidence choice and abstention of the extractive answerer (QA_MIN_SUPPORT…)."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    evidence: Literal["rules", "learned"] = Field(
        "learned",
        description="How evidence is chosen: the learned ranker and abstention model (trained on external data; "
        "README, 'Answer quality on external data', gives its measured numbers), or the hand-set rules below "
        "(QA_EVIDENCE=rules: fitted to the article's dev set in early sessions, weaker on external data)",
    )

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
    ranker_dir: Path | None = Field(
        None,
        description="Folder of the evidence ranker's model files (ranker.txt, ranker.json) written by "
        "scripts/train_ranker.py; unset: the ones shipped in the package",
    )

    answer_threshold: float | None = Field(
        None,
        description="Log-odds that the best evidence answers, below which the answerer abstains; unset: the model "
        "file's, chosen so that 97.5% of the answerable questions of held-out training corpora are answered (and for "
        "a corpus of one article, its own: 97.5% of the training articles' questions, each article indexed alone)",
    )

    evidence_confidence: float = Field(
        0.85,
        gt=0,
        le=1,
        description="Sentences are cited in the ranker's order until their probabilities of holding the answer add "
        "up to this (at most max_sentences, all of the best one's article, none below evidence_floor). Held-out "
        "training corpora (DRCD / CMRC 2018): a cited sentence holds the answer for 0.924 / 0.920 of the questions at "
        "1.51 / 1.58 sentences per answer (0.8: 0.917 / 0.914 at 1.43 / 1.51; the best sentence alone: 0.845 / 0.852; "
        "0.8 with no floor, as before: 0.918 / 0.919 at 1.49 / 1.56)",
    )

    evidence_floor: float = Field(
        0.1,
        ge=0,
        lt=1,
        description="... but never a sentence less likely than this to hold the answer: on held-out training corpora "
        "(every question of seven 40-article samples of both data files), of the 394 sentences cited between 0.05 "
        "and 0.1, 25 held the answer, and 19 of those were the only cited one that did",
    )

    explain_confidence: float = Field(
        0.9,
        gt=0,
        le=1,
        description="... the same for why-, how- and multi-part questions and bare topics, whose answers run longer "
        "(held-out training corpora, such questions of both: 0.922 at 1.59 sentences; 0.919 at 1.50 at 0.85)",
    )

    answer_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="Questions answered at once by one process, each in a worker thread; the rest wait their turn. "
        "The work is pure-Python CPU, so more threads only take the GIL from the event loop: with 45 hostile "
        "2,000-character questions in flight (2 cores), /live p50 5 ms at 1, 17 ms at 2, 53 ms at 4, ~500 ms with "
        "anyio's default 40, for the same throughput. Raise it when the dense side runs (inference frees the GIL)",
    )
    inline_max_chars: int = Field(
        200,
        ge=0,
        le=100_000,
        description="A question of at most this many characters, not a follow-up, is answered in the event loop's "
        "own thread when no other is being answered or waits (0: never): a worker thread costs two thread wake-ups "
        "a question (~0.2 ms of CPU, more on a busy machine; one article, bench/scale.py p50 ~4.9 against ~5.4 ms, "
        "load 1-2). Meanwhile the loop waits: one client asking back to back, /live p50 8.6-8.9 ms against 4.1-4.3. "
        "Longer questions (2,000 characters: /live 26-93 ms inline, 8 ms in a thread) and questions that come in "
        "together go to worker threads",
    )
    switch_interval_ms: float = Field(
        1.0,
        gt=0,
        le=100,
        description="How often Python hands the GIL from one thread to another (sys.setswitchinterval; Python's "
        "default is 5): the event loop waits up to this long for each step while an answering thread runs. With 45 "
        "hostile questions in flight and 2 threads: /live p50 57 ms at 5, 16 ms at 1; throughput unchanged",
    )
    followup_chars: int = Field(
        2000,
        ge=0,
        le=100_000,
        description="Characters of the previous question a follow-up's search borrows (a longer one is cut: the "
        "search's cost grows with its length, ~8 ms per 1,000 characters)",
    )


class LLMSettings(BaseSettings):
    """LLM-assisted answers through any OpenAI-compatible server (QA_LLM_BASE_URL…); empty base URL: extractive."""

    model_config = SettingsConfigDict(env_prefix="QA_LLM_", env_file=".env", extra="ignore")

    base_url: str = Field("", description="e.g. http://127.0.0.1:8080/v1 (llama.cpp), http://localhost:11434/v1")
    model: str = Field("local", description="model name sent to the server")
    api_key: str = Field("", description="bearer token, when the server wants one")
    timeout: float = Field(
        30.0,
        gt=0,
        le=600,
        description="seconds for a whole completion, retries and a slow drip of pieces included (a deadline, not a "
        "per-read limit); past it the extractive answer stands in and the LLM connection is closed",
    )
    connect_timeout: float = Field(2.0, gt=0, le=60, description="seconds to connect to the LLM server")
    max_tokens: int = Field(300, ge=16, le=8192, description="longest reply asked for")
    temperature: float = Field(0.0, ge=0, le=2, description="sampling temperature (0: the most likely reply)")
    retries: int = Field(2, ge=0, le=10, description="retries on connection errors, 429 and 5xx")
    backoff: float = Field(0.25, ge=0, le=30, description="first retry delay in seconds, doubled each time")
    dead_seconds: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="how long a server that refused connections, or timed out dead_after_timeouts times in a row, "
        "is not tried",
    )
    dead_after_timeouts: int = Field(
        3, ge=1, le=100, description="calls in a row past their deadline after which the server is left alone"
    )
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
    max_document_chars: int = Field(
        200_000,
        ge=1,
        le=10_000_000,
        description="Longest document POST /documents accepts (422 above; the body limit QA_MAX_BODY_BYTES applies "
        "first: a CJK character takes 3 bytes of JSON)",
    )
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
    session_secret: SecretStr | None = Field(
        None,
        description="Secret that signs the web pages' sessions (what the pages use instead of an API key); give "
        "every worker and replica the same one; unset: derived from the API and admin keys (with scrypt), so "
        "changing a key ends the sessions",
    )
    session_lifetime: int = Field(
        1800, ge=60, le=86_400, description="Seconds a page session lasts; the pages renew theirs when it runs out"
    )
    metrics_require_key: bool = Field(False, description="Whether GET /metrics needs an API or admin key")
    hold_memory: Literal["auto"] | bool = Field(
        "auto",
        description="Whether a serving process keeps the memory it frees and touches a reserve when its index is "
        "loaded, so that questions do not fault new memory in (qa/server/memory.py; glibc only). `qa serve` then "
        "starts itself again with PYTHONMALLOC=malloc. It pays where page faults are dear: at 10,000 articles on a "
        "virtual machine where a fault cost ~55 µs, p50 ~15 ms against 26-32 ms; where a fault costs ~3 µs it is "
        "~2 ms a question slower. auto: hold when the index is at least 256 MiB on disk and a page fault, timed at "
        "start-up, costs over 10 µs",
    )
    memory_reserve_mb: int | None = Field(
        None,
        ge=0,
        le=65_536,
        description="MiB touched ahead when the index is loaded (unset: a quarter of the index's size on disk, at "
        "most 512; touching costs ~16 ms a MiB at start-up on this machine, far less on most)",
    )
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
    header_timeout: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="Seconds a connection may take to send a request's head (from opening, or from the request's "
        "first byte on a reused connection) before it is closed. Without it, 600 connections that sent nothing "
        "held every descriptor for good (measured: still open after 160 s)",
    )
    body_timeout: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="Seconds a request body may take to arrive in full after its head (408 otherwise; a body "
        "shorter than its Content-Length was held for the request timeout, then got a 504); 0: no limit. "
        "The 1 MiB body limit then needs ~35 kB/s",
    )
    keep_alive_timeout: float = Field(
        75.0,
        gt=0,
        le=3600,
        description="Seconds an idle connection is kept open between requests: longer than clients' and load "
        "balancers' own idle timeouts (httpx 5 s, AWS ALB 60 s), or the server may close a connection just as it "
        "is reused (seen as rare ReadErrors in bench/load.py at 5 s)",
    )
    max_connections: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        description="Open connections per worker process, and never more than the open-file limit (`ulimit -n`) "
        "less 64 (a loaded worker holds ~16 other descriptors). At the cap a new connection closes the one that "
        "has waited longest for a request head (idle or slow); when every connection is busy, its request gets a "
        "503 at once",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses (IPs or CIDR networks; '*' for any) of the reverse proxies whose X-Forwarded-For "
        "and X-Forwarded-Proto are believed; empty: none are, and the client is the connection's peer (a spoofed "
        "X-Forwarded-For from loopback otherwise passed 50 of 50 requests through a rate limit of 10); JSON list "
        "or comma-separated",
    )
    docs: bool = Field(
        True,
        description="Serve the API explorer at /docs (Swagger UI from files installed with the package, no CDN); "
        "/openapi.json is served either way",
    )
    index_check_seconds: float = Field(
        1.0,
        ge=0,
        le=3600,
        description="How often each worker looks whether another one rewrote the index (one stat() of its manifest) "
        "and then loads it: with --workers 2, a reindex on one worker otherwise left the other serving the old "
        "index (30 of 60 requests); 0: never",
    )
    load_retry_seconds: float = Field(
        1.0,
        ge=0,
        le=3600,
        description="When the index cannot load, wait this long before trying again, doubling each time; the "
        "reason is on /health meanwhile; 0: never retry (503 until restarted)",
    )
    load_retry_max_seconds: float = Field(60.0, gt=0, le=3600, description="Longest wait between two load attempts")

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        return _split(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: list[str]) -> list[str]:
        """Each an IP address or network, or '*': a host name or a typo was taken silently, and trusted no one."""
        for entry in value:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError as exc:
                    raise ValueError(f"{entry!r} is not an IP address or network (or '*')") from exc
        return value

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
    library_dir: Path = Field(
        Path("library"),
        description="Folder of the documents added through POST /documents or `qa add` (the index can always be "
        "rebuilt from seeds_dir and this folder)",
    )
    on_index_mismatch: Literal["rebuild", "refuse"] = Field(
        "rebuild", description="What to do when the index is missing, damaged or stale"
    )
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answering: AnsweringSettings = Field(default_factory=AnsweringSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @field_validator("seeds_dir", "index_dir", "library_dir", mode="before")
    @classmethod
    def _names_a_folder(cls, value: object) -> object:
        # QA_INDEX_DIR= (empty) would be the current folder, which a build replaces.
        if isinstance(value, str) and not value.strip():
            raise ValueError("an empty path names no folder")
        return value


def settings_with(
    *,
    seeds_dir: Path | None = None,
    index_dir: Path | None = None,
    library_dir: Path | None = None,
    embedding_model: str | None = None,
    log_level: str | None = None,
) -> Settings:
    """Settings from the environment, with the values a command line gives put over them."""
    settings = Settings()
    top: dict[str, object] = {"seeds_dir": seeds_dir, "index_dir": index_dir, "library_dir": library_dir}
    update = {k: v for k, v in top.items() if v is not None}
    if embedding_model is not None:
        update["retrieval"] = settings.retrieval.model_copy(update={"embedding_model": embedding_model})
    if log_level is not None:
        update["server"] = settings.server.model_copy(update={"log_level": log_level})
    return settings.model_copy(update=update)

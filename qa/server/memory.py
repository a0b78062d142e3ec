"""How a serving process holds its memory: it keeps what it frees, and touches a reserve before the first question.

A cold question on a large archive allocates as it goes: the caches it fills (term scores, sentences' units and
facts), its score arrays (one float per chunk, several times over). Memory new to the process costs a page fault
on first touch, and on a virtual machine whose host backs guest memory lazily (this one: ~55 µs a 4 KiB page)
that was a third of a cold question's time at 10,000 articles (~190 faults, ~10 ms of system time a question).
Three things take it out of the request path:

- Python objects are allocated with the C library's malloc (PYTHONMALLOC=malloc), not in Python's own 1 MiB
  arenas, which are mapped and unmapped from the system as they fill and empty;
- malloc keeps what is freed (no trimming, no per-allocation maps below 32 MiB, one arena for all threads), so
  memory once touched is reused;
- a reserve, sized to the index, is touched once when the index is loaded, so that the first questions reuse
  memory rather than fault it in.

PYTHONMALLOC and malloc's settings (GLIBC_TUNABLES) are read when a process starts: `qa serve` starts itself again
with them set (`serving_env`). A process started otherwise (uvicorn on `qa.wiring:app_factory`) gets malloc's settings
from mallopt when its index is loaded, for the threads made after that. glibc only: elsewhere this module does
nothing.

Whether it pays depends on the machine. Measured at 10,000 articles over HTTP (`bench/scale.py`):
- on a virtual machine where a fault cost ~55-65 µs (2026-12-03), `/ask` p50 14.7-15.8 ms and p95 21.8-23.9 ms,
  against 25.6-32 ms and 51-54 ms; the server's page faults ~10 a question against 240-380;
- on one where a fault costs ~2-4 µs (2026-12-05), holding was slower: answering p50 14.6 ms against 12.2-12.5 ms
  with Python's own allocator (faster than malloc for small objects), ~190 cheap faults a question notwithstanding;
  on one article, 2.2-2.7 ms against 1.5-1.8 ms.
So by default (`hold_memory` "auto") a server holds its memory only where that pays: when the index is large enough
for cold questions to fault (HOLD_FROM_BYTES on disk) and a page fault, timed when it starts, costs more than
DEAR_FAULT_US. The cost of holding: a process never gives memory back (its resident size is its high-water mark: 3.0
against 2.6 GB at 10,000 articles), and touching the reserve takes ~3.6 s at 10,000 articles (a 228 MiB reserve) on
the slow machine.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import mmap
import os
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

# mallopt parameters (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_MMAP_THRESHOLD = 32 << 20  # glibc's largest: allocations up to this come from the heap, and go back to it
_TRIM_THRESHOLD = (1 << 31) - 1  # freed memory at the heap's top is kept, up to 2 GiB of it
_TOUCH_BLOCK = 16 << 20  # the reserve is touched in blocks below the map threshold, so it stays in the heap

# The same, as the C library reads them when a process starts (before any thread has made its own arena).
_TUNABLES = {"mmap_threshold": _MMAP_THRESHOLD, "trim_threshold": _TRIM_THRESHOLD, "arena_max": 1}

# Holding pays when a fault costs more than this (µs, timed at start-up). At 10,000 articles holding saves ~190 faults
# a question and malloc costs ~2 ms a question more than Python's own allocator: 2 ms / 190 ≈ 10 µs.
DEAR_FAULT_US = 10.0
# ... and only for an index at least this large on disk: a question on one article (212 KB) faults ~2 pages; at
# 1,000 articles (93 MB) the reserve saved 22 of 140 faults a question, less than malloc cost; 10,000 are 914 MB.
HOLD_FROM_BYTES = 256 << 20
_PROBE_BYTES = 8 << 20  # memory touched to time a fault: 2,048 pages, ~6 ms at 3 µs a fault, ~130 ms at 65 µs

_held = threading.Event()  # set once the process holds its memory


@functools.cache
def fault_cost_us() -> float:
    """What touching a page of memory new to the process costs on this machine, in µs (timed once a process): the
    least of a few rounds, so that a round another process interrupted does not count."""
    page, rounds = mmap.PAGESIZE, 4
    size = _PROBE_BYTES // rounds
    costs = []
    for _ in range(rounds):
        with mmap.mmap(-1, size) as region:
            started = time.perf_counter()
            for at in range(0, size, page):
                region[at] = 1
            costs.append((time.perf_counter() - started) / (size // page) * 1e6)
    return min(costs)


@functools.cache
def worth_holding(index_dir: Path) -> bool:
    """Whether holding memory pays for a server of the index in index_dir on this machine (decided once a process):
    the index is at least HOLD_FROM_BYTES on disk and a page fault costs more than DEAR_FAULT_US."""
    size = index_bytes(index_dir)
    if size < HOLD_FROM_BYTES:
        log.info("not holding memory: the index is %.1f MiB, under %d", size / (1 << 20), HOLD_FROM_BYTES >> 20)
        return False
    cost = fault_cost_us()
    dear = cost > DEAR_FAULT_US
    verdict = "holding memory" if dear else "not holding memory"
    log.info("%s: a page fault costs %.1f µs here (threshold %g)", verdict, cost, DEAR_FAULT_US)
    return dear


def wants_holding(setting: bool | str, index_dir: Path) -> bool:
    """Whether to hold memory, as the hold_memory setting says: true, false, or "auto" (worth_holding)."""
    return worth_holding(index_dir) if setting == "auto" else bool(setting)


def index_bytes(index_dir: Path) -> int:
    """The size of the index's files on disk (0 when there is none yet)."""
    return sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file()) if index_dir.is_dir() else 0


def serving_env(environ: Mapping[str, str]) -> dict[str, str] | None:
    """The environment a serving process should start with, or None when it already has it (or the platform has
    no glibc malloc to keep memory with)."""
    if not sys.platform.startswith("linux") or _libc() is None or environ.get("PYTHONMALLOC"):
        return None
    tunables = [t for t in environ.get("GLIBC_TUNABLES", "").split(":") if t]
    tunables += [f"glibc.malloc.{name}={value}" for name, value in _TUNABLES.items()]
    return {**environ, "PYTHONMALLOC": "malloc", "GLIBC_TUNABLES": ":".join(tunables)}


def hold(reserve_bytes: int) -> float:
    """Make malloc keep what is freed and touch reserve_bytes of it (once a process). Returns the seconds spent."""
    libc = _libc()
    if _held.is_set() or libc is None:
        return 0.0
    _held.set()
    started = time.perf_counter()
    for param, value in ((_M_MMAP_THRESHOLD, _MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD), (_M_ARENA_MAX, 1)):
        if not libc.mallopt(param, value):
            log.warning("mallopt(%d, %d) refused", param, value)
    blocks = [bytearray(_TOUCH_BLOCK) for _ in range(reserve_bytes // _TOUCH_BLOCK)]  # zero-filled: touched
    del blocks
    return time.perf_counter() - started


def reserve_for(index_dir: Path, reserve_mb: int | None) -> int:
    """Bytes to touch ahead for the index in index_dir: reserve_mb when set, else a quarter of the index's size
    on disk (what a run of cold questions grows the process by, measured at 10,000 articles: ~0.75 MB a
    question over the first hundreds, a 914 MB index), at most 512 MiB; never more than half the free memory."""
    wanted = reserve_mb << 20 if reserve_mb is not None else min(index_bytes(index_dir) // 4, 512 << 20)
    available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if wanted > available // 2:  # never crowd the machine out for a head start
        log.warning("memory reserve cut from %d to %d MiB (half the free memory)", wanted >> 20, available >> 21)
        return available // 2
    return wanted


def _libc() -> ctypes.CDLL | None:
    """glibc, when this process runs on it (mallopt is glibc's)."""
    try:
        name = ctypes.util.find_library("c")
        if not name or not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
        libc = ctypes.CDLL(name)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        return libc
    except (OSError, ValueError, AttributeError):  # no such name (musl, macOS) or no mallopt
        return None

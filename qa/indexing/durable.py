"""Writes that outlast a power cut, not only a killed process: a file's bytes reach the disk (fsync) before the rename
or the manifest that makes them part of the index, and a rename is made to last by syncing the folder that holds it.
Without these, the kernel may write the new manifest before the segment files it lists, and a power cut in between
leaves a manifest whose checksums fail (a killed process does not: its writes are in the page cache)."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

# A folder cannot be opened for fsync on every filesystem (some network ones refuse it): then the rename is as durable
# as that filesystem makes it.
_NOT_SUPPORTED = (errno.EINVAL, errno.EBADF, errno.EISDIR, errno.EACCES, errno.ENOTSUP)


def sync_file(path: Path) -> None:
    """Flush a file's bytes to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_dir(path: Path) -> None:
    """Flush a folder's entries (the names of files created, renamed or deleted in it) to the disk."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        if exc.errno in _NOT_SUPPORTED:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _NOT_SUPPORTED:
            raise
    finally:
        os.close(fd)


def sync_tree(folder: Path) -> None:
    """Flush every file and folder under a folder, the folder itself and its entry in its parent."""
    for root, dirs, files in os.walk(folder):
        for name in files:
            sync_file(Path(root) / name)
        for name in dirs:
            sync_dir(Path(root) / name)
    sync_dir(folder)
    sync_dir(folder.parent)


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file whole or not at all, and durably: a temporary file beside it, synced, renamed over it, and the
    rename synced."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise
    sync_dir(path.parent)

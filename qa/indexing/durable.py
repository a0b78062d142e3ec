"""Writes that outlast a power cut, not only a killed process: a file's bytes reach the disk (fsync) before the rename
or the manifest that makes them part of the index, and a rename is made to last by syncing the folder that holds it.
Without these, the kernel may write the new manifest before the segment files it lists, and a power cut in between
leaves a manifest whose checksums fail (a killed process does not: its writes are in the page cache).

What replaces a file or a folder by rename gets the permissions of the one it replaces, or a plain write's (the
umask's) for a new one, not the owner-only ones of Python's temporary files: a service that runs as another user than
the one who adds the documents or rebuilds the index must still read them. And an old folder that is read-only is
made writable to be removed, not left behind."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
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


def _umask() -> int:
    """The process's umask (read by setting it and setting it back, at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once, at import: setting it later, with threads running, could race a write


def mode_for(path: Path, *, folder: bool = False) -> int:
    """The permission bits for what replaces path by rename: path's own, or those a plain write (a plain mkdir, for a
    folder) gives when there is nothing there yet."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return (0o777 if folder else 0o666) & ~_UMASK


def remove_tree(folder: Path) -> None:
    """Remove a folder and all under it, as far as the disk allows: a folder under it that is read-only to its owner
    (an index folder a deployment made so) is made writable first, which its owner may do; what still fails is left.
    Nothing outside the folder is touched."""
    if not folder.exists():
        return
    root = os.path.abspath(folder)

    def writable_then_again(remove: Callable[[str], object], name: str, failure: object) -> None:
        exc = failure[1] if isinstance(failure, tuple) else failure  # onerror gives exc_info, onexc the exception
        parent = os.path.dirname(os.path.abspath(name))
        if not isinstance(exc, PermissionError) or os.path.commonpath([parent, root]) != root:
            return
        with contextlib.suppress(OSError):
            os.chmod(parent, stat.S_IMODE(os.stat(parent).st_mode) | stat.S_IRWXU)
            remove(name)

    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=writable_then_again)
    else:
        shutil.rmtree(folder, onerror=writable_then_again)


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file whole or not at all, and durably: a temporary file beside it (with the permissions of the file it
    replaces, or a plain write's), synced, renamed over it, and the rename synced."""
    mode = mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
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

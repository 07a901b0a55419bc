"""One writer per store: an advisory ``flock`` on ``<store>.lock``, and undoing a failed open."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no store lock
    fcntl = None

from bench.store.errors import StoreError, one_line


def writable(path: Path) -> bool:
    """Whether we may write ``path``: permission, and a write bit (root ignores permissions, but
    a store its owner made read-only, ``chmod a-w``, is meant to stay as it is)."""
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def lock(path: Path, shown: Path | None = None) -> int | None:
    """Take the store's write lock: ``flock`` on ``<store>.lock``, never waiting.

    One process writes a store at a time; a second ``optbench run`` on the same store stops with
    a StoreError naming the holder's process id. The kernel releases the lock when its holder
    exits, however it exits, so a killed run never leaves a stale lock. The lock file holds the
    holder's process id and is removed on close. (No locking where ``fcntl`` is missing.)

    ``path`` is the store's real path (symbolic links resolved), so that every spelling of one
    store takes the same lock; messages name ``shown``, the path as the user gave it.

    Returns
    -------
    int or None
        The lock file's descriptor, for :func:`unlock`.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return None
    shown = path if shown is None else shown
    name = f"{path}.lock"
    while True:
        existed = os.path.lexists(name)
        try:
            fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"{shown}: cannot create its lock file ({one_line(exc)})") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreError(
                f"{shown}: in use by another optbench run (process {holder}); wait for it to "
                "finish, or give this run another --store"
            ) from None
        except OSError as exc:
            _give_up(name, fd, existed)
            raise StoreError(f"{shown}: cannot lock it ({one_line(exc)})") from exc
        try:
            current = os.stat(name)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError as exc:  # a full disk: leave no empty lock file behind
                _give_up(name, fd, existed)
                raise StoreError(f"{shown}: cannot write its lock file ({one_line(exc)})") from exc
            return fd
        os.close(fd)  # its holder removed the file between our open and our lock: start over


def _give_up(name: str, fd: int, existed: bool) -> None:
    """Close a lock file we could not take, removing it if this attempt created it."""
    if not existed:
        with contextlib.suppress(OSError):
            os.remove(name)
    os.close(fd)


def unlock(path: Path, fd: int | None) -> None:
    """Release :func:`lock`: remove the file while still holding it, then close it."""
    if fd is None:  # pragma: no cover - Windows
        return
    with contextlib.suppress(OSError):
        os.remove(f"{path}.lock")
    os.close(fd)


def undo(path: Path, created: bool, lock: int | None, made_dirs: list[Path]) -> None:
    """Undo a failed open: the store file if this process began creating it (with its
    sidecars), the lock, then the directories it made."""
    if created:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.remove(f"{path}{suffix}")
    if lock is not None:
        unlock(path, lock)
    for directory in reversed(made_dirs):
        with contextlib.suppress(OSError):
            directory.rmdir()

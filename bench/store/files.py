"""The files that make up a store, and what may be done to paths optbench did not create.

A store is its ``.sqlite`` file plus, while it is open or after a writer died, ``<store>-wal``
(changes not yet copied into the ``.sqlite`` file), ``<store>-shm`` (an index of the ``-wal``,
rebuilt when missing) and ``<store>.lock`` (held by the writer).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bench.store.errors import StoreError


def real_path(path: Path) -> Path:
    """The file behind ``path`` (symbolic links and ``..`` resolved): what locks and SQLite use,
    so that two spellings of one store are one store."""
    return Path(os.path.realpath(path))


def check_path(path: Path) -> None:
    """Refuse, before anything is created, a path that cannot be a store file.

    Raises
    ------
    StoreError
        ``path`` is a dangling symbolic link (it is left as it is: optbench never creates a store
        through a link), a directory, or not a regular file (a FIFO, a device, a socket).
    """
    if path.is_symlink() and not path.exists():
        raise StoreError(
            f"{path}: a dangling symbolic link (to {os.readlink(path)}); point it at a store, "
            "or give another --store"
        )
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"{path}: cannot use it ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(mode):
        raise StoreError(f"{path}: is a directory, not a store file")
    if not stat.S_ISREG(mode):
        raise StoreError(f"{path}: not a regular file (a FIFO, device or socket), not a store")


def on_read_only_media(path: Path) -> bool:
    """Whether SQLite could not create the store's ``-shm`` file next to it (a read-only
    filesystem or directory): the store is then read as an immutable file."""
    return not os.access(path.parent, os.W_OK)


def wal_size(path: Path) -> int:
    """Bytes in the store's ``-wal`` file (0 when it is missing)."""
    try:
        return os.path.getsize(f"{path}-wal")
    except OSError:
        return 0

"""A store as one complete, self-contained file: what to upload as an artifact or archive."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

from bench.store.errors import StoreError, one_line
from bench.store.store import Store


def copy_store(path: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Copy a store, including changes still in its ``-wal`` file, into one new file.

    Uses SQLite's online backup, so it is safe while a run writes the store (the copy holds the
    cells committed when it began). The copy is in rollback-journal mode: a single file, with no
    ``-wal`` to forget; ``optbench run`` switches it back to WAL when it writes it.

    Parameters
    ----------
    path
        The store.
    dest
        The new file; it must not exist (nothing is overwritten).

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    StoreError
        ``dest`` exists, or either file cannot be used.
    """
    dest = Path(dest)
    if os.path.lexists(dest):
        raise StoreError(f"{dest}: already exists; optbench copy never overwrites a file")
    with Store(path, create=False, readonly=True) as store:
        folder = dest.parent if str(dest.parent) else Path(".")
        try:
            fd, partial = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=folder)
        except OSError as exc:
            raise StoreError(f"{dest}: cannot create it ({one_line(exc)})") from exc
        os.close(fd)
        try:
            with contextlib.closing(sqlite3.connect(partial, isolation_level=None)) as out:
                store._conn.backup(out)
                out.execute("PRAGMA journal_mode = DELETE")
            os.link(partial, dest)  # fails, rather than overwrites, if dest appeared meanwhile
        except FileExistsError:
            raise StoreError(
                f"{dest}: already exists; optbench copy never overwrites a file"
            ) from None
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{dest}: cannot write the copy ({one_line(exc)})") from exc
        finally:
            with contextlib.suppress(OSError):
                os.remove(partial)
    return dest

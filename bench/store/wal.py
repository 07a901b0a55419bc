"""The write-ahead log: a complete ``.sqlite`` file after a run, and a ``-wal`` that belongs.

SQLite applies whatever ``<store>-wal`` lies next to the ``.sqlite`` file, even one left by another
copy of the store (a backup restored over a store whose writer died): the result is silently
wrong. So every write transaction also stamps the ``meta`` table with the writer's *generation*
token and its *base*, the generation the ``.sqlite`` file held when this stretch of the log began.
The writer checkpoints the log itself (SQLite's automatic checkpoints are off) and starts a new
generation whenever the ``.sqlite`` file has caught up with the log. A ``-wal`` belongs to the
``.sqlite`` file exactly when the file's own generation (read ignoring the log) is the log's
generation or its base: the log was begun on top of this file, or partly copied into it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import sys
import time
from pathlib import Path

from bench.store.errors import StoreError, one_line
from bench.store.files import wal_size

CHECKPOINT_WAIT = 5.0  # seconds a closing writer waits for readers to let go of the log
CHECKPOINT_BYTES = 4 << 20  # a writer copies its log into the .sqlite file beyond this size
WAL_HEADER = 32  # bytes of a -wal file that holds no page

META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID"

Generation = tuple[str, "str | None"]  # (this log's token, the token the .sqlite file held)


def read_generation(conn: sqlite3.Connection) -> tuple[str | None, str | None]:
    """(generation, base) as ``conn`` sees the store; (None, None) before any stamp."""
    if not conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'meta'").fetchone():
        return None, None
    values = dict(conn.execute("SELECT key, value FROM meta"))
    return values.get("wal_generation"), values.get("wal_base")


def stamp(conn: sqlite3.Connection, generation: Generation) -> None:
    """Record the writer's generation inside the caller's write transaction."""
    conn.executemany(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        [("wal_generation", generation[0]), ("wal_base", generation[1])],
    )


def checkpoint(conn: sqlite3.Connection, mode: str = "PASSIVE") -> bool:
    """Copy the log into the ``.sqlite`` file; whether every page of it got there."""
    _, pages, copied = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    return pages == copied


def start(conn: sqlite3.Connection) -> Generation:
    """The generation a writer opening the store stamps: a new one when the ``.sqlite`` file holds
    the whole log, else the log's own (it goes on growing on top of the same file)."""
    with _busy_timeout(conn, 0):
        caught_up = checkpoint(conn, "TRUNCATE")
    generation, base = read_generation(conn)
    if caught_up or generation is None:
        return secrets.token_hex(8), generation
    return generation, base


def after_write(conn: sqlite3.Connection, path: Path, generation: Generation) -> Generation:
    """Checkpoint a log grown past ``CHECKPOINT_BYTES``; the generation to stamp next."""
    if wal_size(path) > CHECKPOINT_BYTES and checkpoint(conn, "PASSIVE"):
        return secrets.token_hex(8), generation[0]
    return generation


def finish(conn: sqlite3.Connection, path: Path, shown: Path) -> bool:
    """At a writer's close: copy the whole log into the ``.sqlite`` file and empty it, waiting up
    to ``CHECKPOINT_WAIT`` seconds for readers to let go; else warn on stderr, once."""
    deadline = time.monotonic() + CHECKPOINT_WAIT
    with _busy_timeout(conn, 50):
        while True:
            try:
                if checkpoint(conn, "TRUNCATE"):
                    return True
            except sqlite3.Error:
                pass
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
    print(
        f"optbench: warning: {shown}: readers kept the store open, so its newest cells are still "
        f"in {shown}-wal; copy that file with it, or make one complete file with "
        f"`optbench copy {shown} DEST`",
        file=sys.stderr,
    )
    return False


def check_owner(path: Path, shown: Path, *, reader: bool) -> None:
    """Refuse a ``-wal`` file that does not belong to the ``.sqlite`` file next to it.

    Reads only: the log through a read-only connection (which never checkpoints), the ``.sqlite``
    file through an immutable one (which ignores the log). A reader skips the check while a live
    writer holds the store (its log is its own, and it may be moving pages between the two files);
    a mismatch is read again before it is believed.
    """
    if wal_size(path) <= WAL_HEADER or (reader and _writer_alive(path)):
        return
    for attempt in range(3):
        if attempt:
            time.sleep(0.1)
        generation, base, own = _generations(path, shown)
        if generation is None or own in (generation, base):
            return  # a store written before generations has nothing to compare
    raise StoreError(
        f"{shown}: its {shown}-wal file belongs to another copy of this store (was the .sqlite "
        f"file restored or replaced after a run died?); refusing to mix them: move {shown}-wal "
        "away to use the .sqlite file as it is"
    )


def _generations(path: Path, shown: Path) -> tuple[str | None, str | None, str | None]:
    """(generation, base) seen through the log, and the generation of the ``.sqlite`` file."""
    uri = path.as_uri()
    try:
        with contextlib.closing(sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)) as conn:
            own, _ = read_generation(conn)
    except sqlite3.Error:
        return None, None, None  # cannot tell: let the open itself report the problem
    try:
        with contextlib.closing(sqlite3.connect(f"{uri}?mode=ro", uri=True)) as conn:
            generation, base = read_generation(conn)
    except sqlite3.Error as exc:
        raise StoreError(f"{shown}: cannot read it with its {shown}-wal ({one_line(exc)})") from exc
    return generation, base, own


def _writer_alive(path: Path) -> bool:
    """Whether the process named in ``<store>.lock`` (the writer's, see lock.py) is running."""
    try:
        pid = int(Path(f"{path}.lock").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


@contextlib.contextmanager
def _busy_timeout(conn: sqlite3.Connection, milliseconds: int):
    before = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(before)}")

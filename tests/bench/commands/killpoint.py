"""Run ``optbench`` and SIGKILL itself at a chosen point of the store's life (for the crash tests).

    python -m tests.bench.commands.killpoint POINT N -- run GRID --store PATH ...

POINT is where the process kills itself, at the N-th occurrence:

- ``after-write``: just after the N-th cell's transaction committed;
- ``mid-write``: inside the N-th cell's transaction, after its runs and targets were inserted
  and before its curves (the transaction is open: SQLite must roll it back on the next open);
- ``creating``: inside the transaction that creates a new store's schema, before its commit.

SIGKILL, not an exception: no ``finally``, no ``atexit``, no rollback, as when the machine dies.
"""

from __future__ import annotations

import os
import signal
import sys

import bench.store.schema
import bench.store.store
from bench.cli import main


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class DieOn:
    """A connection that dies when it is asked to run ``statement`` (and delegates the rest)."""

    def __init__(self, conn, statement: str):
        self._conn, self._statement = conn, statement

    def execute(self, sql, *args):
        if sql.strip() == self._statement:
            die()
        return self._conn.execute(sql, *args)

    def executemany(self, sql, *args):
        if sql.strip() == self._statement:
            die()
        return self._conn.executemany(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def install(point: str, n: int) -> None:
    store = bench.store.store.Store
    write, create_schema = store.write, store._create_schema
    calls = 0

    def after_write(self, result, experiment_id=None):
        nonlocal calls
        write(self, result, experiment_id)
        calls += 1
        if calls == n:
            die()

    def mid_write(self, result, experiment_id=None):
        nonlocal calls
        calls += 1
        if calls == n:
            self._conn = DieOn(self._conn, bench.store.schema.INSERT_CURVE)
        write(self, result, experiment_id)

    def creating(self, conn, version):
        version_pragma = f"PRAGMA user_version = {bench.store.schema.SCHEMA_VERSION:d}"
        create_schema(self, DieOn(conn, version_pragma), version)

    patches = {"after-write": ("write", after_write), "mid-write": ("write", mid_write),
               "creating": ("_create_schema", creating)}  # fmt: skip
    name, function = patches[point]
    setattr(store, name, function)


if __name__ == "__main__":
    point, n, separator, *argv = sys.argv[1:]
    assert separator == "--", "usage: killpoint POINT N -- ARGS"
    install(point, int(n))
    sys.exit(main(argv))

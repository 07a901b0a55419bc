"""A store that is busy, unusable or full: one clear line, exit 2, and never a corrupted store.

The store rows of the README's Reliability section, through `optbench run` (the Store class on its
own is tested in test_store.py). The command-line faults are in
tests/bench/commands/test_reliability.py, the worker faults in
tests/bench/run/test_parallel_faults.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from bench.store.schema import SCHEMA_VERSION
from bench.store.store import Store, StoreError
from tests.bench.commands.faults import (
    check_store,
    one_line,
    optbench,
    run,
    stored_cells,
    wait_until,
)
from tests.bench.conftest import CRASH_CELLS, CRASH_GRID

# --- two runs on one store: the second stops with a clear message; nothing is corrupted ---------


@pytest.mark.timeout(60)
def test_a_second_run_on_a_busy_store_exits_2_and_writes_nothing(slow_grid, tmp_path, capsys):
    store = tmp_path / "shared.sqlite"
    first = optbench("run", slow_grid, "--store", store, "--jobs", 1)
    wait_until(lambda: stored_cells(store) >= 1, 40, "a stored cell", first)
    assert run("run", slow_grid, "--store", store, "--jobs", 1) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{store}: in use by another optbench run (process {first.pid})" in err
    assert run("status", store) == 0  # reading while it runs is fine
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT COUNT(*) FROM experiments").fetchone()[0] == 1
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=10)
    check_store(store, seeds=2)
    with Store(store):  # the lock died with its holder
        pass
    assert not Path(f"{store}.lock").exists()


def test_one_writer_at_a_time_in_one_process_too(tmp_path):
    path = tmp_path / "one.sqlite"
    with Store(path):
        with pytest.raises(
            StoreError, match=f"in use by another optbench run .process {os.getpid()}"
        ):
            Store(path)
        with Store(path, readonly=True) as reader:  # readers take no lock
            assert reader.status_counts()["done"] == 0
    with Store(path):  # released on close
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.sqlite"]


# --- a store that cannot be used: one line naming the file and the cause, nothing written -------


def not_sqlite(path: Path) -> None:
    path.write_text("my notes, not a database\n" * 50)


def newer_schema(path: Path) -> None:
    Store(path).close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")


def another_programs(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
        conn.commit()


def read_only(path: Path) -> None:
    with Store(path) as store:
        store.start_experiment("x", "")
    path.chmod(0o444)  # honoured even by root: a store made read-only is meant to stay so


def a_directory(path: Path) -> None:
    path.mkdir()


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (not_sqlite, "not an SQLite database"),
        (newer_schema, f"schema version {SCHEMA_VERSION + 1} is newer"),
        (another_programs, "not an optbench store"),
        (read_only, "read-only file"),
        (a_directory, "is a directory"),
    ],
)
def test_an_unusable_store_exits_2_with_one_line_and_stays_as_it_was(
    crash_grid, tmp_path, capsys, make, cause
):
    path = tmp_path / "store.sqlite"
    make(path)
    before = snapshot(tmp_path)
    assert run("run", crash_grid, "--store", path, "--jobs", 1) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{path}: {cause}" in err
    assert snapshot(tmp_path) == before


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {p.name: p.read_bytes() if p.is_file() else None for p in sorted(folder.iterdir())}


@pytest.mark.timeout(60)
def test_a_full_disk_stops_the_run_with_exit_2_keeping_whole_cells(tmp_path, capsys, monkeypatch):
    crash_grid = tmp_path / "crash.toml"  # every step logged: cells of a few pages each
    crash_grid.write_text(CRASH_GRID.replace("log_every = 10", "log_every = 1"))
    path = tmp_path / "full.sqlite"
    connect = Store._connect

    def small_disk(self):  # SQLite's own "database or disk is full", a few cells in
        conn = connect(self)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 6}")
        return conn

    with monkeypatch.context() as patch:
        patch.setattr(Store, "_connect", small_disk)
        assert run("run", crash_grid, "--store", path, "--jobs", 1) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{path}: cannot write cell" in err and "database or disk is full" in err
    assert "rerun the same command to resume" in err
    kept = check_store(path, seeds=3)
    assert 1 <= len(kept) < CRASH_CELLS
    assert run("run", crash_grid, "--store", path, "--jobs", 1) == 0
    assert len(check_store(path, seeds=3)) == CRASH_CELLS

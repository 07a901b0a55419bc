"""The store's tables, derived from the grid axes (``bench.grid.axes``), and their migrations.

Version 1 had ``runs``, ``targets`` and ``curves`` (one row per logged point); version 2 adds
``ladders``, each stored problem's target ladder (metric, direction, values), written with its
cells so that analysis never has to rebuild a problem to read its targets; version 3 stores a
run's curve as one ``curve_blobs`` row (its steps and metrics as little-endian arrays), which
writes a million logged points in well under a second. An older store is upgraded in place when
opened for writing (its old curve rows stay where they are and are read as before); read-only it
is read as it is, its ladders recovered from the ``targets`` table.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.grid.axes import axes
from bench.run.result import CURVE_COLUMNS
from bench.store.errors import StoreError
from bench.store.wal import META

SCHEMA_VERSION = 3
APPLICATION_ID = 0x4F505442  # "OPTB" in the SQLite header: an optbench store, positively
BUSY_TIMEOUT = 30.0  # seconds a connection waits for a lock before giving up

RUN_RESULTS = ("status", "steps_done", "diverged_step", "error", "final_train_loss",
               "best_train_loss", "final_test_loss", "final_train_accuracy",
               "final_test_accuracy", "opt_time")  # fmt: skip
BUDGET = ("batch_size", "steps", "log_every", "grid_seed")

_EXPERIMENTS = """
CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    machine TEXT NOT NULL,
    blas TEXT NOT NULL,
    versions TEXT NOT NULL,
    started_at TEXT NOT NULL,
    schema_version INTEGER NOT NULL
)"""
_RUNS = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    cell_key TEXT NOT NULL,
    seed INTEGER NOT NULL,
    {axes},
    batch_size INTEGER,
    steps INTEGER NOT NULL,
    log_every INTEGER NOT NULL,
    grid_seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    steps_done INTEGER NOT NULL,
    diverged_step INTEGER,
    error TEXT,
    final_train_loss REAL, best_train_loss REAL, final_test_loss REAL,
    final_train_accuracy REAL, final_test_accuracy REAL,
    opt_time REAL,
    wall_time REAL,
    finished_at TEXT NOT NULL,
    code TEXT,
    UNIQUE (cell_key, seed)
)"""
# Columns added to ``runs`` after version 3's first stores (old code ignores them, so the version
# stays 3): ``code``, the plugin source hashes of the run's cell as JSON (NULL: built-in only).
_LATER_RUN_COLUMNS = (("code", "code TEXT"),)
_TARGETS = """
CREATE TABLE targets (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    target NOT NULL,
    step INTEGER,
    time REAL,
    PRIMARY KEY (run_id, target)
) WITHOUT ROWID"""
_CURVES = """
CREATE TABLE curves (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    epoch REAL, time REAL, train_loss REAL, grad_norm REAL,
    test_loss REAL, train_accuracy REAL, test_accuracy REAL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID"""
_CURVE_BLOBS = """
CREATE TABLE curve_blobs (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    points INTEGER NOT NULL,
    present INTEGER NOT NULL,
    steps BLOB NOT NULL,
    metrics BLOB NOT NULL
)"""
# The float columns of a curve, in the order a curve_blobs.metrics array holds them (rows); bit i
# of `present` says whether column i is stored (a column that is NaN throughout is left out).
BLOB_METRICS = CURVE_COLUMNS[2:]
_LADDERS = """
CREATE TABLE ladders (
    problem TEXT NOT NULL,
    problem_params TEXT NOT NULL,
    metric TEXT NOT NULL,
    higher_is_better INTEGER NOT NULL,
    targets TEXT NOT NULL,
    PRIMARY KEY (problem, problem_params)
) WITHOUT ROWID"""


def axis_columns() -> list[tuple[str, str]]:
    """(column, SQL declaration) of every axis column, in axis order; ``lr`` follows the
    optimizer's parameters (the axis most reports sweep gets its own column)."""
    columns = []
    for entry in axes():
        null = " NOT NULL" if entry.required or entry.default is not None else ""
        columns.append((entry.column, f"{entry.column} TEXT{null}"))
        if entry.params:
            columns.append((entry.params, f"{entry.params} TEXT NOT NULL DEFAULT '{{}}'"))
        if entry.column == "optimizer":
            columns.append(("lr", "lr REAL"))
    return columns


def run_columns() -> tuple[str, ...]:
    """Every column a run row binds, in insertion order."""
    config = tuple(column for column, _ in axis_columns())
    return ("experiment_id", "cell_key", "seed", *config, *BUDGET, *RUN_RESULTS, "wall_time",
            "finished_at", "code")  # fmt: skip


def insert_run_sql() -> str:
    """``INSERT INTO runs`` with named parameters (names come from code, never from data)."""
    columns = run_columns()
    return "INSERT INTO runs ({}) VALUES ({})".format(
        ", ".join(columns), ", ".join(f":{c}" for c in columns)
    )


INSERT_CURVE = (
    "INSERT INTO curve_blobs (run_id, points, present, steps, metrics) VALUES (?, ?, ?, ?, ?)"
)
RUN_DTYPES = {"run_id": "int64", "experiment_id": "int64", "seed": "int64", "steps": "int64",
              "log_every": "int64", "grid_seed": "int64", "steps_done": "int64",
              "batch_size": "Int64", "diverged_step": "Int64", "lr": "float64",
              "wall_time": "float64", "opt_time": "float64"} | {
    c: "float64" for c in RUN_RESULTS if c.startswith(("final_", "best_"))}  # fmt: skip


def create(conn: sqlite3.Connection) -> None:
    """Create every table of the current version in an empty database."""
    runs = _RUNS.format(axes=",\n    ".join(declaration for _, declaration in axis_columns()))
    for statement in (_EXPERIMENTS, runs, _TARGETS, _CURVE_BLOBS, _LADDERS, META):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")  # PRAGMA takes no `?`
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")


def is_optbench_store(conn: sqlite3.Connection, version: int) -> bool:
    """A positive identification: a known version with optbench's tables and key columns."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    needed = {"experiments", "runs", "targets"}
    needed |= {"curves"} if version < 3 else {"curve_blobs"}
    needed |= {"ladders"} if version >= 2 else set()
    if version < 1 or not needed <= tables:
        return False
    columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    return {"cell_key", "seed", "problem", "optimizer", "status"} <= columns


def upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Bring an optbench store of ``version`` up to date (inside the caller's transaction)."""
    if version < 2:
        conn.execute(_LADDERS)
    if version < 3:
        conn.execute(_CURVE_BLOBS)
    complete(conn)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")


def complete(conn: sqlite3.Connection) -> None:
    """Add what a current-version store may lack (inside the caller's transaction): the columns of
    axes registered since, the ``meta`` table and the application id (both newer than version 2's
    first stores; old code ignores them, so the version stays 2)."""
    add_axis_columns(conn)
    conn.execute(META)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")


def incomplete(conn: sqlite3.Connection) -> bool:
    """Whether :func:`complete` has anything to add."""
    has_meta = conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'meta'").fetchone()
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    return bool(missing_axis_columns(conn)) or not has_meta or application_id != APPLICATION_ID


def add_axis_columns(conn: sqlite3.Connection) -> None:
    """Add the columns of axes registered after the store was made (``register_axis``), and
    the columns ``runs`` gained since (``_LATER_RUN_COLUMNS``)."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    for column, declaration in [*axis_columns(), *_LATER_RUN_COLUMNS]:
        if column not in have:
            conn.execute(f"ALTER TABLE runs ADD COLUMN {declaration.replace(' NOT NULL', '')}")


def missing_axis_columns(conn: sqlite3.Connection) -> list[str]:
    """Columns the store lacks: of an axis registered since it was written, or newer ones."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    return [column for column, _ in [*axis_columns(), *_LATER_RUN_COLUMNS] if column not in have]


def identify(conn: sqlite3.Connection, path: Path, *, readonly: bool) -> int:
    """The schema version of an optbench store (0: an empty file), identified positively before
    anything is changed: the application id, a known version, optbench's tables.

    Raises
    ------
    StoreError
        Another program's database, a newer schema, or (``readonly``) an empty file.
    """
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if application_id not in (0, APPLICATION_ID):
        raise StoreError(f"{path}: not an optbench store (application id {application_id})")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: schema version {version} is newer than this optbench reads "
            f"({SCHEMA_VERSION}); upgrade optbench"
        )
    tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
    if version and not is_optbench_store(conn, version):
        raise StoreError(f"{path}: not an optbench store (schema version {version})")
    if not version and tables:
        raise StoreError(f"{path}: not an optbench store (another program's database)")
    if not version and readonly:
        raise StoreError(f"{path}: not an optbench store (empty file)")
    return version

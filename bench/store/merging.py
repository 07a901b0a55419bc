"""Several stores (one per machine, say) combined into one new store.

Every experiment is kept, under a new id. A run is identified by its (cell key, seed): one stored
in several inputs with the same numbers (every column but ids and timings, see ``TIMING``) is kept
once, from the first input that has it; with different numbers it is a conflict, and the whole
merge is refused before anything is written. A kept run brings its targets, its curve (legacy
``curves`` rows become one ``curve_blobs`` row) and its problem's ladder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.grid.axes import axes
from bench.run.result import CURVE_COLUMNS
from bench.store import files, rows, schema
from bench.store.errors import StoreError, one_line
from bench.store.store import Store

# Columns that may differ between two copies of one run: where and when it ran, and how long.
TIMING = ("id", "experiment_id", "opt_time", "wall_time", "finished_at")
_EXPERIMENT_COLUMNS = ("name", "spec", "machine", "blas", "versions", "started_at",
                       "schema_version")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class MergeSummary:
    """What :func:`merge_stores` wrote: counts over all inputs."""

    stores: int
    experiments: int
    runs: int
    duplicates: int  # runs dropped because an earlier input holds the same numbers


@dataclasses.dataclass
class _Input:
    path: Path
    store: Store
    runs: list[dict]  # the runs this input contributes (not duplicates), in id order


def merge_stores(paths: Sequence[str | os.PathLike], dest: str | os.PathLike) -> MergeSummary:
    """Combine the stores ``paths`` into the new store ``dest``.

    The inputs are opened read-only and read in one transaction each. ``dest`` is built as a
    temporary file beside it and appears only when complete, as one file (no ``-wal``).

    Parameters
    ----------
    paths
        Two or more stores, in priority order: of identical runs, the first input's is kept.
    dest
        The new store; it must not exist.

    Returns
    -------
    MergeSummary

    Raises
    ------
    StoreError
        ``dest`` exists, an input cannot be read, a store is given twice, or two inputs hold
        different numbers for one (cell key, seed) or different ladders for one problem (the
        first such cell is named, with the count); no file is left behind.
    """
    dest = Path(dest)
    if os.path.lexists(dest):
        raise StoreError(f"{dest}: already exists; optbench merge never overwrites a file")
    _check_distinct([Path(p) for p in paths])
    with contextlib.ExitStack() as stack:
        inputs = []
        for path in paths:
            store = stack.enter_context(Store(path, create=False, readonly=True))
            stack.enter_context(store.snapshot())  # inputs being written are read as of now
            inputs.append(_Input(Path(path), store, []))
        duplicates, ladders = _plan(inputs)
        experiments = _build(inputs, ladders, dest)
    kept = sum(len(i.runs) for i in inputs)
    return MergeSummary(len(inputs), experiments, kept, duplicates)


def _check_distinct(paths: list[Path]) -> None:
    seen: dict[Path, Path] = {}
    for path in paths:
        real = files.real_path(path)
        if real in seen:
            raise StoreError(f"{path}: given twice (as {seen[real]} too); name each store once")
        seen[real] = path


def _plan(inputs: list[_Input]) -> tuple[int, dict[tuple, tuple]]:
    """Decide which runs each input contributes; refuse conflicting runs or ladders.

    Returns the number of duplicate runs dropped and the ladders to write.
    """
    defaults = _axis_defaults()
    first: dict[tuple, tuple[Path, dict]] = {}  # (cell key, seed) -> (input, compared values)
    conflicts: list[tuple] = []
    duplicates = 0
    for source in inputs:
        conn = source.store._conn
        cursor = conn.execute("SELECT * FROM runs ORDER BY id")
        names = [d[0] for d in cursor.description]
        for values in cursor:
            run = dict(zip(names, values, strict=True))
            for column, default in defaults.items():
                if run.get(column) is None:  # an older store, written before this axis existed
                    run[column] = default
            key = (run["cell_key"], run["seed"])
            compared = _compared(run)
            if key not in first:
                first[key] = (source.path, compared)
                source.runs.append(run)
            elif first[key][1] == compared:
                duplicates += 1
            else:
                conflicts.append((key, first[key], source.path, compared))
    if conflicts:
        raise StoreError(_conflict_message(conflicts))
    return duplicates, _ladders(inputs)


def _axis_defaults() -> dict[str, str]:
    """What a run column an input lacks holds: the axis default, ``{}`` for parameters."""
    defaults = {a.column: a.default for a in axes() if a.default is not None}
    return defaults | {a.params: "{}" for a in axes() if a.params}


def _compared(run: dict) -> dict:
    """The values two copies of one run must share: all but ``TIMING``; of an error, its last
    line (a traceback names files, whose paths differ from machine to machine)."""
    compared = {k: v for k, v in run.items() if k not in TIMING}
    if compared.get("error"):
        compared["error"] = compared["error"].strip().splitlines()[-1]
    return compared


def _conflict_message(conflicts: list[tuple]) -> str:
    (cell_key, seed), (path_a, values_a), path_b, values_b = conflicts[0]
    column = next(c for c in sorted(values_a.keys() | values_b.keys())
                  if values_a.get(c) != values_b.get(c))  # fmt: skip
    cells = len({key[0] for key, *_ in conflicts})
    count = f"{len(conflicts)} conflicting run{'s' * (len(conflicts) != 1)}"
    return (
        f"cannot merge: cell {cell_key} seed {seed} has different numbers in {path_a} and "
        f"{path_b} ({column}: {values_a.get(column)!r} vs {values_b.get(column)!r}); "
        f"{count} in {cells} cell{'s' * (cells != 1)}; nothing written"
    )


def _ladders(inputs: list[_Input]) -> dict[tuple, tuple]:
    """(problem, params) -> ladder row, for the problems of the kept runs; two inputs with
    different ladders for one problem are refused (their targets would not line up)."""
    wanted = {(r["problem"], r["problem_params"]) for i in inputs for r in i.runs}
    ladders: dict[tuple, tuple] = {}
    origin: dict[tuple, Path] = {}
    for source in inputs:
        conn = source.store._conn
        if not _has_table(conn, "ladders"):
            continue  # a version-1 store: load recovers its ladders from the targets
        for row in conn.execute("SELECT * FROM ladders"):
            key = tuple(row[:2])
            if key not in wanted:
                continue
            if key in ladders and ladders[key] != tuple(row):
                raise StoreError(
                    f"cannot merge: problem {key[0]} {key[1]} has different target ladders in "
                    f"{origin[key]} and {source.path}; nothing written"
                )
            ladders.setdefault(key, tuple(row))
            origin.setdefault(key, source.path)
    return ladders


def _build(inputs: list[_Input], ladders: dict[tuple, tuple], dest: Path) -> int:
    """Write the merged store to a temporary file, then link it to ``dest``; the experiment
    count."""
    partial = str(dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.partial"))
    try:  # not mkstemp: the store gets the usual permissions (umask), not 0600
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise StoreError(f"{dest}: cannot create it ({exc.strerror or one_line(exc)})") from exc
    try:
        with Store(partial) as out, out.writing() as conn:
            _add_columns(conn, inputs)
            experiments = sum(_copy(source, conn) for source in inputs)
            conn.executemany("INSERT INTO ladders VALUES (?, ?, ?, ?, ?)", ladders.values())
        with contextlib.closing(sqlite3.connect(partial, isolation_level=None)) as single:
            single.execute("PRAGMA journal_mode = DELETE")  # one file, as `optbench copy` makes
        os.link(partial, dest)  # fails, rather than overwrites, if dest appeared meanwhile
    except FileExistsError:
        raise StoreError(
            f"{dest}: already exists; optbench merge never overwrites a file"
        ) from None
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"{dest}: cannot write the merged store ({one_line(exc)})") from exc
    finally:
        for leftover in (partial, f"{partial}-wal", f"{partial}-shm", f"{partial}-journal"):
            with contextlib.suppress(OSError):
                os.remove(leftover)
    return experiments


def _add_columns(conn: sqlite3.Connection, inputs: list[_Input]) -> None:
    """Give the new store the run columns of axes an input has and this process lacks (a
    plugin's), so that no value is dropped."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    for source in inputs:
        for _, name, kind, *_ in source.store._conn.execute("PRAGMA table_info(runs)"):
            if name not in have:
                if kind.upper() not in ("TEXT", "REAL", "INTEGER", ""):
                    raise StoreError(f"{source.path}: runs column {name!r} has type {kind!r}")
                quoted = '"' + name.replace('"', '""') + '"'
                conn.execute(f"ALTER TABLE runs ADD COLUMN {quoted} {kind}")
                have.add(name)


def _copy(source: _Input, conn: sqlite3.Connection) -> int:
    """Copy one input's experiments and the runs it contributes, with their targets and curves;
    the number of experiments."""
    old = source.store._conn
    experiment_ids = {}
    for old_id, *values in old.execute(
        f"SELECT id, {', '.join(_EXPERIMENT_COLUMNS)} FROM experiments ORDER BY id"
    ):
        cursor = conn.execute(
            f"INSERT INTO experiments ({', '.join(_EXPERIMENT_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(values))})",
            values,
        )
        experiment_ids[old_id] = cursor.lastrowid
    run_ids = {}
    for run in source.runs:
        columns = [c for c in run if c != "id"]
        values = [experiment_ids[run[c]] if c == "experiment_id" else run[c] for c in columns]
        names = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
        cursor = conn.execute(
            f"INSERT INTO runs ({names}) VALUES ({', '.join('?' * len(values))})", values
        )
        run_ids[run["id"]] = cursor.lastrowid
    conn.executemany(
        "INSERT INTO targets (run_id, target, step, time) VALUES (?, ?, ?, ?)",
        ((run_ids[r], *rest) for r, *rest in old.execute("SELECT * FROM targets")
         if r in run_ids),
    )  # fmt: skip
    _copy_curves(old, conn, run_ids)
    return len(experiment_ids)


def _copy_curves(old: sqlite3.Connection, conn: sqlite3.Connection, run_ids: dict) -> None:
    """Curve blobs as they are; a version-2 store's point rows as one blob per run."""
    blobs = set()
    stored = old.execute("SELECT * FROM curve_blobs") if _has_table(old, "curve_blobs") else ()
    for run_id, *rest in stored:
        if run_id in run_ids:
            conn.execute(schema.INSERT_CURVE, (run_ids[run_id], *rest))
            blobs.add(run_id)
    if not _has_table(old, "curves"):
        return
    columns = ", ".join(CURVE_COLUMNS[1:])
    points: dict[int, list] = {}
    for run_id, *point in old.execute(
        f"SELECT run_id, {columns} FROM curves ORDER BY run_id, step"
    ):
        if run_id in run_ids and run_id not in blobs:
            points.setdefault(run_id, []).append(point)
    for run_id, table in points.items():
        values = np.array(table, dtype=float)  # NULL -> NaN
        conn.execute(
            schema.INSERT_CURVE, rows.curve_blob(run_ids[run_id], values[:, 0], values[:, 1:].T)
        )


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM sqlite_schema WHERE name = ?", (name,)).fetchone() is not None
    )

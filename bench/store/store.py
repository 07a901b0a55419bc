"""One SQLite file per experiment: the grid spec, every run, its targets and its logged curves.

Only the parent process writes, one transaction per finished cell (:meth:`Store.write`), so a crash
loses at most the cells in flight and never leaves part of a cell behind. A rerun of the same grid
asks :meth:`Store.missing` which seeds are still to run; resuming is purely key-based. One process
writes a store at a time (:mod:`bench.store.lock`); a second writer gets a :class:`StoreError` at
once. Readers take no lock (WAL lets them read while a run writes). The tables are described in
:mod:`bench.store.schema`, the frames it loads into in :mod:`bench.store.frames`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

import pandas as pd

from bench.grid.cell import RANDOM_STREAMS, Cell
from bench.run.result import STATUSES, CellResult
from bench.store import exporting, files, frames, machine, rows, schema, wal
from bench.store.errors import StoreError, one_line
from bench.store.lock import lock, undo, unlock, writable

__all__ = ["Store", "StoreError", "export", "load"]


class Store:
    """An experiment's SQLite store, opened for writing (the default) or read-only.

    Parameters
    ----------
    path
        The ``.sqlite`` file. Missing parent directories are created when ``create`` is true.
    create
        Create the store when the file does not exist (otherwise raise :class:`StoreError`).
    readonly
        Open read-only (for loading); :meth:`write` and :meth:`start_experiment` then raise.

    Raises
    ------
    StoreError
        The file is not SQLite, is another program's database, has a newer schema, is read-only
        while a write is needed, is being written by another process, or does not exist while
        ``create`` is false. A store this call was creating is removed again, with any parent
        directories it made.
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = True, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self._real = files.real_path(self.path)  # locks and SQLite use the file behind links
        self._experiment_id: int | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock: int | None = None
        self._generation: wal.Generation | None = None
        files.check_path(self.path)
        if not self.path.exists() and (readonly or not create):
            raise StoreError(f"{self.path}: no such store")
        made = [p for p in reversed(self._real.parents) if not p.exists()]
        creating = False
        try:
            for directory in made:
                directory.mkdir()
            if not readonly:
                self._lock = lock(self._real, shown=self.path)
            creating = not os.path.lexists(self._real)  # decided under the lock
            self._conn = self._connect()
        except BaseException as exc:
            undo(self._real, creating, self._lock, made)
            self._lock = None
            if isinstance(exc, OSError | sqlite3.Error):
                raise StoreError(f"{self.path}: {one_line(exc)}") from exc
            raise

    def _connect(self) -> sqlite3.Connection:
        if not self.readonly and self._real.exists() and not writable(self._real):
            raise StoreError(f"{self.path}: read-only file, cannot write to it")
        if self._real.exists():  # before any connection that could apply a foreign -wal
            wal.check_owner(self._real, self.path, reader=self.readonly)
        uri = f"{self._real.as_uri()}?mode={'ro' if self.readonly else 'rwc'}"
        if self.readonly and files.on_read_only_media(self._real):
            if files.wal_size(self._real) > wal.WAL_HEADER:
                raise StoreError(
                    f"{self.path}: on read-only media with changes only in {self.path}-wal; "
                    "copy both files to writable storage, or make one file with `optbench copy`"
                )
            uri += "&immutable=1"  # nothing can change it, and no -shm can be made beside it
        conn = sqlite3.connect(uri, uri=True, timeout=schema.BUSY_TIMEOUT, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            version = schema.identify(conn, self.path, readonly=self.readonly)
            if not self.readonly:
                with _transaction(conn):  # fail now, not mid-grid, if we cannot write
                    if version < schema.SCHEMA_VERSION:  # before WAL: readers wait for it
                        self._create_schema(conn, version)
                    elif schema.incomplete(conn):
                        schema.complete(conn)
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA wal_autocheckpoint = 0")  # the writer checkpoints: wal.py
                self._generation = wal.start(conn)
        except sqlite3.Error as exc:
            conn.close()
            cause = "not an SQLite database" if "not a database" in str(exc) else "cannot use it"
            raise StoreError(f"{self.path}: {cause} ({one_line(exc)})") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _create_schema(self, conn: sqlite3.Connection, version: int) -> None:
        """Create the tables of an empty file, or upgrade an older optbench store in place (in
        the caller's transaction: DDL and user_version commit together or not at all)."""
        if version:
            schema.upgrade(conn, version)
        else:
            schema.create(conn)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection and release the write lock (idempotent).

        A writer first copies the whole WAL into the ``.sqlite`` file (waiting a few seconds for
        readers to let go, else warning), so that file alone holds every stored cell.
        """
        if self._conn is not None:
            if self._lock is not None:
                wal.finish(self._conn, self._real, self.path)
            self._conn.close()
            self._conn = None
        if self._lock is not None:
            unlock(self._real, self._lock)
            self._lock = None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Store]:
        """Read in one transaction: every query inside sees the same state, whatever a writer
        commits meanwhile."""
        self._conn.execute("BEGIN")
        try:
            yield self
        finally:
            self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the raw connection, stamped as :meth:`write` stamps its own
        (for bulk copies: :func:`bench.store.merging.merge_stores`)."""
        self._require_writable()
        with _transaction(self._conn):
            yield self._conn
            wal.stamp(self._conn, self._generation)

    def _require_writable(self) -> None:
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only, cannot write")

    def start_experiment(self, name: str, spec_text: str) -> int:
        """Record one invocation of a grid: its spec, the machine, BLAS and package versions.

        Parameters
        ----------
        name
            The grid's name.
        spec_text
            The grid file exactly as read (TOML text).

        Returns
        -------
        int
            The experiment id; :meth:`write` uses it by default from now on.
        """
        self._require_writable()
        versions = machine.package_versions() | {"random_streams": RANDOM_STREAMS}
        info = [machine.machine_info(), machine.blas_info(), versions]
        row = (name, spec_text, *map(json.dumps, info), rows.now(), schema.SCHEMA_VERSION)
        try:
            with _transaction(self._conn):
                cursor = self._conn.execute(
                    "INSERT INTO experiments (name, spec, machine, blas, versions, started_at, "
                    "schema_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
                wal.stamp(self._conn, self._generation)
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path}: cannot record the experiment ({one_line(exc)})"
            ) from exc
        self._experiment_id = cursor.lastrowid
        return self._experiment_id

    def write(self, result: CellResult, experiment_id: int | None = None) -> None:
        """Store every run, target and curve point of one finished cell, in one transaction.

        Rows already stored for the same (cell key, seed) are replaced (a ``--force`` rerun, or a
        retried error), inside the same transaction: either the whole cell lands or none of it.

        Parameters
        ----------
        result
            What the engine returned for the cell.
        experiment_id
            The experiment the runs belong to; defaults to the last :meth:`start_experiment`.

        Raises
        ------
        ValueError
            ``result`` is malformed (unknown status, curve columns not ``CURVE_COLUMNS``, curve
            or target seeds that are not among the runs); nothing is written.
        StoreError
            SQLite refused the write (disk full, locked, read-only...); nothing is written.
        """
        self._require_writable()
        experiment_id = self._experiment_id if experiment_id is None else experiment_id
        if experiment_id is None:
            raise ValueError("no experiment: call start_experiment() or pass experiment_id")
        runs = rows.run_rows(result, experiment_id)  # checks the result before touching the store
        try:
            with _transaction(self._conn):
                self._insert(result, runs)
                wal.stamp(self._conn, self._generation)
            self._generation = wal.after_write(self._conn, self._real, self._generation)
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path}: cannot write cell {result.cell.key} ({one_line(exc)})"
            ) from exc

    def _insert(self, result: CellResult, runs: list[dict]) -> None:
        """Insert one cell's rows, replacing those stored for the same (cell, seed)."""
        key = result.cell.key
        self._conn.executemany(
            "DELETE FROM runs WHERE cell_key = ? AND seed = ?", [(key, r["seed"]) for r in runs]
        )
        self._conn.executemany(schema.insert_run_sql(), runs)
        ids = dict(self._conn.execute("SELECT seed, id FROM runs WHERE cell_key = ?", (key,)))
        self._conn.executemany(
            "INSERT INTO targets (run_id, target, step, time) VALUES (?, ?, ?, ?)",
            rows.target_rows(result, ids),
        )
        if result.curves:
            self._conn.executemany(schema.INSERT_CURVE, rows.curve_rows(result, ids))
        if result.ladder is not None:
            self._conn.execute(
                "INSERT OR REPLACE INTO ladders VALUES (?, ?, ?, ?, ?)",
                rows.ladder_row(result.cell, result.ladder),
            )

    def completed_seeds(
        self, keys: Iterable[str] | None = None, *, retry: Collection[str] = ()
    ) -> dict[str, set[int]]:
        """The stored seeds of each cell, in one query.

        Parameters
        ----------
        keys
            Cell keys to report (default: every cell in the store).
        retry
            Statuses whose runs count as not completed (e.g. ``("error", "timeout")``).

        Returns
        -------
        dict
            Cell key -> set of completed seed indices; cells with none are absent.
        """
        rows.check_statuses(retry)
        wanted = None if keys is None else set(keys)
        done: dict[str, set[int]] = {}
        for key, seed, status in self._conn.execute("SELECT cell_key, seed, status FROM runs"):
            if status not in retry and (wanted is None or key in wanted):
                done.setdefault(key, set()).add(seed)
        return done

    def missing(self, cells: Iterable[Cell], *, retry: Collection[str] = ()) -> list[Cell]:
        """The cells still to run, each narrowed to its seeds not yet stored.

        Parameters
        ----------
        cells
            The grid's cells.
        retry
            Statuses to run again, as in :meth:`completed_seeds`.

        Returns
        -------
        list of Cell
            In the given order; fully stored cells are dropped, partly stored ones keep only
            their missing seeds (:meth:`Cell.with_seeds`).
        """
        cells = list(cells)
        done = self.completed_seeds({c.key for c in cells}, retry=retry)
        todo = []
        for cell in cells:
            seeds = tuple(s for s in cell.seeds if s not in done.get(cell.key, ()))
            if seeds:
                todo.append(cell if seeds == tuple(cell.seeds) else cell.with_seeds(seeds))
        return todo

    def status_counts(self) -> dict[str, int]:
        """Number of stored runs per status, every status of ``STATUSES`` present (0 if none)."""
        counts = dict.fromkeys(STATUSES, 0)
        counts.update(self._conn.execute("SELECT status, count(*) FROM runs GROUP BY status"))
        return counts

    def runs(self) -> pd.DataFrame:
        """One row per run: configuration, results, flat parameters, ladder and target columns
        (see :mod:`bench.store.frames`)."""
        return frames.runs_frame(self._conn)

    def curves(self) -> pd.DataFrame:
        """One row per logged point, with the run's id, seed and main configuration columns."""
        return frames.curves_frame(self._conn)

    def experiments(self) -> pd.DataFrame:
        """One row per invocation: grid spec, start time, machine, BLAS and versions."""
        return frames.experiments_frame(self._conn)


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def load(path: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a store into tidy DataFrames.

    Parameters
    ----------
    path
        The store file.

    Returns
    -------
    runs, curves : pandas.DataFrame
        :meth:`Store.runs` and :meth:`Store.curves`; :meth:`Store.experiments` holds the machine.
    """
    with Store(path, create=False, readonly=True) as store, store.snapshot():
        return store.runs(), store.curves()


def export(
    path: str | os.PathLike, out_dir: str | os.PathLike, fmt: str = "csv", *, overwrite: bool = True
) -> list[Path]:
    """Write a store's experiments, runs and curves as ``.csv`` or ``.parquet`` files.

    Runs and experiments carry provenance columns: ``machine.*``, ``version.*`` and ``blas``
    recorded when each run started, and ``export.git_commit`` / ``export.git_dirty``, the commit
    of the working directory now (None outside a git checkout); curves carry the
    ``experiment_id`` that joins them to it (see :mod:`bench.store.exporting`). Lists and dicts
    (BLAS info, tuple-valued parameters) are written as JSON text.

    Parameters
    ----------
    path
        The store file.
    out_dir
        Directory for ``experiments``, ``runs`` and ``curves`` files (created if missing).
    fmt
        ``"csv"`` or ``"parquet"`` (needs pyarrow).
    overwrite
        Replace existing files; if false, an existing file is refused and nothing is written.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    StoreError
        The store cannot be read, a file is in the way (``overwrite=False``), or a write failed.
    """
    if fmt not in exporting.FORMATS:
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ImportError("exporting to parquet needs pyarrow: pip install pyarrow (or use csv)")
    with Store(path, create=False, readonly=True) as store, store.snapshot():
        experiments, runs, curves = store.experiments(), store.runs(), store.curves()
    tidy = exporting.tidy_frames(experiments, runs, curves, machine.git_state())
    return exporting.write_frames(tidy, out_dir, fmt, overwrite=overwrite)

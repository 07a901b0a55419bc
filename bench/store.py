"""One SQLite file per experiment: the grid spec, every run, its targets and its logged curves.

Only the parent process writes, one transaction per finished cell (:meth:`Store.write`), so a crash
loses at most the cells in flight and never leaves part of a cell behind. A rerun of the same grid
asks :meth:`Store.missing` which seeds are still to run; resuming is purely key-based. One process
writes a store at a time: opening it for writing takes an advisory lock (``flock`` on
``<store>.lock``, released by the kernel however the holder ends); a second writer gets a
:class:`StoreError` at once. Readers take no lock (WAL lets them read while a run writes).

Conventions, so readers need not guess:

- NaN floats are stored as NULL (SQLite turns a bound NaN into NULL anyway) and load back as NaN.
- Integer columns that may be NULL (``batch_size``, ``diverged_step``, ``steps_to_<target>``) load
  as pandas' nullable ``Int64``; ``None``/``<NA>`` means full batch, never diverged, never reached.
- Targets are joined onto the runs frame as wide columns ``steps_to_<target>`` and
  ``time_to_<target>`` (``<target>`` formatted with ``format(target, "g")``).
- Parameter dicts are kept as canonical JSON text (``optimizer_params`` ...) and also expanded into
  flat columns ``problem.<name>``, ``opt.<name>``, ``clip.<name>``, ``schedule.<name>`` and
  ``regularizer.<name>`` (lists become tuples so the columns can be grouped on; the learning rate
  has its own ``lr`` column, so there is no ``opt.lr``).
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import json
import os
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no store lock
    fcntl = None

from bench import machine
from bench.cell import CURVE_COLUMNS, STATUSES, Cell, CellResult

SCHEMA_VERSION = 1
BUSY_TIMEOUT = 30.0  # seconds a connection waits for a lock before giving up

_SCHEMA = """
CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    machine TEXT NOT NULL,
    blas TEXT NOT NULL,
    versions TEXT NOT NULL,
    started_at TEXT NOT NULL,
    schema_version INTEGER NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    cell_key TEXT NOT NULL,
    seed INTEGER NOT NULL,
    problem TEXT NOT NULL, problem_params TEXT NOT NULL,
    optimizer TEXT NOT NULL, optimizer_params TEXT NOT NULL,
    lr REAL,
    initializer TEXT,
    clip TEXT NOT NULL, clip_params TEXT NOT NULL,
    schedule TEXT NOT NULL, schedule_params TEXT NOT NULL,
    regularizer TEXT NOT NULL, regularizer_params TEXT NOT NULL,
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
    UNIQUE (cell_key, seed)
);
CREATE TABLE targets (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    target NOT NULL,
    step INTEGER,
    time REAL,
    PRIMARY KEY (run_id, target)
) WITHOUT ROWID;
CREATE TABLE curves (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    epoch REAL, time REAL, train_loss REAL, grad_norm REAL,
    test_loss REAL, train_accuracy REAL, test_accuracy REAL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
"""

_PARAMS = {  # JSON column of a cell -> prefix of its flat columns in the runs frame
    "problem_params": "problem.",
    "optimizer_params": "opt.",
    "clip_params": "clip.",
    "schedule_params": "schedule.",
    "regularizer_params": "regularizer.",
}
_RUN_CONFIG = ("problem", "optimizer", "initializer", "clip", "schedule", "regularizer",
               "batch_size", "steps", "log_every", "grid_seed")  # fmt: skip
_RUN_RESULTS = ("status", "steps_done", "diverged_step", "error", "final_train_loss",
                "best_train_loss", "final_test_loss", "final_train_accuracy",
                "final_test_accuracy", "opt_time")  # fmt: skip
_RUN_COLUMNS = ("experiment_id", "cell_key", "seed", *_RUN_CONFIG, *_PARAMS, "lr",
                *_RUN_RESULTS, "wall_time", "finished_at")  # fmt: skip
# Column names come from the constants above, never from data; values are always bound.
_INSERT_RUN = "INSERT INTO runs ({}) VALUES ({})".format(
    ", ".join(_RUN_COLUMNS), ", ".join(f":{c}" for c in _RUN_COLUMNS)
)
_INSERT_CURVE = "INSERT INTO curves (run_id, {}) VALUES ({})".format(
    ", ".join(CURVE_COLUMNS[1:]), ", ".join("?" * len(CURVE_COLUMNS))
)
_RUN_DTYPES = {"run_id": "int64", "experiment_id": "int64", "seed": "int64", "steps": "int64",
               "log_every": "int64", "grid_seed": "int64", "steps_done": "int64",
               "batch_size": "Int64", "diverged_step": "Int64", "lr": "float64",
               "wall_time": "float64", "opt_time": "float64"} | {
    c: "float64" for c in _RUN_RESULTS if c.startswith(("final_", "best_"))}  # fmt: skip


class StoreError(Exception):
    """A store file cannot be used: not SQLite, a newer schema, read-only, missing...

    The message is one line naming the file and the cause (the CLI prints it and exits with 2).
    """


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
        self._experiment_id: int | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock: int | None = None
        if not self.path.exists() and (readonly or not create):
            raise StoreError(f"{self.path}: no such store")
        made = [p for p in reversed(self.path.parents) if not p.exists()]
        creating = False
        try:
            for directory in made:
                directory.mkdir()
            if not readonly:
                self._lock = _lock(self.path)
            creating = not self.path.exists()  # decided under the lock: no one else is creating
            self._conn = self._connect()
        except BaseException as exc:
            _undo(self.path, creating, self._lock, made)
            self._lock = None
            if isinstance(exc, OSError):
                raise StoreError(f"{self.path}: {_one_line(exc)}") from exc
            raise

    def _connect(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a directory, not a store file")
        if not self.readonly and self.path.exists() and not _writable(self.path):
            raise StoreError(f"{self.path}: read-only file, cannot write to it")
        uri = f"{self.path.resolve().as_uri()}?mode={'ro' if self.readonly else 'rwc'}"
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: schema version {version} is newer than this optbench reads "
                    f"({SCHEMA_VERSION}); upgrade optbench"
                )
            if version < SCHEMA_VERSION:
                self._create_schema(conn, version)
            if not self.readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("BEGIN IMMEDIATE")  # fail now, not mid-grid, if we cannot write
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            conn.close()
            cause = "not an SQLite database" if "not a database" in str(exc) else "cannot use it"
            raise StoreError(f"{self.path}: {cause} ({_one_line(exc)})") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _create_schema(self, conn: sqlite3.Connection, version: int) -> None:
        tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
        if version != 0 or tables or self.readonly:
            found = (
                f"schema version {version}"
                if version
                else ("another program's database" if tables else "empty file")
            )
            raise StoreError(f"{self.path}: not an optbench store ({found})")
        with _transaction(conn):  # DDL and user_version commit together or not at all
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")  # PRAGMA takes no `?`

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection and release the write lock (idempotent).

        SQLite checkpoints the WAL on the last close.
        """
        if self._conn is not None:
            self._conn.close()
        if self._lock is not None:
            _unlock(self.path, self._lock)
            self._lock = None

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
            The grid spec exactly as read (TOML or JSON text).

        Returns
        -------
        int
            The experiment id; :meth:`write` uses it by default from now on.
        """
        self._require_writable()
        info = [machine.machine_info(), machine.blas_info(), machine.package_versions()]
        row = (name, spec_text, *map(json.dumps, info), _now(), SCHEMA_VERSION)
        try:
            with _transaction(self._conn):
                cursor = self._conn.execute(
                    "INSERT INTO experiments (name, spec, machine, blas, versions, started_at, "
                    "schema_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path}: cannot record the experiment ({_one_line(exc)})"
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
        cell = result.cell
        seeds = _check(result)
        shared = _cell_row(cell) | {
            "experiment_id": experiment_id,
            "cell_key": cell.key,
            "wall_time": float(result.wall_time),
            "finished_at": _now(),
        }
        runs = [
            shared | {k: _sql(run.get(k)) for k in ("seed", *_RUN_RESULTS)} for run in result.runs
        ]
        try:
            with _transaction(self._conn):
                self._conn.executemany(
                    "DELETE FROM runs WHERE cell_key = ? AND seed = ?",
                    [(cell.key, s) for s in seeds],
                )
                self._conn.executemany(_INSERT_RUN, runs)
                ids = dict(
                    self._conn.execute("SELECT seed, id FROM runs WHERE cell_key = ?", (cell.key,))
                )
                self._conn.executemany(
                    "INSERT INTO targets (run_id, target, step, time) VALUES (?, ?, ?, ?)",
                    [
                        (ids[int(t["seed"])], _sql(t["target"]), _sql(t["step"]), _sql(t["time"]))
                        for t in result.targets
                    ],
                )
                if result.curves:
                    columns = [np.asarray(result.curves[c]).tolist() for c in CURVE_COLUMNS]
                    columns[0] = [ids[int(s)] for s in columns[0]]
                    self._conn.executemany(_INSERT_CURVE, zip(*columns, strict=True))
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path}: cannot write cell {cell.key} ({_one_line(exc)})"
            ) from exc

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
        _check_statuses(retry)
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
        """One row per run: configuration, results, flat parameters and wide target columns."""
        df = pd.read_sql_query("SELECT * FROM runs ORDER BY id", self._conn)
        df = df.rename(columns={"id": "run_id"}).astype(_RUN_DTYPES)
        df["finished_at"] = pd.to_datetime(df["finished_at"], utc=True, format="ISO8601")
        flat = [_flat_params(df[column], prefix) for column, prefix in _PARAMS.items()]
        targets = pd.read_sql_query("SELECT run_id, target, step, time FROM targets", self._conn)
        wide = {}
        for target in sorted(set(targets["target"]), key=lambda t: (isinstance(t, str), t)):
            label = target if isinstance(target, str) else format(target, "g")
            reached = targets[targets["target"] == target].set_index("run_id")
            wide[f"steps_to_{label}"] = df["run_id"].map(reached["step"]).astype("Int64")
            wide[f"time_to_{label}"] = df["run_id"].map(reached["time"]).astype("float64")
        return pd.concat([df, *flat, pd.DataFrame(wide, index=df.index)], axis=1)

    def curves(self) -> pd.DataFrame:
        """One row per logged point, with the run's id, seed and main configuration columns.

        Join with :meth:`runs` on ``run_id`` for the other configuration columns.
        """
        metrics = ", ".join(f"c.{c}" for c in CURVE_COLUMNS[1:])
        df = pd.read_sql_query(
            f"SELECT c.run_id, r.cell_key, r.seed, r.problem, r.optimizer, r.lr, {metrics} "
            "FROM curves AS c JOIN runs AS r ON r.id = c.run_id ORDER BY c.run_id, c.step",
            self._conn,
        )
        floats = {c: "float64" for c in ("lr", *CURVE_COLUMNS[2:])}
        return df.astype({"run_id": "int64", "seed": "int64", "step": "int64"} | floats)

    def experiments(self) -> pd.DataFrame:
        """One row per invocation (``experiment_id``, as in :meth:`runs`): name, spec text, start
        time, ``machine.*`` and ``version.*`` columns, and ``blas`` (one dict per thread pool)."""
        df = pd.read_sql_query("SELECT * FROM experiments ORDER BY id", self._conn)
        df = df.rename(columns={"id": "experiment_id"})
        df["started_at"] = pd.to_datetime(df["started_at"], utc=True, format="ISO8601")
        df["blas"] = [json.loads(b) for b in df["blas"]]
        flat = [_flat_params(df.pop(c), f"{c.removesuffix('s')}.") for c in ("machine", "versions")]
        return pd.concat([df, *flat], axis=1)


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
    with Store(path, create=False, readonly=True) as store:
        return store.runs(), store.curves()


def export(path: str | os.PathLike, out_dir: str | os.PathLike, fmt: str = "csv") -> list[Path]:
    """Write a store's experiments, runs and curves as ``.csv`` or ``.parquet`` files.

    Lists and dicts (BLAS info, tuple-valued parameters) are written as JSON text.

    Parameters
    ----------
    path
        The store file.
    out_dir
        Directory for ``experiments``, ``runs`` and ``curves`` files (created if missing).
    fmt
        ``"csv"`` or ``"parquet"`` (needs pyarrow).

    Returns
    -------
    list of Path
        The files written.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ImportError("exporting to parquet needs pyarrow: pip install pyarrow (or use csv)")
    with Store(path, create=False, readonly=True) as store:
        frames = {
            "experiments": store.experiments(),
            "runs": store.runs(),
            "curves": store.curves(),
        }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in frames.items():
        for column in df.columns:
            if pd.api.types.is_object_dtype(df[column]):
                df[column] = df[column].map(_json_text)
        file = out / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(file, index=False)
        else:
            df.to_parquet(file, index=False)
        written.append(file)
    return written


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


def _check(result: CellResult) -> list[int]:
    """Validate a result before touching the store; return its run seeds."""
    key = result.cell.key
    seeds = [int(run["seed"]) for run in result.runs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"cell {key}: duplicate seeds in runs {seeds}")
    for run in result.runs:
        if run.get("status") not in STATUSES:
            raise ValueError(f"cell {key}: status {run.get('status')!r} not in {STATUSES}")
        if run.get("steps_done") is None:
            raise ValueError(f"cell {key}: run of seed {run['seed']} has no steps_done")
    orphans = {int(t["seed"]) for t in result.targets} - set(seeds)
    if result.curves:
        if set(result.curves) != set(CURVE_COLUMNS):
            raise ValueError(
                f"cell {key}: curve columns {sorted(result.curves)} are not {list(CURVE_COLUMNS)}"
            )
        lengths = {np.shape(col) for col in result.curves.values()}
        if len(lengths) != 1 or len(next(iter(lengths))) != 1:
            raise ValueError(f"cell {key}: curve columns must be 1-D and equally long: {lengths}")
        orphans |= set(np.asarray(result.curves["seed"]).tolist()) - set(seeds)
    if orphans:
        raise ValueError(f"cell {key}: targets or curves name seeds {sorted(orphans)} not in runs")
    return seeds


def _cell_row(cell: Cell) -> dict[str, Any]:
    row = {name: _sql(getattr(cell, name)) for name in _RUN_CONFIG}
    row |= {column: _canonical_json(getattr(cell, column)) for column in _PARAMS}
    return row | {"lr": _sql(cell.lr)}


def _sql(value: Any) -> Any:
    """A value sqlite3 can bind: NumPy scalars unwrapped, NaN as NULL."""
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and value != value else value


def _canonical_json(value: Any) -> str:
    def default(obj: Any) -> Any:
        if isinstance(obj, np.generic | np.ndarray):
            return obj.tolist()
        raise TypeError(f"{type(obj).__name__} is not JSON serializable")

    return json.dumps(value, sort_keys=True, default=default)


def _flat_params(texts: pd.Series, prefix: str) -> pd.DataFrame:
    def hashable(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(hashable(x) for x in v)
        return json.dumps(v, sort_keys=True) if isinstance(v, dict) else v

    records = [json.loads(t) if isinstance(t, str) else t for t in texts]
    records = [{f"{prefix}{k}": hashable(v) for k, v in r.items()} for r in records]
    return pd.DataFrame.from_records(records, index=texts.index).drop(
        columns="opt.lr", errors="ignore"
    )


def _json_text(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | tuple | dict) else value


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _check_statuses(statuses: Collection[str]) -> None:
    unknown = set(statuses) - set(STATUSES)
    if unknown:
        raise ValueError(f"unknown statuses {sorted(unknown)}; known: {STATUSES}")


def _writable(path: Path) -> bool:
    """Whether we may write ``path``: permission, and a write bit (root ignores permissions, but
    a store its owner made read-only, ``chmod a-w``, is meant to stay as it is)."""
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def _lock(path: Path) -> int | None:
    """Take the store's write lock: ``flock`` on ``<store>.lock``, never waiting.

    One process writes a store at a time; a second ``optbench run`` on the same store stops with
    a StoreError naming the holder's process id. The kernel releases the lock when its holder
    exits, however it exits, so a killed run never leaves a stale lock. The lock file holds the
    holder's process id and is removed on close. (No locking where ``fcntl`` is missing.)

    Returns
    -------
    int or None
        The lock file's descriptor, for :func:`_unlock`.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return None
    name = f"{path}.lock"
    while True:
        try:
            fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create its lock file ({_one_line(exc)})") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreError(
                f"{path}: in use by another optbench run (process {holder}); wait for it to "
                "finish, or give this run another --store"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"{path}: cannot lock it ({_one_line(exc)})") from exc
        try:
            current = os.stat(name)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)  # its holder removed the file between our open and our lock: start over


def _unlock(path: Path, fd: int | None) -> None:
    """Release :func:`_lock`: remove the file while still holding it, then close it."""
    if fd is None:  # pragma: no cover - Windows
        return
    with contextlib.suppress(OSError):
        os.remove(f"{path}.lock")
    os.close(fd)


def _undo(path: Path, created: bool, lock: int | None, made_dirs: list[Path]) -> None:
    """Undo a failed open: the store file if this process began creating it (with its
    sidecars), the lock, then the directories it made."""
    if created:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.remove(f"{path}{suffix}")
    if lock is not None:
        _unlock(path, lock)
    for directory in reversed(made_dirs):
        with contextlib.suppress(OSError):
            directory.rmdir()

"""A store's tables as tidy pandas frames (what ``bench.load`` returns).

Conventions, so readers need not guess:

- NaN floats are stored as NULL (SQLite turns a bound NaN into NULL anyway) and load back as NaN.
- Integer columns that may be NULL (``batch_size``, ``diverged_step``, ``steps_to_<target>``) load
  as pandas' nullable ``Int64``; ``None``/``<NA>`` means full batch, never diverged, never reached.
- Targets are joined onto the runs frame as wide columns ``steps_to_<target>`` and
  ``time_to_<target>`` (``<target>`` formatted with ``format(target, "g")``).
- Parameter dicts are kept as canonical JSON text (``optimizer_params`` ...) and also expanded into
  flat columns, one prefix per grid axis (``problem.<name>``, ``opt.<name>``, ``clip.<name>``,
  ``schedule.<name>``, ``regularizer.<name>``; lists become tuples so the columns can be grouped
  on; the learning rate has its own ``lr`` column, so there is no ``opt.lr``).
- Each run carries its problem's target ladder: ``ladder_metric``, ``ladder_higher_is_better``
  and ``ladder_targets`` (a tuple, easiest first).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import numpy as np
import pandas as pd

from bench.grid.axes import flat_prefixes
from bench.run.result import CURVE_COLUMNS
from bench.store.schema import BLOB_METRICS, RUN_DTYPES


def runs_frame(conn: sqlite3.Connection) -> pd.DataFrame:
    """One row per run: configuration, results, flat parameters, ladder and target columns."""
    df = pd.read_sql_query("SELECT * FROM runs ORDER BY id", conn)
    df = df.rename(columns={"id": "run_id"}).astype(RUN_DTYPES)
    df["finished_at"] = pd.to_datetime(df["finished_at"], utc=True, format="ISO8601")
    flat = [flat_params(df[column], prefix) for column, prefix in flat_prefixes().items()]
    targets = pd.read_sql_query("SELECT run_id, target, step, time FROM targets", conn)
    wide = {}
    for target in sorted(set(targets["target"]), key=lambda t: (isinstance(t, str), t)):
        label = target if isinstance(target, str) else format(target, "g")
        reached = targets[targets["target"] == target].set_index("run_id")
        wide[f"steps_to_{label}"] = df["run_id"].map(reached["step"]).astype("Int64")
        wide[f"time_to_{label}"] = df["run_id"].map(reached["time"]).astype("float64")
    ladders = _ladder_columns(conn, df, targets)
    return pd.concat([df, *flat, ladders, pd.DataFrame(wide, index=df.index)], axis=1)


def _ladder_columns(conn: sqlite3.Connection, df: pd.DataFrame, targets: pd.DataFrame):
    """Each run's problem ladder, from the ``ladders`` table (schema 2), or recovered from the
    ``targets`` table in a version-1 store: the same values; the metric and direction guessed
    from their order (rising targets are accuracies)."""
    keys = list(zip(df["problem"], df["problem_params"], strict=True))
    stored = {}
    if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'ladders'").fetchone():
        for problem, params, metric, higher, values in conn.execute("SELECT * FROM ladders"):
            stored[(problem, params)] = (metric, bool(higher), tuple(json.loads(values)))
    if len(stored) < len(set(keys)):
        per_run = targets.groupby("run_id")["target"].apply(
            lambda t: tuple(sorted(t, key=lambda v: (isinstance(v, str), v)))
        )
        for key, run_id in zip(keys, df["run_id"], strict=True):
            if key not in stored:
                values = tuple(per_run.get(run_id, ()))
                numeric = all(isinstance(v, int | float) for v in values)
                rising = numeric and len(values) > 1 and values[-1] > values[0]
                metric = "test_accuracy" if rising else "train_loss"
                stored[key] = (metric, rising, values if rising or not numeric else values[::-1])
    rows = [stored.get(key, ("train_loss", False, ())) for key in keys]
    columns = ["ladder_metric", "ladder_higher_is_better", "ladder_targets"]
    return pd.DataFrame(rows, columns=columns, index=df.index).astype(
        {"ladder_metric": object, "ladder_higher_is_better": bool, "ladder_targets": object}
    )


def curves_frame(conn: sqlite3.Connection) -> pd.DataFrame:
    """One row per logged point, with the run's id, seed and main configuration columns.

    Points come from ``curve_blobs`` (schema 3) and from the ``curves`` rows of older stores.
    Join with :func:`runs_frame` on ``run_id`` for the other configuration columns.
    """
    parts = [_blob_points(conn)]
    if _has_table(conn, "curves"):
        columns = ", ".join(CURVE_COLUMNS[1:])
        parts.append(pd.read_sql_query(f"SELECT run_id, {columns} FROM curves", conn))
    points = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    query = "SELECT id AS run_id, cell_key, seed, problem, optimizer, lr FROM runs"
    runs = pd.read_sql_query(query, conn)
    df = runs.merge(points, on="run_id").sort_values(["run_id", "step"], kind="stable")
    floats = {c: "float64" for c in ("lr", *CURVE_COLUMNS[2:])}
    df = df.reset_index(drop=True)
    return df.astype({"run_id": "int64", "seed": "int64", "step": "int64"} | floats)


def _blob_points(conn: sqlite3.Connection) -> pd.DataFrame:
    """The points held in ``curve_blobs``: run_id, step and the float columns."""
    names = ["run_id", *CURVE_COLUMNS[1:]]
    empty = pd.DataFrame({name: np.array([], dtype=np.int64 if name in ("run_id", "step")
                                          else np.float64) for name in names})  # fmt: skip
    if not _has_table(conn, "curve_blobs"):
        return empty
    run_ids, steps, metrics = [], [], []
    for run_id, points, present, step_bytes, metric_bytes in conn.execute(
        "SELECT run_id, points, present, steps, metrics FROM curve_blobs"
    ):
        run_ids.append(np.full(points, run_id, dtype=np.int64))
        steps.append(np.frombuffer(step_bytes, dtype="<i8"))
        stored = np.frombuffer(metric_bytes, dtype="<f8").reshape(-1, points)
        full = np.full((len(BLOB_METRICS), points), np.nan)
        full[[i for i in range(len(BLOB_METRICS)) if present >> i & 1]] = stored
        metrics.append(full)
    if not run_ids:
        return empty
    values = np.concatenate(metrics, axis=1)
    columns = {"run_id": np.concatenate(run_ids), "step": np.concatenate(steps)}
    columns |= {name: values[i] for i, name in enumerate(BLOB_METRICS)}
    return pd.DataFrame(columns)[names]


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM sqlite_schema WHERE name = ?", (name,)).fetchone() is not None
    )


def experiments_frame(conn: sqlite3.Connection) -> pd.DataFrame:
    """One row per invocation (``experiment_id``): name, spec text, start time, ``machine.*`` and
    ``version.*`` columns, and ``blas`` (one dict per thread pool)."""
    df = pd.read_sql_query("SELECT * FROM experiments ORDER BY id", conn)
    df = df.rename(columns={"id": "experiment_id"})
    df["started_at"] = pd.to_datetime(df["started_at"], utc=True, format="ISO8601")
    df["blas"] = [json.loads(b) for b in df["blas"]]
    flat = [flat_params(df.pop(c), f"{c.removesuffix('s')}.") for c in ("machine", "versions")]
    return pd.concat([df, *flat], axis=1)


def flat_params(texts: pd.Series, prefix: str) -> pd.DataFrame:
    def hashable(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(hashable(x) for x in v)
        return json.dumps(v, sort_keys=True) if isinstance(v, dict) else v

    records = [json.loads(t) if isinstance(t, str) else t for t in texts]
    records = [{f"{prefix}{k}": hashable(v) for k, v in r.items()} for r in records]
    return pd.DataFrame.from_records(records, index=texts.index).drop(
        columns="opt.lr", errors="ignore"
    )

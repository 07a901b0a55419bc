"""Rows for the store: a cell's configuration as columns, checks on a result, SQL values."""

from __future__ import annotations

import datetime
import json
from collections.abc import Collection
from typing import Any

import numpy as np

from bench.grid.axes import axes
from bench.grid.cell import Cell
from bench.run.result import CURVE_COLUMNS, STATUSES, CellResult
from bench.store.schema import BLOB_METRICS, BUDGET, RUN_RESULTS


def check(result: CellResult) -> list[int]:
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
        _check_steps(key, np.asarray(result.curves["seed"]), np.asarray(result.curves["step"]))
    if orphans:
        raise ValueError(f"cell {key}: targets or curves name seeds {sorted(orphans)} not in runs")
    return seeds


def _check_steps(key: str, seeds: np.ndarray, steps: np.ndarray) -> None:
    """Within each run, logged steps must strictly increase (each point stored once)."""
    order = np.lexsort((np.arange(seeds.size), seeds))  # by seed, logging order kept
    same_run = seeds[order][1:] == seeds[order][:-1]
    if np.any(same_run & (np.diff(steps[order]) <= 0)):
        raise ValueError(f"cell {key}: a run's logged steps must increase")


def cell_row(cell: Cell) -> dict[str, Any]:
    """The configuration columns of ``cell``'s runs: every axis, its parameters, lr, budget."""
    row: dict[str, Any] = {}
    for entry in axes():
        row[entry.column] = sql_value(getattr(cell, entry.column))
        if entry.params:
            row[entry.params] = canonical_json(getattr(cell, entry.params))
    row |= {name: sql_value(getattr(cell, name)) for name in BUDGET}
    return row | {"lr": sql_value(cell.lr)}


def run_rows(result: CellResult, experiment_id: int) -> list[dict[str, Any]]:
    """One ``runs`` row per seed of ``result`` (checked first: see :func:`check`)."""
    check(result)
    shared = cell_row(result.cell) | {
        "experiment_id": experiment_id,
        "cell_key": result.cell.key,
        "wall_time": float(result.wall_time),
        "finished_at": now(),
        "code": None if result.cell.code is None else canonical_json(result.cell.code),
    }
    keys = ("seed", *RUN_RESULTS)
    return [shared | {k: sql_value(run.get(k)) for k in keys} for run in result.runs]


def target_rows(result: CellResult, ids: dict[int, int]) -> list[tuple]:
    """``targets`` rows of ``result``: (run id, target, step reached, time reached)."""
    return [
        (ids[int(t["seed"])], *(sql_value(t[k]) for k in ("target", "step", "time")))
        for t in result.targets
    ]


def curve_rows(result: CellResult, ids: dict[int, int]) -> list[tuple]:
    """``curve_blobs`` rows of ``result``: one per run, its steps (int64) and its metrics
    (float64, one row per ``BLOB_METRICS`` column), little-endian, in logging order."""
    curves = result.curves
    seeds = np.asarray(curves["seed"])
    if not seeds.size:
        return []
    order = np.argsort(seeds, kind="stable")  # stable: each run keeps its logging order
    starts = np.flatnonzero(np.r_[True, seeds[order][1:] != seeds[order][:-1]])
    steps = np.asarray(curves["step"], dtype="<i8")[order]
    metrics = np.stack([np.asarray(curves[c], dtype="<f8")[order] for c in BLOB_METRICS])
    return [
        curve_blob(ids[int(seeds[order[start]])], steps[start:stop], metrics[:, start:stop])
        for start, stop in zip(starts, [*starts[1:], seeds.size], strict=True)
    ]


def curve_blob(run_id: int, steps: np.ndarray, metrics: np.ndarray) -> tuple:
    """One run's ``curve_blobs`` row from its logged steps and its ``BLOB_METRICS`` rows
    (``len(BLOB_METRICS)`` x points, NaN where a value is missing)."""
    steps = np.asarray(steps, dtype="<i8")
    metrics = np.asarray(metrics, dtype="<f8")
    kept = ~np.isnan(metrics).all(axis=1)  # a metric the problem lacks costs nothing
    present = int(sum(1 << i for i in np.flatnonzero(kept)))
    data = np.ascontiguousarray(metrics[kept]).tobytes()
    return (run_id, int(steps.size), present, steps.tobytes(), data)


def ladder_row(cell: Cell, ladder: dict[str, Any]) -> tuple:
    """The ``ladders`` row of ``cell``'s problem: metric, direction and target values."""
    return (
        cell.problem,
        canonical_json(cell.problem_params),
        ladder["metric"],
        int(bool(ladder["higher_is_better"])),
        json.dumps([float(t) for t in ladder["targets"]]),
    )


def sql_value(value: Any) -> Any:
    """A value sqlite3 can bind: NumPy scalars unwrapped, NaN as NULL."""
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and value != value else value


def canonical_json(value: Any) -> str:
    def default(obj: Any) -> Any:
        if isinstance(obj, np.generic | np.ndarray):
            return obj.tolist()
        raise TypeError(f"{type(obj).__name__} is not JSON serializable")

    return json.dumps(value, sort_keys=True, default=default)


def json_text(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | tuple | dict) else value


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def check_statuses(statuses: Collection[str]) -> None:
    unknown = set(statuses) - set(STATUSES)
    if unknown:
        raise ValueError(f"unknown statuses {sorted(unknown)}; known: {STATUSES}")

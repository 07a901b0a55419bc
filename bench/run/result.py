"""What running a cell produces: ``CellResult``, written by ``bench.store`` in the parent process
(one transaction per cell). Plain data, so it pickles cheaply back from workers."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from bench.grid.cell import Cell

STATUSES = ("done", "diverged", "error", "timeout")

# The columns of a cell's logged curve, in order. Metrics a problem lacks are NaN.
CURVE_COLUMNS = (
    "seed",
    "step",
    "epoch",
    "time",
    "train_loss",
    "grad_norm",
    "test_loss",
    "train_accuracy",
    "test_accuracy",
)


@dataclasses.dataclass
class CellResult:
    """What running a cell produced: one entry per seed in ``runs``.

    runs
        One dict per seed with keys ``seed``, ``status`` (one of ``STATUSES``), ``steps_done``,
        ``diverged_step`` (int or None), ``error`` (traceback text or None), ``final_train_loss``,
        ``best_train_loss``, ``final_test_loss``, ``final_train_accuracy``,
        ``final_test_accuracy`` (floats, NaN where the problem has no such metric), ``opt_time``
        (seconds of optimization steps only).
    targets
        One dict per (seed, target) with keys ``seed``, ``target``, ``step`` and ``time``
        (``None`` when the run never reached the target).
    curves
        Column arrays named by ``CURVE_COLUMNS``, all the same length (one row per logged point
        per seed).
    wall_time
        Seconds the whole cell took in its worker, evaluation included.
    ladder
        The problem's target ladder, ``{"metric", "higher_is_better", "targets"}``, stored with
        the cell so that analysis reads it back instead of rebuilding the problem.
    """

    cell: Cell
    runs: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    curves: dict[str, np.ndarray]
    wall_time: float
    ladder: dict[str, Any] | None = None


def empty_curves() -> dict[str, np.ndarray]:
    """``CURVE_COLUMNS`` with no points (a cell that logged nothing, or never ran)."""
    return {
        name: np.array([], dtype=np.int64 if name in ("seed", "step") else np.float64)
        for name in CURVE_COLUMNS
    }

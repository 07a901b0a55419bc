"""From a group's finished loop to one ``CellResult`` per cell, and the results of cells that
never ran to the end (an exception, a dead worker, a timeout)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.grid.cell import Cell
from bench.run.result import CellResult, empty_curves

if TYPE_CHECKING:
    from bench.run.engine import Loop

METRICS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")


def split(loop: Loop, cut_short: str | None, wall: float) -> list[CellResult]:
    """One result per cell of the loop's group; times are each cell's share (by runs)."""
    results = []
    for cell, runs in zip(loop.cells, loop.segments(), strict=True):
        share = (runs.stop - runs.start) / loop.runs
        results.append(_cell_result(cell, loop, runs, cut_short, wall * share, share))
    return results


def _cell_result(
    cell: Cell, loop: Loop, runs: slice, cut_short: str | None, wall: float, share: float
) -> CellResult:
    records, targets = [], []
    for r, seed in zip(range(runs.start, runs.stop), cell.seeds, strict=True):
        records.append(_run_record(loop, r, seed, cut_short, loop.opt_time * share))
        for k, target in enumerate(loop.problem.targets):
            hit = loop.reached[r, k] >= 0
            targets.append(
                {
                    "seed": seed,
                    "target": float(target),
                    "step": int(loop.reached[r, k]) if hit else None,
                    "time": float(loop.reached_time[r, k]) * share if hit else None,
                }
            )
    curves = loop.curves(runs, time_share=share)
    return CellResult(cell, records, targets, curves, wall, ladder=ladder(loop.problem))


def _run_record(loop: Loop, r: int, seed: int, cut_short: str | None, opt_time: float) -> dict:
    diverged = loop.diverged_step[r] >= 0
    last = {m: float(loop.last.get(m, np.full(loop.runs, np.nan))[r]) for m in METRICS}
    return {
        "seed": seed,
        "status": "diverged" if diverged else (cut_short or "done"),
        "steps_done": int(loop.diverged_step[r]) if diverged else loop.logged_step,
        "diverged_step": int(loop.diverged_step[r]) if diverged else None,
        "error": None,
        "final_train_loss": math.inf if diverged else last["train_loss"],
        "best_train_loss": float(loop.best[r]),
        "final_test_loss": last["test_loss"],
        "final_train_accuracy": last["train_accuracy"],
        "final_test_accuracy": last["test_accuracy"],
        "opt_time": opt_time,
    }


def ladder(problem) -> dict[str, Any]:
    """The problem's target ladder as the store keeps it: metric, direction, values."""
    return {
        "metric": problem.target_metric,
        "higher_is_better": bool(problem.higher_is_better),
        "targets": [float(t) for t in problem.targets],
    }


def errors(cells: Sequence[Cell], message: str, wall: float, status: str = "error"):
    """Every run of every cell marked ``status`` with ``message``; each cell gets its share of
    ``wall`` (by runs)."""
    total = sum(len(c.seeds) for c in cells) or 1
    return [error_result(c, message, wall * len(c.seeds) / total, status) for c in cells]


def error_result(cell: Cell, message: str, wall: float, status: str = "error") -> CellResult:
    """Every run of ``cell`` marked ``status`` (error or timeout) with ``message`` stored."""
    nan = math.nan
    runs = [
        {
            "seed": seed,
            "status": status,
            "steps_done": 0,
            "diverged_step": None,
            "error": message,
            "final_train_loss": nan,
            "best_train_loss": nan,
            "final_test_loss": nan,
            "final_train_accuracy": nan,
            "final_test_accuracy": nan,
            "opt_time": nan,
        }
        for seed in cell.seeds
    ]
    return CellResult(cell, runs, [], empty_curves(), wall)

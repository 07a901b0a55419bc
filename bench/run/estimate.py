"""Rough cost estimates: time a few gradient evaluations of each distinct problem setting."""

from __future__ import annotations

import time

import numpy as np

from bench.grid.cell import Cell
from bench.run.engine import build_problem, per_run_batch, per_run_init


def seconds_per_step(cell: Cell, repeats: int = 3) -> float:
    """The best of ``repeats`` timings of one batch draw plus ``loss_and_grad`` for all seeds."""
    problem = build_problem(cell)
    rngs = [np.random.default_rng(s) for s in cell.seeds]
    params = per_run_init(problem, rngs, cell.initializer)
    best = np.inf
    with np.errstate(all="ignore"):
        for _ in range(repeats):
            tick = time.perf_counter()
            problem.loss_and_grad(params, per_run_batch(problem, rngs, cell.batch_size))
            best = min(best, time.perf_counter() - tick)
    return best


def cell_costs(cells: list[Cell]) -> list[float]:
    """Estimated seconds per cell: steps x the measured step time of its problem setting.

    The optimizer step, logging and evaluation are ignored, so this is a lower bound.
    """
    measured: dict[tuple, float] = {}
    costs = []
    for cell in cells:
        setting = (cell.problem, repr(sorted(cell.problem_params.items())), cell.batch_size,
                   len(cell.seeds), cell.initializer)  # fmt: skip
        if setting not in measured:
            measured[setting] = seconds_per_step(cell)
        costs.append(cell.steps * measured[setting])
    return costs

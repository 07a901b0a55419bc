"""Rough cost estimates: the memory of each cell, computed from its sizes without allocating
anything, and the time of a few gradient evaluations of each distinct problem setting."""

from __future__ import annotations

import functools
import json
import time

import numpy as np

import optimizers
import problems
from bench.grid import GridError, GridSpec
from bench.grid.cell import Cell
from bench.grid.footprint import Footprint, footprint, human, machine_memory
from bench.run.engine import build_problem, build_problem_by_name, per_run_batch, per_run_init

# Arrays of the parameters' size besides parameters, gradients and optimizer state: the
# clipping and update temporaries, the batch of gradient noise, the best parameters kept.
WORK_ARRAYS = 4
# A rule that cannot say its state size (an adapter, a plugin with required keywords): an upper
# guess (torch and optax optimizers rarely keep more than four buffers).
UNKNOWN_STATE_FLOATS = 4
# Per example of a batch, an MLP keeps its activations, their gradients and a temporary.
ACTIVATION_COPIES = 3
# What a worker process holds before its first cell: Python, NumPy and the imported modules.
WORKER_BASELINE = 150 * 10**6


def problem_footprint(cell: Cell) -> Footprint:
    """The sizes of the cell's problem: from its keywords for the built-in problems; a plugin's
    problem is built (as validation did) and one run's parameters counted."""
    params = json.dumps(cell.problem_params, sort_keys=True)
    return _footprint(cell.problem, params, cell.initializer)


@functools.cache
def _footprint(name: str, params: str, initializer: str | None) -> Footprint:
    size = footprint(name, json.loads(params))
    if size is not None:
        return size
    problem = build_problem_by_name(name, params)
    arrays = per_run_init(problem, [np.random.default_rng(0)], initializer)
    return Footprint(sum(a.size for a in arrays), itemsize=max(a.itemsize for a in arrays))


@functools.cache
def _state_floats(optimizer: str) -> int:
    floats = optimizers.describe(optimizer).extra.get("state_floats_per_param", 2)
    return UNKNOWN_STATE_FLOATS if floats is None else floats


@functools.cache
def _metrics(problem: str) -> int:
    return len(problems.describe(problem).extra.get("metrics", ()))


def cell_bytes(cell: Cell) -> int:
    """Bytes one cell needs while it runs, all its seeds together (an upper estimate).

    Parameters, gradients, the optimizer's state (``state_floats_per_param`` of
    ``describe()``) and a few work arrays, per run; the activations of a batch; the problem's
    data and matrices; the logged curves.
    """
    size = problem_footprint(cell)
    runs = len(cell.seeds)
    state = _state_floats(cell.optimizer)
    arrays = (2 + state + WORK_ARRAYS) * size.parameters
    examples = cell.batch_size or size.examples
    activations = ACTIVATION_COPIES * examples * size.per_example
    metrics = _metrics(cell.problem) + 2
    curves = (cell.steps // cell.log_every + 2) * metrics * 8
    return runs * ((arrays + activations) * size.itemsize + curves) + size.fixed * size.itemsize


def check_memory(spec: GridSpec, cells: list[Cell], workers: int) -> tuple[int, int | None]:
    """Refuse cells that cannot fit in this machine's memory, ``workers`` of them at once.

    Returns
    -------
    needed, available : int
        Bytes for the ``workers`` largest cells and their processes; the machine's bytes (None
        when unknown).

    Raises
    ------
    GridError
        One line naming the grid, the problem entry of the largest cell and the sizes.
    """
    sizes = sorted(((cell_bytes(cell), i) for i, cell in enumerate(cells)), reverse=True)
    needed = sum(b for b, _ in sizes[:workers]) + workers * WORKER_BASELINE
    memory = machine_memory()
    if memory is None or needed <= memory or not sizes:
        return needed, memory
    largest, i = sizes[0]
    cell = cells[i]
    paths = {option.identity: option.path for option in spec.problems}
    budget = [cell.steps, cell.batch_size, cell.log_every]
    path = paths.get(json.dumps([cell.problem, cell.problem_params, budget], sort_keys=True))
    at_once = f"; {workers} at once (one per worker) need {human(needed)}" if workers > 1 else ""
    raise GridError(
        f"{spec.source}: {path or 'problems'}: a cell of {cell.problem} with {cell.optimizer} "
        f"and {len(cell.seeds)} seeds needs about {human(largest)} of memory{at_once}, more "
        f"than this machine's {human(memory)}: shrink the problem or the seeds"
        + (", or use fewer --jobs" if workers > 1 else "")
    )


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

"""Cost estimates: the memory of each cell, computed from its sizes without allocating anything;
its time, calibrated by running a few sampled cells of each problem setting, shortened; and a
quick relative cost (a few gradient evaluations) to order the cells and weigh the run's ETA."""

from __future__ import annotations

import dataclasses
import functools
import heapq
import json
import math
import time

import numpy as np

import optimizers
import problems
from bench.grid import GridError, GridSpec
from bench.grid.cell import Cell
from bench.grid.footprint import Footprint, footprint, human, machine_memory
from bench.run.engine import (
    batch_streams,
    build_problem,
    build_problem_by_name,
    per_run_batch,
    per_run_init,
)

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
PROBES = 2  # sampled cells run per problem setting to calibrate the time estimate
PROBE_STEPS = 10  # steps of a probe at least (and at least one logging period)
PROBE_SECONDS = 0.1  # a probe shorter than this is run again, longer
UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


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


def setting(cell: Cell) -> tuple:
    """What a cell's cost per step depends on besides its optimizer: the problem and its
    parameters, the batch size, the number of seeds, the initializer and the logging period."""
    params = json.dumps(cell.problem_params, sort_keys=True)
    return (cell.problem, params, cell.batch_size, len(cell.seeds), cell.initializer,
            cell.log_every)  # fmt: skip


def seconds_per_step(cell: Cell, repeats: int = 3) -> float:
    """The best of ``repeats`` timings of one batch draw plus ``loss_and_grad`` for all seeds."""
    problem = build_problem(cell)
    rngs = [np.random.default_rng(s) for s in cell.seeds]
    params = per_run_init(problem, rngs, cell.initializer)
    streams = batch_streams([np.random.SeedSequence(s) for s in cell.seeds])
    best = np.inf
    with np.errstate(all="ignore"):
        for step in range(repeats):
            tick = time.perf_counter()
            problem.loss_and_grad(params, per_run_batch(problem, streams, step, cell.batch_size))
            best = min(best, time.perf_counter() - tick)
    return best


def cell_costs(cells: list[Cell]) -> list[float]:
    """Quick relative costs per cell, to order them: steps x the measured gradient time of its
    problem setting (a lower bound: no optimizer step, logging or evaluation)."""
    measured: dict[tuple, float] = {}
    costs = []
    for cell in cells:
        key = setting(cell)
        if key not in measured:
            measured[key] = seconds_per_step(cell)
        costs.append(cell.steps * measured[key])
    return costs


@dataclasses.dataclass(frozen=True)
class CellModel:
    """A cell's seconds as ``overhead + per_step * steps``, fitted on probes of one setting."""

    overhead: float
    per_step: float

    def seconds(self, steps: int) -> float:
        return self.overhead + self.per_step * steps


def calibrate(cells: list[Cell], probes: int = PROBES) -> dict[tuple, CellModel]:
    """Run up to ``probes`` sampled cells of each setting, shortened, and fit its model.

    The samples are spread over the setting's cells (so over optimizers), the same ones every
    time. Each is run (``run_cell``, in this process) for 1 step and for k steps: the difference
    gives the cost per step, logging and evaluation included, and the rest is the cell's
    overhead.
    """
    from bench.run.engine import run_cell
    from optimizers import fused

    fused.warm_up()  # workers load the kernels before their first cell, too
    by_setting: dict[tuple, list[Cell]] = {}
    for cell in cells:
        by_setting.setdefault(setting(cell), []).append(cell)
    models = {}
    for key, group in by_setting.items():
        build_problem(group[0])  # a worker builds each problem once (MNIST reads its data)
        picked = [group[i] for i in sorted(set(np.linspace(0, len(group) - 1, probes).astype(int)))]
        fitted = [_probe(cell, run_cell) for cell in picked]
        models[key] = CellModel(*np.mean([(m.overhead, m.per_step) for m in fitted], axis=0))
    return models


def _probe(cell: Cell, run_cell) -> CellModel:
    """Fit one cell on two shortened runs: 1 step (the better of two) and k steps, k grown until
    the run takes :data:`PROBE_SECONDS`. A long run and a short one keep timer noise small
    beside the difference between them."""

    def seconds(steps: int) -> float:
        probe = cell.replace(steps=steps, timeout=None)
        started = time.perf_counter()
        run_cell(probe)
        return time.perf_counter() - started

    one = min(seconds(1), seconds(1))
    k = min(cell.steps, max(cell.log_every, PROBE_STEPS))
    if k < 2:
        return CellModel(one, 0.0)
    long = seconds(k)
    if long < PROBE_SECONDS and k < cell.steps:
        k = min(cell.steps, math.ceil(k * PROBE_SECONDS / max(long, 1e-4)))
        long = seconds(k)
    per_step = max(long - one, 0.0) / (k - 1)
    return CellModel(max(one - per_step, 0.0), per_step)


def estimate_seconds(cells: list[Cell], workers: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds on ``workers``) of running ``cells``, from :func:`calibrate`.

    The wall time schedules the cells biggest first, each on the worker that frees up first, as
    the run does.
    """
    models = calibrate(cells)
    costs = sorted((models[setting(c)].seconds(c.steps) for c in cells), reverse=True)
    finish = [0.0] * max(workers, 1)
    for cost in costs:
        heapq.heapreplace(finish, finish[0] + cost)
    return float(sum(costs)), max(finish)


def duration(seconds: float) -> str:
    """Seconds in human units, the two largest that apply: ``"45 s"``, ``"3 min 40 s"``,
    ``"2 h 5 min"``, ``"1 d 3 h"``; below a second, ``"under 1 s"``."""
    if seconds < 1:
        return "under 1 s"
    total = round(seconds)
    for i, (unit, size) in enumerate(UNITS):
        if total >= size:
            major, rest = divmod(total, size)
            if i + 1 == len(UNITS) or rest < UNITS[i + 1][1]:
                return f"{major} {unit}"
            return f"{major} {unit} {rest // UNITS[i + 1][1]} {UNITS[i + 1][0]}"
    raise AssertionError("unreachable: total >= 1")


class Eta:
    """The time a run still needs, from each problem's own pace so far.

    Cells run biggest first, so a run's first cells are its slowest: remaining cells counted
    alike would put the end far too late. Each cell carries a relative cost (:func:`cell_costs`,
    a cost per problem setting). Each finished cell tells how many seconds its problem takes per
    unit of that cost. A remaining cell is priced at its problem's pace, or the run's overall
    pace while none of its problem has finished. The sum is then divided by the seconds of work
    the workers finish per second of the run.
    """

    def __init__(self, cells: list[Cell], costs: list[float]):
        self.pending = {_cell_id(cell): (_problem_of(cell), cost) for cell, cost in
                        zip(cells, costs, strict=True)}  # fmt: skip
        self.paid: dict[str, list[float]] = {}  # problem -> [seconds measured, cost]

    def finished(self, cell: Cell, seconds: float) -> None:
        """Note a finished cell and the wall seconds it took in its worker (NaN: unknown)."""
        problem, cost = self.pending.pop(_cell_id(cell), (_problem_of(cell), 0.0))
        if math.isfinite(seconds) and cost > 0:
            paid = self.paid.setdefault(problem, [0.0, 0.0])
            paid[0] += seconds
            paid[1] += cost

    def seconds_left(self, elapsed: float) -> float | None:
        """Seconds until the last cell ends, or None before any cell has finished."""
        measured = sum(seconds for seconds, _ in self.paid.values())
        if not self.paid or measured <= 0 or elapsed <= 0:
            return None
        overall = measured / sum(cost for _, cost in self.paid.values())
        pace = {problem: seconds / cost for problem, (seconds, cost) in self.paid.items()}
        work = sum(cost * pace.get(problem, overall) for problem, cost in self.pending.values())
        return work / (measured / elapsed)


def _cell_id(cell: Cell) -> tuple:
    return cell.key, cell.seeds


def _problem_of(cell: Cell) -> str:
    return f"{cell.problem} {json.dumps(cell.problem_params, sort_keys=True)}"

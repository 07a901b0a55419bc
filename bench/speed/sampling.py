"""The share of a training step spent drawing minibatches: per-run loop (before) against the
counter-based streams drawn for all runs at once (now), side by side.

The problem is spirals (194 points, MLP 2-32-32-1, batch 16), trained with Adam. "Rest of the
step" is ``loss_and_grad`` plus the optimizer's step on one fixed batch. A share is sampling /
(sampling + rest). The old loop is kept here, as it was in ``bench.run.engine`` (one
``rng.integers`` or ``argpartition`` per run and step), so that it can be timed against the new
path.
"""

from __future__ import annotations

import itertools

import numpy as np

import optimizers
import problems
from bench.grid.cell import Cell
from bench.run.engine import batch_streams, per_run_batch, per_run_init
from bench.speed.targets import Row
from bench.speed.timing import side_by_side

RUNS = (10, 100, 1000)
BATCH = 16
STEPS = 1000  # a cell's length, to spread its once-per-cell work over its steps
LOOP_TARGET = 0.05  # a loop over runs left on the path costs at most this share of a step


def old_indices(rng: np.random.Generator, size: int, count: int) -> np.ndarray:
    """One run's batch as the engine drew it before the streams (``datasets.sample_indices``)."""
    if count * count <= size:
        indices = rng.integers(0, size, (1, count))
        while np.any(np.diff(np.sort(indices, axis=1), axis=1) == 0):
            indices = rng.integers(0, size, (1, count))
        return indices
    return np.argpartition(rng.random((1, size)), count - 1, axis=1)[:, :count]


class _OldContract(problems.Problem):
    """Spirals' batches through a plugin that defines only ``sample_batch`` (the fallback)."""

    def __init__(self, size: int):
        self.size = size

    def sample_batch(self, rng, runs, batch_size):
        return old_indices(rng, self.size, batch_size)


def sampling_rows(repeats: int) -> list[Row]:
    """For each of :data:`RUNS`: the streams' sampling time against the old per-run loop's
    (target: faster), with both shares of a step beside it; then the loops over runs that remain,
    each against :data:`LOOP_TARGET` of a step: deriving the keys (once per cell), and the
    fallback that calls a plugin's ``sample_batch`` once per run."""
    rows = []
    for runs in RUNS:
        times, keys = _timings(runs, repeats)
        share = {k: times[k] / (times[k] + times["rest"]) for k in ("new", "old", "fallback")}
        step = times["new"] + times["rest"]
        rows += [
            Row(f"spirals, {runs:>4} runs: sampling, streams vs old per-run loop", times["new"],
                times["old"], 1.0, extra={"new share": share["new"], "old share": share["old"]}),
            Row(f"spirals, {runs:>4} runs: key loop, once per {STEPS:,}-step cell / step",
                keys / STEPS, step, LOOP_TARGET),
            Row(f"spirals, {runs:>4} runs: old-contract plugin loop (sample_batch) / step",
                times["fallback"], times["fallback"] + times["rest"], LOOP_TARGET),
        ]  # fmt: skip
    return rows


def _timings(runs: int, repeats: int) -> tuple[dict[str, float], float]:
    """Median seconds of each candidate per step, and of deriving the runs' keys (per cell)."""
    cell = Cell(problem="spirals", problem_params={}, optimizer="adam", batch_size=BATCH,
                seeds=tuple(range(runs)))  # fmt: skip
    problem = problems.create("spirals")
    sequences = [cell.seed_sequence(s) for s in cell.seeds]
    rngs = [np.random.default_rng(s) for s in sequences]
    params = per_run_init(problem, rngs, None)
    opt = optimizers.create("adam", lr=1e-3)
    state = opt.init(params)
    streams, steps = batch_streams(sequences), itertools.count()
    fixed = per_run_batch(problem, streams, 0, BATCH)
    old_contract = _OldContract(problem.train_size)

    def rest() -> None:
        _, grads = problem.loss_and_grad(params, fixed)
        opt.step(params, grads, state)

    candidates = {
        "new": lambda: per_run_batch(problem, streams, next(steps), BATCH),
        "old": lambda: np.concatenate([old_indices(r, problem.train_size, BATCH) for r in rngs]),
        "fallback": lambda: per_run_batch(old_contract, streams, next(steps), BATCH),
        "rest": rest,
    }

    def keys() -> None:
        batch_streams([cell.seed_sequence(s) for s in cell.seeds])

    with np.errstate(all="ignore"):
        times = side_by_side(candidates, repeats, max(1, 2000 // runs))
        return times, side_by_side({"keys": keys}, repeats, 1)["keys"]

"""The training loop, in one place: ``run_group`` runs every seed of every cell of a group (one
cell, or several that differ only in continuous values: :mod:`bench.run.grouping`) as one array
program.

For each step it samples a batch, calls ``loss_and_grad``, adds the regularizer, clips, sets
lr = base lr x schedule(t) and calls ``step``. Only those steps are timed; logging and evaluation
happen with the clock stopped. A run that diverges is marked with its step and the others carry
on; an exception marks the cell's runs ``error`` with the traceback; nothing here raises.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

import problems
from bench.grid.cell import Cell
from bench.run import outcome, stacked
from bench.run.outcome import METRICS
from bench.run.result import CURVE_COLUMNS, CellResult, empty_curves

DIVERGENCE_FACTOR = 1e6  # a loss above this multiple of its start counts as diverged


@functools.lru_cache(maxsize=32)
def _problem(name: str, params_json: str) -> problems.Problem:
    """Problems are built once per worker process (MNIST reads its data once)."""
    return problems.create(name, **json.loads(params_json))


def build_problem_by_name(name: str, params: dict | str) -> problems.Problem:
    """A problem from its name and parameters (a dict or their JSON), cached per process."""
    params = json.loads(params) if isinstance(params, str) else params
    return _problem(name, json.dumps(params, sort_keys=True))


def build_problem(cell: Cell) -> problems.Problem:
    """The cell's problem, shared between cells of the same worker."""
    return build_problem_by_name(cell.problem, cell.problem_params)


def import_plugins(plugins: tuple[str, ...], paths: tuple[str, ...] = ()) -> None:
    """Import the modules that register user optimizers or problems (in this process).

    ``paths`` are the parent's ``sys.path`` entries, so a worker finds a plugin that sits next
    to the grid file or in the directory optbench was started from.
    """
    sys.path.extend(p for p in paths if p not in sys.path)
    for module in plugins:
        importlib.import_module(module)


def per_run_init(problem, rngs, initializer) -> list[np.ndarray]:
    """Each run draws its start from its own generator, so a run never depends on its cell-mates."""
    parts = [problem.init_params(rng, 1, initializer) for rng in rngs]
    return [np.concatenate(arrays) for arrays in zip(*parts, strict=True)]


def batch_streams(sequences: list[np.random.SeedSequence]) -> problems.RunStreams:
    """The counter-based streams of the runs' batches, one key per run's ``SeedSequence``."""
    return problems.RunStreams.from_seed_sequences(sequences)


def is_stochastic(problem, batch_size) -> bool:
    """Whether the problem draws batches (minibatches or gradient noise) at this batch size."""
    probe = batch_streams([np.random.SeedSequence(0)])
    return problem.draw_batch(probe.at(0), batch_size) is not None


def per_run_batch(problem, streams: problems.RunStreams, step: int, batch_size):
    """Every run's minibatch (or noise draw) of ``step``, for all runs at once.

    Row r comes from run r's own counter-based stream, so it does not depend on which runs share
    the array (``problems.streams``). A problem that only defines the older ``sample_batch``
    is called once per run (``Problem.draw_batch``'s fallback).
    """
    return problem.draw_batch(streams.at(step), batch_size)


def global_norm(grads: list[np.ndarray]) -> np.ndarray:
    """The per-run L2 norm over all gradient arrays, shape (R,)."""
    total = sum(np.sum(np.square(g.reshape(g.shape[0], -1)), axis=1) for g in grads)
    return np.sqrt(total)


class Loop:
    """State of one group's training loop: params, optimizer state and per-run bookkeeping.

    The group's cells (:mod:`bench.run.grouping`) share the problem and the budget; their runs
    are concatenated on the runs axis in the cells' order, and every component is per run.
    """

    def __init__(self, cells: Cell | Sequence[Cell]):
        self.cells = (cells,) if isinstance(cells, Cell) else tuple(cells)
        self.cell = cell = self.cells[0]  # the problem and budget every cell of the group shares
        self.problem = build_problem(cell)
        self.sizes = [len(c.seeds) for c in self.cells]
        self.parts = stacked.Components(self.cells)
        self.optimizer = self.parts.optimizer
        self.rngs = [np.random.default_rng(c.seed_sequence(s)) for c in self.cells for s in c.seeds]
        self.params = self._initial_params()
        self.state = self.optimizer.init(self.params)
        self.runs = len(self.rngs)
        self.seeds = np.concatenate([np.asarray(c.seeds, dtype=np.int64) for c in self.cells])
        self.diverged_step = np.full(self.runs, -1)
        self.opt_time = 0.0
        self.points: list[list[np.ndarray]] = []  # one list of CURVE_COLUMNS arrays per log
        self._logged_points: tuple[dict[str, np.ndarray], int] = ({}, 0)  # see _logged
        self.logged_step = 0
        self.reached = np.full((self.runs, len(self.problem.targets)), -1)
        self.reached_time = np.full(self.reached.shape, np.nan)
        self.best = np.full(self.runs, np.inf)
        self.last: dict[str, np.ndarray] = {}
        self.start_loss = self.log(0, np.full(self.runs, np.nan))
        self.limit = DIVERGENCE_FACTOR * np.maximum(np.abs(self.start_loss), 1e-12)

    def _initial_params(self) -> list[np.ndarray]:
        """Each cell's runs start from its own initializer, each run from its own generator."""
        parts, start = [], 0
        for cell, size in zip(self.cells, self.sizes, strict=True):
            rngs = self.rngs[start : start + size]
            parts.append(per_run_init(self.problem, rngs, cell.initializer))
            start += size
        if len(parts) == 1:
            return parts[0]
        return [np.concatenate(arrays) for arrays in zip(*parts, strict=True)]

    @functools.cached_property
    def streams(self) -> problems.RunStreams:
        """Every run's minibatch and noise streams, keyed when a run first draws (a
        deterministic problem never pays for them)."""
        return batch_streams([c.seed_sequence(s) for c in self.cells for s in c.seeds])

    def segments(self) -> list[slice]:
        """Each cell's runs, as a slice of the runs axis."""
        bounds = np.cumsum([0, *self.sizes])
        return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def penalty(self, grads: list[np.ndarray], params: list[np.ndarray]) -> np.ndarray:
        return self.parts.penalty(params, grads)

    def closure(self, batch) -> dict[str, Any]:
        """``{"closure": f}`` for an optimizer that needs one (``needs_closure``, as L-BFGS through
        the torch adapter): ``f()`` is the objective at the current params, penalised and
        clipped as the step's own gradient, ``(loss (R,), grads)``. Its calls are timed."""
        if not getattr(self.optimizer, "needs_closure", False):
            return {}

        def objective() -> tuple[np.ndarray, list[np.ndarray]]:
            loss, grads = self.problem.loss_and_grad(self.params, batch)
            loss = loss + self.penalty(grads, self.params)
            if self.parts.clipped:
                self.parts.clip(grads, self.params)
            return loss, grads

        return {"closure": objective}

    def log(self, step: int, grad_norm: np.ndarray) -> np.ndarray:
        """Evaluate (clock stopped) and append a curve point for every run still alive.

        The model is evaluated where the rule says (``eval_params``: schedule-free's averaged
        point, Lookahead's slow weights; the params themselves for every other rule)."""
        at = self.optimizer.eval_params(self.params, self.state)
        metrics = self.problem.evaluate(at)
        scratch = [np.zeros_like(p) for p in at]
        loss = np.asarray(metrics["train_loss"], dtype=np.float64) + self.penalty(scratch, at)
        metrics = {**metrics, "train_loss": loss}
        alive = self.diverged_step < 0
        bad = alive & ~np.isfinite(loss)
        if step > 0:
            bad |= alive & (loss > self.limit)
        self.diverged_step[bad] = step
        batch = self.cell.batch_size
        size = self.problem.train_size
        epoch = step * batch / size if batch and size else float(step)
        self._record(step, epoch, alive, metrics, grad_norm)
        ok = alive & ~bad
        self.best[ok] = np.minimum(self.best[ok], loss[ok])
        if self.problem.targets:
            newly = self.problem.reached(metrics) & (self.reached < 0) & ok[:, None]
            self.reached[newly] = step
            self.reached_time[newly] = self.opt_time
        for name in METRICS:
            if name in metrics:
                values = np.asarray(metrics[name], dtype=np.float64)
                self.last.setdefault(name, np.full(self.runs, np.nan))[ok] = values[ok]
        return loss

    def _record(self, step: int, epoch: float, alive: np.ndarray, metrics: dict, grad_norm):
        """Append one curve point per run still alive: whole arrays, no loop over runs.

        The ``seed`` column holds the run's index on the runs axis until :meth:`curves` maps it.
        """
        index = np.flatnonzero(alive)
        nan = np.full(self.runs, np.nan)
        values = {m: np.asarray(metrics.get(m, nan), dtype=np.float64)[index] for m in METRICS}
        columns = {
            "seed": index.astype(np.int64),
            "step": np.full(index.size, step, dtype=np.int64),
            "epoch": np.full(index.size, epoch, dtype=np.float64),
            "time": np.full(index.size, self.opt_time, dtype=np.float64),
            "grad_norm": np.asarray(grad_norm, dtype=np.float64)[index],
            **values,
        }
        self.points.append([columns[name] for name in CURVE_COLUMNS])
        self.logged_step = step

    def curves(self, runs: slice, time_share: float = 1.0) -> dict[str, np.ndarray]:
        """The logged points of the runs in ``runs`` as ``CURVE_COLUMNS`` arrays, in logging
        order, with seeds for run indices and times scaled by ``time_share``."""
        if not self.points:
            return empty_curves()
        columns = self._logged()
        run = columns["seed"]
        keep = (run >= runs.start) & (run < runs.stop)
        columns = {name: values[keep] for name, values in columns.items()}
        columns["seed"] = self.seeds[columns["seed"]]
        columns["time"] = columns["time"] * time_share
        return columns

    def _logged(self) -> dict[str, np.ndarray]:
        """Every logged point as one array per column, concatenated once for all the group's
        cells (again only if points were logged since)."""
        if self._logged_points[1] != len(self.points):
            columns = {
                name: np.concatenate([point[i] for point in self.points])
                for i, name in enumerate(CURVE_COLUMNS)
            }
            self._logged_points = (columns, len(self.points))
        return self._logged_points[0]

    def run(self, on_step=None, deadline: float = math.inf) -> str | None:
        """Run the step budget; returns 'timeout' if ``deadline`` (``time.monotonic``) passed.

        The deadline is checked between steps; ``bench.run.parallel`` kills a worker whose step
        never returns. ``on_step(t, params)``, if given, is called after every step (outside
        the timed part).
        """
        cell, problem, opt, parts = self.cell, self.problem, self.optimizer, self.parts
        stochastic = is_stochastic(problem, cell.batch_size)
        batch = None
        for t in range(cell.steps):
            tick = time.perf_counter()
            if stochastic:
                batch = per_run_batch(problem, self.streams, t, cell.batch_size)
            loss, grads = problem.loss_and_grad(self.params, batch)
            if parts.regularized:
                parts.penalty(self.params, grads)
            logging = (t + 1) % cell.log_every == 0 or t + 1 == cell.steps
            norm = global_norm(grads) if logging else None
            if parts.clipped:
                parts.clip(grads, self.params)
            opt.step(self.params, grads, self.state, lr=parts.lr(t), **self.closure(batch))
            self.opt_time += time.perf_counter() - tick
            if on_step is not None:
                on_step(t + 1, self.params)
            some_alive = self._mark_diverged(loss, t)
            if logging:
                self.log(t + 1, norm)
            if not some_alive:
                return None
            if time.monotonic() > deadline:
                return "timeout"
        return None

    def _mark_diverged(self, loss: np.ndarray, t: int) -> bool:
        """Mark the runs whose loss of step ``t`` (before its update) blew up: not finite, or
        above its limit. Whether any run is still alive (checked only when one blew up)."""
        fine = (loss <= self.limit) & (loss > -np.inf)  # NaN fails both comparisons
        if fine.all():
            return True
        newly = ~fine & (self.diverged_step < 0)
        self.diverged_step[newly] = t
        return bool((self.diverged_step < 0).any())


def one_blas_thread():
    """Run a cell's numerics on one BLAS thread, in the parent and in every worker alike.

    OpenBLAS's multi-threaded matmuls round differently from its single-threaded ones (measured
    here: an MNIST cell's losses differed by 2e-6 between 2 threads and 1), so without this the
    same grid would give different bits at ``--jobs 1`` (in-process) and ``--jobs 2``. Jobs,
    not BLAS threads, are optbench's unit of parallelism.
    """
    return threadpool_limits(limits=1, user_api="blas")


def run_group(
    cells: Sequence[Cell], plugins: tuple[str, ...] = (), paths: tuple[str, ...] = ()
) -> list[CellResult]:
    """Run every seed of every cell of a group (:mod:`bench.run.grouping`) as one array program
    and summarise each cell; never raises (an exception makes every cell's runs ``error``).

    A cell's ``timeout`` (only a cell alone has one) counts from here: importing plugins and
    building the problem count. Each cell gets its share of the group's time, in proportion to
    its runs. When a group raises, each of its cells runs again alone, so that only the cell at
    fault records the error.
    """
    started = time.perf_counter()
    timeout = cells[0].timeout if len(cells) == 1 else None
    deadline = math.inf if timeout is None else time.monotonic() + timeout
    try:
        import_plugins(plugins, paths)
        # diverging runs overflow quietly (they are recorded); one BLAS thread everywhere
        with np.errstate(all="ignore"), one_blas_thread():
            loop = Loop(cells)
            cut_short = loop.run(deadline=deadline)
        return outcome.split(loop, cut_short, time.perf_counter() - started)
    except Exception:  # noqa: BLE001 - an exception inside a run is a result, not a crash
        if len(cells) > 1:  # one cell's fault must not be its group-mates': each runs alone
            return [result for cell in cells for result in run_group([cell], plugins, paths)]
        return outcome.errors(cells, traceback.format_exc(), time.perf_counter() - started)


def run_cell(cell: Cell, plugins: tuple[str, ...] = (), paths: tuple[str, ...] = ()) -> CellResult:
    """Run every seed of ``cell`` alone and summarise each run; never raises."""
    return run_group([cell], plugins, paths)[0]


error_result = outcome.error_result

"""The training loop, in one place: ``run_cell`` runs every seed of a cell as one array program.

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
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

import optimizers
import optimizers.clipping
import problems
from bench.grid.cell import Cell
from bench.run.result import CURVE_COLUMNS, CellResult

DIVERGENCE_FACTOR = 1e6  # a loss above this multiple of its start counts as diverged
METRICS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")


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


def is_stochastic(problem, batch_size) -> bool:
    """Whether the problem draws batches (minibatches or gradient noise) at this batch size."""
    return problem.sample_batch(np.random.default_rng(0), 1, batch_size) is not None


def per_run_batch(problem, rngs, batch_size):
    """One minibatch (or noise draw) per run from that run's generator, stacked on the runs axis."""
    parts = [problem.sample_batch(rng, 1, batch_size) for rng in rngs]
    return None if parts[0] is None else np.concatenate(parts)


def global_norm(grads: list[np.ndarray]) -> np.ndarray:
    """The per-run L2 norm over all gradient arrays, shape (R,)."""
    total = sum(np.sum(np.square(g.reshape(g.shape[0], -1)), axis=1) for g in grads)
    return np.sqrt(total)


class Loop:
    """State of one cell's training loop: params, optimizer state and per-run bookkeeping."""

    def __init__(self, cell: Cell):
        self.cell = cell
        self.problem = build_problem(cell)
        self.optimizer = optimizers.create(cell.optimizer, **cell.optimizer_params)
        self.schedule = optimizers.schedule(cell.schedule, **cell.schedule_params)
        self.clip = optimizers.clipping.clipper(cell.clip, **cell.clip_params)  # checked once
        self.rngs = [np.random.default_rng(cell.seed_sequence(s)) for s in cell.seeds]
        self.params = per_run_init(self.problem, self.rngs, cell.initializer)
        self.state = self.optimizer.init(self.params)
        self.runs = len(cell.seeds)
        self.diverged_step = np.full(self.runs, -1)
        self.opt_time = 0.0
        self.points: list[list[np.ndarray]] = []  # one list of CURVE_COLUMNS arrays per log
        self.logged_step = 0
        self.reached = np.full((self.runs, len(self.problem.targets)), -1)
        self.reached_time = np.full(self.reached.shape, np.nan)
        self.best = np.full(self.runs, np.inf)
        self.last: dict[str, np.ndarray] = {}
        self.start_loss = self.log(0, np.full(self.runs, np.nan))
        self.limit = DIVERGENCE_FACTOR * np.maximum(np.abs(self.start_loss), 1e-12)

    def penalty(self, grads: list[np.ndarray], params: list[np.ndarray]) -> np.ndarray:
        cell = self.cell
        if cell.regularizer == "none":
            return np.zeros(self.runs)
        return problems.regularize(cell.regularizer, params, grads, **cell.regularizer_params)

    def closure(self, batch) -> dict[str, Any]:
        """``{"closure": f}`` for an optimizer that needs one (``needs_closure``, as L-BFGS through
        the torch adapter): ``f()`` is the objective at the current params, penalised and
        clipped as the step's own gradient, ``(loss (R,), grads)``. Its calls are timed."""
        if not getattr(self.optimizer, "needs_closure", False):
            return {}

        def objective() -> tuple[np.ndarray, list[np.ndarray]]:
            loss, grads = self.problem.loss_and_grad(self.params, batch)
            loss = loss + self.penalty(grads, self.params)
            self.clip(grads, self.params)
            return loss, grads

        return {"closure": objective}

    def log(self, step: int, grad_norm: np.ndarray) -> np.ndarray:
        """Evaluate (clock stopped) and append a curve point for every run still alive."""
        # a rule's evaluation point (schedule-free's averaged x), else the params themselves
        point = getattr(self.optimizer, "eval_params", lambda params, state: params)
        evaluated = point(self.params, self.state)
        metrics = self.problem.evaluate(evaluated)
        scratch = [np.zeros_like(p) for p in evaluated]
        loss = np.asarray(metrics["train_loss"], dtype=np.float64) + self.penalty(
            scratch, evaluated
        )
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
        """Append one curve point per run still alive: whole arrays, no loop over runs."""
        index = np.flatnonzero(alive)
        nan = np.full(self.runs, np.nan)
        values = {m: np.asarray(metrics.get(m, nan), dtype=np.float64)[index] for m in METRICS}
        columns = {
            "seed": np.asarray(self.cell.seeds, dtype=np.int64)[index],
            "step": np.full(index.size, step, dtype=np.int64),
            "epoch": np.full(index.size, epoch, dtype=np.float64),
            "time": np.full(index.size, self.opt_time, dtype=np.float64),
            "grad_norm": np.asarray(grad_norm, dtype=np.float64)[index],
            **values,
        }
        self.points.append([columns[name] for name in CURVE_COLUMNS])
        self.logged_step = step

    def curves(self) -> dict[str, np.ndarray]:
        """The logged points as ``CURVE_COLUMNS`` arrays, in logging order."""
        if not self.points:
            return {
                name: np.array([], dtype=np.int64 if name in ("seed", "step") else np.float64)
                for name in CURVE_COLUMNS
            }
        return {
            name: np.concatenate([point[i] for point in self.points])
            for i, name in enumerate(CURVE_COLUMNS)
        }

    def run(self, on_step=None, deadline: float = math.inf) -> str | None:
        """Run the step budget; returns 'timeout' if ``deadline`` (``time.monotonic``) passed.

        The deadline is checked between steps; ``bench.run.parallel`` kills a worker whose step
        never returns. ``on_step(t, params)``, if given, is called after every step (outside
        the timed part).
        """
        cell, problem, opt, clip = self.cell, self.problem, self.optimizer, self.clip
        base_lr = opt.lr
        stochastic = is_stochastic(problem, cell.batch_size)
        batch = None
        for t in range(cell.steps):
            tick = time.perf_counter()
            if stochastic:
                batch = per_run_batch(problem, self.rngs, cell.batch_size)
            loss, grads = problem.loss_and_grad(self.params, batch)
            self.penalty(grads, self.params)
            logging = (t + 1) % cell.log_every == 0 or t + 1 == cell.steps
            norm = global_norm(grads) if logging else None
            clip(grads, self.params)
            lr = base_lr * self.schedule(t)
            opt.step(self.params, grads, self.state, lr=lr, **self.closure(batch))
            self.opt_time += time.perf_counter() - tick
            if on_step is not None:
                on_step(t + 1, self.params)
            alive = self.diverged_step < 0
            bad = alive & ~(np.isfinite(loss) & (loss <= self.limit))
            self.diverged_step[bad] = t  # the loss of step t (before its update) blew up
            if logging:
                self.log(t + 1, norm)
            if not (self.diverged_step < 0).any():
                return None
            if time.monotonic() > deadline:
                return "timeout"
        return None


def one_blas_thread():
    """Run a cell's numerics on one BLAS thread, in the parent and in every worker alike.

    OpenBLAS's multi-threaded matmuls round differently from its single-threaded ones (measured
    here: an MNIST cell's losses differed by 2e-6 between 2 threads and 1), so without this the
    same grid would give different bits at ``--jobs 1`` (in-process) and ``--jobs 2``. Jobs,
    not BLAS threads, are optbench's unit of parallelism.
    """
    return threadpool_limits(limits=1, user_api="blas")


def run_cell(cell: Cell, plugins: tuple[str, ...] = (), paths: tuple[str, ...] = ()) -> CellResult:
    """Run every seed of ``cell`` and summarise each run; never raises.

    The cell's ``timeout`` counts from here: importing plugins and building the problem count.
    """
    started = time.perf_counter()
    deadline = math.inf if cell.timeout is None else time.monotonic() + cell.timeout
    try:
        import_plugins(plugins, paths)
        # diverging runs overflow quietly (they are recorded); one BLAS thread everywhere
        with np.errstate(all="ignore"), one_blas_thread():
            loop = Loop(cell)
            cut_short = loop.run(deadline=deadline)
        return _result(cell, loop, cut_short, time.perf_counter() - started)
    except Exception:  # noqa: BLE001 - an exception inside a run is a result, not a crash
        return error_result(cell, traceback.format_exc(), time.perf_counter() - started)


def _result(cell: Cell, loop: Loop, cut_short: str | None, wall: float) -> CellResult:
    runs, targets = [], []
    for r, seed in enumerate(cell.seeds):
        diverged = loop.diverged_step[r] >= 0
        status = "diverged" if diverged else (cut_short or "done")
        last = {m: float(loop.last.get(m, np.full(loop.runs, np.nan))[r]) for m in METRICS}
        runs.append(
            {
                "seed": seed,
                "status": status,
                "steps_done": int(loop.diverged_step[r]) if diverged else loop.logged_step,
                "diverged_step": int(loop.diverged_step[r]) if diverged else None,
                "error": None,
                "final_train_loss": math.inf if diverged else last["train_loss"],
                "best_train_loss": float(loop.best[r]),
                "final_test_loss": last["test_loss"],
                "final_train_accuracy": last["train_accuracy"],
                "final_test_accuracy": last["test_accuracy"],
                "opt_time": loop.opt_time,
            }
        )
        for k, target in enumerate(loop.problem.targets):
            hit = loop.reached[r, k] >= 0
            targets.append(
                {
                    "seed": seed,
                    "target": float(target),
                    "step": int(loop.reached[r, k]) if hit else None,
                    "time": float(loop.reached_time[r, k]) if hit else None,
                }
            )
    curves = loop.curves()
    return CellResult(cell, runs, targets, curves, wall, ladder=ladder(loop.problem))


def ladder(problem: problems.Problem) -> dict[str, Any]:
    """The problem's target ladder as the store keeps it: metric, direction, values."""
    return {
        "metric": problem.target_metric,
        "higher_is_better": bool(problem.higher_is_better),
        "targets": [float(t) for t in problem.targets],
    }


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
    empty: dict[str, Any] = {
        name: np.array([], dtype=np.int64 if name in ("seed", "step") else np.float64)
        for name in CURVE_COLUMNS
    }
    return CellResult(cell, runs, [], empty, wall)

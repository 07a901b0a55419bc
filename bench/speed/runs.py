"""The engine and the store against a hand-written NumPy loop of the same numerics.

The hand loop is what a user would write without optbench: Adam on R stacked 2-D Rosenbrock
points, the loss kept every ``log_every`` steps. optbench's side is the real thing: ``run_cell``
(a tiny cell) or the whole ``optbench run --jobs 1`` command, store included.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.speed.targets import Row
from bench.speed.timing import side_by_side

BIG_GRID = """\
name = "runs"
seeds = {seeds}
steps = {steps}
log_every = 10
[[problems]]
name = "rosenbrock"
start_noise = 0.5
[[optimizers]]
name = "adam"
lr = 0.01
"""


def hand_loop(runs: int, steps: int, log_every: int = 10, lr: float = 0.01) -> np.ndarray:
    """Adam (torch's defaults) on ``runs`` stacked 2-D Rosenbrock points; the logged losses."""
    rng = np.random.default_rng(0)
    x = np.array([-1.2, 1.0]) + 0.5 * rng.standard_normal((runs, 2))
    m, v = np.zeros_like(x), np.zeros_like(x)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    logged = []
    for t in range(1, steps + 1):
        a, b = x[:, 0], x[:, 1]
        grad = np.stack([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)], axis=1)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        step = lr / (1 - beta1**t)
        x = x - step * m / (np.sqrt(v / (1 - beta2**t)) + eps)
        if t % log_every == 0:
            a, b = x[:, 0], x[:, 1]
            logged.append((1 - a) ** 2 + 100 * (b - a * a) ** 2)
    return np.array(logged)


def command_row(runs: int = 10_000, steps: int = 1_000) -> Row:
    """``optbench run --jobs 1`` (a fresh store each time) against the hand loop, once each."""
    with tempfile.TemporaryDirectory() as folder:
        grid = Path(folder) / "runs.toml"
        grid.write_text(BIG_GRID.format(seeds=runs, steps=steps))
        command = [sys.executable, "-m", "bench.cli", "run", str(grid), "--jobs", "1",
                   "--no-report", "--store"]  # fmt: skip
        count = iter(range(1_000_000))

        def optbench() -> None:
            store = os.path.join(folder, f"s{next(count)}.sqlite")
            subprocess.run([*command, store], check=True, capture_output=True)

        times = side_by_side({"ours": optbench, "floor": lambda: hand_loop(runs, steps)}, 1, 1)
    return Row(
        f"optbench run --jobs 1: {runs:,} rosenbrock runs x {steps:,} steps, store included, "
        "vs a hand-written NumPy loop",
        times["ours"],
        times["floor"],
        3.0,
    )


def tiny_cell_row(repeats: int, seeds: int = 5, steps: int = 1_000) -> Row:
    """``run_cell`` of a 5-seed Rosenbrock cell against the hand loop of the same size."""
    from bench.grid.cell import Cell
    from bench.run.engine import run_cell

    cell = Cell(
        problem="rosenbrock",
        problem_params={"dim": 2, "start_noise": 0.5},
        optimizer="adam",
        optimizer_params={"lr": 0.01},
        steps=steps,
        seeds=tuple(range(seeds)),
    )
    times = side_by_side(
        {"ours": lambda: run_cell(cell), "floor": lambda: hand_loop(seeds, steps)}, repeats, 1
    )
    return Row(f"tiny cell: {seeds} seeds x {steps:,} steps vs the hand loop", times["ours"],
               times["floor"], 1.5)  # fmt: skip


def sweep_row(repeats: int, points: int = 10, seeds: int = 10, steps: int = 500) -> Row:
    """A 10-point lr sweep of spirals (one run group) against one of its lrs alone."""
    from bench.grid.cell import Cell
    from bench.run.parallel import run_cells

    def spirals(lr: float) -> Cell:
        return Cell(problem="spirals", problem_params={"hidden": 16}, optimizer="adam",
                    optimizer_params={"lr": lr}, steps=steps, log_every=50,
                    seeds=tuple(range(seeds)))  # fmt: skip

    sweep = [spirals(lr) for lr in np.geomspace(1e-3, 1e-1, points)]
    times = side_by_side(
        {
            "ours": lambda: list(run_cells(sweep, jobs=1)),
            "floor": lambda: list(run_cells(sweep[:1], jobs=1)),
        },
        repeats,
        1,
    )
    return Row(f"lr sweep: {points} lrs x {seeds} seeds of spirals, {steps} steps, vs one lr",
               times["ours"], times["floor"], 2.5)  # fmt: skip


def store_write_seconds(points: int = 1_000_000, runs: int = 10_000) -> float:
    """Seconds to write one cell of ``runs`` runs and ``points`` logged points to a new store."""
    from bench.grid.cell import Cell
    from bench.run.result import CURVE_COLUMNS, CellResult
    from bench.store import Store

    per_run = points // runs
    rng = np.random.default_rng(0)
    curves = {"seed": np.repeat(np.arange(runs), per_run),
              "step": np.tile(np.arange(per_run) * 10, runs)}  # fmt: skip
    curves |= {name: rng.standard_normal(runs * per_run) for name in CURVE_COLUMNS[2:]}
    cell = Cell(problem="rosenbrock", optimizer="adam", seeds=tuple(range(runs)))
    result = CellResult(cell, [{"seed": s, "status": "done", "steps_done": 1} for s in range(runs)],
                        [], curves, 1.0)  # fmt: skip
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "w.sqlite") as store:
        store.start_experiment("write", "")
        started = time.perf_counter()
        store.write(result)
        return time.perf_counter() - started


def runs_rows(repeats: int) -> list[Row]:
    """The rows of the ``runs`` section (the command row runs once: it takes seconds)."""
    write = store_write_seconds()
    return [
        command_row(),
        tiny_cell_row(repeats),
        sweep_row(repeats),
        Row("store: write 1,000,000 logged points (10,000 runs) vs 1 s", write, 1.0, 1.0),
    ]

"""What the harness adds around the numerics: the engine's loop and the store's writes."""

import numpy as np

from bench.grid.cell import Cell
from bench.run.engine import run_cell
from bench.store.store import Store

STEPS = 100

# Every part of an engine iteration is exercised: gradient noise is sampled per run, then
# loss_and_grad, global-norm clipping, the cosine schedule and the Adam step.
TINY = Cell(
    problem="rosenbrock",
    problem_params={"dim": 2, "noise": 0.1, "start_noise": 0.1},
    optimizer="adam",
    optimizer_params={"lr": 1e-3},
    clip="global_norm",
    clip_params={"max_norm": 1.0},
    schedule="cosine",
    schedule_params={"T_max": STEPS},
    steps=STEPS,
    log_every=STEPS,
    seeds=(0, 1, 2, 3),
)


def test_engine_tiny_cell(measure):
    """``run_cell`` of a 4-seed, 100-step Rosenbrock cell: time / 100 is the per-step cost of
    the runner plus the tiny problem (set-up and two evaluations are included)."""
    result = run_cell(TINY)
    assert [run["status"] for run in result.runs] == ["done"] * 4, result.runs[0]["error"]
    measure(lambda: run_cell(TINY), nbytes=2 * 4 * 2 * 8, steps=STEPS)


def test_store_write(measure, tmp_path):
    """One cell of 10 seeds x 101 logged points written in its transaction (rows replaced each
    round); runs/s and points/s are ``runs`` and ``points`` times the calls per second."""
    cell = Cell(
        problem="rosenbrock",
        problem_params={"dim": 2},
        optimizer="adam",
        optimizer_params={"lr": 1e-2},
        steps=1000,
        log_every=10,
        seeds=tuple(range(10)),
    )
    result = run_cell(cell)
    store = Store(tmp_path / "speed.sqlite")
    store.start_experiment("speed", "{}")
    points = len(result.curves["step"])
    nbytes = sum(np.asarray(column).nbytes for column in result.curves.values())
    try:
        measure(lambda: store.write(result), nbytes=nbytes, runs=len(result.runs), points=points)
    finally:
        store.close()

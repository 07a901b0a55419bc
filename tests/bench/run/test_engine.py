"""The engine and the parallel dispatch: statuses, per-seed independence, determinism."""

import dataclasses

import numpy as np
import pytest

import optimizers
import optimizers.base
from bench.grid.cell import Cell
from bench.run.engine import run_cell
from bench.run.parallel import run_cells


def cell(**kw):
    base = dict(
        problem="rosenbrock",
        problem_params={"dim": 4, "start_noise": 0.1},
        optimizer="adam",
        optimizer_params={"lr": 0.01},
        steps=200,
        log_every=20,
        seeds=(0, 1, 2),
    )
    return Cell(**{**base, **kw})


def same_numbers(a, b):
    assert [r["seed"] for r in a.runs] == [r["seed"] for r in b.runs]
    for x, y in zip(a.runs, b.runs, strict=True):
        for key in ("status", "final_train_loss", "best_train_loss", "diverged_step"):
            assert x[key] == y[key] or (np.isnan(x[key]) and np.isnan(y[key])), key
    for name in ("seed", "step", "train_loss", "grad_norm"):
        np.testing.assert_array_equal(a.curves[name], b.curves[name])
    assert [(t["seed"], t["target"], t["step"]) for t in a.targets] == [
        (t["seed"], t["target"], t["step"]) for t in b.targets
    ]


def test_a_done_cell_logs_every_log_every_steps_and_at_the_end():
    result = run_cell(cell(steps=95, log_every=20))
    assert [r["status"] for r in result.runs] == ["done"] * 3
    steps = result.curves["step"][result.curves["seed"] == 0]
    np.testing.assert_array_equal(steps, [0, 20, 40, 60, 80, 95])
    assert np.all(np.diff(result.curves["time"][result.curves["seed"] == 0]) >= 0)
    assert result.runs[0]["best_train_loss"] <= result.curves["train_loss"][0]


def test_a_seed_gives_the_same_run_whatever_its_cell_mates():
    many = run_cell(cell(seeds=(0, 1, 2, 3)))
    alone = run_cell(cell(seeds=(2,)))
    mask = many.curves["seed"] == 2
    np.testing.assert_array_equal(many.curves["train_loss"][mask], alone.curves["train_loss"])
    assert many.runs[2]["final_train_loss"] == alone.runs[0]["final_train_loss"]


def test_minibatch_runs_are_independent_and_seeds_differ():
    spirals = cell(
        problem="spirals",
        problem_params={"hidden": 8},
        optimizer="sgd",
        optimizer_params={"lr": 0.1},
        batch_size=16,
        steps=30,
        log_every=10,
        seeds=(0, 1, 2),
    )
    many, alone = run_cell(spirals), run_cell(spirals.with_seeds((1,)))
    mask = many.curves["seed"] == 1
    np.testing.assert_array_equal(many.curves["train_loss"][mask], alone.curves["train_loss"])
    finals = [r["final_train_loss"] for r in many.runs]
    assert len(set(finals)) == 3


def test_a_huge_lr_diverges_with_its_step_while_the_neighbour_finishes():
    results = list(run_cells([cell(optimizer="sgd", optimizer_params={"lr": 1.0}), cell()], jobs=1))
    diverged, fine = results
    assert [r["status"] for r in diverged.runs] == ["diverged"] * 3
    assert all(0 <= r["diverged_step"] < 20 for r in diverged.runs)
    assert all(r["final_train_loss"] == np.inf for r in diverged.runs)
    assert [r["status"] for r in fine.runs] == ["done"] * 3


def test_an_optimizer_that_raises_is_recorded_as_error(monkeypatch):
    monkeypatch.setattr(optimizers.base, "_REGISTRY", dict(optimizers.base._REGISTRY))

    @optimizers.register("explodes_test")
    @dataclasses.dataclass(frozen=True)
    class Explodes(optimizers.Optimizer):
        def init(self, params):
            return None

        def step(self, params, grads, state, lr=None):
            raise RuntimeError("boom at step")

    result = run_cell(cell(optimizer="explodes_test", optimizer_params={}))
    assert {r["status"] for r in result.runs} == {"error"}
    assert "RuntimeError: boom at step" in result.runs[0]["error"]
    assert "Traceback" in result.runs[0]["error"]


def test_targets_record_the_first_logged_step_that_reaches_them():
    result = run_cell(
        cell(
            problem="quadratic",
            problem_params={"dim": 5, "condition_number": 10.0},
            optimizer="sgd",
            optimizer_params={"lr": 0.1},
            steps=400,
        )
    )
    by_target = {}
    for t in result.targets:
        by_target.setdefault(t["target"], []).append(t["step"])
    steps = [by_target[target][0] for target in sorted(by_target, reverse=True)]
    assert all(s is not None for s in steps)
    assert steps == sorted(steps)  # deeper targets are reached later
    mask = result.curves["seed"] == 0
    first = result.curves["step"][mask][result.curves["train_loss"][mask] <= min(by_target)][0]
    assert by_target[min(by_target)][0] == first


def grid_of_cells():
    return [
        cell(seeds=(0, 1)),
        cell(optimizer="sgd", optimizer_params={"lr": 1.0}),
        cell(optimizer="lion", optimizer_params={"lr": 1e-3}, clip="global_norm",
             clip_params={"max_norm": 1.0}),
        cell(problem="xor", problem_params={}, optimizer="rmsprop", optimizer_params={"lr": 0.05},
             schedule="cosine", schedule_params={"T_max": 200}),
    ]  # fmt: skip


def by_key(results):
    return {r.cell.key: r for r in results}


def test_one_job_and_two_loky_jobs_give_identical_results():
    serial = by_key(run_cells(grid_of_cells(), jobs=1))
    parallel = by_key(run_cells(list(reversed(grid_of_cells())), jobs=2))
    assert serial.keys() == parallel.keys()
    for key in serial:
        same_numbers(serial[key], parallel[key])


@pytest.mark.timeout(180)
def test_dask_local_cluster_gives_the_same_results_as_loky():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        dask = by_key(
            run_cells(grid_of_cells(), backend="dask", scheduler=cluster.scheduler_address)
        )
    serial = by_key(run_cells(grid_of_cells(), jobs=1))
    assert dask.keys() == serial.keys()
    for key in serial:
        same_numbers(serial[key], dask[key])


def test_blas_heavy_cells_are_bit_identical_in_process_and_in_workers():
    """In-process (jobs=1) and worker (jobs=2) runs use the same single-threaded BLAS path."""
    mnist = cell(
        problem="mnist_mlp",
        problem_params={"hidden": [64]},
        optimizer="adam",
        optimizer_params={"lr": 0.003},
        batch_size=128,
        steps=12,
        log_every=4,
        seeds=(0, 1, 2),
    )
    logreg = mnist.replace(problem="mnist_logreg", problem_params={})
    serial = by_key(run_cells([mnist, logreg], jobs=1))
    parallel = by_key(run_cells([mnist, logreg], jobs=2))
    for key in serial:
        same_numbers(serial[key], parallel[key])

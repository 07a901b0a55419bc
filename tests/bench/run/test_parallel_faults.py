"""Faults inside a grid are results, not crashes: dead workers, hung cells, numerical trouble.

The worker rows of the README's Reliability section, with loky (``--jobs``) through
`optbench run`, then on Dask without a cluster (test_engine.py runs a real LocalCluster). The
command-line faults are in tests/bench/commands/test_reliability.py, the store faults in
tests/bench/store/test_store_faults.py. Every wait is bounded, and the only processes killed are
workers these tests started.
"""

from __future__ import annotations

import os
import time
import types

import numpy as np
import pytest

import bench.run.parallel
import bench.run.parallel.dask
import bench.run.parallel.workers
from bench.grid.cell import Cell
from bench.store.store import load
from tests.bench.commands.faults import (
    assert_all_exit,
    descendants,
    is_alive,
    run,
    write_plugin,
)

# --- a worker dies: its cell is an error, a fresh worker takes over, the grid finishes ----------

DEATH_GRID = """\
name = "deaths"
seeds = 2
steps = 40
log_every = 10
plugins = ["reliability_faulty_plugin"]
{timeout}

[[problems]]
name = "quadratic"

[[optimizers]]
name = "sgd"
lr = [0.01, 0.02, 0.03, 0.04]

[[optimizers]]
name = "{killer}"

[[optimizers]]
name = "adam"
lr = [0.01, 0.02]
"""


def new_children(before: set[int]) -> list:
    return [
        p
        for p in descendants(os.getpid())
        if p.pid not in before and "resource_tracker" not in " ".join(p.cmdline())
    ]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("killer", "jobs", "timeout", "how"),
    [
        ("exit_opt", 2, "", "exit code 1"),
        ("sigkill_opt", 2, "", "killed by SIGKILL"),
        ("exit_opt", 1, "timeout = 60", "exit code 1"),  # a timeout puts jobs=1 in a worker
    ],
)
def test_a_dead_worker_fails_only_its_cell(tmp_path, capsys, killer, jobs, timeout, how):
    write_plugin(tmp_path)
    grid = tmp_path / "deaths.toml"
    grid.write_text(DEATH_GRID.format(killer=killer, timeout=timeout))
    store = tmp_path / "deaths.sqlite"
    before = {p.pid for p in descendants(os.getpid())}
    assert run("run", grid, "--store", store, "--jobs", jobs) == 1  # 1: some runs are errors
    assert "ended in error" in capsys.readouterr().out
    runs, _ = load(store)
    assert len(runs) == 7 * 2
    dead = runs[runs["optimizer"] == killer]
    assert set(dead["status"]) == {"error"}
    assert dead["error"].str.contains(f"worker process \\d+ died .*{how}", regex=True).all()
    assert set(runs.loc[runs["optimizer"] != killer, "status"]) <= {"done", "diverged"}
    assert_all_exit(new_children(before), timeout=5)  # the pool was torn down at the end


# --- a cell hangs: its worker is killed at the cell's timeout, the grid goes on -----------------

HANG_GRID = """\
name = "hangs"
seeds = 2
steps = 100
log_every = 20
timeout = 0.5
plugins = ["reliability_faulty_plugin"]

[[problems]]
name = "quadratic"

[[optimizers]]
name = "sgd"
lr = [0.01, 0.02, 0.03]

[[optimizers]]
name = "hang_opt"
pid_file = "{pid_file}"

[[optimizers]]
name = "slow_opt"
delay = 0.01
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_hung_cell_is_killed_at_its_timeout_and_the_grid_goes_on(tmp_path, monkeypatch, jobs):
    # by default 1 s + 10 %
    monkeypatch.setattr(bench.run.parallel.workers, "grace", lambda timeout: 0.3)
    write_plugin(tmp_path)
    pid_file = tmp_path / "hung.pid"
    grid = tmp_path / "hangs.toml"
    grid.write_text(HANG_GRID.format(pid_file=pid_file.as_posix()))
    store = tmp_path / "hangs.sqlite"
    started = time.monotonic()
    assert run("run", grid, "--store", store, "--jobs", jobs) == 0  # a timeout is no error
    assert time.monotonic() - started < 20
    runs, _ = load(store)
    hung = runs[runs["optimizer"] == "hang_opt"]
    assert set(hung["status"]) == {"timeout"}
    assert hung["error"].str.contains("past its limit of 0.5 s").all()
    assert hung["error"].str.contains("was killed").all()
    assert not is_alive(int(pid_file.read_text()))
    slow = runs[runs["optimizer"] == "slow_opt"]  # steps of 10 ms: the engine stops it itself
    assert set(slow["status"]) == {"timeout"} and (slow["steps_done"] > 0).all()
    assert set(runs.loc[runs["optimizer"] == "sgd", "status"]) <= {"done", "diverged"}


# --- numerical trouble: diverged with its step, or done with a flat curve; no warnings ----------

NUMERIC_GRID = """\
name = "numeric"
seeds = 3
steps = 50
log_every = 1
plugins = ["reliability_faulty_plugin"]

[[problems]]
name = "rosenbrock"
start_noise = 0.1

[[optimizers]]
name = "sgd"
lr = [1e10, 0.0, 1e-4]

[[optimizers]]
name = "nan_opt"
lr = 1e-4
at = 7
run = 1
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("jobs", [1, 2])
def test_overflow_nan_and_zero_lr_are_results_without_warnings(tmp_path, capfd, jobs):
    write_plugin(tmp_path)
    grid = tmp_path / "numeric.toml"
    grid.write_text(NUMERIC_GRID)
    store = tmp_path / "numeric.sqlite"
    assert run("run", grid, "--store", store, "--jobs", jobs) == 0
    err = capfd.readouterr().err
    assert "Warning" not in err and "Traceback" not in err, err
    runs, curves = load(store)
    runs = runs.set_index(["optimizer", "lr", "seed"]).sort_index()
    overflow = runs.loc[("sgd", 1e10)]
    assert set(overflow["status"]) == {"diverged"}
    assert (overflow["diverged_step"] <= 3).all() and np.isinf(overflow["final_train_loss"]).all()
    nan = runs.loc[("nan_opt", 1e-4)]
    assert list(nan["status"]) == ["done", "diverged", "done"]  # run 1 only; the others go on
    assert nan["diverged_step"].iloc[1] == 7  # the NaN written by step 7 shows in loss 7
    zero = runs.loc[("sgd", 0.0)]
    assert set(zero["status"]) == {"done"}
    flat = curves[curves["lr"] == 0.0].groupby("seed")["train_loss"].nunique()
    assert (flat == 1).all()  # lr = 0: every logged loss equals the start
    assert set(runs.loc[("sgd", 1e-4), "status"]) == {"done"}


# --- the same faults on Dask, without a cluster (test_engine.py runs a real LocalCluster) -------


class FakeFuture:
    def __init__(self, key, error=None):
        self.key, self.error, self.cancelled = key, error, False

    def result(self):
        raise self.error

    def cancel(self):
        self.cancelled = True


class FakeClient:
    """What ``_DaskWatch`` asks a Dask client: each worker's executing cells and their ages."""

    def __init__(self, executing):
        self.executing, self.restarted = executing, []

    def run(self, function, on_error="raise"):
        return self.executing

    def restart_workers(self, workers, raise_for_error=True):
        self.restarted += workers


def test_on_dask_a_cell_whose_workers_died_is_an_error():
    distributed = pytest.importorskip("distributed")
    cell = Cell("quadratic", {}, "sgd", {"lr": 0.1}, seeds=(0, 1))
    last_worker = types.SimpleNamespace(address="tcp://w:1")
    future = FakeFuture("k", distributed.KilledWorker("k", last_worker, 3))
    (result,) = bench.run.parallel._dask_result(future, (cell,))  # a group of one cell
    assert [r["status"] for r in result.runs] == ["error", "error"]
    assert "worker process died" in result.runs[0]["error"]
    assert "tcp://w:1" in result.runs[0]["error"]


def test_on_dask_only_a_cell_past_its_own_limit_is_cancelled(monkeypatch):
    """A cell queued behind the hung one on its worker is not executing, so it is never blamed."""
    clock = [100.0]
    monkeypatch.setattr(bench.run.parallel.dask.time, "monotonic", lambda: clock[0])
    hung, queued, fine = FakeFuture("hung"), FakeFuture("queued"), FakeFuture("fine")
    slow = Cell("quadratic", {}, "sgd", {}, timeout=2.0)
    futures = {hung: (slow,), queued: (slow.replace(steps=5),), fine: (Cell("xor", {}, "sgd", {}),)}
    limit = 2.0 + bench.run.parallel.workers.grace(2.0)
    client = FakeClient({"tcp://w:1": {"hung": limit - 0.1}, "tcp://w:2": {"fine": 50.0}})
    watch = bench.run.parallel._DaskWatch(client)
    assert watch.hung(futures) == []  # within its limit; `fine` has no timeout
    client.executing["tcp://w:1"]["hung"] = limit + 0.1
    assert watch.hung(futures) == []  # the workers are asked at most every POLL seconds
    clock[0] += bench.run.parallel.POLL
    assert watch.hung(futures) == [(hung, "tcp://w:1", limit + 0.1)]
    result = watch.stop(hung, futures[hung], "tcp://w:1", limit + 0.1)
    assert hung.cancelled and not queued.cancelled and client.restarted == ["tcp://w:1"]
    assert {r["status"] for r in result.runs} == {"timeout"}
    assert "Dask worker tcp://w:1 restarted" in result.runs[0]["error"]

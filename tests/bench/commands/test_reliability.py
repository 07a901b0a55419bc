"""Faults, interruptions and bad input never lose a finished run or corrupt the store.

One section per row of the README's Reliability section, then safety. Tests that kill processes
kill only processes they started (a child in its own session, its workers, or the child killing
itself), and every wait is bounded. Grid validation is covered key by key in
tests/bench/grid/test_grid.py and fuzzed in test_fuzz_grid.py there; here each kind of bad input
goes through the command line.
"""

from __future__ import annotations

import ast
import contextlib
import os
import signal
import sqlite3
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

import bench.run.parallel
import bench.store.store
from bench.cli import main
from bench.grid import MAX_CELLS
from bench.grid.cell import Cell
from bench.store.schema import SCHEMA_VERSION
from bench.store.store import Store, StoreError, load
from tests.bench.commands.faults import (
    ROOT,
    assert_all_exit,
    assert_same_numbers,
    check_store,
    descendants,
    is_alive,
    optbench,
    python,
    stored_cells,
    wait_until,
    write_plugin,
)

CRASH_GRID = """\
name = "crash"
seeds = 3
steps = 60
log_every = 10

[[problems]]
name = "rosenbrock"
start_noise = 0.1

[[problems]]
name = "xor"

[[optimizers]]
name = "adam"
lr = [0.01, 0.1]

[[optimizers]]
name = "sgd"
lr = 0.05
"""
CRASH_CELLS = 6

# Cells of a few tenths of a second, so that some are in flight when we strike.
SLOW_GRID = """\
name = "slow"
seeds = 2
steps = 800
log_every = 200

[[problems]]
name = "spirals"
hidden = 24

[[optimizers]]
name = "adam"
lr = [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008]
"""
SLOW_CELLS = 8


@pytest.fixture(autouse=True)
def own_sys_path(monkeypatch):
    """Grid folders that `optbench run` puts on sys.path (for plugins) leave with the test."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def run(*argv: object) -> int:
    return main([str(a) for a in argv])


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def crash_grid(tmp_path):
    path = tmp_path / "crash.toml"
    path.write_text(CRASH_GRID)
    return path


@pytest.fixture(scope="module")
def clean_crash_store(tmp_path_factory):
    """The crash grid run once without interruption: the reference for every resumed run."""
    folder = tmp_path_factory.mktemp("clean")
    (folder / "crash.toml").write_text(CRASH_GRID)
    store = folder / "clean.sqlite"
    assert run("run", folder / "crash.toml", "--store", store, "--jobs", 1) == 0
    return store


@pytest.fixture
def slow_grid(tmp_path):
    path = tmp_path / "slow.toml"
    path.write_text(SLOW_GRID)
    return path


def workers_of(process) -> list:
    return [p for p in descendants(process.pid) if "LokyProcess" in " ".join(p.cmdline())]


# --- SIGKILL: whole cells only, no duplicates, no stale lock; the rerun equals a clean run ------


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("point", "n", "cells_kept"),
    [("after-write", 2, 2), ("mid-write", 3, 2), ("creating", 1, 0)],
    ids=["after-a-commit", "mid-transaction", "creating-the-store"],
)
def test_sigkill_leaves_whole_cells_and_the_rerun_equals_a_clean_run(
    crash_grid, clean_crash_store, tmp_path, point, n, cells_kept
):
    killed = tmp_path / "killed.sqlite"
    child = python("-m", "tests.bench.commands.killpoint", point, n, "--",
                   "run", crash_grid, "--store", killed, "--jobs", 1)  # fmt: skip
    _, err = child.communicate(timeout=50)
    assert child.returncode == -signal.SIGKILL, err
    assert len(check_store(killed, seeds=3)) == cells_kept
    with Store(killed) as store:  # opens for writing: the dead writer left no lock behind
        assert len(store.runs()) == 3 * cells_kept
    assert run("run", crash_grid, "--store", killed, "--jobs", 1) == 0
    assert len(check_store(killed, seeds=3)) == CRASH_CELLS
    assert_same_numbers(killed, clean_crash_store)


@pytest.mark.timeout(60)
def test_sigkill_with_cells_in_flight_leaves_no_orphan_workers(slow_grid, tmp_path):
    killed = tmp_path / "killed.sqlite"
    child = optbench("run", slow_grid, "--store", killed, "--jobs", 2)
    wait_until(lambda: stored_cells(killed) >= 1, 40, "a stored cell", child)
    workers = wait_until(lambda: len(workers_of(child)) == 2 and workers_of(child), 10, "workers")
    os.kill(child.pid, signal.SIGKILL)  # the parent only: its workers must notice
    child.communicate(timeout=10)
    assert_all_exit(workers, timeout=10)  # they notice their parent is gone and exit
    assert 1 <= len(check_store(killed, seeds=2)) < SLOW_CELLS
    with Store(killed):  # and no stale lock
        pass


# --- SIGINT: in-flight cells abandoned, workers gone, finished cells kept, exit 130 ---------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_keeps_finished_cells_kills_workers_and_exits_130(slow_grid, tmp_path, jobs):
    store = tmp_path / "s.sqlite"
    child = optbench("run", slow_grid, "--store", store, "--jobs", jobs)
    wait_until(lambda: stored_cells(store) >= 1, 40, "a stored cell", child)
    workers = []
    if jobs > 1:
        workers = wait_until(lambda: len(workers_of(child)) == jobs and workers_of(child), 10, "w")
    os.killpg(child.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole process group
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert "interrupted" in err and "Resume with the same command" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err  # workers stay quiet too
    assert_all_exit(workers, timeout=0)  # killed and reaped before the parent exited
    assert 1 <= len(check_store(store, seeds=2)) < SLOW_CELLS  # resuming: the SIGKILL tests


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
    monkeypatch.setattr(bench.run.parallel, "grace", lambda timeout: 0.3)  # 1 s + 10 % by default
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


# --- two runs on one store: the second stops with a clear message; nothing is corrupted ---------


@pytest.mark.timeout(60)
def test_a_second_run_on_a_busy_store_exits_2_and_writes_nothing(slow_grid, tmp_path, capsys):
    store = tmp_path / "shared.sqlite"
    first = optbench("run", slow_grid, "--store", store, "--jobs", 1)
    wait_until(lambda: stored_cells(store) >= 1, 40, "a stored cell", first)
    assert run("run", slow_grid, "--store", store, "--jobs", 1) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{store}: in use by another optbench run (process {first.pid})" in err
    assert run("status", store) == 0  # reading while it runs is fine
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT COUNT(*) FROM experiments").fetchone()[0] == 1
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=10)
    check_store(store, seeds=2)
    with Store(store):  # the lock died with its holder
        pass
    assert not Path(f"{store}.lock").exists()


def test_one_writer_at_a_time_in_one_process_too(tmp_path):
    path = tmp_path / "one.sqlite"
    with Store(path):
        with pytest.raises(
            StoreError, match=f"in use by another optbench run .process {os.getpid()}"
        ):
            Store(path)
        with Store(path, readonly=True) as reader:  # readers take no lock
            assert reader.status_counts()["done"] == 0
    with Store(path):  # released on close
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.sqlite"]


# --- a store that cannot be used: one line naming the file and the cause, nothing written -------


def not_sqlite(path: Path) -> None:
    path.write_text("my notes, not a database\n" * 50)


def newer_schema(path: Path) -> None:
    Store(path).close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")


def another_programs(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
        conn.commit()


def read_only(path: Path) -> None:
    with Store(path) as store:
        store.start_experiment("x", "")
    path.chmod(0o444)  # honoured even by root: a store made read-only is meant to stay so


def a_directory(path: Path) -> None:
    path.mkdir()


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (not_sqlite, "not an SQLite database"),
        (newer_schema, f"schema version {SCHEMA_VERSION + 1} is newer"),
        (another_programs, "not an optbench store"),
        (read_only, "read-only file"),
        (a_directory, "is a directory"),
    ],
)
def test_an_unusable_store_exits_2_with_one_line_and_stays_as_it_was(
    crash_grid, tmp_path, capsys, make, cause
):
    path = tmp_path / "store.sqlite"
    make(path)
    before = snapshot(tmp_path)
    assert run("run", crash_grid, "--store", path, "--jobs", 1) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{path}: {cause}" in err
    assert snapshot(tmp_path) == before


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {p.name: p.read_bytes() if p.is_file() else None for p in sorted(folder.iterdir())}


@pytest.mark.timeout(60)
def test_a_full_disk_stops_the_run_with_exit_2_keeping_whole_cells(tmp_path, capsys, monkeypatch):
    crash_grid = tmp_path / "crash.toml"  # every step logged: cells of a few pages each
    crash_grid.write_text(CRASH_GRID.replace("log_every = 10", "log_every = 1"))
    path = tmp_path / "full.sqlite"
    connect = Store._connect

    def small_disk(self):  # SQLite's own "database or disk is full", a few cells in
        conn = connect(self)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 6}")
        return conn

    with monkeypatch.context() as patch:
        patch.setattr(Store, "_connect", small_disk)
        assert run("run", crash_grid, "--store", path, "--jobs", 1) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{path}: cannot write cell" in err and "database or disk is full" in err
    assert "rerun the same command to resume" in err
    kept = check_store(path, seeds=3)
    assert 1 <= len(kept) < CRASH_CELLS
    assert run("run", crash_grid, "--store", path, "--jobs", 1) == 0
    assert len(check_store(path, seeds=3)) == CRASH_CELLS


# --- a bad grid file: one line with the key and the closest names, exit 2, nothing written ------

TAIL = "[[problems]]\nname = 'quadratic'\n[[optimizers]]\nname = 'sgd'\n"


def huge_sweep(values: int) -> str:
    return TAIL + f"lr = {[round(1e-4 * (i + 1), 6) for i in range(values)]}\n"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (b"name = 'x'\n\xff\xfe = 1\n", ["bad.toml: cannot read the grid file", "utf-8"]),
        ("[[problems]\nname = 'x'", ["not valid TOML", "line 1"]),
        ("seeds = 2.5\n" + TAIL, ["seeds", "2.5"]),
        (TAIL + "lr = {value = 0.1}", ["optimizers[0].lr", "a table"]),
        (TAIL + "momentum = true", ["optimizers[0].momentum", "True"]),
        (TAIL + "lr = -0.5", ["optimizers[0].lr", "-0.5", "out of range"]),
        (TAIL + "lr = [0.1, nan]", ["optimizers[0].lr[1]", "nan"]),
        (TAIL + "lr = inf", ["optimizers[0].lr", "inf", "out of range"]),
        ("timeout = nan\n" + TAIL, ["timeout", "nan", "out of range"]),
        (TAIL + "[[optimizers]]\nname = 'adamw2'", ["optimizers[1].name", "'adamw'"]),
        ("seed_count = 3\n" + TAIL, ["seed_count: unknown key", "'seed'"]),
        (TAIL.replace("'quadratic'", "'quadratic'\ndim = 1000000000000"),
         ["problems[0]", "too big"]),
        (huge_sweep(400) + "momentum = " + str([i / 400 for i in range(400)]),
         ["optimizers[0]", "160,000 combinations", "shrink"]),
        ("plugins = ['no_such_plugin_here']\n" + TAIL, ["plugins[0]", "no_such_plugin_here"]),
    ],
)  # fmt: skip
def test_a_bad_grid_exits_2_with_one_line_naming_the_key(tmp_path, capsys, text, fragments):
    path = tmp_path / "bad.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    store = tmp_path / "never.sqlite"
    assert run("run", path, "--store", store) == 2
    err = one_line(capsys.readouterr().err)
    for fragment in fragments:
        assert fragment in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_a_huge_grid_shows_its_count_on_dry_run_and_needs_yes(tmp_path, capsys):
    per_problem = MAX_CELLS // 2 + 1
    path = tmp_path / "huge.toml"
    path.write_text(
        "[[problems]]\nname = 'quadratic'\n[[problems]]\nname = 'rosenbrock'\n"
        "[[optimizers]]\nname = 'sgd'\n"
        f"lr = {[round(1e-4 * (i + 1), 6) for i in range(per_problem // 10 + 1)]}\n"
        f"momentum = {[i / 10 for i in range(10)]}\n"
    )
    store = tmp_path / "huge.sqlite"
    assert run("run", path, "--store", store, "--dry-run") == 0
    out = capsys.readouterr().out
    cells = 2 * 10 * (per_problem // 10 + 1)
    assert f"{cells:,} cells" in out and "needs --yes" in out
    assert run("run", path, "--store", store) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{cells:,} cells" in err and f"limit of {MAX_CELLS:,}" in err and "--yes" in err
    assert not store.exists()


# --- safety ------------------------------------------------------------------------------------


def test_grid_files_are_never_evaluated_or_unpickled():
    forbidden_calls = {"eval", "exec", "compile", "__import__", "input"}
    forbidden_modules = {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle", "yaml"}
    sources = sorted((ROOT / "bench" / "grid").glob("*.py"))
    assert len(sources) >= 4
    for module in sources:
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in forbidden_calls, (module, node.lineno)
            if isinstance(node, ast.Import):
                assert not {a.name.split(".")[0] for a in node.names} & forbidden_modules
            if isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] not in forbidden_modules


def test_code_in_a_grid_is_only_ever_a_string(tmp_path, capsys):
    marker = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {marker.as_posix()}')"
    path = tmp_path / "evil.toml"
    path.write_text(f'{TAIL}lr = "{payload}"\n')
    assert run("run", path, "--store", tmp_path / "s.sqlite") == 2
    assert "optimizers[0].lr" in one_line(capsys.readouterr().err)
    assert not marker.exists()


SNEAKY = """
from pathlib import Path
Path(__file__).with_name("imported").write_text("yes")
"""


def test_plugins_load_only_when_named(tmp_path, capsys):
    (tmp_path / "reliability_import_probe.py").write_text(SNEAKY)
    path = tmp_path / "g.toml"
    path.write_text("steps = 5\nseeds = 1\n" + TAIL)
    assert run("run", path, "--store", tmp_path / "a.sqlite", "--jobs", 1) == 0
    assert not (tmp_path / "imported").exists()
    path.write_text("steps = 5\nseeds = 1\nplugins = ['reliability_import_probe']\n" + TAIL)
    assert run("run", path, "--store", tmp_path / "b.sqlite", "--jobs", 1) == 0
    assert (tmp_path / "imported").exists()


HOSTILE_PLUGIN = """
import dataclasses
import optimizers

@optimizers.register("sgd'); DROP TABLE runs; --")
@dataclasses.dataclass(frozen=True)
class Hostile(optimizers.Optimizer):
    note: str = ""
    def init(self, params):
        return None
    def step(self, params, grads, state, lr=None):
        for p, g in zip(params, grads):
            p -= (self.lr if lr is None else lr) * g
"""


class TracingCursor(sqlite3.Cursor):
    def execute(self, sql, *args):
        TracingConnection.statements.append(sql)
        return super().execute(sql, *args)

    def executemany(self, sql, *args):
        TracingConnection.statements.append(sql)
        return super().executemany(sql, *args)


class TracingConnection(sqlite3.Connection):
    """Records the SQL text of every statement (pandas goes through ``cursor()``)."""

    statements: list[str] = []

    def cursor(self, factory=TracingCursor):
        return super().cursor(factory)

    def execute(self, sql, *args):
        TracingConnection.statements.append(sql)
        return super().execute(sql, *args)

    def executemany(self, sql, *args):
        TracingConnection.statements.append(sql)
        return super().executemany(sql, *args)


def test_hostile_strings_reach_the_store_only_as_bound_parameters(tmp_path, monkeypatch):
    (tmp_path / "reliability_hostile_plugin.py").write_text(HOSTILE_PLUGIN)
    name = "sgd'); DROP TABLE runs; --"
    note = "x'); DELETE FROM curves; --"
    description = 'Robert"); DROP TABLE experiments; --'
    path = tmp_path / "hostile.toml"
    path.write_text(
        f"description = '{description}'\nseeds = 2\nsteps = 10\n"
        "plugins = ['reliability_hostile_plugin']\n"
        f"[[problems]]\nname = 'quadratic'\n"
        f'[[optimizers]]\nname = "{name}"\nlr = 0.01\nnote = "{note}"\n'
    )
    store = tmp_path / "hostile.sqlite"
    connect = sqlite3.connect
    TracingConnection.statements = []
    monkeypatch.setattr(
        bench.store.store.sqlite3,
        "connect",
        lambda *a, **k: connect(*a, factory=TracingConnection, **k),
    )
    assert run("run", path, "--store", store, "--jobs", 1) == 0
    runs, curves = load(store)
    with Store(store, readonly=True) as reader:
        experiments = reader.experiments()
    assert TracingConnection.statements  # the tracer saw the store's traffic
    for sql in TracingConnection.statements:
        assert "DROP" not in sql and "DELETE FROM curves" not in sql, sql
    assert list(runs["optimizer"]) == [name, name]
    assert list(runs["opt.note"]) == [note, note]
    assert description in experiments["spec"].iloc[0]
    assert len(curves) == 2 * 2  # steps 0 and 10 for both seeds


# --- the same faults on Dask, without a cluster (test_engine.py runs a real LocalCluster) -------


class FakeFuture:
    def __init__(self, key, error=None):
        self.key, self.error, self.cancelled = key, error, False

    def result(self):
        raise self.error

    def cancel(self):
        self.cancelled = True


class FakeClient:
    def __init__(self, processing):
        self._processing, self.restarted = processing, []

    def processing(self):
        return self._processing

    def restart_workers(self, workers, raise_for_error=True):
        self.restarted += workers


def test_on_dask_a_cell_whose_workers_died_is_an_error():
    distributed = pytest.importorskip("distributed")
    cell = Cell("quadratic", {}, "sgd", {"lr": 0.1}, seeds=(0, 1))
    last_worker = types.SimpleNamespace(address="tcp://w:1")
    future = FakeFuture("k", distributed.KilledWorker("k", last_worker, 3))
    result = bench.run.parallel._dask_result(future, cell)
    assert [r["status"] for r in result.runs] == ["error", "error"]
    assert "worker process died" in result.runs[0]["error"]
    assert "tcp://w:1" in result.runs[0]["error"]


def test_on_dask_a_hung_cell_is_cancelled_and_its_worker_restarted(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(bench.run.parallel.time, "monotonic", lambda: clock[0])
    hung, fine = FakeFuture("hung"), FakeFuture("fine")
    slow = Cell("quadratic", {}, "sgd", {}, timeout=2.0)
    futures = {hung: slow, fine: Cell("xor", {}, "sgd", {})}
    client = FakeClient({"tcp://w:1": ["hung"], "tcp://w:2": ["fine"]})
    watch = bench.run.parallel._DaskWatch(client)
    assert watch.hung(futures) == []  # first seen now
    clock[0] += 2 * 2.0 + bench.run.parallel.grace(2.0) - 0.1
    assert watch.hung(futures) == []  # one cell may wait behind another on its worker
    clock[0] += bench.run.parallel.POLL  # (the scheduler is asked at most every POLL seconds)
    assert watch.hung(futures) == [hung]  # `fine` has no timeout
    result = watch.stop(hung, futures[hung])
    assert hung.cancelled and client.restarted == ["tcp://w:1"]
    assert {r["status"] for r in result.runs} == {"timeout"}
    assert "Dask worker tcp://w:1 restarted" in result.runs[0]["error"]

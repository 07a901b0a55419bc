"""Interruptions and bad input on the command line never lose a finished run or corrupt a store.

One section per kind: SIGKILL and Ctrl-C mid-run (then resume), a bad grid file, then safety. The
README's other Reliability rows are tested by stage: a store that is busy, unusable or full in
tests/bench/store/test_store_faults.py; workers that die or hang, and numerical trouble, in
tests/bench/run/test_parallel_faults.py. Tests that kill processes kill only processes they
started (a child in its own session, its workers, or the child killing itself), and every wait is
bounded. Grid validation is covered key by key in tests/bench/grid/test_grid.py and fuzzed in
test_fuzz_grid.py there; here each kind of bad input goes through the command line.
"""

from __future__ import annotations

import ast
import os
import signal
import sqlite3

import pytest

import bench.store.store
from bench.grid import MAX_CELLS
from bench.store.store import Store, load
from tests.bench.commands.faults import (
    ROOT,
    assert_all_exit,
    assert_same_numbers,
    check_store,
    descendants,
    one_line,
    optbench,
    python,
    run,
    stored_cells,
    wait_until,
)
from tests.bench.conftest import CRASH_CELLS, CRASH_GRID, SLOW_CELLS


@pytest.fixture(scope="module")
def clean_crash_store(tmp_path_factory):
    """The crash grid run once without interruption: the reference for every resumed run."""
    folder = tmp_path_factory.mktemp("clean")
    (folder / "crash.toml").write_text(CRASH_GRID)
    store = folder / "clean.sqlite"
    assert run("run", folder / "crash.toml", "--store", store, "--jobs", 1) == 0
    return store


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

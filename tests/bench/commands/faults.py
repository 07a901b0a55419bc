"""Helpers for the fault-injection tests: misbehaving plugins, store checks, process trees."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from bench.cli import main
from bench.store.store import load

ROOT = Path(__file__).resolve().parents[3]

# Optimizers that fail the way real code fails. Written next to each test's grid, imported by name
# (plugins = ["reliability_faulty_plugin"]) in the parent for validation and in every worker.
PLUGIN = '''
import dataclasses
import os
import signal
import time
from pathlib import Path

import numpy as np

import optimizers


class _SGD(optimizers.Optimizer):
    def init(self, params):
        return [0]

    def step(self, params, grads, state, lr=None):
        for p, g in zip(params, grads):
            p -= (self.lr if lr is None else lr) * g
        state[0] += 1


@optimizers.register("exit_opt")
@dataclasses.dataclass(frozen=True)
class ExitOpt(_SGD):
    """Ends its process at step 3, the way a crashing C extension would."""

    def step(self, params, grads, state, lr=None):
        super().step(params, grads, state, lr)
        if state[0] == 3:
            os._exit(1)


@optimizers.register("sigkill_opt")
@dataclasses.dataclass(frozen=True)
class SigkillOpt(_SGD):
    """Killed at step 3, the way the out-of-memory killer kills."""

    def step(self, params, grads, state, lr=None):
        super().step(params, grads, state, lr)
        if state[0] == 3:
            os.kill(os.getpid(), signal.SIGKILL)


@optimizers.register("hang_opt")
@dataclasses.dataclass(frozen=True)
class HangOpt(_SGD):
    """Never returns from its first step; tells its process id first."""

    pid_file: str = ""

    def step(self, params, grads, state, lr=None):
        if self.pid_file:
            Path(self.pid_file).write_text(str(os.getpid()))
        time.sleep(3600)


@optimizers.register("slow_opt")
@dataclasses.dataclass(frozen=True)
class SlowOpt(_SGD):
    """SGD whose steps each take `delay` seconds."""

    delay: float = 0.02

    def step(self, params, grads, state, lr=None):
        time.sleep(self.delay)
        super().step(params, grads, state, lr)


@optimizers.register("nan_opt")
@dataclasses.dataclass(frozen=True)
class NanOpt(_SGD):
    """SGD that writes NaN into run `run`'s parameters at step `at` (the others stay fine)."""

    at: int = 7
    run: int = 1

    def step(self, params, grads, state, lr=None):
        super().step(params, grads, state, lr)
        if state[0] == self.at:
            params[0][self.run] = np.nan


@optimizers.register("noted_sgd")
@dataclasses.dataclass(frozen=True)
class NotedSGD(_SGD):
    """SGD with a free-text hyperparameter (to carry hostile strings into the store)."""

    note: str = ""
'''

# Columns that measure time: they differ between two runs of the same grid.
TIMING = ("run_id", "experiment_id", "opt_time", "wall_time", "finished_at", "time")


def run(*argv: object) -> int:
    """``optbench ARGV`` in this process; returns its exit code."""
    return main([str(a) for a in argv])


def one_line(err: str) -> str:
    """``err`` after checking it is a single line without a traceback."""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def write_plugin(directory: Path, name: str = "reliability_faulty_plugin") -> str:
    (directory / f"{name}.py").write_text(PLUGIN)
    return name


def numbers(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A store's runs and curves without the timing columns, in a canonical order."""
    runs, curves = load(path)
    runs = runs.drop(columns=[c for c in runs if c in TIMING or c.startswith("time_to_")])
    curves = curves.drop(columns=[c for c in curves if c in TIMING])
    runs = runs.sort_values(["cell_key", "seed"]).reset_index(drop=True)
    curves = curves.sort_values(["cell_key", "seed", "step"]).reset_index(drop=True)
    return runs, curves


def assert_same_numbers(a: Path, b: Path) -> None:
    """Bit for bit: every status, metric and curve point of two stores are equal."""
    for x, y in zip(numbers(a), numbers(b), strict=True):
        pd.testing.assert_frame_equal(x, y, check_exact=True)


def check_store(path: Path, seeds: int) -> dict[str, int]:
    """The store opens cleanly and holds only whole cells; returns runs per cell key.

    Whole: every stored cell has all its seeds, no (cell, seed) is stored twice, each run's curve
    starts at step 0, and every run of a problem has the same number of targets.
    """
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
        if not tables:
            return {}  # killed while creating it: the schema's transaction was rolled back
        per_cell = dict(conn.execute("SELECT cell_key, COUNT(*) FROM runs GROUP BY cell_key"))
        duplicates = conn.execute(
            "SELECT COUNT(*) FROM (SELECT cell_key, seed FROM runs GROUP BY cell_key, seed "
            "HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        first_points = first_logged_steps(path)
        targets = conn.execute(
            "SELECT r.problem, COUNT(t.target) FROM runs AS r LEFT JOIN targets AS t "
            "ON t.run_id = r.id WHERE r.status != 'error' GROUP BY r.id"
        ).fetchall()
        run_ids = [i for (i,) in conn.execute("SELECT id FROM runs WHERE status != 'error'")]
    assert duplicates == 0
    assert set(per_cell.values()) <= {seeds}, per_cell
    assert all(first_points.get(i) == 0 for i in run_ids)
    per_problem: dict[str, set[int]] = {}
    for problem, n in targets:
        per_problem.setdefault(problem, set()).add(n)
    assert all(len(counts) == 1 for counts in per_problem.values()), per_problem
    return per_cell


def first_logged_steps(path: Path) -> dict[int, int]:
    """Run id -> the first step of its stored curve."""
    curves = load(path)[1]
    return curves.groupby("run_id")["step"].min().to_dict()


def descendants(pid: int) -> list:
    """The live process objects below ``pid`` (psutil), for orphan checks."""
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def assert_all_exit(processes: list, timeout: float = 10.0) -> None:
    """Every process in ``processes`` ends within ``timeout``; survivors are killed, then fail."""
    import psutil

    _, alive = psutil.wait_procs(processes, timeout=timeout)
    alive = [p for p in alive if _running(p)]
    for process in alive:  # only processes this test started
        process.kill()
    assert not alive, f"orphans left running: {[p.pid for p in alive]}"


def _running(process) -> bool:
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def is_alive(pid: int) -> bool:
    import psutil

    try:
        return _running(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False


def python(*args: object) -> subprocess.Popen:
    """``python ARGS`` from the repository root, in its own session (so a signal sent to its
    process group reaches it and its workers, and nothing else)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def optbench(*args: object) -> subprocess.Popen:
    """``optbench ARGS`` as a child process (see :func:`python`)."""
    return python("-m", "bench.cli", *args)


def wait_until(condition, timeout: float, what: str, process: subprocess.Popen | None = None):
    """Poll ``condition`` every 20 ms; fail after ``timeout`` or if ``process`` ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the run ended before {what}: {process.returncode}\n{err}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def stored_cells(path: Path) -> int:
    """Cells stored so far (0 while the store does not exist or is being created)."""
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(DISTINCT cell_key) FROM runs").fetchone()[0]
    except sqlite3.Error:
        return 0

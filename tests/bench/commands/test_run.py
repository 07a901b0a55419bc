"""`optbench run`, `status` and `list` end to end: exit codes, the store, resume, plugins."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from bench.cli import main
from bench.store.store import load
from tests.bench.conftest import SLOW_CELLS, SLOW_GRID


def run(*argv):
    return main([str(a) for a in argv])


def test_run_writes_a_store_and_prints_a_summary(tiny_grid, tmp_path, capsys):
    store = tmp_path / "out.sqlite"
    assert run("run", tiny_grid, "--store", store, "--jobs", 1) == 0
    out = capsys.readouterr().out
    assert "rosenbrock" in out and "xor" in out and "median final loss" in out
    runs, curves = load(store)
    assert len(runs) == 2 * 3 * 3  # problems x optimizer configs x seeds
    assert set(runs["status"]) <= {"done", "diverged"}
    assert set(curves["step"]) == {0, 20, 40, 60}
    assert run("run", tiny_grid, "--store", store, "--jobs", 1) == 0
    assert "nothing to run" in capsys.readouterr().out
    assert len(load(store)[0]) == 18


@pytest.mark.parametrize(
    "text, words",
    [
        ("name = 'x'\n[[problems]]\nname = 'rosenbrok'\n[[optimizers]]\nname = 'adam'\n",
         ["problems[0].name", "rosenbrock"]),
        ("name = 'x'\n[[problems]]\nname = 'xor'\n[[optimizers]]\nname = 'adam'\nlr = -1\n",
         ["optimizers[0].lr", "-1"]),
        ("name = 'x'\n[[problems]]\nname = 'xor'\n[[optimizers]]\nname = 'adam'\nbetaz = 1\n",
         ["betaz", "betas"]),
        ("name = 'x'\nseeds = 'many'\n[[problems]]\nname = 'xor'\n[[optimizers]]\nname = 'sgd'\n",
         ["seeds"]),
        ("this is [not toml", ["bad.toml"]),
        ("name = 'x'\noptimizers = []\n[[problems]]\nname = 'xor'\n", ["optimizers"]),
    ],
)  # fmt: skip
def test_bad_grids_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    store = tmp_path / "never.sqlite"
    assert run("run", path, "--store", store) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err
    assert not store.exists()


def test_bad_command_line_values_exit_2(tiny_grid, tmp_path, capsys):
    assert run("run", tiny_grid, "--jobs", 0, "--store", tmp_path / "s.sqlite") == 2
    assert run("run", tiny_grid, "--backend", "dask", "--store", tmp_path / "s.sqlite") == 2
    assert run("run", "quik") == 2
    assert "quick" in capsys.readouterr().err
    assert run("status", tmp_path / "missing.sqlite") == 2
    (tmp_path / "junk.sqlite").write_text("not a database at all" * 100)
    assert run("status", tmp_path / "junk.sqlite") == 2
    assert "junk.sqlite" in capsys.readouterr().err


def test_dry_run_counts_and_writes_nothing(tiny_grid, tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    assert run("run", tiny_grid, "--store", store, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "6 cells, 18 runs" in out and "estimated" in out
    assert not store.exists()


PLUGIN = """
import dataclasses
import numpy as np
import optimizers

@optimizers.register("halving_sgd")
@dataclasses.dataclass(frozen=True)
class HalvingSGD(optimizers.Optimizer):
    lr: float = 0.01
    def init(self, params):
        return None
    def step(self, params, grads, state, lr=None):
        for p, g in zip(params, grads):
            p -= 0.5 * (self.lr if lr is None else lr) * g

@optimizers.register("broken_opt")
@dataclasses.dataclass(frozen=True)
class Broken(optimizers.Optimizer):
    def init(self, params):
        return None
    def step(self, params, grads, state, lr=None):
        raise ValueError("this optimizer is broken on purpose")
"""


def test_plugin_optimizers_run_through_the_pipeline_in_workers(tmp_path, capsys):
    (tmp_path / "my_plugin_mod.py").write_text(PLUGIN)
    grid = tmp_path / "plug.toml"
    grid.write_text(
        'name = "plug"\nseeds = 2\nsteps = 30\nplugins = ["my_plugin_mod"]\n'
        '[[problems]]\nname = "quadratic"\n'
        '[[optimizers]]\nname = "halving_sgd"\nlr = [0.002, 0.004]\n'
        '[[optimizers]]\nname = "broken_opt"\n'
    )
    store = tmp_path / "plug.sqlite"
    assert run("run", grid, "--store", store, "--jobs", 2) == 1  # the broken one: exit 1
    runs, _ = load(store)
    ok = runs[runs["optimizer"] == "halving_sgd"]
    assert len(ok) == 4 and set(ok["status"]) == {"done"}
    broken = runs[runs["optimizer"] == "broken_opt"]
    assert set(broken["status"]) == {"error"}
    assert broken["error"].str.contains("broken on purpose").all()
    assert "ended in error" in capsys.readouterr().out


def test_status_reports_counts_and_what_is_left(tiny_grid, tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    run("run", tiny_grid, "--store", store, "--jobs", 1)
    capsys.readouterr()
    assert run("status", store, "--grid", tiny_grid) == 0
    out = capsys.readouterr().out
    assert "18 runs" in out and "left to run" in out and "0 of 6 cells" in out


def test_list_names_everything():
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        assert run("list") == 0
    text = buffer.getvalue()
    for name in (
        "adam",
        "lion",
        "rosenbrock",
        "mnist_mlp",
        "xavier_uniform",
        "agc",
        "cosine",
        "l2",
    ):
        assert name in text


def cell_rows(store):
    with sqlite3.connect(store) as conn:
        return conn.execute("SELECT cell_key, COUNT(*) FROM runs GROUP BY cell_key").fetchall()


def test_sigkill_mid_grid_keeps_complete_cells_and_the_rerun_matches(tmp_path):
    grid = tmp_path / "slow.toml"
    grid.write_text(SLOW_GRID)
    killed, clean = tmp_path / "killed.sqlite", tmp_path / "clean.sqlite"
    command = [sys.executable, "-m", "bench.cli", "run", str(grid), "--jobs", "1"]
    process = subprocess.Popen(
        [*command, "--store", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if killed.exists() and len(cell_rows(killed)) >= 2:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the grid finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    rows = cell_rows(killed)
    assert 2 <= len(rows) < SLOW_CELLS and all(count == 2 for _, count in rows)  # whole cells
    assert main(["run", str(grid), "--jobs", "2", "--store", str(killed)]) == 0
    assert main(["run", str(grid), "--jobs", "2", "--store", str(clean)]) == 0
    resumed, resumed_curves = load(killed)
    fresh, fresh_curves = load(clean)
    key = ["cell_key", "seed"]
    resumed, fresh = resumed.sort_values(key), fresh.sort_values(key)
    assert len(resumed) == len(fresh) == 16
    np.testing.assert_array_equal(resumed["final_train_loss"], fresh["final_train_loss"])
    order = ["cell_key", "seed", "step"]
    np.testing.assert_array_equal(
        resumed_curves.sort_values(order)["train_loss"],
        fresh_curves.sort_values(order)["train_loss"],
    )


def test_module_entry_point_help():
    result = subprocess.run(
        [sys.executable, "-m", "bench.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "exit codes" in result.stdout and "run" in result.stdout
    assert textwrap.dedent("2    bad input") in result.stdout


def test_run_shows_progress_while_it_writes_its_report(tiny_grid, tmp_path, capsys):
    assert main(["run", str(tiny_grid), "--store", str(tmp_path / "t.sqlite"), "--jobs", "1"]) == 0
    out, err = capsys.readouterr()
    assert "writing the report" in out and "report: " in out
    assert re.search(r"^figure 1: \S+ \(\d+\.\d s\)$", err, re.M)

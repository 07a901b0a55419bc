"""``optbench compare``: identical grids pass, a deliberately worse optimizer is flagged."""

import dataclasses
import json
import shutil

import numpy as np
import pandas as pd
import pytest

import optimizers
import optimizers.base
from bench.analysis.regression import compare_runs
from bench.cli import main
from bench.commands.compare import parse_threshold
from bench.grid.cell import Cell
from bench.run.engine import run_cell
from bench.store.store import Store

SEEDS = tuple(range(8))  # 8 paired seeds, all worse: Wilcoxon p = 2 / 2^8 = 0.0078


def cells():
    base = dict(problem="rosenbrock", problem_params={"dim": 2, "start_noise": 0.3}, steps=100,
                log_every=10, seeds=SEEDS)  # fmt: skip
    return [
        Cell(**base, optimizer="adam", optimizer_params={"lr": 0.05}),
        Cell(**base, optimizer="sgd", optimizer_params={"lr": 0.001}),  # no seed diverges
    ]


def write_store(path):
    with Store(path) as store:
        store.start_experiment("pair", "")
        for cell in cells():
            store.write(run_cell(cell))
    return path


def compare(*argv):
    return main(["compare", *map(str, argv)])


@pytest.fixture
def base(tmp_path):
    return write_store(tmp_path / "base.sqlite")


def test_a_rerun_of_the_same_grid_has_no_regression(base, tmp_path, capsys):
    rerun = write_store(tmp_path / "rerun.sqlite")
    assert compare(base, rerun) == 0
    out = capsys.readouterr().out
    assert "0 regressions" in out and "2 cells compared" in out
    copy = shutil.copy(base, tmp_path / "copy.sqlite")
    assert compare(base, copy, "--format", "json") == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["counts"] == {"regression": 0, "improvement": 0, "changed": 0}
    assert {row["metric"] for row in payload["rows"]} >= {"final_loss", "time_per_step"}


def test_a_worse_update_under_the_same_name_is_flagged(base, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(optimizers.base, "_REGISTRY", dict(optimizers.base._REGISTRY))
    sgd = optimizers.get("sgd")

    @optimizers.register("sgd")
    @dataclasses.dataclass(frozen=True)
    class TimidSGD(sgd):  # same name and hyperparameters, so the same cell keys
        def step(self, params, grads, state, lr=None):
            super().step(params, grads, state, lr=0.2 * self._lr(lr))

    worse = write_store(tmp_path / "worse.sqlite")
    assert compare(base, worse, "--format", "md") == 1
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| regression")]
    assert rows and all("| sgd |" in line for line in rows)
    assert any("| final_loss |" in line for line in rows)
    assert compare(base, worse, "--threshold", "100%") == 0  # significant, but below threshold
    assert compare(worse, base) == 0  # the other way round it is an improvement
    assert "improvement" in capsys.readouterr().out


def test_missing_or_unrelated_stores_exit_2(base, tmp_path, capsys):
    assert compare(base, tmp_path / "nope.sqlite") == 2
    assert "no such store" in capsys.readouterr().err
    other = tmp_path / "other.sqlite"
    with Store(other) as store:
        store.start_experiment("other", "")
        store.write(run_cell(cells()[0].replace(steps=10)))
    assert compare(base, other) == 2
    assert "no cell in common" in capsys.readouterr().err
    assert compare(base, base, "--threshold", "five") == 2


def test_parse_threshold():
    assert parse_threshold("5%") == 0.05 and parse_threshold("0.1") == 0.1
    with pytest.raises(ValueError, match="-1"):
        parse_threshold("-1")


def timing_runs(slow=None, drift=1.0):
    """8 done cells for each of three optimizers; times scaled by ``drift``, ``slow`` by 1.5."""
    rng = np.random.default_rng(0)
    rows = []
    for optimizer in ("a", "b", "c"):
        for cell in range(8):
            jitter = 1 + 0.01 * rng.standard_normal()
            factor = drift * jitter * (1.5 if optimizer == slow else 1.0)
            for seed in range(3):
                rows.append(
                    {
                        "cell_key": f"{optimizer}{cell}",
                        "seed": seed,
                        "problem": "rosenbrock",
                        "problem_params": '{"dim": 2}',
                        "optimizer": optimizer,
                        "lr": 0.1,
                        "status": "done",
                        "steps": 100,
                        "steps_done": 100,
                        "final_train_loss": 1.0 + seed,
                        "best_train_loss": 1.0,
                        "final_test_loss": np.nan,
                        "final_test_accuracy": np.nan,
                        "opt_time": 0.01 * (cell + 1) * factor,
                    }  # fmt: skip
                )
    return pd.DataFrame(rows)


def test_time_is_judged_net_of_the_machine_wide_drift():
    base = timing_runs()
    drifted = compare_runs(base, timing_runs(drift=1.2), times=True).table
    time = drifted[drifted["metric"] == "time_per_step"].set_index("optimizer")
    assert time.loc["*", "verdict"] == "changed"  # +20% everywhere: reported, not blamed
    assert time.loc["*", "change"] == pytest.approx(0.2, abs=0.02)
    assert (time.drop("*")["verdict"] == "").all()
    slow = compare_runs(base, timing_runs(slow="b", drift=1.2), times=True)
    time = slow.table[slow.table["metric"] == "time_per_step"].set_index("optimizer")
    assert time.loc["b", "verdict"] == "regression"
    assert time.loc["b", "change"] == pytest.approx(0.5, abs=0.05)
    assert list(slow.regressions["optimizer"]) == ["b"]
    final = slow.table[slow.table["metric"] == "final_loss"]
    assert (final["p_value"] == 1).all() and (final["verdict"] == "").all()


def test_more_errors_is_a_regression():
    base = timing_runs()
    current = base.copy()
    broken = current["cell_key"] == "a0"
    current.loc[broken, "status"] = "error"
    current.loc[broken, "final_train_loss"] = np.nan
    table = compare_runs(base, current).table
    errors = table[table["metric"] == "errors"]
    assert errors[["cell_key", "base", "current", "verdict"]].values.tolist() == [
        ["a0", 0, 3, "regression"]
    ]

"""bench.analysis on hand-built runs tables with answers worked out by hand, then on real runs."""

import functools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import problems
from bench import analysis
from bench.analysis.stats import holm, mann_whitney, median, relative_change, summarize
from bench.grid.cell import Cell
from bench.run.engine import run_cell
from bench.store.store import Store, load

ROSENBROCK = ("rosenbrock", '{"dim": 2}')  # targets 0.1, 0.001, 1e-06
XOR = ("xor", "{}")  # one target: train accuracy 1.0
SPIRALS = ("spirals", '{"hidden": 8}')  # has a test loss and accuracy


def run(cell, seed, *, problem=ROSENBROCK, optimizer="adam", lr=0.01, clip="none",
        status="done", loss=1.0, steps_done=100, reached=None, test_loss=np.nan,
        accuracy=np.nan, opt_time=1.0, steps=100):  # fmt: skip
    """One row of a runs frame, as bench.load returns it (the columns analysis reads)."""
    row = {
        "cell_key": cell,
        "seed": seed,
        "problem": problem[0],
        "problem_params": problem[1],
        "optimizer": optimizer,
        "optimizer_params": json.dumps({"lr": lr}),
        "lr": lr,
        "initializer": None,
        "clip": clip,
        "clip_params": "{}",
        "schedule": "constant",
        "schedule_params": "{}",
        "regularizer": "none",
        "regularizer_params": "{}",
        "batch_size": None,
        "steps": steps,
        "status": status,
        "steps_done": steps_done,
        "final_train_loss": np.inf if status == "diverged" else loss,
        "best_train_loss": loss,
        "final_test_loss": test_loss,
        "final_train_accuracy": np.nan,
        "final_test_accuracy": accuracy,
        "opt_time": opt_time,
    }
    row |= stored_ladder(*problem)
    if status == "error":
        row |= {"final_train_loss": np.nan, "best_train_loss": np.nan, "steps_done": 0}
    for target, step in (reached or {}).items():
        row[f"steps_to_{target}"] = step
        row[f"time_to_{target}"] = step / 100
    return row


@functools.cache
def stored_ladder(name, params):
    """The ``ladder_*`` columns the store writes for this problem."""
    built = problems.create(name, **json.loads(params))
    return {
        "ladder_metric": built.target_metric,
        "ladder_higher_is_better": bool(built.higher_is_better),
        "ladder_targets": tuple(float(t) for t in built.targets),
    }


def frame(rows):
    runs = pd.DataFrame(rows)
    for column in runs:
        if column.startswith("steps_to_"):
            runs[column] = runs[column].astype("Int64")
    return runs


@pytest.fixture
def ert_runs():
    """Cell A: 2 of 3 runs reach 0.1 (at 10 and 20), one fails after its 100 steps.
    Cell B: one reaches 0.1 at 40, one diverges at step 5, one errors, one fails after 100."""
    return frame(
        [
            run("A", 0, loss=0.05, reached={"0.1": 10, "0.001": 60}),
            run("A", 1, loss=0.08, reached={"0.1": 20}),
            run("A", 2, loss=0.30),
            run("B", 0, loss=0.05, reached={"0.1": 40}, lr=0.1),
            run("B", 1, status="diverged", steps_done=5, lr=0.1),
            run("B", 2, status="error", lr=0.1),
            run("B", 3, loss=0.5, lr=0.1),
        ]
    )


def test_ert_counts_the_steps_of_failed_and_diverged_runs(ert_runs):
    per_target = analysis.target_stats(ert_runs).set_index(["cell_key", "target"])
    a, b = per_target.loc[("A", 0.1)], per_target.loc[("B", 0.1)]
    assert a["ert"] == (10 + 20 + 100) / 2
    assert a["median_steps"] == 20  # misses count as never: [10, 20, inf]
    assert a["ert_time"] == pytest.approx((0.1 + 0.2 + 1.0) / 2)
    assert b["ert"] == 40 + 5 + 100  # the error is not a run; the divergence spent 5 steps
    assert (b["n_runs"], b["successes"]) == (3, 1)
    assert b["median_steps"] == np.inf  # [40, inf, inf]
    assert per_target.loc[("A", 0.001), "ert"] == (60 + 100 + 100) / 1
    assert per_target.loc[("B", 1e-6), "ert"] == np.inf
    assert list(per_target.loc["A"].index) == [0.1, 0.001, 1e-6]  # the ladder, easiest first


def test_cell_stats_counts_errors_apart_and_divergence_as_infinite_loss(ert_runs):
    cells = analysis.cell_stats(ert_runs).set_index("cell_key")
    b = cells.loc["B"]
    assert (b["n_seeds"], b["n_valid"], b["errors"]) == (4, 3, 1)
    assert b["divergence"] == pytest.approx(1 / 3)
    assert b["final_loss_median"] == 0.5  # [0.05, 0.5, inf]
    assert b["final_loss_q1"] == pytest.approx(0.275)
    assert b["final_loss_q3"] == np.inf
    assert b["ert_0.1"] == 145 and b["median_steps_to_0.1"] == np.inf
    a = cells.loc["A"]
    assert a["success"] == 0 and a["final_loss_median"] == 0.08
    assert a["ert_0.1"] == 65 and a["median_time_to_0.1"] == pytest.approx(0.2)
    assert a["final_loss_ci_low"] <= 0.08 <= a["final_loss_ci_high"]
    assert np.isnan(a["test_loss_median"])
    assert cells.loc["B", "config"] == "lr=0.1"


def test_summaries_match_scipy_and_handle_single_and_constant_data():
    rng = np.random.default_rng(3)
    sample = rng.lognormal(size=7)
    keys = np.array(["one"] + ["constant"] * 4 + ["sample"] * 7)
    values = np.concatenate([[2.0], np.full(4, 3.0), sample])
    table = summarize(keys, values, n_resamples=500, seed=11)
    direct = stats.bootstrap((sample,), np.median, n_resamples=500, method="percentile",
                             rng=np.random.default_rng(11)).confidence_interval  # fmt: skip
    np.testing.assert_allclose(table.loc["sample", ["ci_low", "ci_high"]], direct, rtol=1e-12)
    assert table.loc["sample", "median"] == np.median(sample)
    assert table.loc["constant"].tolist() == [3.0] * 5
    assert table.loc["one", "median"] == 2.0 and np.isnan(table.loc["one", "ci_low"])


def test_infinite_values_are_the_largest_and_reach_the_ci():
    table = summarize(np.array(["k"] * 4), np.array([1.0, 2.0, np.inf, np.inf]), n_resamples=200)
    assert table.loc["k", "median"] == np.inf and table.loc["k", "q1"] == 1.75
    assert table.loc["k", "ci_high"] == np.inf and np.isfinite(table.loc["k", "ci_low"])
    assert median(np.array([1.0, np.inf, np.nan])) == np.inf
    assert relative_change(np.inf, np.inf) == 0 and relative_change(1.0, np.inf) == np.inf
    assert relative_change(2.0, 3.0) == 0.5 and relative_change(0.0, 0.0) == 0


def test_holm_against_a_hand_example():
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 -> max(0.04, 0.06)
    adjusted = holm([0.01, 0.04, np.nan, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, np.nan, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])
    assert holm([]).size == 0


def test_mann_whitney_edge_cases():
    assert mann_whitney([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert np.isnan(mann_whitney([], [1.0]))
    assert mann_whitney([1, 2, 3, 4, 5], [6, 7, 8, 9, np.inf]) == pytest.approx(2 / 252)


def tuning_runs():
    rows = []
    for seed in range(3):
        rows += [
            run("sgd-0.1", seed, optimizer="sgd", lr=0.1, loss=0.2 + seed),
            run("sgd-0.01", seed, optimizer="sgd", lr=0.01, loss=0.1 + seed),  # best median
            run("sgd-1", seed, optimizer="sgd", lr=1.0, status="diverged", steps_done=3),
            run("sgd-clip", seed, optimizer="sgd", lr=0.01, clip="value", loss=5.0),
            run("adam-0.1", seed, optimizer="adam", lr=0.1, loss=7.0),
            run("adam-0.01", seed, optimizer="adam", lr=0.01, loss=7.0),  # tie: same loss
            run("adam-bad", seed, optimizer="adam", lr=1.0, status="error"),
            run("rprop-bad", seed, optimizer="rprop", lr=1.0, status="error"),  # only errors
            run("sp-a", seed, problem=SPIRALS, optimizer="sgd", lr=0.1, loss=0.1,
                test_loss=0.9, accuracy=0.6),
            run("sp-b", seed, problem=SPIRALS, optimizer="sgd", lr=0.01, loss=0.3,
                test_loss=0.5, accuracy=0.8),
        ]  # fmt: skip
    return frame(rows)


def test_tuned_picks_the_lowest_median_and_breaks_ties_deterministically():
    best = analysis.tuned(tuning_runs()).set_index(["problem", "optimizer"])
    assert best.loc[("rosenbrock", "sgd"), "cell_key"] == "sgd-0.01"
    assert best.loc[("rosenbrock", "adam"), "cell_key"] == "adam-0.01"  # tie -> smaller lr
    assert best.loc[("rosenbrock", "rprop"), "cell_key"] == "rprop-bad"  # nothing else
    assert np.isnan(best.loc[("rosenbrock", "rprop"), "score"])
    assert best.loc[("spirals", "sgd"), "cell_key"] == "sp-a"
    by_test = analysis.tuned(tuning_runs(), "test_loss").set_index(["problem", "optimizer"])
    assert by_test.loc[("spirals", "sgd"), "cell_key"] == "sp-b"
    assert by_test.loc[("spirals", "sgd"), "criterion"] == "test_loss"
    assert by_test.loc[("rosenbrock", "sgd"), "criterion"] == "final_train_loss"  # fallback
    with pytest.raises(ValueError, match="test_loss"):
        analysis.tuned(tuning_runs(), "accuracy")


def test_ranks_average_ties_and_put_errors_last():
    runs = tuning_runs()
    runs = pd.concat(
        [runs, frame([run("nadam", s, optimizer="nadam", loss=7.0) for s in range(3)])]
    )
    ranked = analysis.ranks(analysis.tuned(runs)).set_index(["problem", "optimizer"])
    ranks = ranked.loc["rosenbrock", "rank"].to_dict()
    assert ranks == {"sgd": 1.0, "adam": 2.5, "nadam": 2.5, "rprop": 4.0}
    assert ranked.loc[("spirals", "sgd"), "rank"] == 1
    assert ranked.loc[("rosenbrock", "sgd"), "mean_rank"] == 1.0


def test_lr_sensitivity_keeps_the_other_axes_at_the_tuned_values():
    table = analysis.lr_sensitivity(tuning_runs())
    sgd = table[(table["problem"] == "rosenbrock") & (table["optimizer"] == "sgd")]
    assert set(sgd["cell_key"]) == {"sgd-0.1", "sgd-0.01", "sgd-1"}  # not the clipped cell
    assert sgd.groupby("lr")["median"].first().to_dict() == {0.01: 1.1, 0.1: 1.2, 1.0: np.inf}
    assert sgd.loc[sgd["tuned"], "lr"].unique().tolist() == [0.01]
    assert len(sgd) == 9 and "adam-bad" not in set(table["cell_key"])  # errors have no loss


def test_robustness_at_the_tuned_configuration_or_retuned():
    runs = tuning_runs()
    runs = pd.concat([runs, frame([run("sgd-clip-0.1", s, optimizer="sgd", lr=0.1, clip="value",
                                       loss=2.0) for s in range(3)])])  # fmt: skip
    fixed = analysis.robustness(runs, "clip").set_index(["problem", "optimizer", "value"])
    assert fixed.loc[("rosenbrock", "sgd", "value"), "cell_key"] == "sgd-clip"  # lr 0.01 kept
    assert fixed.loc[("rosenbrock", "sgd", "none"), "tuned"]
    best = analysis.robustness(runs, "clip", over="best").set_index(
        ["problem", "optimizer", "value"]
    )
    assert best.loc[("rosenbrock", "sgd", "value"), "cell_key"] == "sgd-clip-0.1"
    assert best.loc[("rosenbrock", "sgd", "value"), "median"] == 2.0  # re-tuned to lr 0.1
    assert fixed.loc[("rosenbrock", "sgd", "value"), "median"] == 5.0
    rprop = fixed.loc[("rosenbrock", "rprop", "none")]
    assert rprop["errors"] == 3 and np.isnan(rprop["divergence"]) and np.isnan(rprop["median"])
    with pytest.raises(ValueError, match="axis"):
        analysis.robustness(runs, "momentum")


def profile_runs():
    """Rosenbrock: A reaches 0.1 at 10 and 0.001 at 40, B at 20 and 20; nobody reaches 1e-6.
    XOR: A reaches 1.0 at 30 in 2 of 3 seeds (median 30); B in 1 of 3 (median: never)."""
    rows = []
    for seed in range(3):
        rows += [
            run("rA", seed, optimizer="A", reached={"0.1": 10, "0.001": 40}),
            run("rB", seed, optimizer="B", reached={"0.1": 20, "0.001": 20}),
            run("xA", seed, problem=XOR, optimizer="A", steps=50,
                reached={"1": 30} if seed < 2 else {}),
            run("xB", seed, problem=XOR, optimizer="B", steps=50,
                reached={"1": 10} if seed == 0 else {}),
        ]  # fmt: skip
    return frame(rows)


def test_performance_ratios_and_profile_by_hand():
    ratios = analysis.performance_ratios(profile_runs())
    got = {(r.problem, r.target, r.optimizer): r.ratio for r in ratios.itertuples()}
    assert got[("rosenbrock", 0.1, "A")] == 1 and got[("rosenbrock", 0.1, "B")] == 2
    assert got[("rosenbrock", 0.001, "A")] == 2 and got[("rosenbrock", 0.001, "B")] == 1
    assert got[("rosenbrock", 1e-6, "A")] == np.inf  # unsolved pairs stay in the denominator
    assert got[("xor", 1.0, "A")] == 1 and got[("xor", 1.0, "B")] == np.inf
    profile = analysis.performance_profile(profile_runs(), tau_max=4, points=7)
    rho = profile.set_index(["optimizer", "tau"])["rho"]
    assert rho[("A", 1.0)] == 2 / 4 and rho[("A", 2.0)] == 3 / 4 and rho[("A", 4.0)] == 3 / 4
    assert rho[("B", 1.0)] == 1 / 4 and rho[("B", 1.5)] == 1 / 4 and rho[("B", 2.0)] == 2 / 4
    assert profile["tau"].min() == 1 and profile["tau"].max() == 4


def test_runtime_ecdf_by_hand():
    ecdf = analysis.runtime_ecdf(profile_runs())
    a = ecdf[ecdf["optimizer"] == "A"].set_index("budget_fraction")["fraction"]
    # A's 12 triples: rosenbrock 0.1 at 10/100 (3), 0.001 at 40/100 (3), xor at 30/50 (2)
    assert a[0.1] == 3 / 12 and a[0.4] == 6 / 12 and a[0.6] == 8 / 12 and a[1.0] == 8 / 12
    b = ecdf[ecdf["optimizer"] == "B"].set_index("budget_fraction")["fraction"]
    assert b[0.1] == 0 and b[0.2] == 7 / 12 and b[1.0] == 7 / 12
    seconds = analysis.runtime_ecdf(profile_runs(), measure="time")
    assert seconds.groupby("optimizer")["fraction"].max().to_dict() == {"A": 8 / 12, "B": 7 / 12}


def test_significance_and_leaderboard_mark_clear_differences():
    rows = []
    for seed in range(5):
        rows += [
            run("good", seed, optimizer="adam", loss=0.1 + 0.01 * seed, reached={"0.1": 50}),
            run("close", seed, optimizer="nadam", loss=0.105 + 0.01 * seed),
            run("bad", seed, optimizer="sgd", loss=1.0 + seed),
        ]
    runs = frame(rows)
    tests = analysis.significance(runs, analysis.tuned(runs)).set_index("optimizer")
    assert tests.loc["sgd", "p_value"] == pytest.approx(2 / 252)
    assert tests.loc["sgd", "p_holm"] == pytest.approx(min(1, 2 * 2 / 252))
    assert tests.loc["sgd", "significant"] and not tests.loc["nadam", "significant"]
    assert tests["reference"].unique().tolist() == ["adam"]
    board = analysis.leaderboard(runs, n_resamples=200)
    assert board["optimizer"].tolist() == ["adam", "nadam", "sgd"]
    assert board["mark"].tolist() == ["best", "", "*"]
    assert board["median"].tolist() == pytest.approx([0.12, 0.125, 3.0])
    assert (board["ci_low"] <= board["median"]).all() and (
        board["median"] <= board["ci_high"]
    ).all()
    assert board.loc[0, "target"] == 0.1 and board.loc[0, "ert"] == 50
    assert board.loc[2, "ert"] == math.inf


def test_everything_on_real_runs(tmp_path):
    path = tmp_path / "real.sqlite"
    base = dict(problem="rosenbrock", problem_params={"dim": 2, "start_noise": 0.1}, steps=60,
                log_every=10, seeds=(0, 1, 2))  # fmt: skip
    cells = [
        Cell(**base, optimizer=name, optimizer_params={"lr": lr}, clip=clip, clip_params=params)
        for name in ("adam", "sgd")
        for lr in (0.01, 0.1)
        for clip, params in (("none", {}), ("global_norm", {"max_norm": 1.0}))
    ]
    cells += [  # a problem with weights: the initializer column mixes None and names
        Cell("xor", {}, "sgd", {"lr": lr}, initializer=init, steps=20, log_every=10, seeds=(0, 1))
        for lr in (0.1, 1.0)
        for init in (None, "xavier_uniform")
    ]
    with Store(path) as store:
        store.start_experiment("tiny", "")
        for cell in cells:
            store.write(run_cell(cell))
    runs, _ = load(path)
    board = analysis.leaderboard(runs, n_resamples=100)
    pairs = sorted(zip(board["problem"], board["optimizer"], strict=True))
    assert pairs == [("rosenbrock", "adam"), ("rosenbrock", "sgd"), ("xor", "sgd")]
    assert board.groupby("problem")["rank"].min().tolist() == [1.0, 1.0]
    sensitivity = analysis.lr_sensitivity(runs)
    assert sensitivity.groupby("problem")["lr"].unique().map(sorted).to_dict() == {
        "rosenbrock": [0.01, 0.1], "xor": [0.1, 1.0]
    }  # fmt: skip
    assert len(analysis.robustness(runs, "clip")) == 4 + 1
    assert set(analysis.robustness(runs, "initializer")["value"]) == {"default", "xavier_uniform"}
    assert set(analysis.performance_profile(runs)["optimizer"]) == {"adam", "sgd"}
    assert not analysis.runtime_ecdf(runs).empty

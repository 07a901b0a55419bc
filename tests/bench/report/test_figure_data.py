"""The numbers behind the figures, on hand-built frames with known answers (no matplotlib)."""

import numpy as np
import pandas as pd
import pytest

from bench.grid.cell import Cell
from bench.report.curves import (
    curve_bands,
    diverged_paths,
    divergence_marks,
    quantiles,
    spans_decades,
)
from bench.report.figures import accuracy, robustness, sensitivity, trajectories
from bench.report.figures.convergence import convergence_data
from bench.report.figures.ecdf import ecdf_data
from bench.report.figures.profile import profile_data
from bench.report.figures.trajectories import cell_from_row
from bench.report.labels import problem_labels
from bench.run.engine import build_problem_by_name, run_cell
from bench.store.store import Store, load

INF = np.inf


def tiny_cells():
    """A small real grid: three problems, a diverging cell, three clip strategies, two
    initializers, two lrs of sgd and a minibatch cell (``batch_size`` and ``initializer`` set)."""
    rosen = dict(problem="rosenbrock", problem_params={"dim": 2}, steps=60, log_every=10)
    xor = dict(problem="xor", problem_params={}, steps=40, log_every=10)
    spirals = dict(problem="spirals", problem_params={"hidden": 4}, steps=40, log_every=10)
    adam, sgd = {"optimizer": "adam"}, {"optimizer": "sgd"}
    cells = [
        Cell(**rosen, **adam, optimizer_params={"lr": 0.05}),
        Cell(**rosen, **adam, optimizer_params={"lr": 0.05}, clip="global_norm",
             clip_params={"max_norm": 1.0}),
        Cell(**rosen, **adam, optimizer_params={"lr": 0.05}, clip="value",
             clip_params={"clip_value": 0.5}),
        Cell(**rosen, **sgd, optimizer_params={"lr": 1e-3}),
        Cell(**rosen, **sgd, optimizer_params={"lr": 1.0}),  # diverges at once
        # momentum's only cell diverges, so its tuned configuration is a diverging one
        Cell(**rosen, optimizer="momentum", optimizer_params={"lr": 1.0}),
        Cell(**xor, **adam, optimizer_params={"lr": 0.05}, initializer="xavier_uniform"),
        Cell(**xor, **adam, optimizer_params={"lr": 0.05}, initializer="he_normal"),
        Cell(**xor, **sgd, optimizer_params={"lr": 0.5}, initializer="xavier_uniform"),
        Cell(**spirals, **sgd, optimizer_params={"lr": 0.1}, batch_size=32),
    ]  # fmt: skip
    return [cell.with_seeds((0, 1, 2)) for cell in cells]


def build_store(path):
    """Run :func:`tiny_cells` into a store at ``path``; return its (runs, curves)."""
    with Store(path) as store:
        store.start_experiment("tiny", "")
        for cell in tiny_cells():
            store.write(run_cell(cell))
    return load(path)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("figure_data") / "tiny.sqlite")


# --- hand-built frames --------------------------------------------------------------------


def run_rows(*specs):
    """A runs frame from (cell_key, seed, optimizer, status, diverged_step) tuples."""
    rows = []
    for run_id, (key, seed, optimizer, status, at) in enumerate(specs, start=1):
        rows.append(
            {"run_id": run_id, "cell_key": key, "seed": seed, "problem": "quadratic",
             "problem_params": '{"dim": 2}', "optimizer": optimizer, "lr": 0.1,
             "status": status, "diverged_step": at,
             "final_train_loss": INF if status == "diverged" else 1.0}
        )  # fmt: skip
    runs = pd.DataFrame(rows)
    runs["diverged_step"] = runs["diverged_step"].astype("Int64")
    return runs


def curve_rows(runs, losses, steps=(0, 10, 20), times=None, metric="train_loss"):
    """Curves for every run: ``losses[run_id]`` lists its values at ``steps`` (a shorter list
    means the run stopped logging, as a diverged run does)."""
    rows = []
    for run in runs.itertuples():
        for k, value in enumerate(losses[run.run_id]):
            time = times[run.run_id][k] if times else steps[k] / 100
            rows.append(
                {"run_id": run.run_id, "cell_key": run.cell_key, "seed": run.seed,
                 "problem": run.problem, "optimizer": run.optimizer, "lr": run.lr,
                 "step": steps[k], "epoch": float(steps[k]), "time": time, metric: value}
            )  # fmt: skip
    return pd.DataFrame(rows)


def labelled(*keys):
    return pd.DataFrame({"cell_key": list(keys), "config": [f"cfg-{k}" for k in keys]})


def test_quantiles_honour_inf_and_ignore_nan():
    values = np.array(
        [
            [1.0, 2.0, 3.0, INF],
            [INF, INF, 1.0, np.nan],
            [np.nan, 1.0, 3.0, np.nan],
            [np.nan] * 4,
        ]
    )
    median, q25, q75 = quantiles(values, (0.5, 0.25, 0.75))
    np.testing.assert_array_equal(median[:3], [2.5, INF, 2.0])
    np.testing.assert_array_equal(q25[:3], [1.75, 1.0 + 0.5 * INF, 1.5])
    np.testing.assert_array_equal(q75[:3], [INF, INF, 2.5])
    assert np.isnan(median[3]) and np.isnan(q25[3])
    finite = np.random.default_rng(0).normal(size=(5, 7))
    np.testing.assert_allclose(
        quantiles(finite, (0.1, 0.5, 0.9)), np.quantile(finite, (0.1, 0.5, 0.9), axis=1)
    )


def test_bands_are_the_median_and_iqr_of_the_seeds_at_each_step():
    runs = run_rows(("a", 0, "adam", "done", None), ("a", 1, "adam", "done", None),
                    ("a", 2, "adam", "done", None))  # fmt: skip
    curves = curve_rows(runs, {1: [8, 1, 0.5], 2: [8, 2, 0.25], 3: [8, 4, 1.0]})
    bands = curve_bands(curves, runs, labelled("a"))
    assert bands["step"].tolist() == [0, 10, 20]
    np.testing.assert_allclose(bands["median"], [8, 2, 0.5])
    np.testing.assert_allclose(bands["q25"], [8, 1.5, 0.375])
    np.testing.assert_allclose(bands["q75"], [8, 3, 0.75])
    assert bands["seeds"].tolist() == [3, 3, 3]
    assert bands["label"].unique().tolist() == ["cfg-a"]


def test_a_diverged_run_counts_as_inf_from_its_step_and_is_marked_there():
    runs = run_rows(("b", 0, "sgd", "done", None), ("b", 1, "sgd", "done", None),
                    ("b", 2, "sgd", "diverged", 15))  # fmt: skip
    # Seed 2 logged steps 0 and 10, then blew up at step 15: no point at step 20.
    curves = curve_rows(runs, {1: [8, 1, 0.5], 2: [8, 2, 0.25], 3: [8, 6]})
    bands = curve_bands(curves, runs, ["b"], diverged="counted")
    np.testing.assert_allclose(bands["median"], [8, 2, 0.5])
    assert bands["q75"].tolist()[-1] == INF  # between 0.5 and inf
    assert bands["diverged"].tolist() == [0, 0, 1]
    assert bands["seeds"].tolist() == [3, 3, 3]
    marks = divergence_marks(curves, runs, ["b"])
    assert marks[["seed", "step", "x", "y"]].values.tolist() == [[2, 15, 15.0, 6.0]]


def test_a_diverged_run_is_left_out_of_the_band_and_drawn_as_its_own_path():
    runs = run_rows(("b", 0, "sgd", "done", None), ("b", 1, "sgd", "done", None),
                    ("b", 2, "sgd", "diverged", 15))  # fmt: skip
    curves = curve_rows(runs, {1: [8, 1, 0.5], 2: [8, 2, 0.25], 3: [8, 6]})
    bands = curve_bands(curves, runs, ["b"])  # the default: diverged runs apart
    np.testing.assert_allclose(bands["median"], [8, 1.5, 0.375])
    np.testing.assert_allclose(bands["q75"], [8, 1.75, 0.4375])  # finite: no band to the edge
    assert bands["seeds"].tolist() == [2, 2, 2]
    assert bands["diverged"].tolist() == [0, 0, 1]
    paths = diverged_paths(curves, runs, ["b"])
    assert paths[["seed", "step", "x", "y"]].values.tolist() == [
        [2, 0, 0.0, 8.0],
        [2, 10, 10.0, 6.0],
        [2, 15, 15.0, 6.0],  # ends at its divergence step, at its last finite value
    ]
    with pytest.raises(ValueError, match="diverged must be"):
        curve_bands(curves, runs, ["b"], diverged="ignored")


def test_a_cell_whose_runs_all_diverged_has_paths_and_no_band():
    runs = run_rows(("c", 0, "sgd", "diverged", 20), ("c", 1, "sgd", "diverged", 0))
    curves = curve_rows(runs, {1: [8, 3, 1e30], 2: [np.nan]}, times={1: [0, 0.5, 0.9], 2: [0]})
    assert curve_bands(curves, runs, ["c"]).empty
    paths = diverged_paths(curves, runs, ["c"], x="time")
    points = paths[["seed", "x", "y"]].values.tolist()
    assert points == [[0, 0.0, 8.0], [0, 0.5, 3.0], [0, 0.5, 3.0]]


def test_divergence_marks_use_the_last_finite_point_before_the_step():
    runs = run_rows(("c", 0, "sgd", "diverged", 20), ("c", 1, "sgd", "diverged", 0))
    # Seed 0 logged its blown-up loss at step 20 itself; seed 1 failed at the start.
    curves = curve_rows(runs, {1: [8, 3, 1e30], 2: [np.nan]}, times={1: [0, 0.5, 0.9], 2: [0]})
    marks = divergence_marks(curves, runs, ["c"], x="time").set_index("seed")
    assert marks.loc[0, "step"] == 20 and marks.loc[0, "y"] == 3 and marks.loc[0, "x"] == 0.5
    assert marks.loc[1, "step"] == 0 and np.isnan(marks.loc[1, "y"])
    bands = curve_bands(curves, runs, ["c"], diverged="counted")
    assert bands["median"].tolist() == [INF] * 3  # seed 1 is inf from step 0 on, 2 seeds


def test_a_run_diverged_before_its_first_logged_point_still_counts():
    runs = run_rows(("d", 0, "sgd", "done", None), ("d", 1, "sgd", "diverged", 0),
                    ("d", 2, "sgd", "diverged", 0))  # fmt: skip
    curves = curve_rows(runs, {1: [8, 1, 0.5], 2: [], 3: []})
    bands = curve_bands(curves, runs, ["d"], diverged="counted")
    assert bands["median"].tolist() == [INF] * 3
    assert bands["seeds"].tolist() == [3] * 3


def test_time_axis_takes_the_median_time_of_the_seeds():
    runs = run_rows(("e", 0, "adam", "done", None), ("e", 1, "adam", "done", None),
                    ("e", 2, "adam", "done", None))  # fmt: skip
    times = {1: [0, 0.1, 0.2], 2: [0, 0.3, 0.5], 3: [0, 0.2, 0.9]}
    curves = curve_rows(runs, {1: [3, 2, 1], 2: [3, 2, 1], 3: [3, 2, 1]}, times=times)
    bands = curve_bands(curves, runs, ["e"], x="time")
    np.testing.assert_allclose(bands["x"], [0, 0.2, 0.5])
    with pytest.raises(ValueError, match="x must be"):
        curve_bands(curves, runs, ["e"], x="wall")


def test_accuracy_of_a_diverged_run_counts_as_zero():
    runs = run_rows(("f", 0, "sgd", "done", None), ("f", 1, "sgd", "diverged", 5))
    curves = curve_rows(runs, {1: [0.5, 0.9, 0.9], 2: [0.5]}, metric="test_accuracy")
    bands = curve_bands(curves, runs, ["f"], metric="test_accuracy", diverged="counted")
    np.testing.assert_allclose(bands["median"], [0.5, 0.45, 0.45])


def test_log_y_is_chosen_where_the_loss_spans_two_decades():
    assert spans_decades([10.0, 0.05, INF, np.nan])
    assert spans_decades([1.0, 0.0, 0.001])  # an exact zero falls off the bottom
    assert not spans_decades([0.7, 0.1])
    assert not spans_decades([100.0, -1.0, 0.01])  # negative losses: linear
    assert not spans_decades([np.nan, INF])
    runs = run_rows(("g", 0, "adam", "done", None), ("h", 0, "sgd", "done", None))
    runs.loc[1, "problem"] = "xor"
    curves = curve_rows(runs, {1: [10, 1, 0.01], 2: [0.7, 0.5, 0.3]})
    data = convergence_data(runs, curves, ["g", "h"])
    assert data["log_y"] == {"quadratic": True, "xor": False}


def test_problem_labels_name_parameters_only_when_a_problem_has_several():
    runs = pd.DataFrame(
        {"problem": ["rosenbrock", "rosenbrock", "xor"],
         "problem_params": ['{"dim": 2}', '{"dim": 4}', "{}"]}
    )  # fmt: skip
    labels = problem_labels(runs).tolist()
    assert labels == ["rosenbrock(dim=2)", "rosenbrock(dim=4)", "xor"]


def test_sensitivity_points_and_median_lines():
    frame = pd.DataFrame(
        {"problem": "beale", "problem_params": "{}", "optimizer": ["adam"] * 6 + ["sgd"] * 2,
         "lr": [0.01, 0.01, 0.01, 0.1, 0.1, 0.1, 0.01, 0.01], "seed": [0, 1, 2] * 2 + [0, 1],
         "status": ["done"] * 4 + ["diverged"] * 2 + ["done", "done"],
         "loss": [1.0, 3.0, 2.0, 0.5, INF, INF, 4.0, 6.0]}
    )  # fmt: skip
    data = sensitivity.sensitivity_data(frame.sample(frac=1.0, random_state=0))
    points, lines = data["points"], data["lines"]
    assert len(points) == 8
    assert points[["optimizer", "lr", "seed"]].values.tolist()[:3] == [
        ["adam", 0.01, 0],
        ["adam", 0.01, 1],
        ["adam", 0.01, 2],
    ]
    assert points["diverged"].sum() == 2
    assert lines[["optimizer", "lr"]].values.tolist() == [
        ["adam", 0.01],
        ["adam", 0.1],
        ["sgd", 0.01],
    ]
    assert lines["median"].tolist() == [2.0, INF, 5.0]
    np.testing.assert_allclose(lines["diverged_share"], [0, 2 / 3, 0])
    assert lines["runs"].tolist() == [3, 3, 2]


def test_robustness_heatmap_matrices():
    frame = pd.DataFrame(
        {"problem": "xor", "problem_params": "{}", "axis": "clip",
         "optimizer": ["sgd", "sgd", "adam", "adam"],
         "value": ["global_norm(max_norm=1)", "none", "none", "value(clip_value=0.5)"],
         "median": [0.2, INF, 0.1, 0.3], "divergence": [0.0, 0.6, 0.0, 0.2],
         "n_seeds": [5, 5, 5, 5]}
    )  # fmt: skip
    heat = robustness.robustness_data(frame)["xor"]
    assert heat["axis"] == "clip"
    assert heat["rows"] == ["adam", "sgd"]
    assert heat["columns"] == ["none", "global_norm(max_norm=1)", "value(clip_value=0.5)"]
    np.testing.assert_array_equal(heat["median"], [[0.1, np.nan, 0.3], [INF, 0.2, np.nan]])
    np.testing.assert_array_equal(heat["divergence"], [[0, np.nan, 0.2], [0.6, 0, np.nan]])


def test_profile_and_ecdf_keep_their_rows_ordered_best_first():
    profile = pd.DataFrame(
        {"optimizer": ["adam"] * 3 + ["sgd"] * 3 + ["lion"] * 3, "tau": [4.0, 1.0, 2.0] * 3,
         "rho": [0.5, 0.1, 0.3, 1.0, 0.5, 0.9, 0.5, 0.1, 0.3]}
    )  # fmt: skip
    ranked = profile_data(profile)
    assert ranked["optimizer"].tolist() == ["sgd"] * 3 + ["adam"] * 3 + ["lion"] * 3  # tie: name
    assert ranked["tau"].tolist() == [1.0, 2.0, 4.0] * 3
    pd.testing.assert_frame_equal(
        ranked.sort_values(["optimizer", "tau"]).reset_index(drop=True),
        profile.sort_values(["optimizer", "tau"]).reset_index(drop=True),
    )
    ecdf = profile.rename(columns={"tau": "budget_fraction", "rho": "fraction"})
    ecdf["budget_fraction"] /= 4
    ordered = ecdf_data(ecdf)
    assert ordered["optimizer"].tolist()[::3] == ["sgd", "adam", "lion"]
    assert ordered["budget_fraction"].tolist()[:3] == [0.25, 0.5, 1.0]
    with pytest.raises(ValueError, match="missing"):
        profile_data(profile.drop(columns="rho"))


# --- real runs ------------------------------------------------------------------------------


def test_cell_from_row_rebuilds_every_stored_cell(stored):
    runs, _ = stored
    assert runs["initializer"].notna().any() and runs["batch_size"].notna().any()
    for _, row in runs.iterrows():
        cell = cell_from_row(row)
        assert cell.key == row["cell_key"]
        assert cell.seeds == (row["seed"],)
    assert cell_from_row(runs.iloc[0].to_dict()).key == runs.iloc[0]["cell_key"]


def test_trajectories_rerun_the_stored_first_seed(stored):
    runs, curves = stored
    cells = runs.drop_duplicates("cell_key")
    paths = trajectories.trace_first_seeds(runs, cells)
    keys = set(cells.loc[cells["problem"] == "rosenbrock", "cell_key"])
    assert set(paths) == keys  # xor and spirals are not 2-D test functions: not replayed
    assert trajectories.trajectory_data(runs, cells, {}) == {}  # draws only what was traced
    data = trajectories.trajectory_data(runs, cells, paths)
    assert list(data) == ["rosenbrock"]  # xor and spirals are not 2-D test functions
    d = data["rosenbrock"]
    function = build_problem_by_name("rosenbrock", {"dim": 2})
    assert set(d["paths"]) == {"adam", "sgd", "momentum"}
    assert d["shared_start"]
    for name, path in d["paths"].items():
        np.testing.assert_array_equal(path[0], function.start)
        key = cells[cells["optimizer"] == name]["cell_key"].iloc[0]
        stored_curve = curves[(curves["cell_key"] == key) & (curves["seed"] == 0)]
        assert path.shape[1] == 2 and path.shape[0] >= stored_curve["step"].max() + 1
        np.testing.assert_allclose(
            function.value(path[stored_curve["step"].to_numpy()]),
            stored_curve["train_loss"],
            rtol=1e-12,
        )
    np.testing.assert_array_equal(d["minimizer"], [1.0, 1.0])
    assert d["z"].shape == (d["y"].size, d["x"].size)
    low, high = function.domain
    assert low <= d["x"][0] < d["x"][-1] <= high


def test_convergence_data_on_real_runs_marks_the_diverging_cell(stored):
    runs, curves = stored
    cells = runs.drop_duplicates("cell_key")
    diverging = runs[runs["status"] == "diverged"]
    assert not diverging.empty
    data = convergence_data(runs, curves, cells)
    marks = data["divergences"]
    assert sorted(marks["seed"]) == sorted(diverging["seed"])
    assert marks["step"].tolist() == diverging["diverged_step"].astype(int).tolist()
    assert set(data["bands"]["problem"]) == {"rosenbrock", "xor", "spirals"}
    by_accuracy = accuracy.accuracy_data(runs, curves, cells)
    assert by_accuracy["metric"] == {"spirals": "test_accuracy", "xor": "train_accuracy"}

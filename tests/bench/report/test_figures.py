"""Smoke tests of the figures: each builds from a small real store with the expected axes, lines
and legend entries, and saves as a PNG that decodes. The numbers are tested in test_figure_data."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

import optimizers
from bench.report import canvas
from bench.report.figures import FIGURES, convergence, robustness, timer
from bench.report.figures import figures as all_figures
from bench.report.figures.bands import REFERENCE_COLOR
from bench.report.figures.inputs import Inputs
from bench.report.style import DIVERGED_MARKER
from tests.bench.report.test_figure_data import build_store

EXPECTED = {
    ("overview", "performance_profile"),
    ("overview", "runtime_ecdf"),
    ("rosenbrock", "convergence_step"),
    ("rosenbrock", "convergence_time"),
    ("rosenbrock", "lr_sensitivity"),  # sgd ran two lrs
    ("rosenbrock", "trajectories"),
    ("xor", "convergence_step"),
    ("xor", "convergence_time"),
    ("xor", "accuracy"),
    ("spirals", "convergence_step"),
    ("spirals", "convergence_time"),
    ("spirals", "accuracy"),
    ("robustness", "clip_rosenbrock"),  # adam ran three clip strategies
    ("robustness", "initializer_xor"),  # adam ran two initializers
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("plots") / "tiny.sqlite")


@pytest.fixture(scope="module")
def figures(stored):
    runs, curves = stored
    with pytest.MonkeyPatch.context() as patch:  # every step resolvable: every time figure
        patch.setattr(timer, "timer_resolution", lambda: 1e-15)
        return {(section, name): fig for section, name, fig in all_figures(runs, curves)}


def legend_labels(fig):
    return [text.get_text() for text in fig.legends[0].get_texts()]


def test_the_backend_is_agg():
    assert matplotlib.get_backend().lower() == "agg"


def test_a_store_yields_every_figure_it_has_data_for(figures):
    assert set(figures) == EXPECTED
    assert all(isinstance(fig, Figure) for fig in figures.values())


def test_convergence_has_one_line_per_optimizer_and_marks_divergence(figures):
    fig = figures["rosenbrock", "convergence_step"]
    (ax,) = fig.axes
    labels = legend_labels(fig)
    # Ranked by final median; momentum's runs all diverged: last, with no band.
    assert [label.split(" ")[0] for label in labels[:3]] == ["adam", "sgd", "momentum"]
    assert labels[2] == "momentum (lr=1)"
    assert labels[-1] == "diverged here"
    markers = [line for line in ax.lines if line.get_marker() == DIVERGED_MARKER]
    assert len(markers) == 1 and len(markers[0].get_xdata()) == 3  # momentum: three seeds
    assert (ax.get_yscale() == "log") == ("log scale" in ax.get_ylabel())
    assert "time" in figures["rosenbrock", "convergence_time"].axes[0].get_xlabel()


def test_sensitivity_trajectories_and_accuracy(figures):
    sensitivity = figures["rosenbrock", "lr_sensitivity"]
    ax = sensitivity.axes[0]
    assert ax.get_xscale() == "log"
    # ranked by best median: momentum, all diverged, last
    assert legend_labels(sensitivity) == ["adam", "sgd", "momentum", "diverged run"]
    crosses = [line for line in ax.lines if line.get_marker() == DIVERGED_MARKER]
    assert sum(len(line.get_xdata()) for line in crosses) == 6  # sgd and momentum at lr=1
    paths = figures["rosenbrock", "trajectories"]
    assert len(paths.axes) == 2  # the map and its colour bar
    # ranked by where each path ends: momentum's blew up
    assert legend_labels(paths) == ["adam", "sgd", "momentum", "start", "optimum (f = 0)"]
    accuracy = figures["xor", "accuracy"].axes[0]
    assert accuracy.get_ylim()[1] == pytest.approx(1.005)
    assert "training accuracy" in accuracy.get_ylabel()  # xor has no test set


def test_heatmaps_show_every_cell_with_its_divergence_share(figures):
    fig = figures["robustness", "clip_rosenbrock"]
    ax = fig.axes[0]
    # adam, momentum, sgd x none, global_norm, value
    assert ax.images[0].get_array().shape == (3, 3)
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "none"
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 9 and texts.count("not run") == 4  # only adam ran clipping
    assert texts[3].startswith("diverged")  # momentum without clipping
    assert all("div." in t for t in texts if t != "not run")


def test_profile_and_ecdf_draw_one_step_line_per_optimizer(figures):
    for name in ("performance_profile", "runtime_ecdf"):
        fig = figures["overview", name]
        assert len(fig.axes[0].lines) == 3
        assert sorted(legend_labels(fig)) == ["adam", "momentum", "sgd"]


def test_heatmap_texts_for_diverged_and_missing_cells():
    heat = {
        "beale": {
            "axis": "initializer",
            "rows": ["adam", "sgd"],
            "columns": ["default", "zeros"],
            "median": np.array([[0.1, np.inf], [np.nan, 1e-3]]),
            "divergence": np.array([[0.0, 1.0], [np.nan, 0.2]]),
            "n_seeds": np.array([[5, 5], [np.nan, 5]]),
        }
    }
    texts = [t.get_text() for t in robustness.draw(heat, "beale").axes[0].texts]
    assert texts == ["0.1\n0% div.", "diverged\n100% div.", "not run", "0.001\n20% div."]


def test_figure_filenames_are_safe():
    assert canvas.figure_filename("rosenbrock(dim=2)", "convergence_step") == (
        "rosenbrock_dim=2_convergence_step.png"
    )
    assert canvas.figure_filename("<script>/../x", "a b") == "script_.._x_a_b.png"


def test_every_figure_module_has_data_a_drawing_and_its_figures():
    for module in FIGURES:
        assert callable(module.draw) and callable(module.figures), module.__name__


def test_without_trajectories_nothing_is_replayed(stored):
    runs, curves = stored
    names = {name for _, name, _ in all_figures(runs, curves, trajectories=False)}
    assert "trajectories" not in names and "convergence_step" in names


def test_the_time_figure_is_drawn_only_where_a_step_lasts_many_timer_ticks(stored, figures):
    runs, curves = stored
    assert all(not isinstance(figures[p, "convergence_time"], str) for p in ("xor", "spirals"))
    assert "at least 1000 ticks" in canvas.caption_of(figures["xor", "convergence_time"])
    with pytest.MonkeyPatch.context() as patch:  # a timer far coarser than any step
        patch.setattr(timer, "timer_resolution", lambda: 1.0)
        made = {(s, n): f for s, n, f in all_figures(runs, curves, trajectories=False)}
    notes = {key: f for key, f in made.items() if isinstance(f, str)}
    assert set(notes) == {(p, "convergence_time") for p in ("rosenbrock", "xor", "spirals")}
    assert all(note.startswith("No loss-vs-time figure: the fastest step takes") for note in
               notes.values())  # fmt: skip
    assert "resolution 1 s here" in notes["xor", "convergence_time"]
    seconds = timer.seconds_per_step(runs, runs.drop_duplicates("cell_key"))
    assert timer.time_is_resolved(seconds, 1e-15) and not timer.time_is_resolved(seconds, 1.0)
    assert 0 < timer.timer_resolution() < 1e-3


def test_every_figure_has_a_caption_saying_what_is_drawn(figures):
    for key, fig in figures.items():
        assert len(canvas.caption_of(fig)) > 60, key
    text = canvas.caption_of(figures["rosenbrock", "convergence_step"])
    assert "Line: median training loss over seeds; band: interquartile range" in text
    assert "3 seeds per optimizer" in text
    assert "(adam lr=0.05 global_norm(max_norm=1); sgd lr=0.001; momentum lr=1)" in text
    assert "3 runs diverged (momentum 3 of 3)" in text and "thin line ending with x" in text
    assert "No run diverged." in canvas.caption_of(figures["xor", "accuracy"])


def test_legend_swatches_show_two_dash_periods_on_each_side_of_the_marker(figures):
    fig = figures["rosenbrock", "convergence_step"]
    legend = fig.legends[0]
    swatch = legend.handlelength * legend.prop.get_size_in_points()  # points
    for line in legend.legend_handles:
        if line.get_linestyle() in ("None", "none", ""):
            continue
        pattern = matplotlib.rcParams[
            {"--": "lines.dashed_pattern", ":": "lines.dotted_pattern", "-": None}[
                line.get_linestyle()
            ]
            or "lines.dashed_pattern"
        ]
        period = sum(pattern) * line.get_linewidth()
        assert swatch >= 4 * period + line.get_markersize(), (line.get_label(), swatch)


def test_a_legend_of_many_optimizers_fits_the_figure_width(figures):
    fig = figures["rosenbrock", "convergence_step"]
    fig.canvas.draw()
    box = fig.legends[0].get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width


# Last: saving releases the figures.
def test_every_figure_saves_as_a_png_about_900_pixels_wide(figures, tmp_path):
    for (section, name), fig in figures.items():
        path = tmp_path / canvas.figure_filename(section, name)
        canvas.save(fig, path)
        image = imread(path)
        assert image.ndim == 3 and 850 <= image.shape[1] <= 950, (section, name, image.shape)
        assert image.shape[0] > 200
        assert not fig.axes  # released after saving


def extents(fig, texts):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]


def no_two_overlap(boxes):
    return not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


@pytest.mark.parametrize("columns", [2, 7, 16])
def test_heatmap_labels_and_cell_texts_never_overlap(columns):
    rows = [f"optimizer_{k}" for k in range(10)]
    values = [f"global_norm(max_norm={10.0**-k:g})" for k in range(columns)]
    rng = np.random.default_rng(columns)
    heat = {
        "beale": {
            "axis": "clip",
            "rows": rows,
            "columns": values,
            "median": rng.uniform(1e-3, 10.0, (len(rows), columns)),
            "divergence": rng.uniform(0.0, 1.0, (len(rows), columns)),
            "n_seeds": np.full((len(rows), columns), 5.0),
        }
    }
    fig = robustness.draw(heat, "beale")
    ax = fig.axes[0]
    assert no_two_overlap(extents(fig, ax.get_xticklabels()))
    assert no_two_overlap(extents(fig, ax.get_yticklabels()))
    cells = extents(fig, ax.texts)
    assert len(cells) == len(rows) * columns and no_two_overlap(cells)
    corner = ax.transData.transform([(0, 0), (1, 1)])
    width = abs(corner[1][0] - corner[0][0])
    assert all(box.width <= width for box in cells)
    two_lines = all("\n" in t.get_text() for t in ax.texts)
    assert ("below it, the share of its runs that diverged" in fig.caption) == two_lines
    if columns == 2:  # few short labels stay upright and whole
        assert all(t.get_rotation() == 0 for t in ax.get_xticklabels())
        assert [t.get_text() for t in ax.get_xticklabels()] == values


def many_optimizers(count, diverging=None):
    """Convergence data of ``count`` built-in optimizers on one problem, 4 seeds each, losses
    10 * 0.9**step scaled per optimizer; ``diverging`` has seed 3 blow up at step 25."""
    names = list(optimizers.names())[:count]
    runs, curves = [], []
    for k, name in enumerate(names):
        for seed in range(4):
            gone = name == diverging and seed == 3
            run_id = len(runs) + 1
            runs.append({"run_id": run_id, "cell_key": name, "seed": seed,
                         "problem": "quadratic", "problem_params": "{}", "optimizer": name,
                         "status": "diverged" if gone else "done",
                         "diverged_step": 25 if gone else None})  # fmt: skip
            for step in range(0, 50 if not gone else 25, 5):
                loss = (1 + k) * (1 + 0.1 * seed) * 0.9**step * (1e9**step if gone else 1)
                curves.append({"run_id": run_id, "cell_key": name, "seed": seed,
                               "step": step, "epoch": step, "time": step * 1e-3,
                               "train_loss": loss})  # fmt: skip
    runs = pd.DataFrame(runs).astype({"diverged_step": "Int64"})
    cells = pd.DataFrame({"cell_key": names, "config": [f"lr={0.1 * (k + 1):g}" for k in
                                                        range(count)]})  # fmt: skip
    return convergence.convergence_data(runs, pd.DataFrame(curves), cells)


def test_more_than_five_optimizers_become_ranked_panels_with_the_best_as_reference():
    data = many_optimizers(12)
    fig = convergence.draw(data, "quadratic")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 3  # 12 -> 4, 4, 4
    assert [ax.get_title() for ax in panels] == ["ranks 1–4", "ranks 5–8", "ranks 9–12"]
    for k, ax in enumerate(panels):
        assert len(ax.collections) == 4  # one band per optimizer of the panel
        greys = [line for line in ax.lines if line.get_color() == REFERENCE_COLOR]
        assert len(greys) == (0 if k == 0 else 1)
    best = optimizers.names()[0]  # the smallest losses
    assert legend_labels(fig)[0] == f"{best} (lr=0.1)" and legend_labels(fig)[-1] == (
        f"best: {best}"
    )
    assert "3 panels of at most 4 optimizers" in fig.caption
    assert len(convergence.draw(many_optimizers(5), "quadratic").axes) == 1


def test_a_partly_diverged_band_stays_finite_and_its_diverged_run_is_drawn_apart():
    name = optimizers.names()[1]
    data = many_optimizers(3, diverging=name)
    fig = convergence.draw(data, "quadratic")
    (ax,) = fig.axes
    low, high = ax.get_ylim()
    assert high < 100  # the blown-up run (1e9**step) does not stretch the axis
    thin = [line for line in ax.lines if line.get_linewidth() == pytest.approx(0.8)]
    assert len(thin) == 1 and thin[0].get_xdata()[-1] == 25  # ends at its divergence step
    crosses = [line for line in ax.lines if line.get_marker() == DIVERGED_MARKER]
    assert len(crosses) == 1 and list(crosses[0].get_xdata()) == [25]
    assert f"1 run diverged ({name} 1 of 4)" in fig.caption
    band = data["bands"][data["bands"]["optimizer"] == name]
    assert band["seeds"].max() == 3 and np.isfinite(band["q75"]).all()


def test_the_profile_runs_past_every_finite_ratio_so_each_curve_has_levelled(stored):
    import bench.analysis
    import bench.analysis.ranking
    from bench.report.figures import profile

    runs, curves = stored
    ratios = pd.DataFrame({"ratio": [1.0, 2.5, 37.0, np.inf]})
    assert profile.tau_range(ratios) == pytest.approx(37.0 * profile.TAU_MARGIN)
    assert profile.tau_range(ratios.iloc[:2]) == profile.TAU_FLOOR
    # Two optimizers over four (problem, target) pairs; sgd's last step is at tau = 9.
    made = pd.DataFrame({"optimizer": ["adam"] * 4 + ["sgd"] * 4,
                         "ratio": [1.0, 1.0, 2.0, np.inf, 1.5, 1.0, 9.0, np.inf]})  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        for module in (bench.analysis, bench.analysis.ranking):
            patch.setattr(module, "performance_ratios", lambda *args, **kwargs: made)
        fig = next(profile.figures(Inputs(runs, curves, trajectories=False)))[2]
    ax = fig.axes[0]
    right = ax.get_xlim()[1]
    assert right == pytest.approx(9.0 * profile.TAU_MARGIN)
    for line in ax.lines:  # flat over the last part of the axis: levelled off
        xs, ys = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        assert np.ptp(ys[xs >= right / profile.TAU_MARGIN]) == 0 and ys[-1] == 0.75
    assert "past the largest finite ratio" in fig.caption


def test_sensitivity_of_many_optimizers_is_small_multiples_ranked_by_best_median():
    from bench.report.figures import sensitivity

    names = list(optimizers.names())[:7]
    frame = pd.DataFrame(
        [{"problem": "beale", "problem_params": "{}", "optimizer": name, "lr": lr,
          "seed": seed, "status": "done", "loss": (7 - k) * lr + seed}
         for k, name in enumerate(names) for lr in (0.01, 0.1) for seed in (0, 1)]
    )  # fmt: skip
    data = sensitivity.sensitivity_data(frame)
    fig = sensitivity.draw(data, "beale")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["ranks 1–4", "ranks 5–7"]
    assert legend_labels(fig)[:7] == names[::-1]  # the last has the lowest losses
    assert all(ax.get_xscale() == "log" for ax in shown)


def test_trajectories_of_many_optimizers_are_panels_ranked_by_final_value():
    from bench.report.figures import trajectories

    names = list(optimizers.names())[:7]
    grid = np.linspace(-1.0, 1.0, 20)
    paths = {n: np.array([[-1.0, -1.0], [0.1 * k, 0.1 * k]]) for k, n in enumerate(names)}
    d = {"paths": paths, "final": {n: 0.2 * k for k, n in enumerate(names)},
         "starts": {n: p[0] for n, p in paths.items()}, "shared_start": True,
         "minimizer": np.zeros(2), "optimum": 0.0, "x": grid, "y": grid,
         "z": np.add.outer(grid**2, grid**2), "eps": 1e-12}  # fmt: skip
    fig = trajectories.draw({"bowl": d}, "bowl")
    shown = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in shown] == ["ranks 1–4 by final value",
                                                "ranks 5–7 by final value"]  # fmt: skip
    assert legend_labels(fig)[:7] == names

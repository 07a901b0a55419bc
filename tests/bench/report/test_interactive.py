"""The interactive figures' specs and their place in the page, on hand-built frames (no browser:
test_interactive_page.py drives one)."""

import json

import pandas as pd
import pytest

from bench.report import interactive, page
from bench.report.curves import curve_bands
from bench.report.render import render_html, render_markdown
from bench.report.style import DISTINCT_STYLES, DIVERGED_MARKER, style_at, styles
from bench.report.writer import Block, Section
from tests.bench.report.test_figure_data import build_store, curve_rows, labelled, run_rows

TIMES = {1: [0, 0.1, 0.2], 2: [0, 0.3, 0.5], 3: [0, 0.2, 0.9]}


def three_seeds(key="a", optimizer="adam", last_status="done", diverged_at=None):
    return run_rows((key, 0, optimizer, "done", None), (key, 1, optimizer, "done", None),
                    (key, 2, optimizer, last_status, diverged_at))  # fmt: skip


def spec_of(runs, curves, key, metric="train_loss"):
    table = styles(runs["optimizer"])
    return interactive.curve_spec(runs, curves, labelled(key), "quadratic", metric, table)


def test_a_curve_spec_holds_the_median_and_iqr_against_steps_and_time():
    runs = three_seeds()
    curves = curve_rows(runs, {1: [80, 1, 0.5], 2: [80, 2, 0.25], 3: [80, 4, 1.0]}, times=TIMES)
    spec = spec_of(runs, curves, "a")
    assert spec["x_axes"] == {
        "step": interactive.X_AXES["step"],
        "time": interactive.X_AXES["time"],
    }
    (series,) = spec["series"]
    assert series["label"] == "adam (cfg-a)" and series["seeds"] == [3, 3, 3]
    assert series["y"] == [80, 2, 0.5]
    assert series["q25"] == [80, 1.5, 0.375] and series["q75"] == [80, 3, 0.75]
    assert series["x"]["step"] == [0, 10, 20]
    # The same x as the static time figure takes: the median of the seeds' times.
    time_bands = curve_bands(curves, runs, ["a"], x="time")
    assert series["x"]["time"] == pytest.approx(time_bands["x"].tolist()) == [0, 0.2, 0.5]
    assert spec["log"] and spec["log_axis"] == "y" and not spec["percent"]  # 80 to 0.375
    curves["train_loss"] = curves["train_loss"].clip(lower=1)
    assert not spec_of(runs, curves, "a")["log"]  # 80 to 1: under two decades, linear


def test_an_evaluations_column_in_the_curves_becomes_an_x_axis():
    runs = three_seeds()
    curves = curve_rows(runs, {1: [3, 2, 1], 2: [3, 2, 1], 3: [3, 2, 1]})
    assert "evaluations" not in spec_of(runs, curves, "a")["x_axes"]
    curves["evaluations"] = curves["step"] * 2 + curves["seed"]  # say, a line search's calls
    spec = spec_of(runs, curves, "a")
    assert list(spec["x_axes"]) == ["step", "time", "evaluations"]
    assert spec["series"][0]["x"]["evaluations"] == [1, 21, 41]


def test_a_diverged_run_is_drawn_apart_from_the_band_on_every_axis():
    runs = three_seeds("b", "sgd", "diverged", 15)
    curves = curve_rows(runs, {1: [8, 1, 0.5], 2: [8, 2, 0.25], 3: [8, 6]}, times=TIMES)
    spec = spec_of(runs, curves, "b")
    (series,) = spec["series"]
    # The median and IQR are over the two runs that did not diverge, as the static figure's.
    assert series["seeds"] == [2, 2, 2] and series["y"] == [8, 1.5, 0.375]
    assert series["q75"] == [8, 1.75, 0.4375]
    # The diverged run: its own line up to its divergence step, an x there, on both axes.
    assert series["paths"] == [{"x": {"step": [0, 10, 15], "time": [0, 0.2, 0.2]},
                                "y": [8, 6, 6]}]  # fmt: skip
    assert series["diverged"] == {"x": {"step": [15], "time": [0.2]}, "y": [6]}
    json.dumps(spec, allow_nan=False)  # JSON as the page takes it: no NaN, no Infinity


def test_a_path_lowers_the_y_range_as_the_static_figure_does():
    runs = three_seeds("b", "sgd", "diverged", 25)
    curves = curve_rows(runs, {1: [8, 4, 2], 2: [8, 4, 2], 3: [8, 0.01, 0.01]})
    low = spec_of(runs, curves, "b")["ranges"]["y"]["log"][0]
    assert low < 0.01  # the diverged run dipped lower than any band before it blew up


def test_an_optimizer_whose_runs_all_diverged_keeps_its_legend_entry_and_paths():
    runs = run_rows(*[("a", seed, "adam", "done", None) for seed in range(3)],
                    *[("d", seed, "sgd", "diverged", 15) for seed in range(3)])  # fmt: skip
    curves = curve_rows(runs, {1: [3, 2, 1], 2: [3, 2, 1], 3: [3, 2, 1], 4: [3, 9], 5: [3, 8],
                               6: [3, 7]})  # fmt: skip
    spec = interactive.curve_spec(runs, curves, labelled("a", "d"), "quadratic", "train_loss",
                                  styles(runs["optimizer"]))  # fmt: skip
    adam, sgd = spec["series"]
    assert adam["seeds"] == [3, 3, 3] and not adam["paths"]
    assert sgd["label"] == "sgd (cfg-d)" and sgd["y"] == [] and len(sgd["paths"]) == 3
    assert sgd["diverged"]["y"] == [9, 8, 7]


def test_runs_that_failed_at_their_start_have_no_path_and_are_marked_at_the_top():
    runs = run_rows(("c", 0, "sgd", "diverged", 0), ("c", 1, "sgd", "diverged", 0),
                    ("c", 2, "sgd", "done", None))  # fmt: skip
    curves = curve_rows(runs, {1: [], 2: [], 3: [8, 1, 0.5]})
    series = spec_of(runs, curves, "c")["series"][0]
    assert series["y"] == [8, 1, 0.5] and series["seeds"] == [1, 1, 1]
    assert series["paths"] == []
    assert series["diverged"]["y"] == [None, None]  # no finite value: drawn at the top


def test_time_is_an_x_axis_only_where_the_timer_rule_allows_it():
    runs = three_seeds()
    curves = curve_rows(runs, {1: [3, 2, 1], 2: [3, 2, 1], 3: [3, 2, 1]}, times=TIMES)
    spec = interactive.curve_spec(runs, curves, labelled("a"), "quadratic", "train_loss",
                                  styles(runs["optimizer"]), time_axis=False)  # fmt: skip
    assert list(spec["x_axes"]) == ["step"] and list(spec["series"][0]["x"]) == ["step"]


def test_accuracy_is_drawn_in_percent_on_a_linear_axis():
    runs = three_seeds("f")
    curves = curve_rows(runs, {1: [0.5, 0.9, 1.0], 2: [0.1, 0.5, 0.9], 3: [0.5, 0.6, 0.9]},
                        metric="test_accuracy")  # fmt: skip
    spec = spec_of(runs, curves, "f", metric="test_accuracy")
    assert spec["percent"] and spec["log_axis"] is None and not spec["log"]
    low, high = spec["ranges"]["y"]["linear"]
    assert 0 < low < 0.3 and high == pytest.approx(1.005)  # the lowest quartile, padded


def test_every_style_has_a_plotly_look():
    looks = {tuple(interactive.plotly_style(style_at(i)).values()) for i in range(DISTINCT_STYLES)}
    assert len(looks) == DISTINCT_STYLES  # as distinct in the page as in the PNGs
    assert DIVERGED_MARKER in interactive.PLOTLY_MARKERS
    assert interactive.plotly_style(style_at(0))["fill"] == "rgba(0,114,178,0.18)"


def test_names_reach_the_spec_as_entities_and_the_page_cannot_be_closed_from_json():
    runs = three_seeds(optimizer="<b>x</b>")
    curves = curve_rows(runs, {1: [3, 2, 1], 2: [3, 2, 1], 3: [3, 2, 1]})
    (series,) = spec_of(runs, curves, "a")["series"]
    assert series["name"] == "&lt;b&gt;x&lt;/b&gt;"  # plotly.js shows entities as text
    text = page.script_json({"name": "</script><script>alert(1)</script>"})
    assert "<" not in text and ">" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script>"}


def sections_with(blocks):
    section = Section("3.1 quadratic", "problem.1")
    section.blocks = blocks
    return [section]


def test_html_shows_the_interactive_figure_and_markdown_its_pngs(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG")
    spec = {"kind": "curves", "series": []}
    blocks = [Block("interactive", spec, "convergence (interactive)", media="html"),
              Block("figure", "a.png", "convergence step", media="markdown")]  # fmt: skip
    html = render_html("r", sections_with(blocks), tmp_path)
    assert "<img" not in html and html.count("<figure class='interactive'") == 1
    assert html.count(page.plotly_js()[-300:]) == 1  # plotly.js inlined, once
    markdown = render_markdown("r", sections_with(blocks))
    assert "![a](a.png)" in markdown and "*convergence step*" in markdown
    assert "interactive" not in markdown


def test_a_page_without_interactive_figures_carries_no_plotly(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG")
    html = render_html("r", sections_with([Block("figure", "a.png", "a")]), tmp_path)
    assert "<img" in html and page.plotly_js()[-300:] not in html
    assert page.controller_js() not in html


def test_a_real_store_gives_each_problem_its_convergence_and_classifiers_their_accuracy(tmp_path):
    from bench.report.figures import Inputs

    runs, curves = build_store(tmp_path / "tiny.sqlite")
    inputs = Inputs(runs, curves, trajectories=False)
    made = {(section, name): (spec, replaces, text)
            for section, name, spec, replaces, text in interactive.figures(inputs)}  # fmt: skip
    convergence = ("convergence_step", "convergence_time")
    assert {key: replaces for key, (_, replaces, _) in made.items()} == {
        ("overview", "performance_profile"): ("performance_profile",),
        ("overview", "runtime_ecdf"): ("runtime_ecdf",),
        **{(problem, "convergence"): convergence for problem in inputs.problems},
        ("spirals", "accuracy"): ("accuracy",),
        ("xor", "accuracy"): ("accuracy",),
    }
    rosenbrock = made[("rosenbrock", "convergence")][0]
    assert [s["name"] for s in rosenbrock["series"]] == ["adam", "momentum", "sgd"]
    momentum = rosenbrock["series"][1]
    assert len(momentum["diverged"]["y"]) == 3  # its only cell diverges on every seed
    assert momentum["y"] == [] and len(momentum["paths"]) == len(momentum["diverged"]["y"])
    assert made[("xor", "accuracy")][0]["percent"]
    # The captions: the static figures' (what is drawn, which runs), and the timer rule.
    text = made[("rosenbrock", "convergence")][2]
    assert text.startswith("convergence (interactive): hover")
    assert "Line: median training loss over seeds" in text and "momentum 3 of 3" in text
    timed, why = inputs.timing["rosenbrock"]
    assert ("Time is an x axis because" in text) == timed and why in text
    assert ("time" in made[("rosenbrock", "convergence")][0]["x_axes"]) == timed
    profile = made[("overview", "performance_profile")][2]
    assert "Dolan–Moré performance profile: for each optimizer" in profile


def test_a_step_spec_draws_each_optimizer_in_the_ranked_order_with_a_log_x_switch():
    frame = pd.DataFrame(
        {"optimizer": ["sgd", "sgd", "adam", "adam"], "tau": [1.0, 300.0, 1.0, 300.0],
         "rho": [0.5, 1.0, 0.25, 0.5]}
    )  # fmt: skip
    text = {"title": "t", "x_title": "<x>", "y_title": "y"}
    spec = interactive.step_spec(frame, "tau", "rho", styles(["adam", "sgd"]), text)
    assert spec["kind"] == "steps" and not spec["bands"] and spec["percent"]
    assert [s["name"] for s in spec["series"]] == ["sgd", "adam"]  # the frame's order: best first
    assert spec["series"][1]["x"] == {"tau": [1, 300]} and spec["series"][1]["y"] == [0.25, 0.5]
    assert spec["log_axis"] == "x" and spec["log"]  # tau spans two decades and more
    assert spec["x_axes"] == {"tau": "&lt;x&gt;"}


def test_a_caption_names_only_the_switches_its_figure_has():
    curves = {"kind": "curves", "x_axes": {"step": "", "time": ""}, "log_axis": "y", "bands": True}
    text = interactive.caption("convergence", curves)
    assert "switch the x axis, the log y scale and the IQR bands. Median" in text
    assert "Median and IQR over the seeds that did not diverge" in text
    text = interactive.caption("convergence", curves, about="What is drawn.")
    assert text.endswith("and the IQR bands. What is drawn.")
    steps = {"kind": "steps", "x_axes": {"tau": ""}, "log_axis": "x", "bands": False}
    text = interactive.caption("performance_profile", steps)
    assert text.startswith("performance profile (interactive): hover")
    assert text.endswith("switch the log x scale.") and "IQR" not in text

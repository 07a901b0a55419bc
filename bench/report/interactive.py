"""The interactive figures of ``report.html``: plain, JSON-ready specs, drawn in the page by
plotly.js (:mod:`bench.report.page`). No matplotlib drawing, no plotly import.

A spec holds the same numbers as the static figure it stands for (median and IQR over the seeds
that did not diverge from :func:`bench.report.curves.curve_bands`, each diverged run's line from
:func:`bench.report.curves.diverged_paths` ending at :func:`bench.report.curves.divergence_marks`,
styles from :mod:`bench.report.style`) for every x axis the curves have (time only where the
static loss-vs-time figure is drawn: :mod:`bench.report.figures.timer`), so the reader switches
the x axis, the y scale and the bands in the page, hovers for values and clicks a legend entry to
hide an optimizer (all of them on one axis: no small multiples). Each figure carries the static
figure's caption and names the static figures it replaces in the HTML; ``report.md`` keeps
linking their PNGs."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from bench.report.curves import curve_bands, diverged_paths, divergence_marks, spans_decades
from bench.report.figures import bands as band_figure
from bench.report.labels import METRIC_LABELS, X_LABELS
from bench.report.style import Style, optimizer_order, style

LEGEND_HELP = (
    "hover for values; click a legend entry to hide an optimizer (double-click: show it alone)"
)
# The x axes a curve figure may offer, in menu order: an axis is offered when the curves hold
# a column of that name with values ("step" always). A curves column "evaluations" (function
# evaluations, once the engine logs them) is picked up here without further change.
X_AXES = {
    "step": X_LABELS["step"],
    "time": X_LABELS["time"],
    "evaluations": "function evaluations (gradient and closure calls)",
}
# matplotlib's line styles and markers (bench.report.style) in plotly.js's words.
PLOTLY_DASHES = {"-": "solid", "--": "dash", ":": "dot"}
PLOTLY_MARKERS = {"o": "circle", "s": "square", "^": "triangle-up", "D": "diamond",
                  "v": "triangle-down", "P": "cross", "<": "triangle-left",
                  ">": "triangle-right", "p": "pentagon", "h": "hexagon", "d": "diamond-tall",
                  "H": "hexagon2", "*": "star", "x": "x"}  # fmt: skip
BAND_ALPHA = 0.18  # as the static figures' IQR bands
CURVE_TRIM = 0.005  # share of the lowest values a y range may leave out (as the static figure)
OFF_SCALE = 1e3  # an infinite quartile is drawn this far beyond the top of the axis


def finite_list(values: Iterable[float], digits: int = 6) -> list[float | None]:
    """``values`` as JSON numbers rounded to ``digits`` significant digits; NaN and infinities
    become None (a gap in a line)."""
    out = []
    for value in values:
        v = float(value)
        out.append(float(f"{v:.{digits}g}") if math.isfinite(v) else None)
    return out


def y_limits(values: np.ndarray, log: bool, trim: float = 0.0) -> tuple[float, float]:
    """A padded y range for the finite (on a log axis, positive) ``values``, as the static
    figures pick theirs (:func:`bench.report.canvas.limits`)."""
    from bench.report.canvas import limits

    return limits(values, log, trim)


def plotly_style(look: Style) -> dict[str, str]:
    """An optimizer's colour, band fill, dash and marker symbol, as plotly.js names them."""
    red, green, blue = (int(look.color[i : i + 2], 16) for i in (1, 3, 5))
    return {
        "color": look.color,
        "fill": f"rgba({red},{green},{blue},{BAND_ALPHA})",  # the IQR band
        "dash": PLOTLY_DASHES[look.linestyle],
        "symbol": PLOTLY_MARKERS[look.marker],
    }


def x_axes(curves: pd.DataFrame, time_axis: bool = True) -> list[str]:
    """The keys of :data:`X_AXES` this store's curves can be drawn against; ``time`` only
    where ``time_axis`` (the timer rule, :mod:`bench.report.figures.timer`) allows it."""
    allowed = [x for x in X_AXES if x != "time" or time_axis]
    return [x for x in allowed if x == "step" or (x in curves and curves[x].notna().any())]


def point_x(curves: pd.DataFrame, bands: pd.DataFrame, x: str) -> np.ndarray:
    """The ``x`` of each band row (a cell's logged step): the median over the cell's seeds,
    as :func:`bench.report.curves.curve_bands` takes it."""
    if x == "step":
        return bands["step"].to_numpy(np.float64)
    median = curves.groupby(["cell_key", "step"])[x].median()
    index = pd.MultiIndex.from_arrays([bands["cell_key"], bands["step"]])
    return median.reindex(index).to_numpy(np.float64)


def _paths(paths: pd.DataFrame, axes: list[str]) -> list[dict[str, Any]]:
    """Each diverged run of ``paths`` (one optimizer's) as its own line, per x axis."""
    return [
        {"x": {x: finite_list(path[x]) for x in axes}, "y": finite_list(path["y"])}
        for _, path in paths.groupby(["cell_key", "seed"], sort=True)
    ]


def _series(mine, optimizer, label, axes, look, ceiling) -> dict[str, Any]:
    """``optimizer``'s lines of a curve figure: median, quartiles (over the runs that did not
    diverge), the diverged runs apart, per x axis (``mine["bands"]`` holds the x of each axis
    in its ``x_<axis>`` columns, ``mine["marks"]`` and ``mine["paths"]`` in ``<axis>``)."""
    bands, marks, paths = (mine[key][mine[key]["optimizer"] == optimizer]
                           for key in ("bands", "marks", "paths"))  # fmt: skip
    bands = bands.sort_values("x")
    return {
        "name": html.escape(optimizer),
        "label": html.escape(f"{optimizer} ({label})" if label else optimizer),
        **plotly_style(look),
        "x": {x: finite_list(bands[f"x_{x}"]) for x in axes},
        "y": finite_list(bands["median"]),
        "q25": finite_list(bands["q25"].replace(np.inf, ceiling)),
        "q75": finite_list(bands["q75"].replace(np.inf, ceiling)),
        "seeds": [int(s) for s in bands["seeds"]],
        "diverged": {
            "x": {x: finite_list(marks[x]) for x in axes},
            "y": finite_list(marks["y"]),
        },
        "paths": _paths(paths, axes),
    }


def _per_axis(build, curves, runs, cells, metric: str, axes: list[str]) -> pd.DataFrame:
    """``build`` (:func:`bench.report.curves.divergence_marks` or
    :func:`bench.report.curves.diverged_paths`) with the x of every axis in a column of that
    axis's name."""
    frame = build(curves, runs, cells, metric, "step")
    for x in axes:
        if x != "step":  # the same rows in the same order whatever the x
            frame[x] = build(curves, runs, cells, metric, x)["x"].to_numpy()
    return frame  # its "step" column is the x of the step axis


def _y_ranges(bands: pd.DataFrame, paths: pd.DataFrame, percent: bool) -> dict[str, list[float]]:
    """The y range on each scale, picked as the static figure picks its own: the medians set
    the top, the lowest quartiles and diverged paths (but for a dip of a few points) the
    bottom; 0 to 100.5 % at most for a share."""
    medians = bands["median"].to_numpy(np.float64)
    lows = np.concatenate([bands[["median", "q25"]].to_numpy(np.float64).ravel(), paths["y"]])
    ranges = {}
    for scale, log in (("linear", False), ("log", True)):
        ranges[scale] = [y_limits(lows, log, CURVE_TRIM)[0], y_limits(medians, log)[1]]
    if percent:
        ranges["linear"] = [max(ranges["linear"][0], 0.0), 1.005]
    return ranges


def _log_switch(bands: pd.DataFrame, percent: bool) -> dict[str, Any]:
    """``log_axis`` (``"y"``, or None where no value is positive, or for a share) and ``log``
    (on at first where the values span two decades, as the static figure chooses)."""
    values = bands[["median", "q25", "q75"]].to_numpy(np.float64).ravel()
    can_log = not percent and bool(np.any(values[np.isfinite(values)] > 0))
    return {"log_axis": "y" if can_log else None, "log": can_log and spans_decades(values)}


def _problem_frames(runs, curves, cells, problem, metric, axes) -> dict[str, pd.DataFrame]:
    """The ``bands`` (diverged runs apart, the x of every axis in ``x_<axis>``), ``marks`` and
    ``paths`` of ``problem`` (a label)."""
    bands = curve_bands(curves, runs, cells, metric, "step")
    bands = bands[bands["problem"] == problem]
    bands = bands.assign(**{f"x_{x}": point_x(curves, bands, x) for x in axes})
    frames = {"bands": bands}
    for key, build in (("marks", divergence_marks), ("paths", diverged_paths)):
        frame = _per_axis(build, curves, runs, cells, metric, axes)
        frames[key] = frame[frame["problem"] == problem]
    return frames


def _all_series(mine, axes: list[str], ranges, table: Mapping[str, Style]) -> list[dict]:
    """Every optimizer's :func:`_series`, in the report's order (those whose runs all diverged
    too: a legend entry and their paths); an infinite quartile fills past either scale's top."""
    top = max(ranges["log"][1], ranges["linear"][1])
    ceiling = OFF_SCALE * (top + abs(top - ranges["linear"][0]))
    configs = band_figure.configurations(mine["bands"], mine["marks"])
    return [
        _series(mine, optimizer, configs.get(optimizer), axes, style(optimizer, table), ceiling)
        for optimizer in optimizer_order(configs)
    ]


def curve_spec(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    cells: pd.DataFrame,
    problem: str,
    metric: str,
    table: Mapping[str, Style],
    time_axis: bool = True,
) -> dict[str, Any] | None:
    """``metric`` against every x axis the curves have on ``problem``: median and IQR over the
    seeds that did not diverge per optimizer at its tuned cell, each diverged run apart.

    Parameters
    ----------
    runs, curves
        The frames of ``bench.store.store.load``; ``cells``: those to draw
        (``bench.analysis.tuned``), restricted to ``problem``.
    metric
        A curve column: a ``*_loss`` may switch to a log axis, an accuracy is drawn in %.
    time_axis
        Whether time may be an x axis (the timer rule, :mod:`bench.report.figures.timer`).

    Returns
    -------
    dict or None
        JSON-ready: ``kind`` (``"curves"``), ``title``, ``x_axes`` ({key: axis title}),
        ``y_title``, ``log_axis`` and ``log`` (:func:`_log_switch`), ``percent``, ``bands``,
        ``ranges`` ({"y": :func:`_y_ranges`}), ``series`` (per optimizer in the report's
        order: ``name``, ``label``, :func:`plotly_style`, ``x`` per axis, ``y`` (the median),
        ``q25``, ``q75``, ``seeds``, ``diverged`` (where each diverged run blew up), ``paths``
        (each diverged run's line)) and ``about`` (the static figure's caption). None when no
        run of ``problem`` has a band.
    """
    # Only the runs of this problem's registry name (its labels stay those of the whole store)
    runs = runs[runs["problem"].isin(runs.loc[runs["cell_key"].isin(cells["cell_key"]), "problem"])]
    curves = curves[curves["cell_key"].isin(cells["cell_key"])]
    axes = x_axes(curves, time_axis)
    mine = _problem_frames(runs, curves, cells, problem, metric, axes)
    if mine["bands"].empty:
        return None
    percent = metric.endswith("accuracy")
    ranges = _y_ranges(mine["bands"], mine["paths"], percent)
    name = METRIC_LABELS.get(metric, metric)
    return {
        "kind": "curves",
        "title": html.escape(f"{problem}: {name}, each optimizer at its tuned configuration"),
        "x_axes": {x: X_AXES[x] for x in axes},
        "y_title": html.escape(name),
        **_log_switch(mine["bands"], percent),
        "percent": percent,
        "bands": True,
        "ranges": {"y": ranges},
        "series": _all_series(mine, axes, ranges, table),
        "about": _about(mine, name, percent, "time" in axes),
    }


def _about(mine: Mapping[str, pd.DataFrame], metric: str, percent: bool, timed: bool) -> str:
    """What a curve figure draws, in the static figure's words
    (:func:`bench.report.figures.bands.caption`), without its panels (one axis here)."""
    from bench.report.figures.convergence import TIME_AXIS, seeds_drawn

    text = band_figure.caption(mine["bands"], mine["marks"], metric=metric,
                               higher_is_better=percent, runs=seeds_drawn(mine),
                               panelled=False)  # fmt: skip
    return f"{text} On the time axis, {TIME_AXIS}" if timed else text


def step_spec(
    frame: pd.DataFrame, x: str, y: str, table: Mapping[str, Style], text: Mapping[str, str]
) -> dict[str, Any]:
    """An interactive figure of step curves (``y`` against ``x``, one per optimizer, in the
    frame's order): the performance profile and the runtime ECDF.

    Parameters
    ----------
    frame
        :func:`bench.report.figures.profile.profile_data` or
        :func:`bench.report.figures.ecdf.ecdf_data`: ranked, best first.
    text
        ``title``, ``x_title`` and ``y_title``.

    Returns
    -------
    dict
        As :func:`curve_spec` without bands: ``kind`` ``"steps"``, a share on the y axis
        (``percent``), the log switch on the x axis (on at first where ``x`` spans two
        decades), ``series`` with ``x`` and ``y``.
    """
    values = frame[x].to_numpy(np.float64)
    positive = values[np.isfinite(values) & (values > 0)]
    series = []
    for optimizer in dict.fromkeys(frame["optimizer"]):
        mine = frame[frame["optimizer"] == optimizer]
        series.append(
            {
                "name": html.escape(optimizer),
                "label": html.escape(optimizer),
                **plotly_style(style(optimizer, table)),
                "x": {x: finite_list(mine[x])},
                "y": finite_list(mine[y]),
            }
        )
    return {
        "kind": "steps",
        "title": html.escape(text["title"]),
        "x_axes": {x: html.escape(text["x_title"])},
        "y_title": html.escape(text["y_title"]),
        "log_axis": "x" if positive.size else None,
        "log": spans_decades(positive),
        "percent": True,
        "bands": False,
        "ranges": {"y": {"linear": [-0.02, 1.02]}},
        "series": series,
    }


def overview_figures(inputs) -> Iterator[tuple[str, str, dict[str, Any], tuple[str, ...], str]]:
    """The performance profile and the runtime ECDF, where some target was reached, each with
    its static figure's caption."""
    from bench.report.figures import ecdf as ecdf_figure
    from bench.report.figures import profile as profile_figure
    from bench.report.labels import ECDF_LABELS

    profile = profile_figure.profile_data(inputs.profile)
    if not profile.empty:
        text = {"title": "Performance profile (Dolan–Moré) over all problems and targets",
                "x_title": "τ: steps-to-target as a multiple of the best optimizer's",
                "y_title": "share of (problem, target) pairs reached within τ × best"}  # fmt: skip
        spec = step_spec(profile, "tau", "rho", inputs.styles, text)
        about = profile_figure.caption(inputs)
        yield "overview", "performance_profile", spec, ("performance_profile",), about
    ecdf = ecdf_figure.ecdf_data(inputs.ecdf)
    if not ecdf.empty:
        cost = ecdf_figure.measure(ecdf)
        text = {"title": "Runtime ECDF over all problems and targets (COCO style)",
                "x_title": ECDF_LABELS[cost],
                "y_title": "share of (problem, target, run) triples reached"}  # fmt: skip
        spec = step_spec(ecdf, cost, "fraction", inputs.styles, text)
        yield "overview", "runtime_ecdf", spec, ("runtime_ecdf",), ecdf_figure.caption(inputs, ecdf)


def caption(name: str, spec: dict[str, Any], about: str = "") -> str:
    """How to use an interactive figure, from its spec, then ``about``: what it shows (the
    static figure's caption)."""
    switches = [what for what, present in (
        ("the x axis", len(spec["x_axes"]) > 1),
        (f"the log {spec['log_axis']} scale", spec["log_axis"] is not None),
        ("the IQR bands", spec["bands"]),
    ) if present]  # fmt: skip
    text = f"{name.replace('_', ' ')} (interactive): {LEGEND_HELP}"
    if switches:
        text += "; above the plot, switch " + ", ".join(switches[:-1])
        text += (" and " if len(switches) > 1 else "") + switches[-1]
    if not about and spec["kind"] == "curves":
        about = (
            "Median and IQR over the seeds that did not diverge, each optimizer at its tuned "
            "configuration; each diverged run is a thin line ending with x where it blew up."
        )
    return f"{text}. {about}".strip()


def figures(inputs) -> Iterator[tuple[str, str, dict[str, Any], tuple[str, ...], str]]:
    """Every interactive figure of a report, with the static figures it replaces in the HTML.

    Parameters
    ----------
    inputs : bench.report.figures.Inputs
        The store's frames and the report's shared choices.

    Yields
    ------
    section : str
        ``overview`` or a problem label.
    name : str
        In ``overview``: ``performance_profile`` and ``runtime_ecdf`` (:func:`step_spec`,
        each replacing its static figure). Per problem: ``convergence`` (training loss;
        replaces ``convergence_step`` and ``convergence_time``) and ``accuracy``
        (classification problems; replaces ``accuracy``). Time is an x axis only where the
        static loss-vs-time figure is drawn (``inputs.timing``).
    spec : dict
        :func:`step_spec` or :func:`curve_spec`.
    replaces : tuple of str
        The names of the static figures of that section it stands for in the HTML.
    caption : str
        :func:`caption`: how to use it, what it draws, and for a curve figure whether time
        is an x axis and why (the timer rule).
    """
    from bench.report.figures.accuracy import accuracy_metric
    from bench.report.labels import labelled

    yield from overview_figures(inputs)
    runs = labelled(inputs.runs)
    for problem in inputs.problems:
        cells = inputs.tuned[inputs.tuned["cell_key"].isin(runs.loc[runs["problem"] == problem,
                                                                      "cell_key"])]  # fmt: skip
        timed, why = inputs.timing[problem]
        mine = inputs.curves[inputs.curves["cell_key"].isin(cells["cell_key"])]
        metric = accuracy_metric(mine)
        for name, shown, replaces in (
            ("convergence", "train_loss", ("convergence_step", "convergence_time")),
            ("accuracy", metric, ("accuracy",)),
        ):
            spec = None if shown is None else curve_spec(
                inputs.runs, inputs.curves, cells, problem, shown, inputs.styles, timed
            )  # fmt: skip
            if spec is not None:
                timing = f"Time is an x axis because {why}." if timed else why
                about = f"{spec.pop('about')} {timing}"
                yield problem, name, spec, replaces, caption(name, spec, about)

"""The interactive figures of ``report.html``: plain, JSON-ready specs, drawn in the page by
plotly.js (:mod:`bench.report.page`). No matplotlib drawing, no plotly import.

A spec holds the same numbers as the static figure it stands for (median and IQR over seeds
from :func:`bench.report.curves.curve_bands`, divergences from
:func:`bench.report.curves.divergence_marks`, styles from :mod:`bench.report.style`) for every
x axis the curves have, so the reader switches the x axis, the y scale and the bands in the
page, hovers for values and clicks a legend entry to hide an optimizer. Each spec names the
static figures it replaces in the HTML; ``report.md`` keeps linking their PNGs.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from bench.report.curves import curve_bands, divergence_marks, spans_decades
from bench.report.labels import METRIC_LABELS, X_LABELS
from bench.report.style import Style, optimizer_order, style
from bench.text import counted

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


def x_axes(curves: pd.DataFrame) -> list[str]:
    """The keys of :data:`X_AXES` this store's curves can be drawn against."""
    return [x for x in X_AXES if x == "step" or (x in curves and curves[x].notna().any())]


def point_x(curves: pd.DataFrame, bands: pd.DataFrame, x: str) -> np.ndarray:
    """The ``x`` of each band row (a cell's logged step): the median over the cell's seeds,
    as :func:`bench.report.curves.curve_bands` takes it."""
    if x == "step":
        return bands["step"].to_numpy(np.float64)
    median = curves.groupby(["cell_key", "step"])[x].median()
    index = pd.MultiIndex.from_arrays([bands["cell_key"], bands["step"]])
    return median.reindex(index).to_numpy(np.float64)


def _series(bands, marks, optimizer, axes, look, ceiling) -> dict[str, Any]:
    """``optimizer``'s lines of a curve figure: median, quartiles, divergences, per x axis
    (``bands`` holds the x of each axis in its ``x_<axis>`` columns)."""
    bands = bands[bands["optimizer"] == optimizer].sort_values("x")
    marks = marks[marks["optimizer"] == optimizer]
    config = bands["label"].iloc[0]
    label = f"{bands['optimizer'].iloc[0]} ({config})" if config else bands["optimizer"].iloc[0]
    q75 = bands["q75"].replace(np.inf, ceiling)
    q25 = bands["q25"].replace(np.inf, ceiling)
    return {
        "name": html.escape(bands["optimizer"].iloc[0]),
        "label": html.escape(label),
        **plotly_style(look),
        "x": {x: finite_list(bands[f"x_{x}"]) for x in axes},
        "y": finite_list(bands["median"]),
        "q25": finite_list(q25),
        "q75": finite_list(q75),
        "seeds": [int(s) for s in bands["seeds"]],
        "diverged": {
            "x": {x: finite_list(marks[x]) for x in axes},
            "y": finite_list(marks["y"]),
        },
    }


def _divergences(curves, runs, cells, metric: str, axes: list[str]) -> pd.DataFrame:
    """:func:`bench.report.curves.divergence_marks` with the x of every axis in a column of
    that axis's name."""
    marks = divergence_marks(curves, runs, cells, metric, "step")
    for x in axes:
        if x != "step":  # one row per diverged run, in the same order whatever the x
            marks[x] = divergence_marks(curves, runs, cells, metric, x)["x"].to_numpy()
    return marks  # its "step" column is the x of the step axis


def _y_ranges(bands: pd.DataFrame, percent: bool) -> dict[str, list[float]]:
    """The y range on each scale, picked as the static figure picks its own: the medians set
    the top, the lowest quartiles (but for a dip of a few points) the bottom; 0 to 100.5 % at
    most for a share."""
    medians = bands["median"].to_numpy(np.float64)
    lows = bands[["median", "q25"]].to_numpy(np.float64).ravel()
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


def curve_spec(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    cells: pd.DataFrame,
    problem: str,
    metric: str,
    table: Mapping[str, Style],
) -> dict[str, Any] | None:
    """``metric`` against every x axis the curves have on ``problem``: median and IQR over
    seeds per optimizer at its tuned cell, with divergence crosses.

    Parameters
    ----------
    runs, curves
        The frames of ``bench.store.store.load``; ``cells``: those to draw
        (``bench.analysis.tuned``), restricted to ``problem``.
    metric
        A curve column: a ``*_loss`` may switch to a log axis, an accuracy is drawn in %.

    Returns
    -------
    dict or None
        JSON-ready: ``kind`` (``"curves"``), ``title``, ``x_axes`` ({key: axis title}),
        ``y_title``, ``log_axis`` and ``log`` (:func:`_log_switch`), ``percent``, ``bands``,
        ``ranges`` ({"y": :func:`_y_ranges`}) and ``series`` (per optimizer in the report's
        order: ``name``, ``label``, :func:`plotly_style`, ``x`` per axis, ``y`` (the median),
        ``q25``, ``q75``, ``seeds``, ``diverged``). None when nothing was logged.
    """
    # Only the runs of this problem's registry name (its labels stay those of the whole store)
    names = runs.loc[runs["cell_key"].isin(cells["cell_key"]), "problem"]
    runs = runs[runs["problem"].isin(names)]
    curves = curves[curves["cell_key"].isin(cells["cell_key"])]
    bands = curve_bands(curves, runs, cells, metric, "step")
    bands = bands[bands["problem"] == problem]
    if bands.empty:
        return None
    axes = x_axes(curves)
    bands = bands.assign(**{f"x_{x}": point_x(curves, bands, x) for x in axes})
    marks = _divergences(curves, runs, cells, metric, axes)
    marks = marks[marks["problem"] == problem]
    percent = metric.endswith("accuracy")
    ranges = _y_ranges(bands, percent)
    top = max(ranges["log"][1], ranges["linear"][1])  # an inf quartile: past either top
    ceiling = top * OFF_SCALE + OFF_SCALE * abs(top - ranges["linear"][0])
    series = [
        _series(bands, marks, optimizer, axes, style(optimizer, table), ceiling)
        for optimizer in optimizer_order(bands["optimizer"])
    ]
    name, seeds = METRIC_LABELS.get(metric, metric), counted(int(bands["seeds"].max()), "seed")
    return {
        "kind": "curves",
        "title": html.escape(f"{problem}: {name}, median and IQR over {seeds}"),
        "x_axes": {x: X_AXES[x] for x in axes},
        "y_title": html.escape(name),
        **_log_switch(bands, percent),
        "percent": percent,
        "bands": True,
        "ranges": {"y": ranges},
        "series": series,
    }


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


def overview_figures(inputs) -> Iterator[tuple[str, str, dict[str, Any], tuple[str, ...]]]:
    """The performance profile and the runtime ECDF, where some target was reached."""
    from bench.report.figures.ecdf import ecdf_data, measure
    from bench.report.figures.profile import profile_data
    from bench.report.labels import ECDF_LABELS

    profile = profile_data(inputs.profile)
    if not profile.empty:
        text = {"title": "Performance profile (Dolan–Moré) over all problems and targets",
                "x_title": "τ: steps-to-target as a multiple of the best optimizer's",
                "y_title": "share of (problem, target) pairs reached within τ × best"}  # fmt: skip
        spec = step_spec(profile, "tau", "rho", inputs.styles, text)
        yield "overview", "performance_profile", spec, ("performance_profile",)
    ecdf = ecdf_data(inputs.ecdf)
    if not ecdf.empty:
        cost = measure(ecdf)
        text = {"title": "Runtime ECDF over all problems and targets (COCO style)",
                "x_title": ECDF_LABELS[cost],
                "y_title": "share of (problem, target, run) triples reached"}  # fmt: skip
        spec = step_spec(ecdf, cost, "fraction", inputs.styles, text)
        yield "overview", "runtime_ecdf", spec, ("runtime_ecdf",)


def caption(name: str, spec: dict[str, Any]) -> str:
    """What an interactive figure shows and how to use it, from its spec."""
    switches = [what for what, present in (
        ("the x axis", len(spec["x_axes"]) > 1),
        (f"the log {spec['log_axis']} scale", spec["log_axis"] is not None),
        ("the IQR bands", spec["bands"]),
    ) if present]  # fmt: skip
    text = f"{name.replace('_', ' ')} (interactive): {LEGEND_HELP}"
    if switches:
        text += "; above the plot, switch " + ", ".join(switches[:-1])
        text += (" and " if len(switches) > 1 else "") + switches[-1]
    if spec["kind"] == "curves":
        text += (
            ". Median and IQR over seeds, each optimizer at its tuned configuration; an x marks "
            "where a run diverged (its last finite value)"
        )
    return text + "."


def figures(inputs) -> Iterator[tuple[str, str, dict[str, Any], tuple[str, ...]]]:
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
        (classification problems; replaces ``accuracy``).
    spec : dict
        :func:`step_spec` or :func:`curve_spec`.
    replaces : tuple of str
        The names of the static figures of that section it stands for in the HTML.
    """
    from bench.report.figures.accuracy import accuracy_metric
    from bench.report.labels import labelled

    yield from overview_figures(inputs)
    runs = labelled(inputs.runs)
    for problem in inputs.problems:
        cells = inputs.tuned[inputs.tuned["cell_key"].isin(runs.loc[runs["problem"] == problem,
                                                                      "cell_key"])]  # fmt: skip
        spec = curve_spec(inputs.runs, inputs.curves, cells, problem, "train_loss", inputs.styles)
        if spec is not None:
            yield problem, "convergence", spec, ("convergence_step", "convergence_time")
        mine = inputs.curves[inputs.curves["cell_key"].isin(cells["cell_key"])]
        metric = accuracy_metric(mine)
        if metric is not None:
            spec = curve_spec(inputs.runs, inputs.curves, cells, problem, metric, inputs.styles)
            if spec is not None:
                yield problem, "accuracy", spec, ("accuracy",)

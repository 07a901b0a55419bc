"""Convergence: median training loss and its IQR band against step or optimization time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bench.report.curves import Cells, as_cells, curve_bands, divergence_marks, spans_decades
from bench.report.labels import LOG_SUFFIX, METRIC_LABELS, X_LABELS, literal
from bench.report.style import DIVERGED_MARKER, Style, optimizer_order, style, styles
from bench.text import counted

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bench.report.figures.inputs import Inputs

CURVE_TRIM = 0.005  # share of the lowest curve values a convergence y axis may leave out


def convergence_data(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    cells: Cells,
    x: str = "step",
    metric: str = "train_loss",
) -> dict[str, Any]:
    """The data of the convergence figures: median and IQR per step, divergences, log-y choice.

    Parameters
    ----------
    runs, curves
        The frames of ``bench.store.store.load``.
    cells
        The cells to draw, usually each optimizer's tuned cell (``bench.analysis.tuned``).
    x
        ``"step"``, ``"epoch"`` or ``"time"`` (cumulative optimization seconds).
    metric
        The curve column on the y axis.

    Returns
    -------
    dict
        ``bands`` (:func:`bench.report.curves.curve_bands`), ``divergences``
        (:func:`bench.report.curves.divergence_marks`), ``log_y`` (problem -> whether its
        finite positive medians and quartiles span two decades or more), ``x`` and ``metric``.
    """
    cells = as_cells(cells)
    bands = curve_bands(curves, runs, cells, metric, x)
    marks = divergence_marks(curves, runs, cells, metric, x)
    log_y = {
        problem: spans_decades(np.concatenate([g["median"], g["q25"], g["q75"]]))
        and not metric.endswith("accuracy")
        for problem, g in bands.groupby("problem", sort=True)
    }
    return {"bands": bands, "divergences": marks, "log_y": log_y, "x": x, "metric": metric}


def _draw_optimizer(ax: Axes, mine: pd.DataFrame, marks: pd.DataFrame, look: Style, y: tuple):
    """One optimizer's median line, IQR band and divergence crosses; returns the line."""
    from bench.report import canvas

    hi, beyond = y
    xs = mine["x"].to_numpy(float)
    line = ax.plot(
        xs,
        mine["median"].replace(np.inf, np.nan),
        **look.kwargs(),
        linewidth=1.6,
        markersize=5,
        markevery=canvas.markevery(look.position, len(xs)),
    )[0]
    ax.fill_between(
        xs,
        mine["q25"].replace(np.inf, beyond),
        mine["q75"].replace(np.inf, beyond),
        color=look.color,
        alpha=0.18,
        linewidth=0,
    )
    if not marks.empty:
        ax.plot(
            marks["x"],
            # Off the scale (or diverged before any finite value): at the top edge.
            marks["y"].fillna(hi).clip(upper=hi),
            linestyle="none",
            marker=DIVERGED_MARKER,
            markersize=8,
            mew=2,
            color=look.color,
            clip_on=False,
        )
    return line


def draw_bands(
    bands: pd.DataFrame,
    marks: pd.DataFrame,
    *,
    log_y: bool,
    x: str,
    ylabel: str,
    title: str,
    table: Mapping[str, Style] | None = None,
) -> Figure:
    """Median lines and IQR bands of ``bands``, one per optimizer, with divergence crosses."""
    from bench.report import canvas

    fig = canvas.new_figure(5.4)
    ax = fig.add_subplot()
    # The medians set the top (a blown-up quartile may leave it); the quartiles may lower the
    # bottom, but not for a dip of a few points.
    values = bands[["median", "q25"]].to_numpy(float).ravel()
    lo, _ = canvas.limits(values, log_y, trim=CURVE_TRIM)
    _, hi = canvas.limits(bands["median"].to_numpy(float), log_y)
    beyond = hi * 1e3 if log_y else hi + 1e3 * (hi - lo)  # an inf quartile fills to the edge
    table = table if table is not None else styles(bands["optimizer"])
    handles, labels = [], []
    for optimizer in optimizer_order(bands["optimizer"]):
        mine = bands[bands["optimizer"] == optimizer].sort_values("x")
        mine_marks = marks[marks["optimizer"] == optimizer]
        look = style(optimizer, table)
        handles.append(_draw_optimizer(ax, mine, mine_marks, look, (hi, beyond)))
        config = mine["label"].iloc[0]
        labels.append(f"{optimizer} ({config})" if config else optimizer)
    if not marks.empty:
        handles.append(canvas.diverged_handle())
        labels.append("run diverged here (last finite value)")
    if log_y:
        ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    ax.set_xlabel(literal(X_LABELS[x]))
    ax.set_ylabel(literal(ylabel + (LOG_SUFFIX if log_y else "")))
    ax.set_title(literal(title), fontsize="medium")
    ax.grid(True, which="major", alpha=0.3)
    canvas.legend_below(fig, handles, labels)
    return fig


def draw(data: dict[str, Any], problem: str, table: Mapping[str, Style] | None = None) -> Figure:
    """Median training loss and its IQR band against step (or time), one line per optimizer.

    Parameters
    ----------
    data
        :func:`convergence_data`.
    problem
        The problem label to draw.
    table
        The report's styles (:func:`bench.report.style.styles`); default: those of the
        optimizers drawn.
    """
    bands = data["bands"][data["bands"]["problem"] == problem]
    marks = data["divergences"][data["divergences"]["problem"] == problem]
    seeds = int(bands["seeds"].max()) if not bands.empty else 0
    metric = METRIC_LABELS.get(data["metric"], data["metric"])
    against = "optimization time" if data["x"] == "time" else data["x"]
    return draw_bands(
        bands,
        marks,
        log_y=data["log_y"].get(problem, False),
        x=data["x"],
        ylabel=metric,
        title=f"{problem}: {metric} vs {against}\nmedian and IQR over {counted(seeds, 'seed')}, "
        "each optimizer at its tuned configuration",
        table=table,
    )


def figures(inputs: Inputs) -> Iterator[tuple[str, str, Figure]]:
    """Per problem: ``convergence_step`` and ``convergence_time``."""
    by_step = convergence_data(inputs.runs, inputs.curves, inputs.tuned, x="step")
    by_time = convergence_data(inputs.runs, inputs.curves, inputs.tuned, x="time")
    for problem in inputs.problems:
        yield problem, "convergence_step", draw(by_step, problem, inputs.styles)
        yield problem, "convergence_time", draw(by_time, problem, inputs.styles)

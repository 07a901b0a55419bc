"""Convergence: median training loss and its IQR band against step or optimization time.

The loss-vs-time figure of a problem is drawn only where its steps are long enough to time
(:mod:`bench.report.figures.timer`); elsewhere a one-line note says why it is left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bench.report.curves import (
    Cells,
    as_cells,
    curve_bands,
    diverged_paths,
    divergence_marks,
    spans_decades,
)
from bench.report.figures import bands as band_figure
from bench.report.labels import METRIC_LABELS
from bench.report.style import Style

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bench.report.figures.inputs import Inputs


# What the x of a loss-vs-time figure is, for its caption.
TIME_AXIS = (
    "x: cumulative time of the update steps, median over seeds; the seeds of a configuration "
    "(with the configurations that differ from it only in continuous hyperparameters, schedule "
    "or initializer) run as one array program, so it is that program's time."
)


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
        ``bands`` (:func:`bench.report.curves.curve_bands`, over the runs that did not
        diverge), ``divergences`` (:func:`bench.report.curves.divergence_marks`), ``paths``
        (:func:`bench.report.curves.diverged_paths`), ``log_y`` (problem -> whether its
        finite positive medians and quartiles span two decades or more), ``x`` and ``metric``.
    """
    cells = as_cells(cells)
    bands = curve_bands(curves, runs, cells, metric, x)
    marks = divergence_marks(curves, runs, cells, metric, x)
    paths = diverged_paths(curves, runs, cells, metric, x)
    log_y = {
        problem: spans_decades(np.concatenate([g["median"], g["q25"], g["q75"]]))
        and not metric.endswith("accuracy")
        for problem, g in bands.groupby("problem", sort=True)
    }
    return {"bands": bands, "divergences": marks, "paths": paths, "log_y": log_y, "x": x,
            "metric": metric}  # fmt: skip


def problem_data(data: dict[str, Any], problem: str) -> dict[str, pd.DataFrame]:
    """The ``bands``, ``marks`` and ``paths`` of one problem of ``data``."""
    return {
        name: data[key][data[key]["problem"] == problem]
        for name, key in (("bands", "bands"), ("marks", "divergences"), ("paths", "paths"))
    }


def seeds_drawn(mine: Mapping[str, pd.DataFrame]) -> int:
    """The most seeds of a configuration drawn: in its band, plus its diverged runs."""
    bands, marks = mine["bands"], mine["marks"]
    counts = bands.groupby("cell_key")["seeds"].max() if not bands.empty else pd.Series()
    diverged = marks.groupby("cell_key").size()
    total = counts.add(diverged, fill_value=0)
    return int(total.max()) if len(total) else 0


def draw(
    data: dict[str, Any],
    problem: str,
    table: Mapping[str, Style] | None = None,
    note: str = "",
) -> Figure:
    """Median training loss and its IQR band against step (or time), one line per optimizer,
    diverged runs apart, small multiples for many optimizers
    (:func:`bench.report.figures.bands.draw_bands`).

    Parameters
    ----------
    data
        :func:`convergence_data`.
    problem
        The problem label to draw.
    table
        The report's styles (:func:`bench.report.style.styles`); default: those of the
        optimizers drawn.
    note
        A sentence added to the caption (the time rule, on a time axis).
    """
    mine = problem_data(data, problem)
    metric = METRIC_LABELS.get(data["metric"], data["metric"])
    against = "optimization time" if data["x"] == "time" else data["x"]
    text = band_figure.caption(mine["bands"], mine["marks"], metric=metric,
                               higher_is_better=False, runs=seeds_drawn(mine))  # fmt: skip
    if data["x"] == "time":
        text += " " + TIME_AXIS
    return band_figure.draw_bands(
        mine,
        log_y=data["log_y"].get(problem, False),
        x=data["x"],
        ylabel=metric,
        title=f"{problem}: {metric} vs {against}, each optimizer at its tuned configuration",
        figure_caption=f"{text} {note}".strip(),
        table=table,
    )


def figures(inputs: Inputs) -> Iterator[tuple[str, str, Figure | str]]:
    """Per problem: ``convergence_step``, and ``convergence_time`` where steps are long enough
    to time (:mod:`bench.report.figures.timer`), else a note (a str) in its place."""
    by_step = convergence_data(inputs.runs, inputs.curves, inputs.tuned, x="step")
    by_time = convergence_data(inputs.runs, inputs.curves, inputs.tuned, x="time")
    for problem in inputs.problems:
        yield problem, "convergence_step", draw(by_step, problem, inputs.styles)
        timed, why = inputs.timing[problem]
        if timed:
            note = f"Shown because {why}."
            yield problem, "convergence_time", draw(by_time, problem, inputs.styles, note)
        else:
            yield problem, "convergence_time", why

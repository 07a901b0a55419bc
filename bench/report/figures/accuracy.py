"""Accuracy on the classification problems: median and IQR band against step."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from bench.report.curves import Cells, as_cells, curve_bands, diverged_paths, divergence_marks, keys
from bench.report.figures import bands as band_figure
from bench.report.figures.convergence import problem_data, seeds_drawn
from bench.report.labels import METRIC_LABELS, labelled
from bench.report.style import Style

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bench.report.figures.inputs import Inputs

ACCURACY_METRICS = ("test_accuracy", "train_accuracy")  # in order of preference


def accuracy_metric(curves: pd.DataFrame) -> str | None:
    """``test_accuracy`` when the curves have any, else ``train_accuracy``, else None."""
    for metric in ACCURACY_METRICS:
        if metric in curves and curves[metric].notna().any():
            return metric
    return None


def accuracy_data(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    cells: Cells,
    x: str = "step",
) -> dict[str, Any]:
    """The data of the accuracy figures: like
    :func:`bench.report.figures.convergence.convergence_data` for the classification problems
    among ``cells``, on ``test_accuracy`` (``train_accuracy`` where a problem has no test set).
    Diverged runs are left out of the bands and drawn as their own paths.

    Returns
    -------
    dict
        ``bands``, ``divergences`` and ``paths`` of every classification problem, ``metric``
        (problem -> the accuracy it shows) and ``x``.
    """
    cells = as_cells(cells)
    chosen = set(keys(cells))
    parts, marks, paths, metrics = [], [], [], {}
    for problem, group in labelled(runs)[runs["cell_key"].isin(chosen)].groupby("problem"):
        metric = accuracy_metric(curves[curves["cell_key"].isin(group["cell_key"])])
        if metric is None:
            continue
        metrics[problem] = metric
        cell_keys = group["cell_key"].unique()
        if isinstance(cells, pd.DataFrame):  # keep its configuration labels
            cell_keys = cells[cells["cell_key"].isin(cell_keys)]
        parts.append(curve_bands(curves, runs, cell_keys, metric, x).assign(metric=metric))
        marks.append(divergence_marks(curves, runs, cell_keys, metric, x))
        paths.append(diverged_paths(curves, runs, cell_keys, metric, x))
    if not parts:
        parts = [curve_bands(curves, runs, [], "test_accuracy", x)]
        marks = [divergence_marks(curves, runs, [])]
        paths = [diverged_paths(curves, runs, [])]
    return {
        "bands": pd.concat(parts, ignore_index=True),
        "divergences": pd.concat(marks, ignore_index=True),
        "paths": pd.concat(paths, ignore_index=True),
        "metric": metrics,
        "x": x,
    }


def draw(data: dict[str, Any], problem: str, table: Mapping[str, Style] | None = None) -> Figure:
    """Median accuracy and its IQR band against step or epoch, one line per optimizer.

    Parameters
    ----------
    data
        :func:`accuracy_data`.
    problem
        The problem label to draw (one of ``data["metric"]``).
    table
        The report's styles; default: those of the optimizers drawn.
    """
    from matplotlib.ticker import PercentFormatter

    mine = problem_data(data, problem)
    metric = METRIC_LABELS[data["metric"][problem]]
    text = band_figure.caption(mine["bands"], mine["marks"], metric=metric,
                               higher_is_better=True, runs=seeds_drawn(mine))  # fmt: skip
    fig = band_figure.draw_bands(
        mine,
        log_y=False,
        x=data["x"],
        ylabel=metric,
        title=f"{problem}: {metric} vs {data['x']}, each optimizer at its tuned configuration",
        figure_caption=text,
        higher_is_better=True,
        table=table,
    )
    for ax in fig.axes:
        if ax.get_visible():
            low, _ = ax.get_ylim()
            ax.set_ylim(max(low, 0.0), 1.005)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    return fig


def figures(inputs: Inputs) -> Iterator[tuple[str, str, Figure]]:
    """Per classification problem: ``accuracy``."""
    data = accuracy_data(inputs.runs, inputs.curves, inputs.tuned, x="step")
    for problem in inputs.problems:
        if problem in data["metric"]:
            yield problem, "accuracy", draw(data, problem, inputs.styles)

"""Robustness heatmaps: optimizer x clipping strategy (or initializer), median final loss."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bench.grid.axes import axes
from bench.report.labels import LOG_SUFFIX, axis_title, literal, with_labels
from bench.report.style import Style, optimizer_order

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap, Normalize
    from matplotlib.figure import Figure

    from bench.report.figures.inputs import Inputs

DEFAULTS = ("none", "default")  # the value a heatmap shows first


def robustness_data(robustness: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The data of the robustness heatmaps: per problem, optimizer x axis-value matrices.

    Parameters
    ----------
    robustness
        ``bench.analysis.robustness(runs, axis)``: one row per (problem, optimizer, value) with
        ``median`` (final loss, ``inf`` when most runs diverged), ``divergence`` (share) and
        ``n_seeds``.

    Returns
    -------
    dict
        Problem label -> ``{"axis", "rows" (optimizers), "columns" (values, the default
        first), "median", "divergence", "n_seeds"}``, the last three arrays of shape
        ``(len(rows), len(columns))`` with NaN where the grid has no such cell.
    """
    frame = with_labels(robustness)
    result = {}
    for problem, table in frame.groupby("problem", sort=True):
        rows = optimizer_order(table["optimizer"])
        columns = sorted(set(table["value"]), key=lambda v: (v not in DEFAULTS, v))

        def matrix(column: str, table: pd.DataFrame = table, rows=rows, columns=columns):
            wide = table.pivot_table(index="optimizer", columns="value", values=column,
                                     aggfunc="first", dropna=False)  # fmt: skip
            return wide.reindex(index=rows, columns=columns).to_numpy(dtype=np.float64)

        result[problem] = {
            "axis": table["axis"].iloc[0] if "axis" in table else None,
            "rows": rows,
            "columns": columns,
            "median": matrix("median"),
            "divergence": matrix("divergence"),
            "n_seeds": matrix("n_seeds"),
        }
    return result


def cell_text(value: float, share: float, rgba: tuple | None) -> tuple[str, str]:
    """The text written in a heatmap cell and its colour (readable on ``rgba``, the cell's)."""
    if np.isnan(value):
        return ("not run" if np.isnan(share) else "errors"), "0.3"
    if np.isinf(value):
        return f"diverged\n{share:.0%} div.", "black"
    r, g, b, _ = rgba
    color = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
    return f"{value:.2g}\n{share:.0%} div.", color


def _norm(values: np.ndarray) -> Normalize:
    """A log colour scale for positive losses of more than one value, else a linear one."""
    from matplotlib.colors import LogNorm, Normalize

    finite = values[np.isfinite(values)]
    if finite.size and np.all(finite > 0) and finite.min() < finite.max():
        return LogNorm(finite.min(), finite.max())
    return Normalize(*(finite.min(), finite.max()) if finite.size else (0, 1))


def _write_cells(ax: Axes, d: dict[str, Any], cmap: Colormap, norm: Normalize) -> None:
    values, share = d["median"], d["divergence"]
    for i in range(len(d["rows"])):
        for j in range(len(d["columns"])):
            v = values[i, j]
            rgba = cmap(norm(v)) if np.isfinite(v) else None
            text, color = cell_text(v, share[i, j], rgba)
            ax.text(j, i, text, ha="center", va="center", fontsize="x-small", color=color)


def _colorbar(fig: Figure, ax: Axes, image, norm: Normalize) -> None:
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    log = LOG_SUFFIX if isinstance(norm, LogNorm) else ""
    bar.set_label(f"median final training loss{log}")
    if log:  # ticks at 1, 2 and 5 times the powers of ten, written plainly
        bar.ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.2g}"))
        bar.ax.yaxis.set_minor_formatter(NullFormatter())


def draw(
    data: dict[str, dict[str, Any]], problem: str, table: Mapping[str, Style] | None = None
) -> Figure:
    """Optimizer x axis value: colour is the median final loss (log scale), the text its value
    and the share of runs that diverged.

    Parameters
    ----------
    data
        :func:`robustness_data`.
    problem
        The problem label to draw.
    table
        Unused (a heatmap has no per-optimizer style); accepted like every figure's ``draw``.
    """
    from matplotlib import colormaps

    from bench.report import canvas

    d = data[problem]
    rows, columns = d["rows"], d["columns"]
    axis = axis_title(d["axis"])
    norm = _norm(d["median"])
    cmap = colormaps["viridis"].with_extremes(bad="0.85")
    fig = canvas.new_figure(1.7 + 0.42 * len(rows))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(d["median"]), cmap=cmap, norm=norm, aspect="auto")
    _write_cells(ax, d, cmap, norm)
    ax.set_xticks(range(len(columns)), [literal(c) for c in columns])
    ax.set_yticks(range(len(rows)), [literal(r) for r in rows])
    ax.set_xlabel(literal(axis))
    ax.set_ylabel("optimizer")
    ax.set_title(
        literal(
            f"{problem}: median final training loss by {axis}\n"
            "and the share of diverged runs; everything else as tuned"
        ),
        fontsize="medium",
    )
    _colorbar(fig, ax, image, norm)
    canvas.fit_tick_labels(ax, "x")
    canvas.fit_tick_labels(ax, "y")
    two_lines = fit_cell_texts(ax)
    fig.caption = (
        f"{problem}: colour and number, the median final training loss over seeds of each "
        f"optimizer with each {axis}, everything else as tuned ('diverged' when most runs "
        "did); "
        + ("below it, the share of its runs that diverged" if two_lines else
           "the share of diverged runs is left out: the cells are too small for a second line")
        + ". Grey: not run, or only errors."
    )  # fmt: skip
    return fig


def fit_cell_texts(ax: Axes) -> bool:
    """Shrink the cell texts so that each fits inside its cell (measured on the laid-out
    figure); where even the smallest font does not fit, keep only their first line (the
    median). Returns whether the texts kept both lines."""
    from bench.report import canvas

    if not ax.texts:
        return True
    corner = ax.transData.transform([(0, 0), (1, 1)])
    width, height = abs(corner[1] - corner[0])
    boxes = canvas.text_boxes(ax.texts)
    size = ax.texts[0].get_fontsize()
    scale = min(width / max(b.width for b in boxes), height / max(b.height for b in boxes))
    fitted = min(size, size * 0.9 * scale)
    for text in ax.texts:
        text.set_fontsize(max(canvas.SMALLEST_FONT, fitted))
    if fitted >= canvas.SMALLEST_FONT:
        return True
    for text in ax.texts:
        text.set_text(text.get_text().split("\n")[0])
    return False


def figures(inputs: Inputs) -> Iterator[tuple[str, str, Figure]]:
    """In ``robustness``: ``<axis>_<problem>`` for every robustness axis (clipping,
    initializer) where the problem ran two values or more."""
    from bench import analysis

    for axis in (entry.column for entry in axes() if entry.robustness):
        frame = analysis.robustness(inputs.stats, axis, criterion=inputs.criterion)
        heatmaps = robustness_data(frame)
        for problem, heatmap in heatmaps.items():
            if len(heatmap["columns"]) > 1:
                yield "robustness", f"{axis}_{problem}", draw(heatmaps, problem)

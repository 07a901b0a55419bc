"""Learning-rate sensitivity (DeepOBS style): final loss against lr, a dot per seed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bench.report.curves import quantiles, spans_decades
from bench.report.labels import LOG_SUFFIX, literal, with_labels
from bench.report.style import DIVERGED_MARKER, Style, optimizer_order, style, styles

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bench.report.figures.inputs import Inputs


def sensitivity_data(sensitivity: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The data of the learning-rate sensitivity figure.

    Parameters
    ----------
    sensitivity
        ``bench.analysis.lr_sensitivity(runs)``: one row per non-error run of the cells that
        differ from an optimizer's tuned cell only in lr, with ``problem``, ``problem_params``,
        ``optimizer``, ``lr``, ``seed``, ``status`` and ``loss`` (``inf`` when diverged).

    Returns
    -------
    dict
        ``points``: one row per run with ``problem`` (label), ``optimizer``, ``lr``, ``seed``,
        ``loss`` and ``diverged``; ``lines``: per (problem, optimizer, lr) the ``median`` loss
        (``inf`` when most runs diverged), ``runs`` and ``diverged_share``. Both sorted by
        problem, optimizer and lr.
    """
    frame = with_labels(sensitivity)
    frame = frame[frame["lr"].notna() & frame["loss"].notna()]
    points = pd.DataFrame(
        {
            "problem": frame["problem"],
            "optimizer": frame["optimizer"],
            "lr": frame["lr"].astype("float64"),
            "seed": frame["seed"],
            "loss": frame["loss"].astype("float64"),
            "diverged": (frame["status"] == "diverged") | np.isposinf(frame["loss"]),
        }
    ).sort_values(["problem", "optimizer", "lr", "seed"], ignore_index=True)
    grouped = points.groupby(["problem", "optimizer", "lr"], sort=True)
    lines = grouped.agg(runs=("loss", "size"), diverged_share=("diverged", "mean"))
    lines.insert(0, "median", grouped["loss"].agg(lambda s: quantiles(s.to_numpy(), [0.5])[0]))
    return {"points": points, "lines": lines.reset_index()}


def _draw_optimizer(ax: Axes, mine: pd.DataFrame, median: pd.DataFrame, look: Style, shift, edge):
    """One optimizer's dots (crosses at ``edge`` where diverged) and median line."""
    ok = ~mine["diverged"]
    ax.plot(
        mine.loc[ok, "lr"] * shift,
        mine.loc[ok, "loss"],
        linestyle="none",
        marker="o",
        markersize=3.5,
        alpha=0.45,
        color=look.color,
    )
    ax.plot(
        mine.loc[~ok, "lr"] * shift,
        np.full(int((~ok).sum()), edge),
        linestyle="none",
        marker=DIVERGED_MARKER,
        markersize=7,
        mew=1.8,
        color=look.color,
    )
    return ax.plot(
        median["lr"] * shift,
        median["median"].replace(np.inf, edge),
        **look.kwargs(),
        linewidth=1.6,
        markersize=6,
    )[0]


def _diverged_band(ax: Axes, hi: float, lo: float, log_y: bool) -> tuple[float, float]:
    """Shade the band above the finite losses where diverged runs sit; returns its middle
    (where they are drawn) and the top of the axis."""
    if log_y:
        edge, top = hi * 10**0.5, hi * 10**0.9
    else:
        edge, top = hi + 0.12 * (hi - lo), hi + 0.22 * (hi - lo)
    ax.axhspan(hi if not log_y else hi * 10**0.25, top, color="0.92", zorder=0)
    ax.text(0.005, edge, " diverged", transform=ax.get_yaxis_transform(), va="center",
            fontsize="small", color="0.3")  # fmt: skip
    return edge, top


def draw(data: dict[str, pd.DataFrame], problem: str, table: Mapping[str, Style] | None = None):
    """Final loss against learning rate: a dot per seed, the median as a line per optimizer.

    Diverged runs are drawn as ``x`` in the shaded band at the top edge. Both axes are
    logarithmic (the y axis only if the losses span two decades).

    Parameters
    ----------
    data
        :func:`sensitivity_data`.
    problem
        The problem label to draw.
    table
        The report's styles; default: those of the optimizers drawn.
    """
    from bench.report import canvas

    points = data["points"][data["points"]["problem"] == problem]
    lines = data["lines"][data["lines"]["problem"] == problem]
    finite = points["loss"].to_numpy(float)
    log_y = spans_decades(finite)
    lo, hi = canvas.limits(finite, log_y)
    fig = canvas.new_figure(5.4)
    ax = fig.add_subplot()
    edge, top = _diverged_band(ax, hi, lo, log_y)
    names = optimizer_order(points["optimizer"])
    table = table if table is not None else styles(names)
    handles = []
    for k, optimizer in enumerate(names):
        # Spread optimizers slightly along lr so dots at the same lr do not hide each other.
        shift = 10 ** (0.015 * (k - (len(names) - 1) / 2))
        mine = points[points["optimizer"] == optimizer]
        median = lines[lines["optimizer"] == optimizer]
        look = style(optimizer, table)
        handles.append(_draw_optimizer(ax, mine, median, look, shift, edge))
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_ylim(lo, top)
    ax.set_xlabel("learning rate" + LOG_SUFFIX)
    ax.set_ylabel("final training loss" + (LOG_SUFFIX if log_y else ""))
    seeds = int(lines["runs"].max()) if not lines.empty else 0
    ax.set_title(
        literal(
            f"{problem}: final training loss vs learning rate\na dot per seed ({seeds} per "
            "lr), a line through the medians"
        ),
        fontsize="medium",
    )
    ax.grid(True, which="major", alpha=0.3)
    labels = [*names, "diverged run"]
    canvas.legend_below(fig, [*handles, canvas.diverged_handle()], labels, columns=5)
    return fig


def figures(inputs: Inputs) -> Iterator[tuple[str, str, Figure]]:
    """Per problem where some optimizer ran several learning rates: ``lr_sensitivity``."""
    from bench import analysis

    data = sensitivity_data(analysis.lr_sensitivity(inputs.runs, inputs.criterion))
    for problem in inputs.problems:
        lines = data["lines"][data["lines"]["problem"] == problem]
        if not lines.empty and lines.groupby("optimizer")["lr"].nunique().max() > 1:
            fig = draw(data, problem, inputs.styles)
            tried = "; ".join(
                f"{name} {', '.join(f'{lr:g}' for lr in mine['lr'])}"
                for name, mine in lines.groupby("optimizer", sort=True)
            )
            fig.caption = (
                "Final training loss against learning rate: a dot per seed, a line through the "
                "median over seeds at each lr, diverged runs as x in the shaded band at the "
                "top. Every other setting as each optimizer's tuned configuration; the lrs "
                f"run: {tried}."
            )
            yield problem, "lr_sensitivity", fig

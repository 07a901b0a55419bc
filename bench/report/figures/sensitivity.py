"""Learning-rate sensitivity (DeepOBS style): final loss against lr, a dot per seed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bench.report.curves import quantiles, spans_decades
from bench.report.labels import LOG_SUFFIX, literal, with_labels
from bench.report.style import DIVERGED_MARKER, Style, panels, style, styles

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


def ranked(lines: pd.DataFrame) -> list[str]:
    """The optimizers of ``lines``, the lowest best median over its lrs first (those with no
    finite median last, by name)."""
    best = lines.groupby("optimizer")["median"].min()
    finite = best[np.isfinite(best)].reset_index().sort_values(["median", "optimizer"])
    return list(finite["optimizer"]) + sorted(set(lines["optimizer"]) - set(finite["optimizer"]))


def draw(data: dict[str, pd.DataFrame], problem: str, table: Mapping[str, Style] | None = None):
    """Final loss against learning rate: a dot per seed, the median as a line per optimizer;
    small multiples past :data:`bench.report.style.MAX_PER_PANEL` optimizers (ranked by their
    best median).

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
    names = ranked(lines)
    groups = panels(names)
    fig = canvas.new_figure(canvas.panels_height(len(groups), 5.4))
    table = table if table is not None else styles(names)
    handles = {}
    for k, (ax, group) in enumerate(zip(canvas.panel_grid(fig, len(groups)), groups, strict=True)):
        edge, top = _diverged_band(ax, hi, lo, log_y)
        for j, optimizer in enumerate(group):
            # Spread optimizers slightly along lr so dots at the same lr do not hide each other.
            shift = 10 ** (0.015 * (j - (len(group) - 1) / 2))
            mine = points[points["optimizer"] == optimizer]
            median = lines[lines["optimizer"] == optimizer]
            look = style(optimizer, table)
            handles[optimizer] = _draw_optimizer(ax, mine, median, look, shift, edge)
        _decorate(ax, log_y, (lo, top), outer=(k % 2 == 0, k >= len(groups) - 2))
        if len(groups) > 1:
            first = sum(map(len, groups[:k])) + 1
            ax.set_title(f"ranks {first}–{first + len(group) - 1}", fontsize="small")
    seeds = int(lines["runs"].max()) if not lines.empty else 0
    fig.suptitle(
        literal(f"{problem}: final training loss vs learning rate\na dot per seed ({seeds} per "
                "lr), a line through the medians"),
        fontsize="medium",
    )  # fmt: skip
    canvas.legend_below(fig, [*handles.values(), canvas.diverged_handle()],
                        [*handles, "diverged run"], columns=5)  # fmt: skip
    return fig


def _decorate(ax: Axes, log_y: bool, y: tuple[float, float], outer: tuple[bool, bool]) -> None:
    """Scales, limits, grid, and the axis labels on the outer panels only."""
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_ylim(*y)
    ax.grid(True, which="major", alpha=0.3)
    left, bottom = outer
    if bottom:
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.set_xlabel("learning rate" + LOG_SUFFIX)
    if left:
        ax.set_ylabel("final training loss" + (LOG_SUFFIX if log_y else ""))


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

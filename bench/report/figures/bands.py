"""Median lines and IQR bands over seeds, shared by the convergence and accuracy figures.

Diverged runs are drawn apart from the bands (:mod:`bench.report.curves`): a thin line each, in
the optimizer's colour, ending with an ``x`` where it blew up. More optimizers than
:data:`bench.report.style.MAX_PER_PANEL` become small multiples: panels of optimizers ranked by
their final median, the best of all repeated in grey in the other panels as a reference. The
plot data (ranking, panels, caption) needs no matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bench.report.labels import LOG_SUFFIX, X_LABELS, literal
from bench.report.style import DIVERGED_MARKER, Style, panels, style, styles
from bench.text import counted

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CURVE_TRIM = 0.005  # share of the lowest curve values a convergence y axis may leave out
REFERENCE_COLOR = "0.45"  # the best optimizer, repeated in the other panels


def ranked_optimizers(bands: pd.DataFrame, marks: pd.DataFrame, higher_is_better: bool) -> list:
    """The optimizers of ``bands`` and ``marks``, best final median first (the median at each
    one's last logged step; ties, common for accuracies, go to the better mean of the median
    over the logged steps: the one that got there sooner); those whose runs all diverged (no
    band) come last, by name."""
    by_optimizer = bands.sort_values("x").groupby("optimizer")["median"]
    score = pd.DataFrame({"final": by_optimizer.last(), "mean": by_optimizer.mean()})
    score = score[np.isfinite(score["final"])].reset_index()
    order = score.sort_values(["final", "mean", "optimizer"],
                              ascending=[not higher_is_better] * 2 + [True])  # fmt: skip
    banded = list(order["optimizer"])
    rest = sorted((set(bands["optimizer"]) | set(marks["optimizer"])) - set(banded))
    return banded + rest


def configurations(bands: pd.DataFrame, marks: pd.DataFrame) -> dict[str, str]:
    """Optimizer -> its configuration label (``lr=0.01``...), from the bands or the marks."""
    found = pd.concat([bands[["optimizer", "label"]], marks[["optimizer", "label"]]])
    return dict(found.drop_duplicates("optimizer").itertuples(index=False))


def caption(
    bands: pd.DataFrame,
    marks: pd.DataFrame,
    *,
    metric: str,
    higher_is_better: bool,
    runs: int,
    panelled: bool = True,
) -> str:
    """What a band figure draws: the line and band, over which runs, each optimizer's
    configuration, the diverged runs, and the panels when there are several (``panelled``:
    the figure is cut into small multiples; the interactive one is not)."""
    ranked = ranked_optimizers(bands, marks, higher_is_better)
    configs = configurations(bands, marks)
    setups = "; ".join(f"{name} {configs.get(name) or 'defaults'}" for name in ranked)
    text = (
        f"Line: median {metric} over seeds; band: interquartile range (25th to 75th "
        f"percentile); {counted(runs, 'seed')} per optimizer, each at its tuned "
        f"configuration ({setups})."
    )
    if marks.empty:
        text += " No run diverged."
    else:
        gone = marks.groupby("optimizer").size()
        names = ", ".join(f"{name} {count} of {runs}" for name, count in gone.items())
        text += (
            f" {counted(len(marks), 'run')} diverged ({names}): each is a thin line ending "
            "with x at its divergence step (at its last finite value), and the median and "
            "band are over the runs that did not diverge."
        )
    groups = panels(ranked)
    if panelled and len(groups) > 1:
        text += (
            f" {len(groups)} panels of at most {max(map(len, groups))} optimizers (more on one "
            f"axis blur together), ranked by final median; the best, {ranked[0]}, is repeated "
            "in grey in the other panels as a reference."
        )
    return text


def _draw_optimizer(ax: Axes, mine: pd.DataFrame, look: Style, beyond: float):
    """One optimizer's median line and IQR band; returns the line."""
    from bench.report import canvas

    xs = mine["x"].to_numpy(float)
    line = ax.plot(xs, mine["median"].replace(np.inf, np.nan), **look.kwargs(), linewidth=1.6,
                   markersize=5, markevery=canvas.markevery(look.position, len(xs)))[0]  # fmt: skip
    ax.fill_between(xs, mine["q25"].replace(np.inf, beyond), mine["q75"].replace(np.inf, beyond),
                    color=look.color, alpha=0.18, linewidth=0)  # fmt: skip
    return line


def _draw_diverged(ax: Axes, paths: pd.DataFrame, marks: pd.DataFrame, look: Style, top: float):
    """Each diverged run as a thin line, and an ``x`` where it blew up (a run that failed at
    its start: at the top edge)."""
    for _, path in paths.groupby("seed"):
        ax.plot(path["x"], path["y"], color=look.color, linestyle=look.linestyle,
                linewidth=0.8, alpha=0.8)  # fmt: skip
    if not marks.empty:
        ax.plot(marks["x"], marks["y"].fillna(top).clip(upper=top), linestyle="none",
                marker=DIVERGED_MARKER, markersize=7, mew=1.8, color=look.color,
                clip_on=False)  # fmt: skip


def _y_range(bands: pd.DataFrame, paths: pd.DataFrame, log_y: bool) -> tuple[float, float]:
    """The medians set the top (a blown-up quartile may leave it); the quartiles and the
    diverged runs' paths may lower the bottom, but not for a dip of a few points."""
    from bench.report import canvas

    lows = np.concatenate([bands[["median", "q25"]].to_numpy(float).ravel(), paths["y"]])
    lo, _ = canvas.limits(lows, log_y, trim=CURVE_TRIM)
    _, hi = canvas.limits(bands["median"].to_numpy(float), log_y)
    return lo, hi


def draw_bands(
    data: Mapping[str, pd.DataFrame],
    *,
    log_y: bool,
    x: str,
    ylabel: str,
    title: str,
    figure_caption: str,
    higher_is_better: bool = False,
    table: Mapping[str, Style] | None = None,
) -> Figure:
    """Median lines and IQR bands (``data["bands"]``), one per optimizer, the diverged runs
    (``data["paths"]``, ``data["marks"]``) apart; small multiples past
    :data:`bench.report.style.MAX_PER_PANEL` optimizers."""
    from bench.report import canvas

    bands, marks, paths = data["bands"], data["marks"], data["paths"]
    ranked = ranked_optimizers(bands, marks, higher_is_better)
    groups = panels(ranked)
    fig = canvas.new_figure(canvas.panels_height(len(groups), 5.4), figure_caption)
    lo, hi = _y_range(bands, paths, log_y)
    beyond = hi * 1e3 if log_y else hi + 1e3 * (hi - lo)  # an inf quartile fills to the edge
    table = table if table is not None else styles(ranked)
    configs = configurations(bands, marks)
    handles, labels, reference = {}, {}, None
    grid = canvas.panel_grid(fig, len(groups))
    for k, (ax, group) in enumerate(zip(grid, groups, strict=True)):
        for name in group:
            look = style(name, table)
            mine = bands[bands["optimizer"] == name].sort_values("x")
            if not mine.empty:
                handles[name] = _draw_optimizer(ax, mine, look, beyond)
            _draw_diverged(ax, paths[paths["optimizer"] == name],
                           marks[marks["optimizer"] == name], look, hi)  # fmt: skip
            handles.setdefault(name, canvas.style_handle(look))
            labels[name] = f"{name} ({configs[name]})" if configs.get(name) else name
        best = bands[bands["optimizer"] == ranked[0]].sort_values("x")
        if k > 0 and not best.empty:
            reference = ax.plot(best["x"], best["median"].replace(np.inf, np.nan),
                                color=REFERENCE_COLOR, linewidth=1.2, zorder=1)[0]  # fmt: skip
        if len(groups) > 1:
            first = sum(map(len, groups[:k])) + 1
            ax.set_title(f"ranks {first}–{first + len(group) - 1}", fontsize="small")
        _decorate(ax, x, ylabel, log_y, (lo, hi), outer=(k % 2 == 0, k >= len(groups) - 2))
    order = [name for name in ranked if name in handles]
    extra = [(reference, f"best: {ranked[0]}")] if reference else []
    if not marks.empty:
        extra.append((canvas.diverged_handle(), "diverged here"))
    canvas.legend_below(fig, [handles[n] for n in order] + [h for h, _ in extra],
                        [labels[n] for n in order] + [t for _, t in extra])  # fmt: skip
    fig.suptitle(literal(title), fontsize="medium")
    return fig


def _decorate(ax: Axes, x: str, ylabel: str, log_y: bool, y: tuple, outer: tuple) -> None:
    """Scales, limits, grid, and the axis labels on the outer panels only."""
    if log_y:
        ax.set_yscale("log")
    ax.set_ylim(*y)
    ax.grid(True, which="major", alpha=0.3)
    left, bottom = outer
    if bottom:  # a bottom panel, or one above an empty slot of the grid
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.set_xlabel(literal(X_LABELS[x]))
    if left:
        ax.set_ylabel(literal(ylabel + (LOG_SUFFIX if log_y else "")))

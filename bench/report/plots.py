"""The report's figures, drawn with matplotlib from the data of :mod:`bench.report.plot_data`.

Every ``plot_*`` function takes the output of the matching ``*_data`` function and returns a
:class:`matplotlib.figure.Figure` built without pyplot (no global figure registry, nothing to leak),
8.2 inches wide so that :func:`save` writes it about 900 pixels wide. Every optimizer keeps the
colour, marker and line style of :func:`bench.report.plot_data.style` in every figure; an ``x``
marks a run's divergence wherever one is drawn. Legends sit below the axes, never over the data.

:func:`figures` yields every figure of a store, one at a time, for the report to save.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; the figures below never need a window

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import ListedColormap, LogNorm, Normalize  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    PercentFormatter,
)

from bench.grid.axes import axes  # noqa: E402
from bench.report import plot_data  # noqa: E402
from bench.report.plot_data import DIVERGED_MARKER, optimizer_order, spans_decades, style  # noqa: E402

WIDTH = 8.2  # inches; at DPI this is about 900 pixels
DPI = 110
LEGEND_CHARS = 140  # characters of a "small" legend that fit across the figure
MARKS_PER_LINE = 8  # markers along a curve: enough to tell optimizers apart, few enough to read
CURVE_TRIM = 0.005  # share of the lowest curve values a convergence y axis may leave out
X_LABELS = {
    "step": "step (optimizer updates)",
    "epoch": "epoch (passes over the training set)",
    "time": "optimization time (s, update steps only)",
}
METRIC_LABELS = {
    "train_loss": "training loss",
    "test_loss": "test loss",
    "train_accuracy": "training accuracy",
    "test_accuracy": "test accuracy",
}


def save(fig: Figure, path: str | os.PathLike, dpi: int = DPI) -> None:
    """Write ``fig`` as a PNG (about 900 pixels wide at the default ``dpi``) and release it.

    The figure is cleared afterwards: it was built without pyplot, so clearing is all closing
    means, and it frees the artists at once when a report writes dozens of figures.
    """
    fig.savefig(path, dpi=dpi, format="png", facecolor="white")
    fig.clear()


def figure_filename(section: str, name: str) -> str:
    """A safe PNG file name for a figure of :func:`figures` (grid names may hold anything)."""
    slug = re.sub(r"[^A-Za-z0-9.=-]+", "_", f"{section}_{name}").strip("_.")
    return f"{slug or 'figure'}.png"


def _figure(height: float) -> Figure:
    return Figure(figsize=(WIDTH, height), layout="constrained")


def _legend_below(fig: Figure, handles: list, labels: list[str], columns: int = 5) -> None:
    """A legend under the axes, as many columns as the longest label lets fit in the width."""
    if handles:
        fit = LEGEND_CHARS // (max(map(len, labels)) + 7)  # + room for the handle
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=max(1, min(columns, fit, len(handles))),
            frameon=False,
            fontsize="small",
        )


def _diverged_handle() -> Line2D:
    return Line2D([], [], color="black", marker=DIVERGED_MARKER, linestyle="none", mew=2)


def _limits(values: np.ndarray, log: bool, trim: float = 0.0) -> tuple[float, float]:
    """A padded y range for the finite (and, on a log axis, positive) ``values``, leaving out
    the lowest ``trim`` share of them (so one lucky dip does not squash every curve)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & ((v > 0) if log else True)]
    if v.size == 0:
        return (0.1, 10.0) if log else (0.0, 1.0)
    lo, hi = float(np.quantile(v, trim, method="lower")), float(v.max())
    if log:
        return lo / 2.0, hi * 2.0
    pad = 0.05 * (hi - lo) or 0.05 * max(abs(hi), 1.0)
    return lo - pad, hi + pad


# --- convergence and accuracy curves ---------------------------------------------------------


def _curves_figure(
    bands: pd.DataFrame,
    marks: pd.DataFrame,
    *,
    log_y: bool,
    x: str,
    ylabel: str,
    title: str,
) -> Figure:
    fig = _figure(5.4)
    ax = fig.add_subplot()
    # The medians set the top (a blown-up quartile may leave it); the quartiles may lower the
    # bottom, but not for a dip of a few points.
    lo, _ = _limits(bands[["median", "q25"]].to_numpy(float).ravel(), log_y, trim=CURVE_TRIM)
    _, hi = _limits(bands["median"].to_numpy(float), log_y)
    beyond = hi * 1e3 if log_y else hi + 1e3 * (hi - lo)  # an inf quartile fills to the edge
    handles, labels = [], []
    for optimizer in optimizer_order(bands["optimizer"]):
        mine = bands[bands["optimizer"] == optimizer].sort_values("x")
        look = style(optimizer)
        xs = mine["x"].to_numpy(float)
        every = max(1, len(xs) // MARKS_PER_LINE)
        line = ax.plot(
            xs,
            mine["median"].replace(np.inf, np.nan),
            **look.kwargs(),
            linewidth=1.6,
            markersize=5,
            markevery=(plot_data.style_index(optimizer) % every, every),
        )[0]
        ax.fill_between(
            xs,
            mine["q25"].replace(np.inf, beyond),
            mine["q75"].replace(np.inf, beyond),
            color=look.color,
            alpha=0.18,
            linewidth=0,
        )
        handles.append(line)
        config = mine["label"].iloc[0]
        labels.append(f"{optimizer} ({config})" if config else optimizer)
        mine_marks = marks[marks["optimizer"] == optimizer]
        if not mine_marks.empty:
            ax.plot(
                mine_marks["x"],
                # Off the scale (or diverged before any finite value): at the top edge.
                mine_marks["y"].fillna(hi).clip(upper=hi),
                linestyle="none",
                marker=DIVERGED_MARKER,
                markersize=8,
                mew=2,
                color=look.color,
                clip_on=False,
            )
    if not marks.empty:
        handles.append(_diverged_handle())
        labels.append("run diverged here (last finite value)")
    if log_y:
        ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    ax.set_xlabel(X_LABELS[x])
    ax.set_ylabel(ylabel + (" (log scale)" if log_y else ""))
    ax.set_title(title, fontsize="medium")
    ax.grid(True, which="major", alpha=0.3)
    _legend_below(fig, handles, labels)
    return fig


def plot_convergence(data: dict[str, Any], problem: str) -> Figure:
    """Median training loss and its IQR band against step (or time), one line per optimizer.

    Parameters
    ----------
    data
        :func:`bench.report.plot_data.convergence_data`.
    problem
        The problem label to draw.
    """
    bands = data["bands"][data["bands"]["problem"] == problem]
    marks = data["divergences"][data["divergences"]["problem"] == problem]
    seeds = int(bands["seeds"].max()) if not bands.empty else 0
    metric = METRIC_LABELS.get(data["metric"], data["metric"])
    against = "optimization time" if data["x"] == "time" else data["x"]
    return _curves_figure(
        bands,
        marks,
        log_y=data["log_y"].get(problem, False),
        x=data["x"],
        ylabel=metric,
        title=f"{problem}: {metric} vs {against}\nmedian and IQR over {seeds} seeds, "
        "each optimizer at its tuned configuration",
    )


def plot_accuracy(data: dict[str, Any], problem: str) -> Figure:
    """Median accuracy and its IQR band against step or epoch, one line per optimizer.

    Parameters
    ----------
    data
        :func:`bench.report.plot_data.accuracy_data`.
    problem
        The problem label to draw (one of ``data["metric"]``).
    """
    bands = data["bands"][data["bands"]["problem"] == problem]
    marks = data["divergences"][data["divergences"]["problem"] == problem]
    metric = METRIC_LABELS[data["metric"][problem]]
    seeds = int(bands["seeds"].max()) if not bands.empty else 0
    fig = _curves_figure(
        bands,
        marks,
        log_y=False,
        x=data["x"],
        ylabel=metric,
        title=f"{problem}: {metric} vs {data['x']}\nmedian and IQR over {seeds} seeds, "
        "each optimizer at its tuned configuration",
    )
    ax = fig.axes[0]
    low, _ = ax.get_ylim()
    ax.set_ylim(max(low, 0.0), 1.005)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    return fig


# --- learning-rate sensitivity ---------------------------------------------------------------


def plot_sensitivity(data: dict[str, pd.DataFrame], problem: str) -> Figure:
    """Final loss against learning rate: a dot per seed, the median as a line per optimizer.

    Diverged runs are drawn as ``x`` in the shaded band at the top edge. Both axes are
    logarithmic (the y axis only if the losses span two decades).

    Parameters
    ----------
    data
        :func:`bench.report.plot_data.sensitivity_data`.
    problem
        The problem label to draw.
    """
    points = data["points"][data["points"]["problem"] == problem]
    lines = data["lines"][data["lines"]["problem"] == problem]
    finite = points["loss"].to_numpy(float)
    log_y = spans_decades(finite)
    lo, hi = _limits(finite, log_y)
    if log_y:
        edge, top = hi * 10**0.5, hi * 10**0.9
    else:
        edge, top = hi + 0.12 * (hi - lo), hi + 0.22 * (hi - lo)
    fig = _figure(5.4)
    ax = fig.add_subplot()
    names = optimizer_order(points["optimizer"])
    handles, labels = [], []
    for k, optimizer in enumerate(names):
        look = style(optimizer)
        # Spread optimizers slightly along lr so dots at the same lr do not hide each other.
        shift = 10 ** (0.015 * (k - (len(names) - 1) / 2))
        mine = points[points["optimizer"] == optimizer]
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
        median = lines[lines["optimizer"] == optimizer]
        handles.append(
            ax.plot(
                median["lr"] * shift,
                median["median"].replace(np.inf, edge),
                **look.kwargs(),
                linewidth=1.6,
                markersize=6,
            )[0]
        )
        labels.append(optimizer)
    ax.axhspan(hi if not log_y else hi * 10**0.25, top, color="0.92", zorder=0)
    ax.text(
        0.005,
        edge,
        " diverged",
        transform=ax.get_yaxis_transform(),
        va="center",
        fontsize="small",
        color="0.3",
    )
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_ylim(lo, top)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("final training loss" + (" (log scale)" if log_y else ""))
    seeds = int(lines["runs"].max()) if not lines.empty else 0
    ax.set_title(
        f"{problem}: final training loss vs learning rate\na dot per seed ({seeds} per "
        "lr), a line through the medians",
        fontsize="medium",
    )
    ax.grid(True, which="major", alpha=0.3)
    handles.append(_diverged_handle())
    labels.append("diverged run")
    _legend_below(fig, handles, labels, columns=5)
    return fig


# --- robustness heatmaps ---------------------------------------------------------------------


def plot_robustness(data: dict[str, dict[str, Any]], problem: str) -> Figure:
    """Optimizer x axis value: colour is the median final loss (log scale), the text its value
    and the share of runs that diverged.

    Parameters
    ----------
    data
        :func:`bench.report.plot_data.robustness_data`.
    problem
        The problem label to draw.
    """
    d = data[problem]
    rows, columns, values, share = d["rows"], d["columns"], d["median"], d["divergence"]
    titles = {entry.column: entry.title for entry in axes()}
    axis = titles.get(d["axis"], d["axis"] or "setting")
    finite = values[np.isfinite(values)]
    if finite.size and np.all(finite > 0) and finite.min() < finite.max():
        norm: Normalize = LogNorm(finite.min(), finite.max())
    else:
        norm = Normalize(*(finite.min(), finite.max()) if finite.size else (0, 1))
    cmap = colormaps["viridis"].with_extremes(bad="0.85")
    fig = _figure(1.7 + 0.42 * len(rows))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(columns)):
            v, s = values[i, j], share[i, j]
            if np.isnan(v):
                text, color = ("not run" if np.isnan(s) else "errors"), "0.3"
            elif np.isinf(v):
                text, color = f"diverged\n{s:.0%} div.", "black"
            else:
                r, g, b, _ = cmap(norm(v))
                color = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
                text = f"{v:.2g}\n{s:.0%} div."
            ax.text(j, i, text, ha="center", va="center", fontsize="x-small", color=color)
    ax.set_xticks(range(len(columns)), columns, rotation=15 if len(columns) > 4 else 0)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel(axis)
    ax.set_ylabel("optimizer")
    ax.set_title(
        f"{problem}: median final training loss by {axis}\n"
        "and the share of diverged runs; everything else as tuned",
        fontsize="medium",
    )
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    log = " (log scale)" if isinstance(norm, LogNorm) else ""
    bar.set_label(f"median final training loss{log}")
    if log:  # ticks at 1, 2 and 5 times the powers of ten, written plainly
        bar.ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.2g}"))
        bar.ax.yaxis.set_minor_formatter(NullFormatter())
    return fig


# --- trajectories ----------------------------------------------------------------------------


def plot_trajectories(data: dict[str, dict[str, Any]], problem: str) -> Figure:
    """Each optimizer's path on a contour map of ``log10(f - f* + eps)``, optimum starred.

    Parameters
    ----------
    data
        :func:`bench.report.plot_data.trajectory_data`.
    problem
        The problem label to draw.
    """
    d = data[problem]
    fig = _figure(6.4)
    ax = fig.add_subplot()
    z = d["z"]
    levels = MaxNLocator(nbins=20).tick_values(np.nanmin(z), np.nanmax(z))
    # The pale third of "Greys": the map stays behind the coloured paths.
    pale = ListedColormap(colormaps["Greys"](np.linspace(0.0, 0.35, 256)))
    filled = ax.contourf(d["x"], d["y"], z, levels=levels, cmap=pale)
    ax.contour(d["x"], d["y"], z, levels=levels, colors="0.6", linewidths=0.4)
    handles, labels = [], []
    for optimizer, path in d["paths"].items():
        look = style(optimizer)
        ax.plot(
            path[:, 0],
            path[:, 1],
            color=look.color,
            linestyle=look.linestyle,
            linewidth=1.6,
            alpha=0.9,
        )
        last = path[np.all(np.isfinite(path), axis=1)][-1:]
        ax.plot(
            last[:, 0],
            last[:, 1],
            linestyle="none",
            marker=look.marker,
            markersize=8,
            color=look.color,
            markeredgecolor="black",
            markeredgewidth=0.6,
        )
        if not d["shared_start"]:
            ax.plot(*path[0], marker="o", markersize=7, fillstyle="none", color=look.color)
        handles.append(Line2D([], [], **look.kwargs(), linewidth=1.6, markersize=7))
        labels.append(optimizer)
    if d["shared_start"]:
        start = next(iter(d["starts"].values()))
        handles += ax.plot(
            *start,
            marker="o",
            markersize=9,
            color="black",
            fillstyle="none",
            mew=2,
            linestyle="none",
        )
        labels.append("start")
    else:
        handles.append(
            Line2D([], [], marker="o", color="black", fillstyle="none", linestyle="none")
        )
        labels.append("starts (one per optimizer)")
    handles += ax.plot(
        *d["minimizer"], marker="+", markersize=18, mew=2.5, color="black", linestyle="none"
    )
    labels.append(f"optimum (f = {d['optimum']:g})")
    ax.set_xlim(d["x"][0], d["x"][-1])
    ax.set_ylim(d["y"][0], d["y"][-1])
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(
        f"{problem}: path of each optimizer's first seed at its tuned configuration\n"
        "(marker: last point)",
        fontsize="medium",
    )
    bar = fig.colorbar(filled, ax=ax, shrink=0.9)
    bar.set_label("log₁₀(f − f* + ε)")
    _legend_below(fig, handles, labels, columns=5)
    return fig


# --- rankings --------------------------------------------------------------------------------


def _step_figure(frame: pd.DataFrame, x: str, y: str) -> tuple[Figure, Axes]:
    fig = _figure(5.2)
    ax = fig.add_subplot()
    handles, labels = [], []
    for optimizer in dict.fromkeys(frame["optimizer"]):  # the data's (ranked) order
        mine = frame[frame["optimizer"] == optimizer]
        look = style(optimizer)
        xs = mine[x].to_numpy(float)
        every = max(1, len(xs) // MARKS_PER_LINE)
        handles += ax.step(
            xs,
            mine[y],
            where="post",
            **look.kwargs(),
            linewidth=1.6,
            markersize=5,
            markevery=(plot_data.style_index(optimizer) % every, every),
        )
        labels.append(optimizer)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    _legend_below(fig, handles, labels, columns=5)
    return fig, ax


def plot_profile(data: pd.DataFrame) -> Figure:
    """The Dolan–Moré performance profile on steps-to-target (τ from 1 to its maximum).

    Parameters
    ----------
    data
        :func:`bench.report.plot_data.profile_data`.
    """
    fig, ax = _step_figure(data, "tau", "rho")
    ax.set_xlim(1.0, float(data["tau"].max()) if not data.empty else 4.0)
    ax.set_xlabel("τ: steps-to-target as a multiple of the best optimizer's")
    ax.set_ylabel("share of (problem, target) pairs\nreached within τ × best")
    ax.set_title(
        "Performance profile (Dolan–Moré) over all problems and targets\n"
        "higher and further left is better; legend ordered best first",
        fontsize="medium",
    )
    return fig


ECDF_LABELS = {
    "budget_fraction": "steps to reach the target, as a share of the step budget",
    "seconds": "optimization time to reach the target (s)",
}


def plot_ecdf(data: pd.DataFrame) -> Figure:
    """The runtime ECDF: the share of (problem, target, run) triples reached within a cost.

    Parameters
    ----------
    data
        :func:`bench.report.plot_data.ecdf_data` (its cost column is ``budget_fraction`` or
        ``seconds``).
    """
    measure = next(m for m in plot_data.ECDF_MEASURES if m in data)
    fig, ax = _step_figure(data, measure, "fraction")
    log_x = spans_decades(data[measure][data[measure] > 0])
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(ECDF_LABELS[measure] + (" (log scale)" if log_x else ""))
    ax.set_ylabel("share of (problem, target, run)\ntriples reached")
    ax.set_title(
        "Runtime ECDF over all problems and targets (COCO style)\n"
        "higher and further left is better; legend ordered best first",
        fontsize="medium",
    )
    return fig


# --- everything a report needs ---------------------------------------------------------------


def figures(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    criterion: str = "final_train_loss",
    trajectories: bool = True,
) -> Iterator[tuple[str, str, Figure]]:
    """Every figure of a store, built one at a time, for a report to save (and so close).

    Parameters
    ----------
    runs, curves
        The frames of ``bench.store.store.load``.
    criterion
        How each optimizer's configuration is tuned (``bench.analysis.tuned``).
    trajectories
        Rerun each 2-D test function's tuned cells (one seed each) for the trajectory figures.

    Yields
    ------
    section : str
        ``"overview"``, ``"robustness"`` or a problem label (as in :mod:`bench.report.plot_data`).
    name : str
        In ``overview``: ``performance_profile``, ``runtime_ecdf``. Per problem:
        ``convergence_step``, ``convergence_time``, ``lr_sensitivity`` (when some optimizer
        ran several lrs), ``trajectories`` (2-D test functions), ``accuracy`` (classification
        problems). In ``robustness``: ``<axis>_<problem>`` for ``clip`` and ``initializer``,
        where the problem ran two values or more.
    figure : matplotlib.figure.Figure
        Pass it to :func:`save` (file name: :func:`figure_filename`).
    """
    from bench import analysis  # imported here so that plots stay importable on their own

    if not runs["status"].isin(("done", "diverged", "timeout")).any():
        return
    stats = analysis.cell_stats(runs, n_resamples=0)  # once, for tuned and robustness
    tuned = analysis.tuned(stats, criterion)
    profile = plot_data.profile_data(analysis.performance_profile(runs, criterion=criterion))
    if not profile.empty:
        yield "overview", "performance_profile", plot_profile(profile)
    ecdf = plot_data.ecdf_data(analysis.runtime_ecdf(runs, criterion=criterion))
    if not ecdf.empty:
        yield "overview", "runtime_ecdf", plot_ecdf(ecdf)

    by_step = plot_data.convergence_data(runs, curves, tuned, x="step")
    by_time = plot_data.convergence_data(runs, curves, tuned, x="time")
    sensitivity = plot_data.sensitivity_data(analysis.lr_sensitivity(runs, criterion))
    accuracy = plot_data.accuracy_data(runs, curves, tuned, x="step")
    paths = plot_data.trajectory_data(runs, tuned) if trajectories else {}
    for problem in sorted(set(by_step["bands"]["problem"])):
        yield problem, "convergence_step", plot_convergence(by_step, problem)
        yield problem, "convergence_time", plot_convergence(by_time, problem)
        lines = sensitivity["lines"][sensitivity["lines"]["problem"] == problem]
        if not lines.empty and lines.groupby("optimizer")["lr"].nunique().max() > 1:
            yield problem, "lr_sensitivity", plot_sensitivity(sensitivity, problem)
        if problem in paths:
            yield problem, "trajectories", plot_trajectories(paths, problem)
        if problem in accuracy["metric"]:
            yield problem, "accuracy", plot_accuracy(accuracy, problem)
    for axis in (entry.column for entry in axes() if entry.robustness):
        heatmaps = plot_data.robustness_data(analysis.robustness(stats, axis, criterion=criterion))
        for problem, heatmap in heatmaps.items():
            if len(heatmap["columns"]) > 1:
                yield "robustness", f"{axis}_{problem}", plot_robustness(heatmaps, problem)

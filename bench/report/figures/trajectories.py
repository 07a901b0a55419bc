"""Trajectories on the 2-D test functions: each optimizer's path on a contour map.

The store keeps only logged points, so the paths are replayed: :func:`trace_first_seeds` reruns
each tuned cell's first seed with :func:`bench.run.replay.trace_params`, and
:func:`trajectory_data` turns the traced paths into the figure's data without running anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bench.grid.axes import axes
from bench.grid.cell import Cell
from bench.report.curves import Cells, as_cells, keys
from bench.report.labels import labelled, literal, params_dict
from bench.report.style import Style, optimizer_order, panels, style, styles
from bench.run import replay
from bench.run.engine import build_problem_by_name

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bench.report.figures.inputs import Inputs

# A problem or optimizer of a plugin that this process has not imported cannot be rebuilt.
UNBUILDABLE = (ValueError, KeyError, TypeError, ImportError)


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def cell_from_row(row: Mapping[str, Any] | pd.Series) -> Cell:
    """The :class:`~bench.grid.cell.Cell` a row of the runs frame came from, narrowed to its seed.

    Parameters
    ----------
    row
        One row of ``bench.store.store.load(path)[0]``.

    Returns
    -------
    Cell
        With ``seeds=(row["seed"],)``; its ``key`` equals the row's ``cell_key``.
    """
    choices: dict[str, Any] = {}
    for entry in axes():
        value = row.get(entry.column) if hasattr(row, "get") else row[entry.column]
        choices[entry.column] = None if _missing(value) else str(value)
        if entry.params:
            choices[entry.params] = params_dict(row.get(entry.params))
    return Cell(
        **choices,
        batch_size=None if _missing(row["batch_size"]) else int(row["batch_size"]),
        steps=int(row["steps"]),
        log_every=int(row["log_every"]),
        seeds=(int(row["seed"]),),
        grid_seed=int(row["grid_seed"]),
        code=None if _missing(code := row.get("code")) else json.loads(code),
    )


def is_planar_function(problem: str, problem_params: str | dict) -> bool:
    """Whether a problem is a 2-D test function (it has ``value`` and ``dim == 2``); False for
    a problem that cannot be built here."""
    try:
        built = build_problem_by_name(problem, problem_params)
    except UNBUILDABLE:
        return False
    return hasattr(built, "value") and getattr(built, "dim", None) == 2


def first_runs(runs: pd.DataFrame, cells: Cells) -> pd.DataFrame:
    """The first seed that did not error of each of ``cells`` on a 2-D test function, labelled
    (``problem`` the label, ``problem_name`` the registry name)."""
    chosen = labelled(runs)[runs["cell_key"].isin(set(keys(cells))) & (runs["status"] != "error")]
    chosen = chosen.sort_values(["cell_key", "seed"]).groupby("cell_key", sort=False).head(1)
    pairs = list(zip(chosen["problem_name"], chosen["problem_params"], strict=True))
    planar = {pair: is_planar_function(*pair) for pair in set(pairs)}
    return chosen[np.array([planar[pair] for pair in pairs], dtype=bool)]


def trace_first_seeds(runs: pd.DataFrame, cells: Cells) -> dict[str, np.ndarray]:
    """Cell key -> the replayed path (:func:`bench.run.replay.trace_params`) of the first seed
    of each of ``cells`` on a 2-D test function. A cell whose replay fails (a plugin not
    imported here, or one that fails when rerun alone) is left out rather than fail the report.
    """
    paths = {}
    for _, row in first_runs(runs, as_cells(cells)).iterrows():
        try:
            paths[row["cell_key"]] = replay.trace_params(cell_from_row(row), int(row["seed"]))
        except Exception:  # noqa: BLE001 - the figure leaves that optimizer's path out
            continue
    return paths


def trajectory_data(
    runs: pd.DataFrame, cells: Cells, paths: Mapping[str, np.ndarray], resolution: int = 160
) -> dict[str, dict[str, Any]]:
    """The data of the trajectory figures: for each 2-D test function among ``cells``, the traced
    path of each optimizer (``paths``: cell key -> path, from :func:`trace_first_seeds`) over a
    grid of ``log10(f - optimum + eps)``.

    Returns
    -------
    dict
        Problem label -> ``{"paths": {optimizer: (steps + 1, 2) array}, "final": {optimizer:
        f at its last finite point}, "starts": {optimizer:
        (2,)}, "shared_start": bool, "minimizer": (2,), "optimum": float, "x": (resolution,),
        "y": (resolution,), "z": (resolution, resolution) log10 values, "eps": float}``.
        Problems that are not 2-D test functions, or without a traced path, are absent.
    """
    result = {}
    for problem, group in first_runs(runs, as_cells(cells)).groupby("problem", sort=True):
        traced = {r.optimizer: paths[r.cell_key] for r in group.itertuples() if r.cell_key in paths}
        if not traced:
            continue
        first = group.iloc[0]
        function = build_problem_by_name(first["problem_name"], first["problem_params"])
        result[problem] = _contours(function, {n: traced[n] for n in optimizer_order(traced)},
                                    resolution)  # fmt: skip
    return result


def _contours(function: Any, paths: dict[str, np.ndarray], resolution: int) -> dict[str, Any]:
    starts = {name: path[0] for name, path in paths.items()}
    optimum = float(function.optimum or 0.0)
    x, y = _window(function, paths)
    xs, ys = np.linspace(*x, resolution), np.linspace(*y, resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    gap = np.maximum(function.value(grid) - optimum, 0.0)
    eps = 1e-12 * max(1.0, float(np.nanmax(gap)))
    finals = {name: path[np.all(np.isfinite(path), axis=1)][-1:] for name, path in paths.items()}
    return {
        "paths": paths,
        "final": {n: float(function.value(p)[0]) for n, p in finals.items() if len(p)},
        "starts": starts,
        "shared_start": len({tuple(s) for s in starts.values()}) == 1,
        "minimizer": np.asarray(function.minimizer, dtype=np.float64),
        "optimum": optimum,
        "x": xs,
        "y": ys,
        "z": np.log10(gap + eps),
        "eps": eps,
    }


def _window(function: Any, paths: Mapping[str, np.ndarray]) -> tuple[tuple, tuple]:
    """The plotted box: start, optimum and the path points inside the domain, padded a little,
    never outside the function's domain."""
    low, high = function.domain
    points = [np.asarray(function.minimizer, dtype=np.float64)[None, :]]
    for path in paths.values():
        inside = np.all(np.isfinite(path) & (path >= low) & (path <= high), axis=1)
        points.append(path[inside])
    stacked = np.concatenate(points)
    lo, hi = stacked.min(axis=0), stacked.max(axis=0)
    pad = np.maximum(0.1 * (hi - lo), 0.05 * (high - low))
    lo, hi = np.maximum(lo - pad, low), np.minimum(hi + pad, high)
    return (lo[0], hi[0]), (lo[1], hi[1])


def _draw_path(ax: Axes, path: np.ndarray, look: Style, own_start: bool) -> None:
    """A path, its last finite point (the optimizer's marker) and, if asked, its start."""
    ax.plot(path[:, 0], path[:, 1], color=look.color, linestyle=look.linestyle, linewidth=1.6,
            alpha=0.9)  # fmt: skip
    last = path[np.all(np.isfinite(path), axis=1)][-1:]
    ax.plot(last[:, 0], last[:, 1], linestyle="none", marker=look.marker, markersize=8,
            color=look.color, markeredgecolor="black", markeredgewidth=0.6)  # fmt: skip
    if own_start:
        ax.plot(*path[0], marker="o", markersize=7, fillstyle="none", color=look.color)


def _landmarks(ax: Axes, d: dict[str, Any]) -> tuple[list, list[str]]:
    """The start (shared, or a legend entry for one per optimizer) and the optimum."""
    from matplotlib.lines import Line2D

    if d["shared_start"]:
        start = next(iter(d["starts"].values()))
        handles = ax.plot(*start, marker="o", markersize=9, color="black", fillstyle="none",
                          mew=2, linestyle="none")  # fmt: skip
        labels = ["start"]
    else:
        handles = [Line2D([], [], marker="o", color="black", fillstyle="none", linestyle="none")]
        labels = ["starts (one per optimizer)"]
    handles += ax.plot(*d["minimizer"], marker="+", markersize=18, mew=2.5, color="black",
                       linestyle="none")  # fmt: skip
    labels.append(f"optimum (f = {d['optimum']:g})")
    return handles, labels


def ranked_paths(d: dict[str, Any], function_values: Mapping[str, float]) -> list[str]:
    """The optimizers of ``d["paths"]``, the lowest ``function_values`` (at each path's last
    finite point) first, ties and non-finite values by name."""
    value = {n: function_values.get(n, np.inf) for n in d["paths"]}
    return sorted(d["paths"], key=lambda n: (not np.isfinite(value[n]), value[n], n))


def _contour_map(ax: Axes, d: dict[str, Any], levels: np.ndarray, cmap):
    """The filled contour map of ``d`` with its level lines; returns the filled contours."""
    filled = ax.contourf(d["x"], d["y"], d["z"], levels=levels, cmap=cmap)
    ax.contour(d["x"], d["y"], d["z"], levels=levels, colors="0.6", linewidths=0.4)
    ax.set_xlim(d["x"][0], d["x"][-1])
    ax.set_ylim(d["y"][0], d["y"][-1])
    return filled


def draw(
    data: dict[str, dict[str, Any]], problem: str, table: Mapping[str, Style] | None = None
) -> Figure:
    """Each optimizer's path on a contour map of ``log10(f - f* + eps)``, optimum marked;
    small multiples past :data:`bench.report.style.MAX_PER_PANEL` optimizers, ranked by where
    their paths end (lowest first).

    Parameters
    ----------
    data
        :func:`trajectory_data`.
    problem
        The problem label to draw.
    table
        The report's styles; default: those of the optimizers drawn.
    """
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    from bench.report import canvas

    d = data[problem]
    names = ranked_paths(d, d["final"])
    groups = panels(names)
    fig = canvas.new_figure(canvas.panels_height(len(groups), 6.4))
    levels = MaxNLocator(nbins=20).tick_values(np.nanmin(d["z"]), np.nanmax(d["z"]))
    # The pale third of "Greys": the map stays behind the coloured paths.
    pale = ListedColormap(colormaps["Greys"](np.linspace(0.0, 0.35, 256)))
    table = table if table is not None else styles(d["paths"])
    handles = {}
    grid = canvas.panel_grid(fig, len(groups))
    for k, (ax, group) in enumerate(zip(grid, groups, strict=True)):
        filled = _contour_map(ax, d, levels, pale)
        for optimizer in group:
            look = style(optimizer, table)
            _draw_path(ax, d["paths"][optimizer], look, own_start=not d["shared_start"])
            handles[optimizer] = Line2D([], [], **look.kwargs(), linewidth=1.6, markersize=7)
        more_handles, more_labels = _landmarks(ax, d)
        if k >= len(groups) - 2:
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel("x₁")
        if k % 2 == 0:
            ax.set_ylabel("x₂")
        if len(groups) > 1:
            first = sum(map(len, groups[:k])) + 1
            ax.set_title(f"ranks {first}–{first + len(group) - 1} by final value",
                         fontsize="small")  # fmt: skip
    fig.suptitle(
        literal(f"{problem}: path of each optimizer's first seed at its tuned configuration "
                "(marker: last point)"),
        fontsize="medium",
    )  # fmt: skip
    fig.colorbar(filled, ax=grid, shrink=0.9).set_label("log₁₀(f − f* + ε)")
    canvas.legend_below(fig, [*handles.values(), *more_handles], [*handles, *more_labels],
                        columns=5)  # fmt: skip
    return fig


def figures(inputs: Inputs) -> Iterator[tuple[str, str, Figure]]:
    """Per 2-D test function: ``trajectories`` (when the report replays them)."""
    if not inputs.trajectories:
        return
    paths = trace_first_seeds(inputs.runs, inputs.tuned)
    data = trajectory_data(inputs.runs, inputs.tuned, paths)
    for problem in inputs.problems:
        if problem in data:
            fig = draw(data, problem, inputs.styles)
            fig.caption = (
                "The path of each optimizer's first seed, replayed step by step, on a contour "
                "map of log10(f − f* + ε); a marker at its last point. Each optimizer at its "
                f"tuned configuration ({inputs.configurations(problem)})."
            )
            yield problem, "trajectories", fig

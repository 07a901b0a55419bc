"""The numbers behind every figure of :mod:`bench.report.plots`, as tidy frames; no matplotlib.

Each ``*_data`` function here feeds one ``plot_*`` function of :mod:`bench.report.plots`, so
what a figure shows can be tested without drawing it. Conventions shared by every function:

- ``problem`` in the returned frames is a problem *label*: the registry name, followed by its
  parameters only when one store holds the same problem with several parameter sets
  (:func:`problem_labels`).
- A diverged run's loss counts as ``+inf`` from its divergence step on (its accuracy as 0, as
  :mod:`bench.analysis` counts it), so medians and quartiles over seeds are honest: when more
  than half of the seeds have diverged, the median is ``inf``. Runs that errored have no values;
  a run cut short by its timeout counts for the steps it logged.
- ``style(optimizer)`` gives every optimizer one colour, marker and line style, the same in every
  figure and every report.

Data function -> figure: :func:`convergence_data` -> ``plot_convergence`` (x = step or time);
:func:`accuracy_data` -> ``plot_accuracy``; :func:`sensitivity_data` (of
``bench.analysis.lr_sensitivity``) -> ``plot_sensitivity``; :func:`robustness_data` (of
``bench.analysis.robustness``) -> ``plot_robustness``; :func:`trajectory_data` ->
``plot_trajectories``; :func:`profile_data` and :func:`ecdf_data` (of
``bench.analysis.performance_profile`` and ``runtime_ecdf``) -> ``plot_profile``, ``plot_ecdf``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

import optimizers
from bench.grid.axes import axes
from bench.grid.cell import Cell
from bench.run.engine import build_problem_by_name, trace_params

# Okabe & Ito's colour-blind-safe set without yellow (too pale on white) and black (kept for
# annotations: optimum, start, reference lines), completed with Paul Tol's "muted" wine and olive.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#882255",  # wine (Tol muted)
    "#999933",  # olive (Tol muted)
)
LINESTYLES = ("-", "--", "-.", ":")
# One marker per built-in optimizer. Not among them: "x", which marks divergence in every
# figure, and "+", the optimum of a trajectory plot.
MARKERS = ("o", "s", "^", "D", "v", "P", "<", ">", "p", "h", "d", "8", "H", "*")
DIVERGED_MARKER = "x"
STYLE_SLOTS = len(PALETTE) * len(LINESTYLES)  # distinct (colour, line style) pairs
LOG_SCALE_DECADES = 2.0  # a loss axis is logarithmic when its positive values span this many


@dataclasses.dataclass(frozen=True)
class Style:
    """How one optimizer is drawn everywhere: ``color``, ``marker`` and ``linestyle``."""

    color: str
    marker: str
    linestyle: str

    def kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``Axes.plot``."""
        return dataclasses.asdict(self)


@functools.cache
def builtin_optimizers() -> tuple[str, ...]:
    """The sorted names of the optimizers shipped with optbench (plugins excluded)."""
    names = optimizers.names()
    return tuple(n for n in names if optimizers.get(n).__module__.startswith("optimizers."))


def style_index(optimizer: str) -> int:
    """The style slot of ``optimizer``: its position among the built-in optimizers, or a plugin
    name's SHA-256 hash onto the slots the built-ins leave free (the same in every process)."""
    builtin = builtin_optimizers()
    if optimizer in builtin:
        return builtin.index(optimizer)
    free = max(STYLE_SLOTS, len(builtin) + len(PALETTE)) - len(builtin)
    digest = hashlib.sha256(optimizer.encode()).digest()
    return len(builtin) + int.from_bytes(digest[:8], "big") % free


def style(optimizer: str) -> Style:
    """The colour, marker and line style of ``optimizer``, the same in every figure.

    Built-in optimizers, in sorted order, take the palette's colours with solid lines, then the
    same colours dashed, and so on; each also has its own marker. Plugin optimizers are hashed
    onto the remaining slots (two plugins may share a slot; their names still tell them apart).
    """
    i = style_index(optimizer)
    return Style(
        color=PALETTE[i % len(PALETTE)],
        marker=MARKERS[i % len(MARKERS)],
        linestyle=LINESTYLES[(i // len(PALETTE)) % len(LINESTYLES)],
    )


def optimizer_order(names: Iterable[str]) -> list[str]:
    """``names`` in a stable order: built-ins by their style slot, then plugins by name."""
    builtin = builtin_optimizers()
    return sorted(
        set(names), key=lambda n: (n not in builtin, builtin.index(n) if n in builtin else 0, n)
    )


# --- runs and cells --------------------------------------------------------------------------


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


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
            choices[entry.params] = _json(row.get(entry.params))
    return Cell(
        **choices,
        batch_size=None if _missing(row["batch_size"]) else int(row["batch_size"]),
        steps=int(row["steps"]),
        log_every=int(row["log_every"]),
        seeds=(int(row["seed"]),),
        grid_seed=int(row["grid_seed"]),
    )


def problem_labels(runs: pd.DataFrame) -> pd.Series:
    """A readable problem label per row: the name, plus its parameters when the store holds the
    same problem with several parameter sets (``rosenbrock(dim=4)``)."""
    variants = runs.groupby("problem")["problem_params"].transform("nunique")

    def label(name: str, params: str, several: int) -> str:
        if several <= 1:
            return name
        args = ",".join(f"{k}={v}" for k, v in _json(params).items())
        return f"{name}({args})"

    return pd.Series(
        [label(*t) for t in zip(runs["problem"], runs["problem_params"], variants, strict=True)],
        index=runs.index,
        name="problem",
    )


def _labelled(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.assign(problem_name=runs["problem"], problem=problem_labels(runs))


def _keys(cells: Iterable[str] | pd.DataFrame) -> list[str]:
    if isinstance(cells, pd.DataFrame):
        return list(cells["cell_key"])
    return list(cells)


def _as_cells(cells: Iterable[str] | pd.DataFrame) -> list[str] | pd.DataFrame:
    """``cells`` in a form that can be read more than once."""
    return cells if isinstance(cells, pd.DataFrame) else list(cells)


def spans_decades(values: Iterable[float], decades: float = LOG_SCALE_DECADES) -> bool:
    """Whether a log axis suits ``values``: none of their finite values is negative and the
    positive ones span at least ``decades`` powers of ten (zeros fall off the bottom edge)."""
    v = np.asarray(list(values), dtype=np.float64)
    v = v[np.isfinite(v)]
    if np.any(v < 0):
        return False
    v = v[v > 0]
    return bool(v.size and np.log10(v.max() / v.min()) >= decades)


# --- curves ----------------------------------------------------------------------------------


def quantiles(values: np.ndarray, qs: Iterable[float]) -> np.ndarray:
    """Linear-interpolation quantiles along the last axis, ignoring NaN and honouring ``+inf``.

    ``np.nanquantile`` turns the quantile between two infinite values into NaN; here it is
    ``inf``, as is any quantile that interpolates towards an infinite value.

    Returns
    -------
    numpy.ndarray, shape (len(qs), *values.shape[:-1])
        NaN where a row holds no value.
    """
    x = np.sort(np.asarray(values, dtype=np.float64), axis=-1)  # NaN sorts last
    n = np.sum(~np.isnan(x), axis=-1)
    out = []
    for q in qs:
        h = np.maximum(n - 1, 0) * q
        lo = np.floor(h).astype(np.intp)
        hi = np.ceil(h).astype(np.intp)
        low = np.take_along_axis(x, lo[..., None], axis=-1)[..., 0]
        high = np.take_along_axis(x, hi[..., None], axis=-1)[..., 0]
        with np.errstate(invalid="ignore"):
            value = np.where(high == low, low, low + (high - low) * (h - lo))
        out.append(np.where(n > 0, value, np.nan))
    return np.stack(out)


def _config_labels(runs: pd.DataFrame, cells: Iterable[str] | pd.DataFrame) -> dict[str, str]:
    """Cell key -> readable configuration: the ``config`` column of ``cells`` when it has one
    (``bench.analysis.tuned`` does), else ``bench.analysis.config_label`` of the cell's row."""
    if isinstance(cells, pd.DataFrame) and "config" in cells:
        return dict(zip(cells["cell_key"], cells["config"].fillna(""), strict=True))
    from bench.analysis import config_label

    first = runs[runs["cell_key"].isin(_keys(cells))].drop_duplicates("cell_key")
    return {row["cell_key"]: config_label(row) for _, row in first.iterrows()}


def _run_table(runs: pd.DataFrame, cells: Iterable[str] | pd.DataFrame) -> pd.DataFrame:
    columns = ["run_id", "cell_key", "seed", "problem", "optimizer", "status", "diverged_step"]
    table = _labelled(runs)[runs["cell_key"].isin(_keys(cells))][columns]
    return table.assign(label=table["cell_key"].map(_config_labels(runs, cells)))


def curve_bands(
    curves: pd.DataFrame,
    runs: pd.DataFrame,
    cells: Iterable[str] | pd.DataFrame,
    metric: str = "train_loss",
    x: str = "step",
) -> pd.DataFrame:
    """Median and interquartile range over seeds of ``metric`` at every logged step of each cell.

    Parameters
    ----------
    curves, runs
        The frames of ``bench.store.store.load``.
    cells
        Cell keys (or a frame with a ``cell_key`` column, such as ``bench.analysis.tuned``).
    metric
        A curve column. From its ``diverged_step`` on, a diverged run counts as ``inf`` for a
        ``*_loss`` metric and as 0 for an accuracy (as :mod:`bench.analysis` counts it).
    x
        ``"step"``, ``"epoch"`` or ``"time"``; the x of a step is the median of the seeds' x
        there (steps and epochs agree across seeds, cumulative optimization time does not).

    Returns
    -------
    pandas.DataFrame
        One row per (cell, logged step): ``problem``, ``optimizer``, ``cell_key``, ``label``
        (the configuration), ``step``, ``x``, ``median``, ``q25``, ``q75``, ``seeds`` (runs
        with a value there, diverged included) and ``diverged`` (runs diverged by then).
    """
    cells = _as_cells(cells)
    if x not in ("step", "epoch", "time"):
        raise ValueError(f"x must be 'step', 'epoch' or 'time', got {x!r}")
    columns = ["problem", "optimizer", "cell_key", "label", "step", "x", "median", "q25", "q75",
               "seeds", "diverged"]  # fmt: skip
    table = _run_table(runs, cells)
    points = curves[curves["cell_key"].isin(table["cell_key"])]
    if points.empty:
        return pd.DataFrame(columns=columns)
    # One row per (cell, logged step), one column per seed: all cells in one array program.
    by_point = points.set_index(["cell_key", "step", "seed"])
    values = by_point[metric].unstack("seed")
    cell_of = values.index.get_level_values("cell_key").to_numpy()
    step_of = values.index.get_level_values("step").to_numpy()
    # As bench.analysis counts them: a diverged loss is inf, a diverged accuracy 0.
    blown = np.inf if metric.endswith("loss") else 0.0
    diverged = np.zeros(len(values), dtype=np.int64)
    gone = table[(table["status"] == "diverged") & table["diverged_step"].notna()]
    for key, seed, at in gone[["cell_key", "seed", "diverged_step"]].itertuples(index=False):
        after = (cell_of == key) & (step_of >= at)
        if seed not in values:  # diverged before its first logged point
            values[seed] = np.nan
        values.loc[after, seed] = blown
        diverged += after
    median, q25, q75 = quantiles(values.to_numpy(), (0.5, 0.25, 0.75))
    if x == "step":
        xs = step_of.astype(np.float64)
    else:
        with warnings.catch_warnings():  # a step no seed logged has no x: NaN, quietly
            warnings.simplefilter("ignore", RuntimeWarning)
            xs = np.nanmedian(by_point[x].unstack("seed").to_numpy(), axis=1)
    cell = table.drop_duplicates("cell_key").set_index("cell_key")
    bands = pd.DataFrame(
        {
            "problem": cell["problem"].reindex(cell_of).to_numpy(),
            "optimizer": cell["optimizer"].reindex(cell_of).to_numpy(),
            "cell_key": cell_of,
            "label": cell["label"].reindex(cell_of).to_numpy(),
            "step": step_of,
            "x": xs,
            "median": median,
            "q25": q25,
            "q75": q75,
            "seeds": values.notna().sum(axis=1).to_numpy(),
            "diverged": diverged,
        }
    )
    return bands[columns]


def divergence_marks(
    curves: pd.DataFrame,
    runs: pd.DataFrame,
    cells: Iterable[str] | pd.DataFrame,
    metric: str = "train_loss",
    x: str = "step",
) -> pd.DataFrame:
    """Where each diverged run of ``cells`` blew up: its step and its last finite value before.

    Returns
    -------
    pandas.DataFrame
        One row per diverged run: ``problem``, ``optimizer``, ``cell_key``, ``seed``, ``step``
        (its ``diverged_step``), ``x`` (the step, or the epoch or optimization time of the last
        point logged before it) and ``y`` (``metric`` there; NaN when the start already failed).
    """
    cells = _as_cells(cells)
    table = _run_table(runs, cells)
    table = table[(table["status"] == "diverged") & table["diverged_step"].notna()]
    rows = []
    by_run = curves[curves["run_id"].isin(table["run_id"])].groupby("run_id")
    for run in table.itertuples(index=False):
        at = int(run.diverged_step)
        before = by_run.get_group(run.run_id) if run.run_id in by_run.groups else None
        if before is not None:
            before = before[(before["step"] < at) & np.isfinite(before[metric])]
        last = None if before is None or before.empty else before.iloc[-1]
        rows.append(
            {
                "problem": run.problem,
                "optimizer": run.optimizer,
                "cell_key": run.cell_key,
                "seed": run.seed,
                "step": at,
                "x": float(at) if x == "step" else (np.nan if last is None else last[x]),
                "y": np.nan if last is None else float(last[metric]),
            }
        )
    columns = ["problem", "optimizer", "cell_key", "seed", "step", "x", "y"]
    return pd.DataFrame(rows, columns=columns)


def convergence_data(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    cells: Iterable[str] | pd.DataFrame,
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
        ``bands`` (:func:`curve_bands`), ``divergences`` (:func:`divergence_marks`), ``log_y``
        (problem -> whether its finite positive medians and quartiles span two decades or
        more), ``x`` and ``metric``.
    """
    cells = _as_cells(cells)
    bands = curve_bands(curves, runs, cells, metric, x)
    marks = divergence_marks(curves, runs, cells, metric, x)
    log_y = {
        problem: spans_decades(np.concatenate([g["median"], g["q25"], g["q75"]]))
        and not metric.endswith("accuracy")
        for problem, g in bands.groupby("problem", sort=True)
    }
    return {"bands": bands, "divergences": marks, "log_y": log_y, "x": x, "metric": metric}


def accuracy_metric(curves: pd.DataFrame) -> str | None:
    """``test_accuracy`` when the curves have any, else ``train_accuracy``, else None."""
    for metric in ("test_accuracy", "train_accuracy"):
        if metric in curves and curves[metric].notna().any():
            return metric
    return None


def accuracy_data(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    cells: Iterable[str] | pd.DataFrame,
    x: str = "step",
) -> dict[str, Any]:
    """The data of the accuracy figures: like :func:`convergence_data` for the classification
    problems among ``cells``, on ``test_accuracy`` (``train_accuracy`` where a problem has no
    test set). A diverged run counts as accuracy 0 from its divergence on and is marked there.
    """
    cells = _as_cells(cells)
    keys = set(_keys(cells))
    parts, marks, metrics = [], [], {}
    for problem, group in _labelled(runs)[runs["cell_key"].isin(keys)].groupby("problem"):
        mine = curves[curves["cell_key"].isin(group["cell_key"])]
        metric = accuracy_metric(mine)
        if metric is None:
            continue
        metrics[problem] = metric
        cell_keys = group["cell_key"].unique()
        if isinstance(cells, pd.DataFrame):  # keep its configuration labels
            cell_keys = cells[cells["cell_key"].isin(cell_keys)]
        parts.append(curve_bands(curves, runs, cell_keys, metric, x).assign(metric=metric))
        marks.append(divergence_marks(curves, runs, cell_keys, metric, x))
    if not parts:
        parts = [curve_bands(curves, runs, [], "test_accuracy", x)]
        marks = [divergence_marks(curves, runs, [])]
    return {
        "bands": pd.concat(parts, ignore_index=True),
        "divergences": pd.concat(marks, ignore_index=True),
        "metric": metrics,
        "x": x,
    }


# --- learning-rate sensitivity and robustness ------------------------------------------------


def _with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """An analysis frame with ``problem`` turned into the problem label."""
    if "problem_params" not in frame:
        return frame.copy()
    return frame.assign(problem=problem_labels(frame))


def sensitivity_data(sensitivity: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The data of the learning-rate sensitivity figure (DeepOBS style).

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
    frame = _with_labels(sensitivity)
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
    frame = _with_labels(robustness)
    result = {}
    for problem, table in frame.groupby("problem", sort=True):
        rows = optimizer_order(table["optimizer"])
        columns = sorted(set(table["value"]), key=lambda v: (v not in ("none", "default"), v))

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


# --- rankings: passthrough with a stable order -----------------------------------------------


def _ranked(frame: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """``frame`` sorted by optimizer (highest mean of ``y`` first), then ``x``."""
    missing = {"optimizer", x, y} - set(frame.columns)
    if missing:
        raise ValueError(f"expected columns optimizer, {x}, {y}; missing {sorted(missing)}")
    frame = frame.sort_values(["optimizer", x], kind="stable")

    # The analysis evaluates every optimizer on the same grid of x, so the mean height is the
    # area under the curve up to a common factor.
    areas = frame.groupby("optimizer")[y].mean().to_dict()
    order = sorted(areas, key=lambda n: (-areas[n], n))
    rank = frame["optimizer"].map({name: i for i, name in enumerate(order)})
    ranked = frame.assign(_rank=rank).sort_values(["_rank", x], kind="stable")
    return ranked.drop(columns="_rank").reset_index(drop=True)


def profile_data(profile: pd.DataFrame) -> pd.DataFrame:
    """The Dolan–Moré performance profile (``bench.analysis.performance_profile``), its rows
    unchanged, ordered by optimizer (largest area under its curve first, so the legend reads
    as a ranking: the mean of rho over the shared taus), then by ``tau``."""
    return _ranked(profile, "tau", "rho")


ECDF_MEASURES = ("budget_fraction", "seconds")


def ecdf_data(ecdf: pd.DataFrame) -> pd.DataFrame:
    """The runtime ECDF (``bench.analysis.runtime_ecdf``), its rows unchanged, ordered like
    :func:`profile_data`, then by cost (``budget_fraction`` or ``seconds``)."""
    measure = next((m for m in ECDF_MEASURES if m in ecdf), ECDF_MEASURES[0])
    return _ranked(ecdf, measure, "fraction")


# --- trajectories on the 2-D test functions --------------------------------------------------


# A problem or optimizer of a plugin that this process has not imported cannot be rebuilt.
UNBUILDABLE = (ValueError, KeyError, TypeError, ImportError)


def is_planar_function(problem: str, problem_params: str | dict) -> bool:
    """Whether a problem is a 2-D test function (it has ``value`` and ``dim == 2``); False for
    a problem that cannot be built here."""
    try:
        built = build_problem_by_name(problem, problem_params)
    except UNBUILDABLE:
        return False
    return hasattr(built, "value") and getattr(built, "dim", None) == 2


def _trace(row: pd.Series) -> np.ndarray | None:
    try:
        return trace_params(cell_from_row(row), int(row["seed"]))
    except Exception:  # noqa: BLE001 - a plugin not imported here, or one that fails when rerun
        return None  # alone: the figure leaves that optimizer's path out rather than fail


def trajectory_data(
    runs: pd.DataFrame, cells: Iterable[str] | pd.DataFrame, resolution: int = 160
) -> dict[str, dict[str, Any]]:
    """The data of the trajectory figures: for each 2-D test function among ``cells``, the path of
    each optimizer's first seed (rerun with :func:`bench.run.engine.trace_params`) over a grid of
    ``log10(f - optimum + eps)``. Runs that errored are not rerun, nor are optimizers of
    plugins this process has not imported.

    Returns
    -------
    dict
        Problem label -> ``{"paths": {optimizer: (steps + 1, 2) array}, "starts": {optimizer:
        (2,)}, "shared_start": bool, "minimizer": (2,), "optimum": float, "x": (resolution,),
        "y": (resolution,), "z": (resolution, resolution) log10 values, "eps": float}``.
        Problems that are not 2-D test functions are absent.
    """
    cells = _as_cells(cells)
    keys = set(_keys(cells))
    chosen = _labelled(runs)[runs["cell_key"].isin(keys) & (runs["status"] != "error")]
    chosen = chosen.sort_values(["cell_key", "seed"]).groupby("cell_key", sort=False).head(1)
    result = {}
    for problem, group in chosen.groupby("problem", sort=True):
        first = group.iloc[0]
        if not is_planar_function(first["problem_name"], first["problem_params"]):
            continue
        function = build_problem_by_name(first["problem_name"], first["problem_params"])
        traced = {row["optimizer"]: _trace(row) for _, row in group.iterrows()}
        paths = {name: traced[name] for name in optimizer_order(traced) if traced[name] is not None}
        if not paths:
            continue
        starts = {name: path[0] for name, path in paths.items()}
        optimum = float(function.optimum or 0.0)
        x, y = _window(function, paths)
        xs, ys = np.linspace(*x, resolution), np.linspace(*y, resolution)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1)
        gap = np.maximum(function.value(grid) - optimum, 0.0)
        eps = 1e-12 * max(1.0, float(np.nanmax(gap)))
        result[problem] = {
            "paths": paths,
            "starts": starts,
            "shared_start": len({tuple(s) for s in starts.values()}) == 1,
            "minimizer": np.asarray(function.minimizer, dtype=np.float64),
            "optimum": optimum,
            "x": xs,
            "y": ys,
            "z": np.log10(gap + eps),
            "eps": eps,
        }
    return result


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

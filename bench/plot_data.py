"""The numbers behind every figure of :mod:`bench.plots`, as tidy pandas frames; no matplotlib.

Each ``*_data`` function here feeds one ``plot_*`` function of :mod:`bench.plots`, so what a figure
shows can be tested without drawing it. Conventions shared by every function:

- ``problem`` in the returned frames is a problem *label*: the registry name, followed by its
  parameters only when one store holds the same problem with several parameter sets
  (:func:`problem_labels`).
- A diverged run's loss counts as ``+inf`` from its divergence step on, so medians and quartiles
  over seeds are honest: when more than half of the seeds have diverged, the median is ``inf``.
  Runs that errored or timed out have no value (NaN) and are left out.
- ``style(optimizer)`` gives every optimizer one colour, marker and line style, the same in every
  figure and every report.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

import optimizers
from bench.cell import Cell
from bench.engine import build_problem_by_name, trace_params
from bench.summary import config_label

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
# 13 filled markers (13 is prime to the 8 colours, so the triple repeats only after 104 styles).
# "x" is not among them: it marks divergence in every figure.
MARKERS = ("o", "s", "^", "D", "v", "P", "<", ">", "p", "h", "d", "8", "H")
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
    return tuple(n for n in optimizers.names() if optimizers.get(n).__module__.startswith("optimizers."))


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
    return sorted(set(names), key=lambda n: (n not in builtin_optimizers(), style_index(n), n))


# --- runs and cells --------------------------------------------------------------------------


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def cell_from_row(row: Mapping[str, Any] | pd.Series) -> Cell:
    """The :class:`~bench.cell.Cell` a row of the runs frame came from, narrowed to its seed.

    Parameters
    ----------
    row
        One row of ``bench.store.load(path)[0]``.

    Returns
    -------
    Cell
        With ``seeds=(row["seed"],)``; its ``key`` equals the row's ``cell_key``.
    """
    return Cell(
        problem=row["problem"],
        problem_params=_json(row["problem_params"]),
        optimizer=row["optimizer"],
        optimizer_params=_json(row["optimizer_params"]),
        initializer=None if _missing(row["initializer"]) else str(row["initializer"]),
        clip=row["clip"],
        clip_params=_json(row["clip_params"]),
        schedule=row["schedule"],
        schedule_params=_json(row["schedule_params"]),
        regularizer=row["regularizer"],
        regularizer_params=_json(row["regularizer_params"]),
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


def spans_decades(values: Iterable[float], decades: float = LOG_SCALE_DECADES) -> bool:
    """Whether a log axis suits ``values``: their finite values are all positive and span at
    least ``decades`` powers of ten."""
    v = np.asarray(list(values), dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0 or np.any(v <= 0):
        return False
    return bool(np.log10(v.max() / v.min()) >= decades)


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


def _run_table(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    columns = ["run_id", "cell_key", "seed", "problem", "optimizer", "status", "diverged_step"]
    table = _labelled(runs)[runs["cell_key"].isin(keys)]
    return table[columns].assign(label=runs.loc[table.index].apply(config_label, axis=1))


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
        The frames of ``bench.store.load``.
    cells
        Cell keys (or a frame with a ``cell_key`` column, such as ``bench.analysis.tuned``).
    metric
        A curve column. For a ``*_loss`` metric a diverged run counts as ``inf`` from its
        ``diverged_step`` on; for other metrics it counts as missing there.
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
    if x not in ("step", "epoch", "time"):
        raise ValueError(f"x must be 'step', 'epoch' or 'time', got {x!r}")
    keys = _keys(cells)
    table = _run_table(runs, keys)
    blown = np.inf if metric.endswith("loss") else np.nan
    points = curves[curves["cell_key"].isin(keys)]
    frames = []
    for key, cell_runs in table.groupby("cell_key", sort=False):
        cell_points = points[points["cell_key"] == key]
        values = cell_points.pivot(index="step", columns="seed", values=metric)
        xs = cell_points.pivot(index="step", columns="seed", values=x)
        steps = values.index.to_numpy()
        diverged = np.zeros(len(steps), dtype=np.int64)
        for seed, status, at in cell_runs[["seed", "status", "diverged_step"]].itertuples(
            index=False
        ):
            if status != "diverged" or pd.isna(at):
                continue
            if seed not in values:  # diverged before its first logged point
                values[seed] = np.nan
            values.loc[steps >= at, seed] = blown
            diverged += steps >= at
        median, q25, q75 = quantiles(values.to_numpy(), (0.5, 0.25, 0.75))
        first = cell_runs.iloc[0]
        frames.append(
            pd.DataFrame(
                {
                    "problem": first["problem"],
                    "optimizer": first["optimizer"],
                    "cell_key": key,
                    "label": first["label"],
                    "step": steps,
                    "x": np.nanmedian(xs.to_numpy(), axis=1) if x != "step" else steps,
                    "median": median,
                    "q25": q25,
                    "q75": q75,
                    "seeds": values.notna().sum(axis=1).to_numpy(),
                    "diverged": diverged,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["problem", "optimizer", "cell_key", "label", "step", "x",
                                     "median", "q25", "q75", "seeds", "diverged"])  # fmt: skip
    return pd.concat(frames, ignore_index=True)


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
    keys = _keys(cells)
    table = _run_table(runs, keys)
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
        The frames of ``bench.store.load``.
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
    bands = curve_bands(curves, runs, cells, metric, x)
    marks = divergence_marks(curves, runs, cells, metric, x)
    log_y = {
        problem: spans_decades(np.concatenate([g["median"], g["q25"], g["q75"]]))
        and not metric.endswith("accuracy")
        for problem, g in bands.groupby("problem", sort=True)
    }
    return {"bands": bands, "divergences": marks, "log_y": log_y, "x": x, "metric": metric}


def accuracy_metric(curves: pd.DataFrame, problem: str | None = None) -> str | None:
    """``test_accuracy`` when the curves have any, else ``train_accuracy``, else None."""
    if problem is not None:
        curves = curves[curves["problem"] == problem]
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
    test set). Diverged runs leave the median (they count as missing, not as zero accuracy)
    and are marked where they diverged."""
    keys = set(_keys(cells))
    parts, marks, metrics = [], [], {}
    for problem, group in _labelled(runs)[runs["cell_key"].isin(keys)].groupby("problem"):
        mine = curves[curves["cell_key"].isin(group["cell_key"])]
        metric = accuracy_metric(mine)
        if metric is None:
            continue
        metrics[problem] = metric
        cell_keys = group["cell_key"].unique()
        parts.append(curve_bands(curves, runs, cell_keys, metric, x).assign(metric=metric))
        marks.append(divergence_marks(curves, runs, cell_keys, metric, x))
    empty = curve_bands(curves, runs, [], "test_accuracy", x)
    return {
        "bands": pd.concat(parts, ignore_index=True) if parts else empty,
        "divergences": pd.concat(marks, ignore_index=True) if marks else divergence_marks(
            curves, runs, []
        ),
        "metric": metrics,
        "x": x,
    }


# --- learning-rate sensitivity and robustness ------------------------------------------------

_CONFIG = ("problem", "problem_params", "optimizer", "initializer", "clip", "clip_params",
           "schedule", "schedule_params", "regularizer", "regularizer_params", "batch_size",
           "steps")  # fmt: skip
_AXES = {"clip": ("clip", "clip_params"), "initializer": ("initializer",),
         "schedule": ("schedule", "schedule_params"),
         "regularizer": ("regularizer", "regularizer_params")}  # fmt: skip


def _signature(runs: pd.DataFrame, free: tuple[str, ...]) -> pd.Series:
    """Each row's configuration as text, leaving out the ``free`` columns (``lr`` may be one)."""
    columns = [c for c in (*_CONFIG, "lr") if c not in free]
    # The lr also sits in optimizer_params: compare the other hyperparameters only.
    others = [
        json.dumps({k: v for k, v in _json(p).items() if k != "lr"}, sort_keys=True)
        for p in runs["optimizer_params"]
    ]
    rows = runs[columns].itertuples(index=False)
    text = ["|".join(map(str, (*row, other))) for row, other in zip(rows, others, strict=True)]
    return pd.Series(text, index=runs.index)


def _around_tuned(
    runs: pd.DataFrame, cells: Iterable[str] | pd.DataFrame | None, free: tuple[str, ...]
) -> pd.DataFrame:
    """The runs that share each tuned cell's configuration except the ``free`` columns."""
    if cells is None:
        return runs
    keys = set(_keys(cells))
    signature = _signature(runs, free)
    wanted = set(signature[runs["cell_key"].isin(keys)])
    return runs[signature.isin(wanted)]


def final_losses(runs: pd.DataFrame, metric: str = "final_train_loss") -> pd.Series:
    """``metric`` per run, ``inf`` for diverged runs and NaN for errors and timeouts."""
    loss = runs[metric].astype("float64")
    loss = loss.where(runs["status"] != "diverged", np.inf)
    return loss.where(runs["status"].isin(("done", "diverged")))


def sensitivity_data(
    runs: pd.DataFrame,
    cells: Iterable[str] | pd.DataFrame | None = None,
    metric: str = "final_train_loss",
) -> dict[str, pd.DataFrame]:
    """The data of the learning-rate sensitivity figure (DeepOBS style).

    Parameters
    ----------
    runs
        The runs frame.
    cells
        The tuned cells: each optimizer's curve then varies only the learning rate around its
        tuned configuration. None pools every run of an optimizer at each lr.
    metric
        The final metric on the y axis.

    Returns
    -------
    dict
        ``points``: one row per run with ``problem``, ``optimizer``, ``lr``, ``seed``, ``loss``
        (``inf`` when diverged) and ``diverged``; ``lines``: per (problem, optimizer, lr) the
        ``median`` over those runs, ``runs`` and ``diverged_share``.
    """
    picked = _around_tuned(_labelled(runs), cells, ("lr",))
    picked = picked[picked["lr"].notna()]
    points = pd.DataFrame(
        {
            "problem": picked["problem"],
            "optimizer": picked["optimizer"],
            "lr": picked["lr"].astype("float64"),
            "seed": picked["seed"],
            "loss": final_losses(picked, metric),
            "diverged": picked["status"] == "diverged",
        }
    ).dropna(subset=["loss"])
    points = points.sort_values(["problem", "optimizer", "lr", "seed"], ignore_index=True)
    grouped = points.groupby(["problem", "optimizer", "lr"], sort=True)
    lines = grouped.agg(runs=("loss", "size"), diverged_share=("diverged", "mean"))
    lines.insert(0, "median", grouped["loss"].agg(lambda s: quantiles(s.to_numpy(), [0.5])[0]))
    return {"points": points, "lines": lines.reset_index()}


def axis_value(runs: pd.DataFrame, axis: str) -> pd.Series:
    """A label per row for the configuration axis ``axis``: ``none``, ``global_norm(max_norm=1)``,
    ``xavier_uniform``, ``default`` (no initializer: the problem's own)."""
    columns = _AXES[axis]
    names = runs[columns[0]]
    if len(columns) == 1:
        return names.where(names.notna(), "default").astype(str)
    params = runs[columns[1]]

    def label(name: str, text: str) -> str:
        args = ",".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in _json(text).items()
        )
        return f"{name}({args})" if args else name

    return pd.Series([label(n, p) for n, p in zip(names, params, strict=True)], index=runs.index)


def robustness_data(
    runs: pd.DataFrame,
    axis: str,
    cells: Iterable[str] | pd.DataFrame | None = None,
    metric: str = "final_train_loss",
) -> pd.DataFrame:
    """The data of a robustness heatmap: optimizer x ``axis`` value, per problem.

    Parameters
    ----------
    runs
        The runs frame.
    axis
        ``"clip"``, ``"initializer"``, ``"schedule"`` or ``"regularizer"``.
    cells
        The tuned cells: each optimizer's row then changes only ``axis`` from its tuned
        configuration (lr included). None pools all runs with that axis value.
    metric
        The final metric whose median colours the cell.

    Returns
    -------
    pandas.DataFrame
        One row per (problem, optimizer, value): ``median`` (``inf`` when most runs diverged),
        ``diverged_share``, ``runs`` (finished runs counted; errors are left out).
    """
    if axis not in _AXES:
        raise ValueError(f"axis must be one of {sorted(_AXES)}, got {axis!r}")
    picked = _around_tuned(_labelled(runs), cells, _AXES[axis])
    frame = pd.DataFrame(
        {
            "problem": picked["problem"],
            "optimizer": picked["optimizer"],
            "value": axis_value(picked, axis),
            "loss": final_losses(picked, metric),
            "diverged": picked["status"] == "diverged",
        }
    ).dropna(subset=["loss"])
    grouped = frame.groupby(["problem", "optimizer", "value"], sort=True)
    table = grouped.agg(runs=("loss", "size"), diverged_share=("diverged", "mean"))
    table.insert(0, "median", grouped["loss"].agg(lambda s: quantiles(s.to_numpy(), [0.5])[0]))
    return table.reset_index()


# --- rankings: passthrough with a stable order -----------------------------------------------


def _ranked(frame: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """``frame`` sorted by optimizer (best area under the step curve first), then ``x``."""
    missing = {"optimizer", x, y} - set(frame.columns)
    if missing:
        raise ValueError(f"expected columns optimizer, {x}, {y}; missing {sorted(missing)}")
    frame = frame.sort_values(["optimizer", x], kind="stable")

    def area(group: pd.DataFrame) -> float:
        xs = group[x].to_numpy(dtype=np.float64)
        ys = group[y].to_numpy(dtype=np.float64)
        finite = np.isfinite(xs)
        xs, ys = xs[finite], ys[finite]
        return float(np.sum(np.diff(xs) * ys[:-1])) if xs.size > 1 else float(np.nansum(ys))

    areas = {name: area(g) for name, g in frame.groupby("optimizer", sort=False)}
    order = sorted(areas, key=lambda n: (-areas[n], n))
    rank = frame["optimizer"].map({name: i for i, name in enumerate(order)})
    return frame.assign(_rank=rank).sort_values(["_rank", x], kind="stable").drop(
        columns="_rank").reset_index(drop=True)  # fmt: skip


def profile_data(profile: pd.DataFrame) -> pd.DataFrame:
    """The Dolan–Moré performance profile (``bench.analysis.performance_profile``), unchanged,
    ordered by optimizer (largest area under its curve first, so the legend reads as a ranking)
    and then by ``tau``."""
    return _ranked(profile, "tau", "rho")


def ecdf_data(ecdf: pd.DataFrame) -> pd.DataFrame:
    """The runtime ECDF (``bench.analysis.runtime_ecdf``), unchanged, ordered like
    :func:`profile_data` and then by ``x``."""
    return _ranked(ecdf, "x", "fraction")


# --- trajectories on the 2-D test functions --------------------------------------------------


def is_planar_function(problem: str, problem_params: str | dict) -> bool:
    """Whether a problem is a 2-D test function (it has ``value`` and ``dim == 2``)."""
    built = build_problem_by_name(problem, problem_params)
    return hasattr(built, "value") and getattr(built, "dim", None) == 2


def trajectory_data(
    runs: pd.DataFrame, cells: Iterable[str] | pd.DataFrame, resolution: int = 160
) -> dict[str, dict[str, Any]]:
    """The data of the trajectory figures: for each 2-D test function among ``cells``, the path of
    each optimizer's first seed (rerun with :func:`bench.engine.trace_params`) over a grid of
    ``log10(f - optimum + eps)``.

    Returns
    -------
    dict
        Problem label -> ``{"paths": {optimizer: (steps + 1, 2) array}, "starts": {optimizer:
        (2,)}, "shared_start": bool, "minimizer": (2,), "optimum": float, "x": (resolution,),
        "y": (resolution,), "z": (resolution, resolution) log10 values, "eps": float}``.
        Problems that are not 2-D test functions are absent.
    """
    keys = set(_keys(cells))
    chosen = _labelled(runs)[runs["cell_key"].isin(keys)]
    chosen = chosen.sort_values(["cell_key", "seed"]).groupby("cell_key", sort=False).head(1)
    result = {}
    for problem, group in chosen.groupby("problem", sort=True):
        first = group.iloc[0]
        if not is_planar_function(first["problem_name"], first["problem_params"]):
            continue
        function = build_problem_by_name(first["problem_name"], first["problem_params"])
        paths = {
            row["optimizer"]: trace_params(cell_from_row(row), int(row["seed"]))
            for _, row in group.iterrows()
        }
        paths = {name: paths[name] for name in optimizer_order(paths)}
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

"""Curves over seeds, shared by the convergence and accuracy figures; no matplotlib.

The figures draw a cell's diverged runs apart from its band (``diverged="apart"``, the
default): the median and quartiles are over the runs that never diverged, and each diverged run
is a path of its own (:func:`diverged_paths`) ending where it blew up
(:func:`divergence_marks`). So one blown-up seed cannot stretch a band over the whole axis.
With ``diverged="counted"`` a diverged run's loss counts as ``+inf`` from its divergence step on
(its accuracy as 0), as :mod:`bench.analysis` counts it. Runs that errored have no values; a run
cut short by its timeout counts for the steps it logged.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from bench.report.labels import labelled

LOG_SCALE_DECADES = 2.0  # a loss axis is logarithmic when its positive values span this many
Cells = Iterable[str] | pd.DataFrame  # cell keys, or a frame with a cell_key column
DIVERGED = ("apart", "counted")  # how curve_bands treats a diverged run
PATH_COLUMNS = ["problem", "optimizer", "cell_key", "seed", "step", "x", "y"]
BAND_COLUMNS = ["problem", "optimizer", "cell_key", "label", "step", "x", "median", "q25", "q75",
                "seeds", "diverged"]  # fmt: skip


def keys(cells: Cells) -> list[str]:
    """The cell keys of ``cells``."""
    if isinstance(cells, pd.DataFrame):
        return list(cells["cell_key"])
    return list(cells)


def as_cells(cells: Cells) -> list[str] | pd.DataFrame:
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


def _config_labels(runs: pd.DataFrame, cells: Cells) -> dict[str, str]:
    """Cell key -> readable configuration: the ``config`` column of ``cells`` when it has one
    (``bench.analysis.tuned`` does), else ``bench.analysis.config_label`` of the cell's row."""
    if isinstance(cells, pd.DataFrame) and "config" in cells:
        return dict(zip(cells["cell_key"], cells["config"].fillna(""), strict=True))
    from bench.analysis import config_label

    first = runs[runs["cell_key"].isin(keys(cells))].drop_duplicates("cell_key")
    return {row["cell_key"]: config_label(row) for _, row in first.iterrows()}


def run_table(runs: pd.DataFrame, cells: Cells) -> pd.DataFrame:
    """The runs of ``cells``: ids, seed, problem label, optimizer, status, divergence, label."""
    columns = ["run_id", "cell_key", "seed", "problem", "optimizer", "status", "diverged_step"]
    table = labelled(runs)[runs["cell_key"].isin(keys(cells))][columns]
    return table.assign(label=table["cell_key"].map(_config_labels(runs, cells)))


def _gone(table: pd.DataFrame) -> pd.DataFrame:
    """The diverged runs of ``table`` whose divergence step is known."""
    return table[(table["status"] == "diverged") & table["diverged_step"].notna()]


def _diverged_counts(table: pd.DataFrame, cell_of: np.ndarray, step_of: np.ndarray) -> np.ndarray:
    """How many runs of each row's cell had diverged by its step."""
    diverged = np.zeros(len(cell_of), dtype=np.int64)
    for key, at in _gone(table)[["cell_key", "diverged_step"]].itertuples(index=False):
        diverged += (cell_of == key) & (step_of >= at)
    return diverged


def _count_diverged(values: pd.DataFrame, table: pd.DataFrame, blown: float) -> None:
    """Set each diverged run's values to ``blown`` from its divergence step on, in place."""
    cell_of = values.index.get_level_values("cell_key").to_numpy()
    step_of = values.index.get_level_values("step").to_numpy()
    for key, seed, at in _gone(table)[["cell_key", "seed", "diverged_step"]].itertuples(
        index=False
    ):
        if seed not in values:  # diverged before its first logged point
            values[seed] = np.nan
        values.loc[(cell_of == key) & (step_of >= at), seed] = blown


def _banded_points(curves: pd.DataFrame, table: pd.DataFrame, diverged: str) -> pd.DataFrame:
    """The logged points of the runs of ``table`` that enter the bands: all of them when
    diverged runs are ``"counted"``, those of the runs that never diverged when ``"apart"``."""
    if diverged not in DIVERGED:
        raise ValueError(f"diverged must be one of {DIVERGED}, got {diverged!r}")
    points = curves[curves["cell_key"].isin(table["cell_key"])]
    if diverged == "apart":
        points = points[~points["run_id"].isin(_gone(table)["run_id"])]
    return points


def _median_x(by_point: pd.DataFrame, x: str) -> np.ndarray:
    """The median over seeds of ``x`` at each (cell, step) row of ``by_point``."""
    with warnings.catch_warnings():  # a step no seed logged has no x: NaN, quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(by_point[x].unstack("seed").to_numpy(), axis=1)


def curve_bands(
    curves: pd.DataFrame,
    runs: pd.DataFrame,
    cells: Cells,
    metric: str = "train_loss",
    x: str = "step",
    *,
    diverged: str = "apart",
) -> pd.DataFrame:
    """Median and interquartile range over seeds of ``metric`` at every logged step of each cell.

    Parameters
    ----------
    curves, runs
        The frames of ``bench.store.store.load``.
    cells
        Cell keys (or a frame with a ``cell_key`` column, such as ``bench.analysis.tuned``).
    metric
        A curve column.
    diverged
        ``"apart"``: the band is over the runs that never diverged (a cell whose runs all
        diverged has none); draw the others with :func:`diverged_paths`. ``"counted"``: from
        its ``diverged_step`` on, a diverged run counts as ``inf`` for a ``*_loss`` metric and
        as 0 for an accuracy (as :mod:`bench.analysis` counts it).
    x
        ``"step"``, ``"epoch"`` or ``"time"``; the x of a step is the median of the seeds' x
        there (steps and epochs agree across seeds, cumulative optimization time does not).

    Returns
    -------
    pandas.DataFrame
        One row per (cell, logged step): ``problem``, ``optimizer``, ``cell_key``, ``label``
        (the configuration), ``step``, ``x``, ``median``, ``q25``, ``q75``, ``seeds`` (runs
        with a value there: diverged ones only when counted) and ``diverged`` (runs diverged
        by then).
    """
    cells = as_cells(cells)
    if x not in ("step", "epoch", "time"):
        raise ValueError(f"x must be 'step', 'epoch' or 'time', got {x!r}")
    table = run_table(runs, cells)
    points = _banded_points(curves, table, diverged)
    if points.empty:
        return pd.DataFrame(columns=BAND_COLUMNS)
    by_point = points.set_index(["cell_key", "step", "seed"])
    values = by_point[metric].unstack("seed")  # a row per (cell, logged step), a column per seed
    cell_of = values.index.get_level_values("cell_key").to_numpy()
    step_of = values.index.get_level_values("step").to_numpy()
    if diverged == "counted":  # as bench.analysis does: a diverged loss is inf, an accuracy 0
        _count_diverged(values, table, np.inf if metric.endswith("loss") else 0.0)
    median, q25, q75 = quantiles(values.to_numpy(), (0.5, 0.25, 0.75))
    xs = step_of.astype(np.float64) if x == "step" else _median_x(by_point, x)
    cell = table.drop_duplicates("cell_key").set_index("cell_key")
    bands = pd.DataFrame(
        {**{c: cell[c].reindex(cell_of).to_numpy() for c in ("problem", "optimizer")},
         "cell_key": cell_of, "label": cell["label"].reindex(cell_of).to_numpy(),
         "step": step_of, "x": xs, "median": median, "q25": q25, "q75": q75,
         "seeds": values.notna().sum(axis=1).to_numpy(),
         "diverged": _diverged_counts(table, cell_of, step_of)}
    )  # fmt: skip
    return bands[BAND_COLUMNS]


def _before_divergence(curves: pd.DataFrame, runs: pd.DataFrame, cells: Cells, metric: str):
    """Each diverged run of ``cells`` (a row of :func:`run_table`) with its logged points
    before its divergence step whose ``metric`` is finite, in step order."""
    table = _gone(run_table(runs, as_cells(cells)))
    by_run = curves[curves["run_id"].isin(table["run_id"])].groupby("run_id")
    for run in table.itertuples(index=False):
        if run.run_id in by_run.groups:
            logged = by_run.get_group(run.run_id).sort_values("step")
            before = logged[(logged["step"] < run.diverged_step) & np.isfinite(logged[metric])]
        else:
            before = curves.iloc[:0]
        yield run, before


def divergence_marks(
    curves: pd.DataFrame,
    runs: pd.DataFrame,
    cells: Cells,
    metric: str = "train_loss",
    x: str = "step",
) -> pd.DataFrame:
    """Where each diverged run of ``cells`` blew up: its step and its last finite value before.

    Returns
    -------
    pandas.DataFrame
        One row per diverged run: ``problem``, ``optimizer``, ``cell_key``, ``seed``, ``step``
        (its ``diverged_step``), ``x`` (the step, or the epoch or optimization time of the last
        point logged before it), ``y`` (``metric`` there; NaN when the start already failed)
        and ``label`` (the configuration).
    """
    rows = []
    for run, before in _before_divergence(curves, runs, cells, metric):
        at = int(run.diverged_step)
        last = None if before.empty else before.iloc[-1]
        rows.append(
            {
                **{column: getattr(run, column) for column in PATH_COLUMNS[:4]},
                "step": at,
                "x": float(at) if x == "step" else (np.nan if last is None else last[x]),
                "y": np.nan if last is None else float(last[metric]),
                "label": run.label,
            }
        )
    return pd.DataFrame(rows, columns=[*PATH_COLUMNS, "label"])


def diverged_paths(
    curves: pd.DataFrame,
    runs: pd.DataFrame,
    cells: Cells,
    metric: str = "train_loss",
    x: str = "step",
) -> pd.DataFrame:
    """The curve of each diverged run of ``cells`` up to where it blew up: its logged points
    with a finite ``metric`` before its divergence step, then its :func:`divergence_marks`
    point (on a step axis, the divergence step at the last finite value).

    Returns
    -------
    pandas.DataFrame
        :data:`PATH_COLUMNS`, one row per point, each run's points in order; a run that failed
        at its start has no row.
    """
    parts = []
    for run, before in _before_divergence(curves, runs, cells, metric):
        if before.empty:
            continue
        ends_at = float(run.diverged_step) if x == "step" else float(before[x].iloc[-1])
        path = pd.DataFrame(
            {
                "step": [*before["step"], int(run.diverged_step)],
                "x": [*before[x].astype(np.float64), ends_at],
                "y": [*before[metric].astype(np.float64), float(before[metric].iloc[-1])],
            }
        )
        parts.append(path.assign(**{c: getattr(run, c) for c in PATH_COLUMNS[:4]}))
    if not parts:
        return pd.DataFrame(columns=PATH_COLUMNS)
    return pd.concat(parts, ignore_index=True)[PATH_COLUMNS]

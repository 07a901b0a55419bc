"""Degenerate cells: seeds that repeat one run bit for bit.

A deterministic problem with no start or gradient noise (``quadratic`` with ``start_noise = 0``
and ``noise = 0``) gives every seed of a configuration the same run. Its n seeds are then one
observation counted n times: the median and IQR are still exact, but a bootstrap CI collapses to
a point and a rank test reads n ties as evidence. :func:`bench.analysis.cell_stats` marks such a
cell ``degenerate``, leaves its CIs NaN, and :func:`bench.analysis.significance` does not test it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# per-run results compared across a cell's non-error seeds (those the runs frame has)
RUN_COLUMNS = (
    "status",
    "steps_done",
    "final_train_loss",
    "best_train_loss",
    "final_test_loss",
    "final_train_accuracy",
    "final_test_accuracy",
)
# logged metrics compared step by step when the curves are given
CURVE_COLUMNS = ("train_loss", "grad_norm", "test_loss", "train_accuracy", "test_accuracy")
REASON = "identical seeds"
CAUSE = "a deterministic problem with no start or gradient noise"


def _codes(column: pd.Series) -> pd.Series:
    """Equal exactly when the values are equal bit for bit (every missing value is one code).

    Floats compare by their bit patterns, so ``0.0`` and ``-0.0`` differ; other columns by value.
    """
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(np.isnan(values), np.nan, values)  # one NaN payload
        return pd.Series(values.view(np.int64), index=column.index)
    return pd.Series(pd.factorize(column, use_na_sentinel=False)[0], index=column.index)


def _all_equal(frame: pd.DataFrame, columns: tuple[str, ...], by: list[str]) -> pd.Series:
    """Per ``by`` group: whether every column in ``columns`` (those present) is constant."""
    present = [c for c in columns if c in frame]
    codes = pd.DataFrame({c: _codes(frame[c]) for c in present}, index=frame.index)
    codes[by] = frame[by]
    return (codes.groupby(by, sort=False)[present].nunique(dropna=False) <= 1).all(axis=1)


def identical_seeds(runs: pd.DataFrame, curves: pd.DataFrame | None = None) -> pd.Series:
    """Per cell: whether its non-error seeds are at least two and all the same run.

    Parameters
    ----------
    runs
        The runs frame of :func:`bench.store.store.load`; its :data:`RUN_COLUMNS` are compared
        bit for bit across each cell's non-error runs.
    curves
        The curves frame of the same store, optional: when given, the logged metrics
        (:data:`CURVE_COLUMNS`) must also agree bit for bit at every logged step.

    Returns
    -------
    pandas.Series
        Boolean, indexed by ``cell_key`` (every cell of ``runs``).
    """
    valid = runs[runs["status"] != "error"]
    cells = pd.Index(runs["cell_key"].unique(), name="cell_key")
    if valid.empty:
        return pd.Series(False, index=cells, dtype=bool)
    same = _all_equal(valid, RUN_COLUMNS, ["cell_key"])
    same &= valid.groupby("cell_key", sort=False).size() >= 2
    if curves is not None and not curves.empty and "run_id" in valid:
        logged = curves[curves["run_id"].isin(valid["run_id"])]
        steps = _all_equal(logged, CURVE_COLUMNS, ["cell_key", "step"])
        curve_same = steps.groupby(level="cell_key").all()
        same &= curve_same.reindex(same.index, fill_value=True)
    return same.reindex(cells, fill_value=False).astype(bool)

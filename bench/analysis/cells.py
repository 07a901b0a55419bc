"""Per-run preparation and per-cell aggregates: medians with IQR and CI, success, ERT.

Counting rules, shared by everything in :mod:`bench.analysis`:

- Runs with status ``error`` are not results: they are counted (``errors``) and left out of every
  rate, median and test. ``timeout`` runs are results (partial ones).
- A diverged run's final losses count as ``+inf`` and its final accuracies as 0 (its parameters
  are non-finite, so it classifies nothing); its best loss is the best seen before divergence.
- A target is reached when its ``steps_to_<target>`` is not NA. Medians of steps- and
  time-to-target count misses as ``+inf``, so the median is finite only when at least half of
  the runs reached the target.
- ERT (expected running time, COCO): the steps spent by all runs divided by the number of runs
  that reached the target; a run that reached it spent its steps-to-target, one that did not
  spent ``steps_done`` (the whole budget, or up to its divergence or timeout: COCO counts the
  evaluations actually made). ``+inf`` without successes.
- Success means reaching the deepest (last, hardest) target of the problem's ladder.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd

from bench.analysis.degenerate import identical_seeds
from bench.analysis.stats import summarize
from bench.grid import axes as grid_axes
from bench.store import schema

PROBLEM = ["problem", "problem_params"]


def config_columns() -> tuple[str, ...]:
    """The columns that make up a configuration: every grid axis (``bench.grid.axes``), lr and
    the budget."""
    from_axes = tuple(column for column, _ in schema.axis_columns())
    return (*from_axes, "batch_size", "steps", "log_every", "grid_seed")


def default_axes() -> dict[str, str | None]:
    """Each varying axis's column and the value a grid that omits it gets."""
    return {entry.column: entry.default for entry in grid_axes.varying()}


# name in cell_stats -> per-run column made by `prepare`
METRICS = {
    "final_loss": "final_loss",
    "best_loss": "best_train_loss",
    "test_loss": "test_loss",
    "test_accuracy": "test_accuracy",
}


@dataclasses.dataclass(frozen=True)
class Ladder:
    """A problem's targets, easiest first, and the metric they apply to."""

    targets: tuple[float, ...] = ()
    metric: str = "train_loss"
    higher_is_better: bool = False


def ladders(runs: pd.DataFrame) -> dict[tuple[str, str], Ladder]:
    """Each problem's target ladder, as stored with its runs (``ladder_*`` columns of
    ``bench.load``). Runs without those columns have no targets."""
    if "ladder_targets" not in runs:
        return {}
    first = runs.drop_duplicates(PROBLEM)
    return {
        (problem, params): Ladder(tuple(targets), metric, bool(higher))
        for problem, params, targets, metric, higher in zip(
            first["problem"], first["problem_params"], first["ladder_targets"],
            first["ladder_metric"], first["ladder_higher_is_better"], strict=True,
        )
    }  # fmt: skip


def ladder(runs: pd.DataFrame, problem: str, problem_params: str) -> Ladder:
    """The target ladder of one stored problem (empty when the runs do not say)."""
    return ladders(runs).get((problem, problem_params), Ladder())


def target_label(target: float) -> str:
    """How a target is spelt in column names: ``format(target, "g")``."""
    return format(target, "g")


def prepare(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs with the analysis columns added (see the module docstring for the rules).

    Adds ``valid`` (not an error), ``diverged``, ``final_loss``, ``test_loss``, ``test_accuracy``
    and ``reached`` (deepest target; NaN for errors and problems without targets).
    """
    runs = runs.reset_index(drop=True)
    status = runs["status"]
    valid = status != "error"
    diverged = status == "diverged"
    loss = runs["final_train_loss"].astype("float64").mask(diverged, np.inf)
    test_loss = runs["final_test_loss"].astype("float64")
    accuracy = runs["final_test_accuracy"].astype("float64")
    by_problem = runs.groupby(PROBLEM, sort=False)
    has_test = by_problem["final_test_loss"].transform(lambda s: s.notna().any()).astype(bool)
    has_accuracy = by_problem["final_test_accuracy"].transform(lambda s: s.notna().any())
    reached = pd.Series(np.nan, index=runs.index)
    known = ladders(runs)
    for (problem, params), index in by_problem.groups.items():
        targets = known.get((problem, params), Ladder()).targets
        column = f"steps_to_{target_label(targets[-1])}" if targets else None
        if column is not None:
            hit = runs.loc[index, column].notna() if column in runs else False
            reached[index] = np.where(valid[index], hit, np.nan)
    return runs.assign(
        valid=valid,
        diverged=diverged,
        final_loss=loss.where(valid),
        test_loss=test_loss.mask(diverged & has_test, np.inf).where(valid),
        test_accuracy=accuracy.mask(diverged & has_accuracy.astype(bool), 0.0).where(valid),
        best_train_loss=runs["best_train_loss"].astype("float64").where(valid),
        reached=reached,
    )


def other_axes(frame: pd.DataFrame, exclude: tuple[str, ...]) -> pd.Series:
    """A key of each row's configuration apart from its problem, optimizer and ``exclude``.

    Rows with equal keys differ only in the excluded axes (``"lr"`` excludes the learning rate
    from ``optimizer_params`` too).
    """
    columns = [c for c in config_columns()[3:] if c in frame and c not in exclude]
    columns = [c for c in columns if c.removesuffix("_params") not in exclude]
    cells = frame.drop_duplicates("cell_key").set_index("cell_key")[columns]
    if "lr" in exclude and "optimizer_params" in cells:
        cells["optimizer_params"] = [
            json.dumps({k: v for k, v in json.loads(text).items() if k != "lr"}, sort_keys=True)
            for text in cells["optimizer_params"]
        ]
    keys = ["|".join(map(_token, row)) for row in cells.itertuples(index=False)]
    return frame["cell_key"].map(pd.Series(keys, index=cells.index, dtype=object))


def _token(value: object) -> str:
    """``repr`` with every spelling of missing (None, NaN, NA: it depends on the dtype) as one."""
    missing = value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
    return "-" if missing else repr(value)


def axis_label(name: object, params: str | None = None) -> str:
    """``name(k=v,...)`` for an axis value with JSON ``params``; ``default`` for no initializer."""
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return "default"
    values = json.loads(params) if isinstance(params, str) else {}
    args = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
    return f"{name}({args})" if args else str(name)


def config_label(row: pd.Series | dict, varying: tuple[str, ...] = ()) -> str:
    """A short readable name for a cell: lr, every axis not at its default, then ``varying``
    optimizer hyperparameters (flat ``opt.<name>`` columns) as ``name=value``."""
    parts = [f"lr={row['lr']:g}"] if pd.notna(row.get("lr")) else []
    for axis, default in default_axes().items():
        value = row.get(axis)
        if pd.notna(value) and value != default:
            parts.append(axis_label(value, row.get(f"{axis}_params")))
    for column in varying:
        value = row.get(column)
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        parts.append(f"{column.removeprefix('opt.')}={shown}")
    return " ".join(parts)


def _labels(cells: pd.DataFrame) -> pd.Series:
    """Config labels that also name the optimizer hyperparameters swept within an optimizer."""
    flat = [c for c in cells if c.startswith("opt.")]
    labels = pd.Series("", index=cells.index, dtype=str)
    for _, group in cells.groupby(["problem", "problem_params", "optimizer"], sort=False):
        varying = tuple(c for c in flat if group[c].astype(str).nunique() > 1)
        records = group.to_dict("records")
        labels[group.index] = [config_label(row, varying) for row in records]
    return labels


def target_stats(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, target of its problem's ladder): reach rate, median steps, ERT.

    Parameters
    ----------
    runs
        The runs frame of :func:`bench.store.store.load` (or already :func:`prepare`-d).

    Returns
    -------
    pandas.DataFrame
        Columns ``cell_key``, ``problem``, ``problem_params``, ``optimizer``, ``target``,
        ``target_index`` (0 = easiest), ``deepest``, ``n_runs`` (non-error runs),
        ``successes``, ``success_rate``, ``median_steps`` and ``median_time`` (misses count as
        ``+inf``), ``ert`` (steps) and ``ert_time`` (seconds of optimization), as defined in the
        module docstring. Cells whose every run errored have ``n_runs`` 0 and NaN statistics.
    """
    runs = runs if "valid" in runs else prepare(runs)
    columns = ["cell_key", "problem", "problem_params", "optimizer", "target", "target_index",
               "deepest", "n_runs", "successes", "success_rate", "median_steps", "median_time",
               "ert", "ert_time"]  # fmt: skip
    frames = []
    known = ladders(runs)
    for (problem, params), group in runs.groupby(PROBLEM, sort=True):
        targets = known.get((problem, params), Ladder()).targets
        for index, target in enumerate(targets):
            frame = _one_target(group, target)
            frames.append(frame.assign(target_index=index, deepest=index == len(targets) - 1))
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _one_target(group: pd.DataFrame, target: float) -> pd.DataFrame:
    """:func:`target_stats` for the cells of one problem and one of its targets."""
    valid = group[group["valid"]]
    cells = group.groupby("cell_key", sort=True)
    label = target_label(target)
    steps = _column(valid, f"steps_to_{label}")
    time = _column(valid, f"time_to_{label}")
    hit = steps.notna()
    spent = pd.DataFrame(
        {
            "cell_key": valid["cell_key"],
            "hit": hit.astype(int),
            "steps": steps.where(hit, valid["steps_done"]).astype("float64"),
            "time": time.where(hit, valid["opt_time"]).astype("float64"),
        }
    ).groupby("cell_key")
    sums = spent.sum()
    successes = sums["hit"].reindex(cells.size().index, fill_value=0)
    n_runs = valid.groupby("cell_key").size().reindex(successes.index, fill_value=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ert = sums["steps"].reindex(successes.index) / successes.where(successes > 0)
        ert_time = sums["time"].reindex(successes.index) / successes.where(successes > 0)
    keys = valid["cell_key"].to_numpy()
    median_steps = summarize(keys, steps.astype("float64").fillna(np.inf), n_resamples=0)
    median_time = summarize(keys, time.astype("float64").fillna(np.inf), n_resamples=0)
    first = cells[["problem", "problem_params", "optimizer"]].first()
    no_success = np.where(n_runs > 0, np.inf, np.nan)  # no valid run: NaN, else never reached
    return first.assign(
        target=float(target),
        n_runs=n_runs,
        successes=successes,
        success_rate=successes / n_runs.where(n_runs > 0),
        median_steps=median_steps["median"].reindex(first.index),
        median_time=median_time["median"].reindex(first.index),
        ert=ert.where(successes > 0, no_success),
        ert_time=ert_time.where(successes > 0, no_success),
    ).reset_index()


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(pd.NA, index=frame.index, dtype="Float64")


def _configurations(runs: pd.DataFrame, cells) -> pd.DataFrame:
    """Each cell's configuration columns and flat parameter columns (no initializer is None)."""
    config = [c for c in config_columns() if c in runs]
    prefixes = tuple(grid_axes.flat_prefixes().values())
    flat = [c for c in runs if c.startswith(prefixes)]
    table = cells[config + flat].first()
    if "initializer" in table:
        table["initializer"] = (
            table["initializer"].astype(object).where(table["initializer"].notna(), None)
        )
    return table


def _add_counts(table: pd.DataFrame, runs: pd.DataFrame, cells, curves) -> None:
    """``n_seeds``, ``n_valid``, ``errors``, ``timeouts`` and ``degenerate``, in place."""
    table["n_seeds"] = cells.size()
    table["n_valid"] = cells["valid"].sum().astype(int)
    table["errors"] = table["n_seeds"] - table["n_valid"]
    table["timeouts"] = (runs["status"] == "timeout").groupby(runs["cell_key"]).sum()
    table["degenerate"] = identical_seeds(runs, curves).reindex(table.index, fill_value=False)


def _metric_columns(table: pd.DataFrame, runs: pd.DataFrame, **bootstrap) -> pd.DataFrame:
    """``<metric>_<statistic>`` columns; no CI for a degenerate cell (one run repeated: its
    median and IQR are exact, a CI would claim n independent observations)."""
    keys = runs["cell_key"].to_numpy()
    columns = {}
    for name, column in METRICS.items():
        summary = summarize(keys, runs[column], **bootstrap).reindex(table.index)
        summary.loc[table["degenerate"], ["ci_low", "ci_high"]] = np.nan
        for statistic in summary:
            columns[f"{name}_{statistic}"] = summary[statistic]
    return pd.DataFrame(columns, index=table.index)


def _target_columns(table: pd.DataFrame, per_target: pd.DataFrame) -> pd.DataFrame:
    """``median_steps_to_<t>``, ``median_time_to_<t>`` and ``ert_<t>`` columns."""
    columns = {}
    for target, group in per_target.groupby("target", sort=True):
        label = target_label(target)
        group = group.set_index("cell_key")
        columns[f"median_steps_to_{label}"] = group["median_steps"].reindex(table.index)
        columns[f"median_time_to_{label}"] = group["median_time"].reindex(table.index)
        columns[f"ert_{label}"] = group["ert"].reindex(table.index)
    return pd.DataFrame(columns, index=table.index)


def _shares(table: pd.DataFrame, cells) -> pd.DataFrame:
    """``success`` (share reaching the deepest target) and ``divergence``, over non-error runs."""
    valid = table["n_valid"].where(table["n_valid"] > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        divergence = cells["diverged"].sum() / valid
    return pd.DataFrame({"success": cells["reached"].mean(), "divergence": divergence})


def cell_stats(
    runs: pd.DataFrame,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    curves: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per cell: its configuration and the statistics of its seeds.

    Parameters
    ----------
    runs
        The runs frame of :func:`bench.store.store.load`.
    n_resamples
        Bootstrap resamples for the CIs of the medians; 0 skips them (CI columns NaN).
    confidence
        Level of the bootstrap CIs.
    seed
        Seed of the bootstrap, so the table is the same on every call.
    curves
        The store's curves, optional: when given, a cell is ``degenerate`` only if its logged
        curves agree too (:func:`bench.analysis.degenerate.identical_seeds`).

    Returns
    -------
    pandas.DataFrame
        Sorted by problem, optimizer and cell key, with columns

        - configuration: ``cell_key`` and every configuration column of the runs frame
          (``problem``, ``problem_params``, ``optimizer``, ``lr``, ``initializer``, ``clip``...,
          the flat ``opt.*``... columns) and ``config``, a readable label;
        - counts: ``n_seeds`` (all runs), ``n_valid`` (non-error), ``errors``, ``timeouts``;
        - ``degenerate``: at least two non-error seeds, all the same run bit for bit (a
          deterministic problem with no start or gradient noise; :mod:`bench.analysis.degenerate`);
        - ``<metric>_median``, ``_q1``, ``_q3``, ``_ci_low``, ``_ci_high`` for ``final_loss``,
          ``best_loss``, ``test_loss``, ``test_accuracy`` (NaN where the problem has none; the
          CI is also NaN for a degenerate cell, whose seeds are not independent);
        - ``success`` (share reaching the deepest target) and ``divergence`` (share diverged),
          both over non-error runs;
        - for every target column of the runs frame, ``median_steps_to_<t>``,
          ``median_time_to_<t>`` and ``ert_<t>`` (NaN for problems without that target;
          :func:`target_stats` has the same numbers in tidy form).
    """
    runs = prepare(runs)
    cells = runs.groupby("cell_key", sort=True)
    table = _configurations(runs, cells)
    _add_counts(table, runs, cells, curves)
    metrics = _metric_columns(
        table, runs, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    # one concat, not a column at a time (pandas warns of a fragmented frame past 100 inserts)
    table = pd.concat(
        [table, metrics, _shares(table, cells), _target_columns(table, target_stats(runs))], axis=1
    )
    table = table.reset_index()
    table.insert(table.columns.get_loc("optimizer") + 1, "config", _labels(table))
    return table.sort_values(["problem", "problem_params", "optimizer", "cell_key"]).reset_index(
        drop=True
    )

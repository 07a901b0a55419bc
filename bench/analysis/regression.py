"""Regressions between two stores: the same cells, before and after a change.

Cells are matched by key (a hash of their whole configuration), so only runs of identical
configurations are compared. For each matched cell:

- final loss (``+inf`` for diverged runs) and steps-to-target at every target that some run of
  the cell reached in either store (misses count as ``+inf``): the per-seed values of the two
  stores are compared by a two-sided Mann-Whitney U test, and the change is the relative change
  of the medians;
- errors: more runs ending in ``error`` is a regression (no test needed, nor possible).

Per optimizer, when both stores come from the same machine (hostname, platform, architecture,
processor and CPU count of every recorded experiment), the optimization time per step of the
cells whose runs all finished in both stores. A cell's seeds run as one program and share one
clock, so the samples are the cells, paired across the stores by their log time ratio. Two
sessions on one machine differ by a drift that moves every cell together (load, clock and
thermal state; a rerun of an unchanged grid measured here came out 10% slower throughout), so
each optimizer is judged net of it: the drift is the median log ratio over all cells, the test
is a Wilcoxon signed-rank test of the optimizer's log ratios minus the drift, and the change is
``exp(median of those) - 1``. The drift itself is reported on its own row, at most as
``changed``: two runs in different sessions cannot tell a slower machine from slower code (a
change that slows every optimizer alike shows there, and only there).

Each kind of test (final loss, steps to target, time per step) is a family whose p-values are
Holm-adjusted together. A test whose pooled values are all equal cannot reject (its p-value is
1 whatever the labels) and is left out of its family, which keeps identical reruns from
diluting the others. Higher is worse for every metric. A row is a ``regression`` when its
change is above the threshold AND its adjusted p-value is below alpha, an ``improvement`` for
the mirror case, ``changed`` when the change is above the threshold but not significant.
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import pandas as pd

from bench.analysis.cells import cell_stats, prepare
from bench.analysis.stats import holm, mann_whitney, median, relative_change, wilcoxon
from bench.store.store import Store
from bench.text import counted

MACHINE_KEYS = ("hostname", "platform", "machine", "processor", "cpu_count")
COLUMNS = ["problem", "optimizer", "config", "cell_key", "metric", "base", "current", "change",
           "p_value", "p_holm", "verdict"]  # fmt: skip
FAMILIES = ("final_loss", "steps_to", "time_per_step")
_REMEDY = {
    "final_loss": "more seeds per cell, or fewer cells, help",
    "steps_to": "more seeds per cell, or fewer cells, help",
    "time_per_step": "more cells per optimizer help: 6 with one optimizer, 10 with 14",
}


@dataclasses.dataclass
class Comparison:
    """What :func:`compare_runs` found.

    Attributes
    ----------
    table
        One row per test, columns ``COLUMNS``: ``base`` and ``current`` are the medians (runs
        for final loss and steps, seconds per step over cells for time; error counts for
        ``errors``), ``change`` is relative, ``verdict`` one of ``regression``,
        ``improvement``, ``changed`` or ``""``.
    notes
        Sentences worth printing above the table (unmatched cells, skipped time comparison,
        families too small to reach significance).
    threshold, alpha
        The settings used.
    base_cells, missing_cells
        How many cells the base store holds, and how many of them the current store lacks
        (an unfinished run; ``optbench compare --require-complete`` fails on them).
    """

    table: pd.DataFrame
    notes: list[str]
    threshold: float
    alpha: float
    base_cells: int = 0
    missing_cells: int = 0

    @property
    def regressions(self) -> pd.DataFrame:
        """The rows whose verdict is ``regression``."""
        return self.table[self.table["verdict"] == "regression"]


def machines(path: str | os.PathLike) -> set[tuple]:
    """The distinct machines (``MACHINE_KEYS``) that wrote the experiments of a store."""
    with Store(path, create=False, readonly=True) as store:
        experiments = store.experiments()
    columns = [f"machine.{key}" for key in MACHINE_KEYS]
    present = [c for c in columns if c in experiments]
    return {tuple(row) for row in experiments[present].astype(str).itertuples(index=False)}


def compare_stores(
    base: str | os.PathLike,
    current: str | os.PathLike,
    *,
    threshold: float = 0.05,
    alpha: float = 0.05,
    times: bool = True,
) -> Comparison:
    """:func:`compare_runs` on two store files; time is compared only on one same machine.

    Raises
    ------
    bench.store.store.StoreError
        A file is missing or is not a store.
    ValueError
        The stores have no cell in common.
    """
    base_runs = _runs(base)
    current_runs = _runs(current)
    notes = []
    same = False
    if times:
        base_machines, current_machines = machines(base), machines(current)
        same = len(base_machines) == 1 and base_machines == current_machines
        if not same:
            notes.append(
                "time per step not compared: the stores come from different machines "
                f"({_describe(base_machines)} vs {_describe(current_machines)})"
            )
    result = compare_runs(
        base_runs, current_runs, threshold=threshold, alpha=alpha, times=same and times
    )
    result.notes[:0] = notes
    return result


def _runs(path: str | os.PathLike) -> pd.DataFrame:
    with Store(path, create=False, readonly=True) as store:
        return store.runs()


def _describe(found: set[tuple]) -> str:
    return " + ".join(sorted(f"{row[0]} {row[2]}" if len(row) > 2 else str(row) for row in found))


def compare_runs(
    base: pd.DataFrame,
    current: pd.DataFrame,
    *,
    threshold: float = 0.05,
    alpha: float = 0.05,
    times: bool = False,
) -> Comparison:
    """Compare the runs of two stores cell by cell (see the module docstring).

    Parameters
    ----------
    base, current
        Runs frames of :func:`bench.store.store.load`.
    threshold
        Smallest relative change of a median that counts (0.05 = 5%).
    alpha
        Family-wise error rate of each family of tests.
    times
        Also compare optimization time per step (only meaningful on one machine).

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        No cell key is in both frames.
    """
    base, current = prepare(base), prepare(current)
    keys = sorted(set(base["cell_key"]) & set(current["cell_key"]))
    if not keys:
        raise ValueError("the stores have no cell in common: were they run from the same grid?")
    notes = []
    for name, frame in (("base", base), ("current", current)):
        extra = frame["cell_key"].nunique() - len(keys)
        if extra:
            only = "is" if extra == 1 else "are"
            notes.append(f"{counted(extra, 'cell')} only in the {name} store {only} not compared")
    base_cells = base["cell_key"].nunique()
    base = base[base["cell_key"].isin(keys)]
    current = current[current["cell_key"].isin(keys)]
    labels = cell_stats(current, n_resamples=0).set_index("cell_key")
    rows = _cell_rows(base, current)
    if times:
        rows += _time_rows(base, current)
    table = pd.DataFrame(rows)
    for column in ("problem", "optimizer", "config"):
        mapped = table["cell_key"].map(labels[column])
        table[column] = table[column].fillna(mapped) if column in table else mapped
    notes += _adjust(table, alpha)
    table["verdict"] = _verdicts(table, threshold, alpha)
    table = table[COLUMNS].reset_index(drop=True)
    return Comparison(table, notes, threshold, alpha, base_cells, base_cells - len(keys))


def _cell_rows(base: pd.DataFrame, current: pd.DataFrame) -> list[dict]:
    targets = sorted({c for c in [*base, *current] if c.startswith("steps_to_")})
    current_by_key = dict(tuple(current.groupby("cell_key", sort=False)))
    rows = []
    for key, old in base.groupby("cell_key", sort=True):
        new = current_by_key[key]
        old_valid, new_valid = _paired(old[old["valid"]], new[new["valid"]])
        paired = bool(old_valid.attrs.get("paired"))
        rows.append(
            _test_row(key, "final_loss", old_valid["final_loss"], new_valid["final_loss"], paired)
        )
        for column in targets:
            before = _steps(old_valid, column)
            after = _steps(new_valid, column)
            if np.isfinite(before).any() or np.isfinite(after).any():
                rows.append(_test_row(key, column, before, after, paired))
        errors = (int((~old["valid"]).sum()), int((~new["valid"]).sum()))
        if any(errors):
            rows.append(
                {
                    "cell_key": key,
                    "metric": "errors",
                    "base": errors[0],
                    "current": errors[1],
                    "change": relative_change(*errors),
                    "p_value": np.nan,
                    "_equal": False,
                }
            )
    return rows


def _steps(runs: pd.DataFrame, column: str) -> np.ndarray:
    if column not in runs:
        return np.full(len(runs), np.inf)
    return runs[column].astype("float64").fillna(np.inf).to_numpy()


def _paired(old: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both stores' valid runs of one cell, sorted by seed and marked ``paired`` when they hold
    the same seeds: run k of a cell draws the same random numbers in both stores."""
    old, new = old.sort_values("seed"), new.sort_values("seed")
    paired = len(old) > 0 and list(old["seed"]) == list(new["seed"])
    old.attrs["paired"] = new.attrs["paired"] = paired
    return old, new


def _test_row(key: str, metric: str, before, after, paired: bool = False) -> dict:
    """One metric of one cell: the medians, their change, and the test's p-value (paired
    Wilcoxon signed-rank on the seeds both stores ran, else Mann-Whitney U)."""
    before = np.asarray(before, dtype=np.float64)
    after = np.asarray(after, dtype=np.float64)
    base, current = median(before), median(after)
    if paired:
        same_inf = np.isinf(before) & (after == before)  # both never reached, or both diverged
        with np.errstate(invalid="ignore"):
            differences = np.where(same_inf, 0.0, after - before)
        p_value = wilcoxon(differences)
        floor = _wilcoxon_floor(int(np.sum((differences != 0) & ~np.isnan(differences))))
    else:
        p_value = mann_whitney(after, before)
        floor = _mann_whitney_floor(np.sum(~np.isnan(before)), np.sum(~np.isnan(after)))
    return {
        "cell_key": key,
        "metric": metric,
        "base": base,
        "current": current,
        "change": relative_change(base, current),
        "p_value": p_value,
        "_equal": _all_equal(before, after),
        "_floor": floor,
    }


def _wilcoxon_floor(n: int) -> float:
    """The smallest two-sided Wilcoxon signed-rank p-value of n nonzero paired differences."""
    return 1.0 if n == 0 else min(1.0, 2.0 / 2.0**n)


def _all_equal(before: np.ndarray, after: np.ndarray) -> bool:
    pooled = np.concatenate([before, after])
    pooled = pooled[~np.isnan(pooled)]
    return pooled.size > 0 and bool(np.all(pooled == pooled[0]))


def _time_rows(base: pd.DataFrame, current: pd.DataFrame) -> list[dict]:
    """Per optimizer: time per step net of the grid-wide drift, paired by cell; and the drift."""
    per_cell = [_time_per_step(frame) for frame in (base, current)]
    both = pd.concat(per_cell, axis=1, keys=["base", "current"], join="inner").dropna()
    if both.empty:
        return []
    log_ratio = np.log(both["current"] / both["base"])
    drift = float(np.median(log_ratio))
    optimizer = base.drop_duplicates("cell_key").set_index("cell_key")["optimizer"]
    rows = [
        {
            "problem": "*",
            "optimizer": "*",
            "config": f"all {counted(len(both), 'cell')}: machine-wide drift, not attributed",
            "cell_key": "",
            "metric": "time_per_step",
            "base": float(both["base"].median()),
            "current": float(both["current"].median()),
            "change": float(np.expm1(drift)),
            "p_value": np.nan,  # load, clock and thermal state move every cell together
            "_equal": False,
        }
    ]
    for name, net in (log_ratio - drift).groupby(optimizer.reindex(both.index), sort=True):
        cells = both.loc[net.index]
        rows.append(
            {
                "problem": "*",
                "optimizer": name,
                "config": f"{counted(len(net), 'cell')}, net of the drift",
                "cell_key": "",
                "metric": "time_per_step",
                "base": float(cells["base"].median()),
                "current": float(cells["current"].median()),
                "change": float(np.expm1(np.median(net))),
                "p_value": wilcoxon(net.to_numpy()),
                "_equal": bool(np.all(net == 0)),
                "_floor": 2.0 ** (1 - np.count_nonzero(net)),  # exact signed-rank minimum
            }
        )
    return rows


def _time_per_step(runs: pd.DataFrame) -> pd.Series:
    """Cell key -> median over its runs of opt_time / steps_done, for cells all ``done``."""
    done = runs.groupby("cell_key")["status"].agg(lambda s: bool((s == "done").all()))
    runs = runs[runs["cell_key"].map(done) & (runs["steps_done"] > 0) & (runs["opt_time"] > 0)]
    seconds = runs["opt_time"] / runs["steps_done"]
    return seconds.groupby(runs["cell_key"]).median()


def _adjust(table: pd.DataFrame, alpha: float) -> list[str]:
    """Holm-adjust each family in place; a note for each family that cannot reach alpha."""
    equal = table.pop("_equal").fillna(False).astype(bool)
    floor = table.pop("_floor").astype("float64")
    table["p_holm"] = np.nan
    notes = []
    for family in FAMILIES:
        in_family = table["metric"].str.startswith(family)
        members = in_family & ~equal & table["p_value"].notna()
        table.loc[members, "p_holm"] = holm(table.loc[members, "p_value"].to_numpy())
        table.loc[in_family & equal, "p_holm"] = 1.0
        size = int(members.sum())
        smallest = floor[members].min() if size else np.nan
        if size and smallest * size >= alpha:
            notes.append(
                f"{family.removesuffix('_to')}: the smallest p-value these sample sizes allow is "
                f"{smallest:.2g}, but Holm over {counted(size, 'test')} needs "
                f"p < {alpha / size:.2g}, so no change in this family can be significant "
                f"({_REMEDY[family]})"
            )
    return notes


def _mann_whitney_floor(n1: int, n2: int) -> float:
    """The smallest two-sided Mann-Whitney p-value of samples of n1 and n2 without ties."""
    return 1.0 if n1 == 0 or n2 == 0 else min(1.0, 2.0 / math.comb(int(n1 + n2), int(n1)))


def _verdicts(table: pd.DataFrame, threshold: float, alpha: float) -> pd.Series:
    change = table["change"].astype("float64")
    significant = table["p_holm"].astype("float64") < alpha
    above, below = change > threshold, change < -threshold
    verdict = np.select(
        [above & significant, below & significant, above | below],
        ["regression", "improvement", "changed"],
        default="",
    )
    verdict = pd.Series(verdict, index=table.index, dtype=object)
    errors = table["metric"] == "errors"
    verdict[errors] = np.where(
        table.loc[errors, "current"] > table.loc[errors, "base"], "regression", "improvement"
    )
    return verdict

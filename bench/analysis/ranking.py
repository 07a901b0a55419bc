"""Ranking the tuned optimizers: ranks, significance, leaderboard, performance profile, ECDF."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.analysis.cells import (
    PROBLEM,
    cell_stats,
    ladder,
    prepare,
    target_label,
    target_stats,
)
from bench.analysis.degenerate import REASON
from bench.analysis.stats import holm, mann_whitney
from bench.analysis.tuning import CRITERIA, PER_OPTIMIZER, check_criterion, tuned

PAIR = [*PROBLEM, "target"]


def ranks(tuned_cells: pd.DataFrame) -> pd.DataFrame:
    """The rank of each optimizer per problem at its tuned configuration, and its mean rank.

    Parameters
    ----------
    tuned_cells
        The frame of :func:`tuned` (its ``score`` column is what is ranked, lower is better).

    Returns
    -------
    pandas.DataFrame
        ``problem``, ``problem_params``, ``optimizer``, ``cell_key``, ``score``, ``rank``
        (1 = best; ties share the average rank; a NaN score, every run errored, ranks last)
        and ``mean_rank`` (the optimizer's mean over the problems it ran, repeated on each of
        its rows). Sorted by problem then rank.
    """
    frame = tuned_cells[[*PER_OPTIMIZER, "cell_key", "score"]].copy()
    frame["rank"] = frame.groupby(PROBLEM)["score"].rank(method="average", na_option="bottom")
    frame["mean_rank"] = frame.groupby("optimizer")["rank"].transform("mean")
    return frame.sort_values([*PROBLEM, "rank", "optimizer"]).reset_index(drop=True)


def _per_seed(runs: pd.DataFrame, cells: pd.DataFrame) -> dict[str, np.ndarray]:
    """Cell key -> the non-error runs' losses by each cell's ``criterion``."""
    runs = runs if "valid" in runs else prepare(runs)
    runs = runs[runs["valid"] & runs["cell_key"].isin(cells["cell_key"])]
    criterion = cells.get("criterion", pd.Series("final_train_loss", index=cells.index))
    column = dict(zip(cells["cell_key"], criterion.map(CRITERIA), strict=True))
    samples = {key: np.array([]) for key in cells["cell_key"]}  # every run errored: none
    for key, group in runs.groupby("cell_key", sort=False):
        samples[key] = group[column[key]].to_numpy(dtype=np.float64)
    return samples


def significance(
    runs: pd.DataFrame, tuned_cells: pd.DataFrame, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Per problem, each tuned optimizer's per-seed final loss against the best optimizer's.

    The best optimizer is the first of :func:`tuned`'s order (lowest score, ties broken by
    divergence, then name). Each other optimizer's non-error runs are compared with the best's
    by a two-sided Mann-Whitney U test (:func:`bench.analysis.stats.mann_whitney`), and the
    p-values of a problem's comparisons are Holm-adjusted together.

    Parameters
    ----------
    runs
        The runs frame.
    tuned_cells
        The frame of :func:`tuned`; its ``criterion`` column says which loss is compared.
    alpha
        Family-wise error rate per problem.

    Returns
    -------
    pandas.DataFrame
        ``problem``, ``problem_params``, ``optimizer``, ``cell_key``, ``reference`` (the best
        optimizer), ``p_value``, ``p_holm``, ``significant`` (``p_holm < alpha``) and
        ``not_tested`` (why a row has no p-value, else ""); the reference's own row has NaN
        p-values and is not significant. A ``degenerate`` cell of ``tuned_cells`` (identical
        seeds) is not tested ("identical seeds"), and when the reference is degenerate neither
        is any other ("the best has identical seeds"): one run repeated is not a sample.
    """
    samples = _per_seed(runs, tuned_cells)
    frames = []
    for _, group in tuned_cells.groupby(PROBLEM, sort=True):
        group = group.sort_values(["score", "divergence", "optimizer"], na_position="last")
        reference = group.iloc[0]
        base = samples[reference["cell_key"]]
        untested = _untested(group, reference["cell_key"])
        p = np.array(
            [
                np.nan if key == reference["cell_key"] or why else mann_whitney(samples[key], base)
                for key, why in zip(group["cell_key"], untested, strict=True)
            ]
        )
        adjusted = holm(p)  # the untested are no part of the family
        frames.append(
            group[[*PER_OPTIMIZER, "cell_key"]].assign(
                reference=reference["optimizer"],
                p_value=p,
                p_holm=adjusted,
                significant=adjusted < alpha,
                not_tested=untested,
            )
        )
    columns = [*PER_OPTIMIZER, "cell_key", "reference", "p_value", "p_holm", "significant",
               "not_tested"]  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _untested(group: pd.DataFrame, reference: str) -> list[str]:
    """Why each cell of a problem is not tested against ``reference`` ("" when it is).

    A degenerate cell (identical seeds) is one observation, not a sample: it is not tested, and
    when the reference is degenerate no other cell is tested against it.
    """
    flags = group.get("degenerate", pd.Series(False, index=group.index)).eq(True)
    degenerate = dict(zip(group["cell_key"], flags, strict=True))
    reasons = []
    for key in group["cell_key"]:
        if degenerate[key]:
            reasons.append(REASON)
        elif degenerate[reference] and key != reference:
            reasons.append(f"the best has {REASON}")
        else:
            reasons.append("")
    return reasons


def leaderboard(
    runs: pd.DataFrame,
    criterion: str = "final_train_loss",
    *,
    alpha: float = 0.05,
    n_resamples: int = 1000,
    stats: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per problem, every optimizer at its tuned configuration: the table a report prints.

    Parameters
    ----------
    runs
        The runs frame.
    criterion
        As in :func:`tuned`.
    alpha
        Significance level of :func:`significance`.
    n_resamples
        Bootstrap resamples for the CIs (ignored when ``stats`` is given).
    stats
        A precomputed :func:`cell_stats` of ``runs``.

    Returns
    -------
    pandas.DataFrame
        Sorted by problem then rank: ``problem``, ``problem_params``, ``optimizer``, ``config``,
        ``cell_key``, ``criterion``, ``n_seeds``, ``median``, ``q1``, ``q3``, ``ci_low``,
        ``ci_high`` (of the criterion's loss), ``success``, ``divergence``, ``errors``,
        ``target`` (the deepest target of the ladder that some run of a tuned cell of this
        problem reached, NaN if none), ``median_steps`` and ``ert`` at that target, ``rank``,
        ``mean_rank``, ``degenerate`` (identical seeds: CIs NaN), ``p_value``, ``p_holm``,
        ``significant``, ``not_tested`` (see :func:`significance`) and ``mark`` (``"best"`` for
        the reference, ``"*"`` where significantly different from it, else ``""``).
    """
    check_criterion(criterion)
    stats = cell_stats(runs, n_resamples=n_resamples) if stats is None else stats
    best = tuned(stats, criterion)
    prefix = best["criterion"].map(CRITERIA)
    table = best[[*PER_OPTIMIZER, "config", "cell_key", "criterion", "n_seeds"]].copy()
    for statistic in ("median", "q1", "q3", "ci_low", "ci_high"):
        table[statistic] = [
            best.at[i, f"{p}_{statistic}"] for i, p in zip(best.index, prefix, strict=True)
        ]
    table[["success", "divergence", "errors"]] = best[["success", "divergence", "errors"]]
    table = table.merge(_deepest_reached(runs, best), on="cell_key", how="left")
    table = table.merge(ranks(best)[["cell_key", "rank", "mean_rank"]], on="cell_key")
    flags = best.set_index("cell_key").get("degenerate", pd.Series(dtype=bool))
    table["degenerate"] = table["cell_key"].map(flags).eq(True)
    tests = significance(runs, best, alpha=alpha)
    table = table.merge(
        tests[["cell_key", "reference", "p_value", "p_holm", "significant", "not_tested"]]
    )
    table["mark"] = np.where(
        table["optimizer"] == table["reference"], "best", np.where(table["significant"], "*", "")
    )
    table = table.drop(columns="reference")
    return table.sort_values([*PROBLEM, "rank", "optimizer"]).reset_index(drop=True)


def _deepest_reached(runs: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """Per tuned cell: the problem's deepest target reached by some tuned run, and its stats."""
    per_target = target_stats(runs[runs["cell_key"].isin(best["cell_key"])])
    columns = ["cell_key", "target", "median_steps", "ert"]
    if per_target.empty:
        return pd.DataFrame(columns=columns)
    reached = per_target[per_target["successes"] > 0]
    deepest = reached.groupby(PROBLEM)["target_index"].max().rename("deepest_index")
    chosen = per_target.merge(deepest.reset_index(), on=PROBLEM)
    return chosen[chosen["target_index"] == chosen["deepest_index"]][columns]


def performance_ratios(runs: pd.DataFrame, criterion: str = "final_train_loss") -> pd.DataFrame:
    """Dolan-More performance ratios on steps-to-target, at each optimizer's tuned configuration.

    A (problem, target) pair is every target of the ladder of every problem in the runs. An
    optimizer's steps on a pair are the median over its tuned cell's non-error runs of the
    steps-to-target, misses counted as never (``+inf``): the pair counts as solved only when at
    least half of the runs reached the target. Steps are at least 1 (a target met at the start
    counts as reached after one step), so ratios are defined.

    Returns
    -------
    pandas.DataFrame
        One row per (pair, optimizer of the runs): ``problem``, ``problem_params``, ``target``,
        ``target_index``, ``optimizer``, ``cell_key`` (NaN where the optimizer did not run
        the problem), ``steps``, ``best_steps`` (the pair's minimum) and ``ratio``
        (``steps / best_steps``; ``+inf`` for a miss, and for every optimizer on a pair nobody
        solved: such pairs stay in the denominator of the profile).
    """
    best = tuned(runs, criterion)
    columns = [*PAIR, "target_index", "optimizer", "cell_key", "steps", "best_steps", "ratio"]
    optimizers = sorted(best["optimizer"].unique())
    pairs = [
        (problem, params, float(target), index)
        for (problem, params), _ in best.groupby(PROBLEM, sort=True)
        for index, target in enumerate(ladder(runs, problem, params).targets)
    ]
    if not pairs or not optimizers:
        return pd.DataFrame(columns=columns)
    grid = pd.DataFrame(pairs, columns=[*PAIR, "target_index"]).merge(
        pd.DataFrame({"optimizer": optimizers}), how="cross"
    )
    grid = grid.merge(best[[*PER_OPTIMIZER, "cell_key"]], on=PER_OPTIMIZER, how="left")
    per_target = target_stats(runs[runs["cell_key"].isin(best["cell_key"])])
    grid = grid.merge(
        per_target[["cell_key", "target", "median_steps"]], on=["cell_key", "target"], how="left"
    )
    steps = grid.pop("median_steps").astype("float64").fillna(np.inf)
    grid["steps"] = np.maximum(steps, 1.0)
    grid["best_steps"] = grid.groupby(PAIR)["steps"].transform("min")
    with np.errstate(invalid="ignore"):
        grid["ratio"] = np.where(
            np.isfinite(grid["best_steps"]), grid["steps"] / grid["best_steps"], np.inf
        )
    return grid[columns].sort_values([*PAIR, "optimizer"]).reset_index(drop=True)


def performance_profile(
    runs: pd.DataFrame,
    tau_max: float = 4.0,
    *,
    criterion: str = "final_train_loss",
    points: int = 301,
) -> pd.DataFrame:
    """Dolan-More performance profile over (problem, target) pairs, as AlgoPerf draws it.

    ``rho(tau)`` is the share of all pairs on which the optimizer's steps are within a factor
    ``tau`` of the best optimizer's (:func:`performance_ratios`; misses never count).

    Parameters
    ----------
    runs
        The runs frame.
    tau_max
        The largest ratio shown (AlgoPerf: 4).
    criterion
        As in :func:`tuned` (which configuration of each optimizer is profiled).
    points
        Evenly spaced taus from 1 to ``tau_max``; every ratio in that range is added, so the
        step function is exact.

    Returns
    -------
    pandas.DataFrame
        ``optimizer``, ``tau``, ``rho``, sorted by optimizer then tau.
    """
    ratios = performance_ratios(runs, criterion)
    if ratios.empty:
        return pd.DataFrame(columns=["optimizer", "tau", "rho"])
    finite = ratios["ratio"][ratios["ratio"] <= tau_max].to_numpy(dtype=np.float64)
    taus = np.unique(np.concatenate([np.linspace(1.0, tau_max, points), finite]))
    frames = []
    for optimizer, group in ratios.groupby("optimizer", sort=True):
        ordered = np.sort(group["ratio"].to_numpy(dtype=np.float64))
        rho = np.searchsorted(ordered, taus, side="right") / len(ordered)
        frames.append(pd.DataFrame({"optimizer": optimizer, "tau": taus, "rho": rho}))
    return pd.concat(frames, ignore_index=True)


def runtime_ecdf(
    runs: pd.DataFrame, *, measure: str = "steps", criterion: str = "final_train_loss"
) -> pd.DataFrame:
    """COCO-style runtime ECDF over every (problem, target, run) at the tuned configurations.

    For each optimizer, the share of its (problem, target, non-error run) triples whose target
    was reached within a given cost. Problems have different budgets, so with
    ``measure="steps"`` the cost is normalised by the run's step budget: ``budget_fraction`` =
    steps-to-target / ``steps`` (at least 1 step), in (0, 1], best drawn on a log axis; a
    curve's final height is the share of triples ever reached. With ``measure="time"`` the
    cost is ``seconds`` of optimization time (not normalised; 0 for a target met at the start).

    Returns
    -------
    pandas.DataFrame
        ``optimizer``, ``budget_fraction`` or ``seconds``, ``fraction``; the cost grid is every
        reached cost of any optimizer (plus 1.0 for steps), the same for each optimizer, so the
        curves are exact step functions (draw them with ``drawstyle="steps-post"``).
    """
    if measure not in ("steps", "time"):
        raise ValueError(f"measure must be 'steps' or 'time', got {measure!r}")
    name = "budget_fraction" if measure == "steps" else "seconds"
    best = tuned(runs, criterion)
    chosen = prepare(runs[runs["cell_key"].isin(best["cell_key"])])
    chosen = chosen[chosen["valid"]]
    hits: dict[str, list[np.ndarray]] = {}
    trials: dict[str, int] = {}
    for (problem, params), group in chosen.groupby(PROBLEM, sort=True):
        for target in ladder(runs, problem, params).targets:
            label = target_label(target)
            if measure == "steps":
                steps = group.get(f"steps_to_{label}", pd.Series(np.nan, index=group.index))
                cost = np.maximum(steps.astype("float64"), 1.0) / group["steps"]
            else:
                cost = group.get(f"time_to_{label}", pd.Series(np.nan, index=group.index))
            for optimizer, values in cost.astype("float64").groupby(group["optimizer"]):
                hits.setdefault(optimizer, []).append(values.dropna().to_numpy())
                trials[optimizer] = trials.get(optimizer, 0) + len(values)
    reached = {opt: np.sort(np.concatenate(parts)) for opt, parts in hits.items()}
    grid = np.unique(np.concatenate([*reached.values(), [1.0] if measure == "steps" else []]))
    frames = [
        pd.DataFrame(
            {
                "optimizer": optimizer,
                name: grid,
                "fraction": np.searchsorted(reached[optimizer], grid, side="right")
                / trials[optimizer],
            }
        )
        for optimizer in sorted(reached)
    ]
    if not frames or grid.size == 0:
        return pd.DataFrame(columns=["optimizer", name, "fraction"])
    return pd.concat(frames, ignore_index=True)

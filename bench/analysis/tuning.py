"""Tuning: each optimizer's best configuration per problem, its lr sensitivity and robustness."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.analysis.cells import PROBLEM, axis_label, cell_stats, other_axes, prepare
from bench.analysis.stats import median
from bench.grid import axes as grid_axes

CRITERIA = {"final_train_loss": "final_loss", "test_loss": "test_loss"}
PER_OPTIMIZER = [*PROBLEM, "optimizer"]


def as_stats(runs_or_stats: pd.DataFrame) -> pd.DataFrame:
    """:func:`cell_stats` of a runs frame (without bootstrap); a cell table is returned as is."""
    if "final_loss_median" in runs_or_stats:
        return runs_or_stats
    return cell_stats(runs_or_stats, n_resamples=0)


def check_criterion(criterion: str) -> str:
    """The cell-statistics prefix of ``criterion``; a ValueError names the valid ones."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {sorted(CRITERIA)}, got {criterion!r}")
    return CRITERIA[criterion]


def scored(stats: pd.DataFrame, criterion: str = "final_train_loss") -> pd.DataFrame:
    """The cell table with ``criterion`` (per problem) and ``score`` (lower is better) columns.

    ``"test_loss"`` scores by the median final test loss where the problem has a test loss
    (the classification problems) and falls back to the final training loss elsewhere.
    """
    prefix = check_criterion(criterion)
    score = stats[f"{prefix}_median"]
    used = pd.Series(criterion, index=stats.index, dtype=object)
    if prefix != "final_loss":
        has = score.notna().groupby([stats[c] for c in PROBLEM]).transform("any").astype(bool)
        score = score.where(has, stats["final_loss_median"])
        used = used.where(has, "final_train_loss")
    return stats.assign(criterion=used, score=score)


def select_best(scored_stats: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The best-scoring cell of each ``by`` group, ties broken deterministically.

    Order: lower score (NaN, i.e. every run errored, last), lower divergence, fewer errors, lower
    upper quartile of the final loss, lower lr, then config label and cell key.
    """
    keys = ["score", "divergence", "errors", "final_loss_q3", "lr", "config", "cell_key"]
    order = scored_stats.sort_values(keys, na_position="last", kind="stable")
    return order.groupby(by, sort=False, dropna=False).head(1)


def tuned(runs_or_stats: pd.DataFrame, criterion: str = "final_train_loss") -> pd.DataFrame:
    """Per (problem, optimizer), its best cell by ``criterion``.

    Parameters
    ----------
    runs_or_stats
        A runs frame, or :func:`cell_stats` of one (pass it to keep its bootstrap CIs).
    criterion
        ``"final_train_loss"`` (the default): lowest median final training loss.
        ``"test_loss"``: lowest median final test loss, for the problems that have one (the
        others fall back to the training loss; the ``criterion`` column says which was used).

    Returns
    -------
    pandas.DataFrame
        The chosen cells' rows of :func:`cell_stats` plus ``criterion`` and ``score`` (the
        median that was minimized), sorted by problem then score. Ties are broken as in
        :func:`select_best`; a cell whose every run errored is chosen only when its optimizer
        has nothing else on that problem.
    """
    best = select_best(scored(as_stats(runs_or_stats), criterion), PER_OPTIMIZER)
    return best.sort_values([*PROBLEM, "score", "optimizer"], na_position="last").reset_index(
        drop=True
    )


def lr_sensitivity(runs: pd.DataFrame, criterion: str = "final_train_loss") -> pd.DataFrame:
    """Each optimizer's result against its learning rate, other axes at its tuned values.

    Parameters
    ----------
    runs
        The runs frame of :func:`bench.store.store.load`.
    criterion
        As in :func:`tuned`; also the loss that is reported.

    Returns
    -------
    pandas.DataFrame
        One row per non-error run of the cells that differ from a tuned cell only in lr:
        ``problem``, ``problem_params``, ``optimizer``, ``lr``, ``seed``, ``cell_key``,
        ``status``, ``criterion``, ``loss`` (this run's final loss by the criterion, ``+inf``
        when diverged), ``median`` (its cell's median) and ``tuned`` (the tuned lr's rows).
        Sorted by problem, optimizer, lr and seed.
    """
    best = tuned(runs, criterion)
    runs = prepare(runs)
    runs["_others"] = other_axes(runs, ("lr",))
    best = best.assign(_others=other_axes(best, ("lr",)))
    matched = runs[runs["valid"]].merge(
        best[[*PER_OPTIMIZER, "_others", "criterion", "cell_key"]].rename(
            columns={"cell_key": "tuned_key"}
        ),
        on=[*PER_OPTIMIZER, "_others"],
    )
    column = matched["criterion"].map(CRITERIA)
    loss = np.where(column == "test_loss", matched["test_loss"], matched["final_loss"])
    matched = matched.assign(loss=loss, tuned=matched["cell_key"] == matched["tuned_key"])
    medians = matched.groupby("cell_key")["loss"].agg(lambda s: median(s.to_numpy(np.float64)))
    matched["median"] = matched["cell_key"].map(medians)
    columns = [*PER_OPTIMIZER, "lr", "seed", "cell_key", "status", "criterion", "loss", "median",
               "tuned"]  # fmt: skip
    return (
        matched[columns]
        .sort_values([*PER_OPTIMIZER, "lr", "seed"], na_position="last")
        .reset_index(drop=True)
    )


def robustness(
    runs_or_stats: pd.DataFrame,
    axis: str = "clip",
    *,
    over: str = "tuned",
    criterion: str = "final_train_loss",
) -> pd.DataFrame:
    """Optimizer x ``axis`` value: the median final loss and the divergence share.

    Parameters
    ----------
    runs_or_stats
        A runs frame or its :func:`cell_stats`.
    axis
        ``"clip"``, ``"initializer"``, ``"schedule"`` or ``"regularizer"``. Values with other
        parameters are other values (``global_norm(max_norm=1)`` and ``...=10`` are two columns).
    over
        How the other axes (lr included) are set for each value:
        ``"tuned"`` (default): at the optimizer's tuned configuration, changing only ``axis``,
        i.e. what happens when this choice alone changes;
        ``"best"``: the best cell with this value over every other axis, i.e. what this choice
        allows once everything else is re-tuned.

    Returns
    -------
    pandas.DataFrame
        One row per (problem, optimizer, value) found in the runs: ``problem``,
        ``problem_params``, ``optimizer``, ``axis``, ``value`` (readable label), ``cell_key``,
        ``config``, ``criterion``, ``median`` (of the criterion's loss), ``divergence``,
        ``n_seeds``, ``errors`` and ``tuned`` (the optimizer's tuned cell). Combinations the
        grid did not run are absent.
    """
    valid = tuple(entry.column for entry in grid_axes.varying())
    if axis not in valid:
        raise ValueError(f"axis must be one of {valid}, got {axis!r}")
    if over not in ("tuned", "best"):
        raise ValueError(f"over must be 'tuned' or 'best', got {over!r}")
    stats = scored(as_stats(runs_or_stats), criterion)
    params = stats.get(f"{axis}_params", pd.Series(None, index=stats.index, dtype=object))
    values = [axis_label(name, params[i]) for i, name in stats[axis].items()]
    stats = stats.assign(axis=axis, value=values)
    best = select_best(stats, PER_OPTIMIZER)
    if over == "tuned":
        stats["_others"] = other_axes(stats, (axis,))
        anchors = best.assign(_others=other_axes(best, (axis,)))[[*PER_OPTIMIZER, "_others"]]
        chosen = stats.merge(anchors, on=[*PER_OPTIMIZER, "_others"])
    else:
        chosen = select_best(stats, [*PER_OPTIMIZER, "value"])
    chosen = chosen.assign(tuned=chosen["cell_key"].isin(best["cell_key"]), median=chosen["score"])
    columns = [*PER_OPTIMIZER, "axis", "value", "cell_key", "config", "criterion", "median",
               "divergence", "n_seeds", "errors", "tuned"]  # fmt: skip
    return chosen[columns].sort_values([*PER_OPTIMIZER, "value"]).reset_index(drop=True)

"""The compact end-of-run table: per problem, each optimizer's best configuration."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from bench.engine import build_problem_by_name

CONFIG_AXES = ("initializer", "clip", "schedule", "regularizer", "batch_size")
DEFAULT_AXES = {"initializer": None, "clip": "none", "schedule": "constant", "regularizer": "none"}


def deepest_target_column(problem: str, problem_params: str) -> str | None:
    """The ``steps_to_<target>`` column of the problem's hardest target, if it has targets."""
    targets = build_problem_by_name(problem, problem_params).targets
    return f"steps_to_{format(targets[-1], 'g')}" if targets else None


def config_label(row: pd.Series) -> str:
    """A short readable name for a cell: lr, then every axis that is not at its default."""
    parts = [f"lr={row['lr']:g}"] if pd.notna(row.get("lr")) else []
    for axis in ("clip", "schedule", "regularizer", "initializer"):
        value = row.get(axis)
        if pd.notna(value) and value != DEFAULT_AXES[axis]:
            params = json.loads(row.get(f"{axis}_params") or "{}") if axis != "initializer" else {}
            args = ",".join(
                f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
            )
            parts.append(f"{value}({args})" if args else str(value))
    return " ".join(parts)


def cell_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: median and IQR of the final train loss, success and divergence rates."""
    frames = []
    for (problem, params), group in runs.groupby(["problem", "problem_params"], sort=True):
        column = deepest_target_column(problem, params)
        success = group[column].notna() if column in group else pd.Series(False, group.index)
        frames.append(group.assign(success=success.astype(float)))
    runs = pd.concat(frames)
    loss = runs["final_train_loss"].where(runs["status"] != "error")
    runs = runs.assign(
        loss=loss,
        diverged=(runs["status"] == "diverged").astype(float),
        label=runs.apply(config_label, axis=1),
    )
    grouped = runs.groupby("cell_key", sort=False)
    with np.errstate(invalid="ignore"):  # quantiles of diverged (inf) losses
        table = grouped.agg(
            problem=("problem", "first"),
            optimizer=("optimizer", "first"),
            config=("label", "first"),
            seeds=("seed", "count"),
            median=("loss", "median"),
            q1=("loss", lambda s: s.quantile(0.25)),
            q3=("loss", lambda s: s.quantile(0.75)),
            success=("success", "mean"),
            diverged=("diverged", "mean"),
            errors=("status", lambda s: int((s == "error").sum())),
        )
    return table.reset_index()


def best_per_optimizer(cells: pd.DataFrame) -> pd.DataFrame:
    """For each (problem, optimizer), the cell with the lowest median final train loss.

    Cells whose every run errored have no median and are never chosen while another exists.
    """
    ranked = cells.assign(_key=cells["median"].fillna(np.inf)).sort_values(
        ["problem", "_key", "optimizer"]
    )
    best = ranked.groupby(["problem", "optimizer"], sort=False).head(1)
    return best.drop(columns="_key").sort_values(["problem", "median"], na_position="last")


def format_summary(runs: pd.DataFrame) -> str:
    """The text table ``optbench run`` prints at the end, one block per problem."""
    if runs.empty:
        return "no runs stored"
    best = best_per_optimizer(cell_table(runs))
    blocks = []
    for problem, group in best.groupby("problem", sort=True):
        lines = [
            f"{problem}",
            f"  {'optimizer':<10} {'best configuration':<34} {'median final loss':>17} "
            f"{'IQR':>21} {'success':>8} {'diverged':>9}",
        ]
        for row in group.itertuples():
            iqr = f"[{row.q1:.3g}, {row.q3:.3g}]"
            lines.append(
                f"  {row.optimizer:<10} {row.config:<34.34} {row.median:>17.4g} {iqr:>21} "
                f"{row.success:>8.0%} {row.diverged:>9.0%}"
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)

"""The compact end-of-run table: per problem, each optimizer's best configuration."""

from __future__ import annotations

import pandas as pd

from bench.analysis import tuned
from bench.text import format_percent


def format_summary(runs: pd.DataFrame) -> str:
    """The text table ``optbench run`` prints at the end, one block per problem.

    Each optimizer appears once, at its :func:`bench.analysis.tuned` configuration (lowest
    median final training loss), best first.
    """
    if runs.empty:
        return "no runs stored"
    best = tuned(runs)
    blocks = []
    for problem, group in best.groupby("problem", sort=True):
        lines = [
            f"{problem}",
            f"  {'optimizer':<10} {'best configuration':<34} {'median final loss':>17} "
            f"{'IQR':>21} {'success':>8} {'diverged':>9}",
        ]
        for row in group.itertuples():
            iqr = f"[{row.final_loss_q1:.3g}, {row.final_loss_q3:.3g}]"
            lines.append(
                f"  {row.optimizer:<10} {row.config:<34.34} {row.final_loss_median:>17.4g} "
                f"{iqr:>21} {format_percent(row.success):>8} {format_percent(row.divergence):>9}"
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)

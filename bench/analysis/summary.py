"""The compact end-of-run table: per problem, each optimizer's best configuration."""

from __future__ import annotations

import textwrap

import pandas as pd

from bench.analysis.cells import cell_stats
from bench.analysis.degenerate import CAUSE
from bench.analysis.tuning import tuned
from bench.text import counted, format_percent

# Below this many columns the table drops its configuration column, which goes on a line of its
# own under each optimizer (the wide table is 104 columns).
NARROW_BELOW = 100


def format_summary(runs: pd.DataFrame, width: int = 120) -> str:
    """The text table ``optbench run`` prints at the end, one block per problem.

    Each optimizer appears once, at its :func:`bench.analysis.tuned` configuration (lowest
    median final training loss), best first. A terminal of ``width`` below
    :data:`NARROW_BELOW` columns gets the narrow layout, at most 80 columns wide. A last line
    counts the cells whose seeds are identical (:mod:`bench.analysis.degenerate`).
    """
    if runs.empty:
        return "no runs stored"
    stats = cell_stats(runs, n_resamples=0)
    best = tuned(stats)
    blocks = []
    for problem, group in best.groupby("problem", sort=True):
        rows = group.itertuples()
        lines = _narrow(rows, width) if width < NARROW_BELOW else _wide(rows)
        blocks.append("\n".join([f"{problem}", *lines]))
    degenerate = int(stats["degenerate"].sum())
    if degenerate:
        verb = "has" if degenerate == 1 else "have"
        blocks.append(
            f"{counted(degenerate, 'cell')} {verb} identical seeds ({CAUSE}): their CIs and "
            "tests are not computed"
        )
    return "\n\n".join(blocks)


def _numbers(row) -> tuple[str, str, str, str]:
    iqr = f"[{row.final_loss_q1:.3g}, {row.final_loss_q3:.3g}]"
    return (f"{row.final_loss_median:.4g}", iqr, format_percent(row.success),
            format_percent(row.divergence))  # fmt: skip


def _wide(rows) -> list[str]:
    lines = [
        f"  {'optimizer':<10} {'best configuration':<34} {'median final loss':>17} "
        f"{'IQR':>21} {'success':>8} {'diverged':>9}"
    ]
    for row in rows:
        median, iqr, success, diverged = _numbers(row)
        lines.append(
            f"  {row.optimizer:<10} {row.config:<34.34} {median:>17} {iqr:>21} {success:>8} "
            f"{diverged:>9}"
        )
    return lines


def _narrow(rows, width: int) -> list[str]:
    """At most ``min(width, 80)`` columns: the numbers on the optimizer's line (63 columns),
    its best configuration wrapped on the lines below."""
    width = max(min(width, 80), 40)
    lines = [f"  {'optimizer':<10} {'median loss':>11} {'IQR':>21} {'success':>7} {'diverged':>8}"]
    for row in rows:
        median, iqr, success, diverged = _numbers(row)
        lines.append(f"  {row.optimizer:<10} {median:>11} {iqr:>21} {success:>7} {diverged:>8}")
        lines += textwrap.wrap(row.config, width, initial_indent="    ", subsequent_indent="    ")
    return lines

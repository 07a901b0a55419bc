"""From stored runs to the numbers a reader decides by: tidy pandas in, tidy pandas out.

Every function takes the runs frame of :func:`bench.store.store.load` (or a frame derived from it
here) and returns a new DataFrame; nothing draws, nothing writes. The counting rules (errors,
divergence, misses, ERT, success) are stated once, in :mod:`bench.analysis.cells`.

- :func:`cell_stats`, :func:`target_stats`: per cell, over its seeds.
- :func:`tuned`, :func:`lr_sensitivity`, :func:`robustness`: each optimizer's best
  configuration per problem, and how its result moves with lr, clipping or initialization.
- :func:`ranks`, :func:`significance`, :func:`leaderboard`: comparing the tuned optimizers.
- :func:`performance_ratios`, :func:`performance_profile`, :func:`runtime_ecdf`: steps to
  target across problems, as AlgoPerf and COCO aggregate them.
- :mod:`bench.analysis.stats`: robust medians, bootstrap CIs, Mann-Whitney U, Holm.
"""

from bench.analysis.cells import (
    cell_stats,
    config_label,
    ladder,
    prepare,
    target_label,
    target_stats,
)
from bench.analysis.ranking import (
    leaderboard,
    performance_profile,
    performance_ratios,
    ranks,
    runtime_ecdf,
    significance,
)
from bench.analysis.stats import holm
from bench.analysis.tuning import lr_sensitivity, robustness, tuned

__all__ = [
    "cell_stats",
    "config_label",
    "holm",
    "ladder",
    "leaderboard",
    "lr_sensitivity",
    "performance_profile",
    "performance_ratios",
    "prepare",
    "ranks",
    "robustness",
    "runtime_ecdf",
    "significance",
    "target_label",
    "target_stats",
    "tuned",
]

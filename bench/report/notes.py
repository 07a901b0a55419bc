"""The report's fixed prose: the methodology notes and the note on cells whose seeds are
identical. No figures, no Markdown or HTML."""

from __future__ import annotations

import pandas as pd

from bench.analysis.degenerate import CAUSE
from bench.text import counted

METHODOLOGY = [
    "Every seed of a configuration runs in one vectorized array program; its random numbers "
    "come from SeedSequence(grid seed, configuration hash, seed index), so results are "
    "bit-identical across job counts, backends and orders.",
    "Only optimization steps are timed (time.perf_counter); logging and evaluation are not.",
    "A run diverges when its loss is non-finite or above 1e6 times its starting loss; it is "
    "recorded with its step and counts as an infinite loss.",
    "Targets come from each problem's ladder and are checked at the logged points (every "
    "log_every steps), so steps-to-target has that resolution. ERT (COCO) = steps spent by all "
    "runs, failures included, divided by the number of successes.",
    "The performance profile (Dolan-Moré) is over (problem, target) pairs on median "
    "steps-to-target at each optimizer's tuned configuration; a median miss counts as never. "
    "The ECDF counts (problem, target, seed) triples reached by a given fraction of the budget.",
    "Confidence intervals are percentile bootstraps (scipy.stats.bootstrap); tests are "
    "two-sided Mann-Whitney U (scipy.stats) with Holm correction per problem.",
    "A configuration whose seeds all gave the same run (equal final and best training loss, "
    "final test metrics and logged curves, bit for bit) is one observation, not a sample: its "
    "median and IQR are shown, its CI is not computed (–), and it is left out of the tests "
    "(with the whole problem when it is the best).",
]


def degenerate_note(stats: pd.DataFrame) -> str | None:
    """One sentence naming the cells with identical seeds, per problem; None without any."""
    cells = stats[stats["degenerate"]] if "degenerate" in stats else stats.iloc[:0]
    if cells.empty:
        return None
    names = "; ".join(
        f"{problem}: {', '.join(sorted(set(group['optimizer'])))}"
        for problem, group in cells.groupby("problem", sort=True)
    )
    return (
        f"{counted(len(cells), 'configuration')} of {len(stats)} gave the same run on every "
        f"seed ({CAUSE}): {names}. Their CIs and significance tests are not computed."
    )

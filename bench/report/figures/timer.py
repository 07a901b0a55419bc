"""When a loss-vs-time figure means something: the time per step against the timer's resolution.

The engine times every update step with ``time.perf_counter``. A step that lasts only a few
hundred timer ticks is mostly granularity, and such a figure draws the timer rather than the
optimizers' cost, so it is shown only where the fastest drawn configuration's median step takes
at least :data:`TICKS_PER_STEP` ticks of the timer's resolution.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import pandas as pd

from bench.report.curves import Cells, keys
from bench.report.labels import labelled
from bench.text import format_seconds

TICKS_PER_STEP = 1000  # a step's timing error is at most one tick: 0.1% of the step
TIMED = ("done", "timeout")  # runs whose opt_time covers every step they report


@functools.cache
def timer_resolution(reads: int = 20_000) -> float:
    """The resolution of ``time.perf_counter`` on this machine, in seconds: the larger of
    what ``time.get_clock_info`` declares and the smallest positive difference between two
    consecutive reads (what a Python caller can actually resolve)."""
    declared = time.get_clock_info("perf_counter").resolution
    ticks = np.array([time.perf_counter() for _ in range(reads)])
    steps = np.diff(ticks)
    measured = float(steps[steps > 0].min()) if (steps > 0).any() else declared
    return max(declared, measured)


def seconds_per_step(runs: pd.DataFrame, cells: Cells) -> pd.Series:
    """Per cell of ``cells``: the median over its runs of optimization time per step
    (``opt_time / steps_done``), from the runs that did not diverge (a diverged run's
    ``steps_done`` stops at its divergence while its group's clock ran on) or, when all did,
    from all of them."""
    chosen = runs[runs["cell_key"].isin(keys(cells)) & (runs["steps_done"] > 0)]
    chosen = chosen[chosen["status"] != "error"]
    timed = chosen[chosen["status"].isin(TIMED)]
    whole = chosen[~chosen["cell_key"].isin(timed["cell_key"])]
    both = pd.concat([timed, whole])
    return (both["opt_time"] / both["steps_done"]).groupby(both["cell_key"]).median()


def time_is_resolved(step_seconds: pd.Series, resolution: float) -> bool:
    """Whether every one of ``step_seconds`` lasts :data:`TICKS_PER_STEP` ticks or more."""
    return bool(len(step_seconds)) and float(step_seconds.min()) >= TICKS_PER_STEP * resolution


def rule(resolution: float) -> str:
    """The rule, in words, with this machine's numbers."""
    return (
        "loss-vs-time figures are drawn only where the fastest optimizer's median step takes "
        f"at least {TICKS_PER_STEP} ticks of the timer (time.perf_counter, resolution "
        f"{format_seconds(resolution)} measured on the machine writing the report: "
        f"{format_seconds(TICKS_PER_STEP * resolution)} per step)"
    )


def omitted_note(step_seconds: pd.Series, resolution: float) -> str:
    """The one line that stands in for a left-out loss-vs-time figure."""
    fastest = format_seconds(float(step_seconds.min())) if len(step_seconds) else "unknown"
    return (
        f"No loss-vs-time figure: the fastest step takes {fastest}, under {TICKS_PER_STEP} "
        f"ticks of the timer (resolution {format_seconds(resolution)} here), so time would "
        "show the timer rather than the cost."
    )


def verdicts(runs: pd.DataFrame, cells: Cells, problems: list[str]) -> dict[str, tuple[bool, str]]:
    """Per problem label of ``problems``: whether its loss-vs-time figures are drawn (its
    ``cells``, usually the tuned ones, are timed finely enough: :func:`time_is_resolved`), and
    why (:func:`rule`, the clause a caption ends with) or why not (:func:`omitted_note`, the
    sentence standing in for the figure)."""
    step_seconds = seconds_per_step(runs, cells)
    resolution = timer_resolution()
    labels = labelled(runs).drop_duplicates("cell_key").set_index("cell_key")["problem"]
    found = {}
    for problem in problems:
        mine = step_seconds[labels.reindex(step_seconds.index).to_numpy() == problem]
        if time_is_resolved(mine, resolution):
            found[problem] = (True, rule(resolution))
        else:
            found[problem] = (False, omitted_note(mine, resolution))
    return found

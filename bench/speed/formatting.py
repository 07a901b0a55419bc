"""The speed tracker's tables: one run, and a comparison of two."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.speed.compare import ALPHA, VERDICTS, Benchmark, Change
from bench.text import MISSING, format_seconds


def short_name(name: str) -> str:
    """``test_step_speed.py::test_step[adam-1e3]`` -> ``test_step[adam-1e3]``."""
    return name.rsplit("::", 1)[-1]


def format_factor(value: float | None) -> str:
    """``1.234`` -> ``"1.23x"``; ``None`` -> ``"-"``."""
    return MISSING if value is None else f"{value:.2f}x"


def format_run(run: dict[str, Benchmark]) -> str:
    """One line per benchmark: median seconds, rounds, median ratio to the control, throughput.

    Medians are of the rounds the scheduler did not interrupt, the ones ``compare`` judges; the
    note says how many were interrupted.
    """
    names = sorted(run)
    width = max([len(short_name(n)) for n in names] + [9])
    lines = [f"{'benchmark':<{width}}  {'median':>9}  {'rounds':>6}  {'x control':>9}  note"]
    for name in names:
        bench = run[name].settled() or run[name]
        ratios = bench.ratios
        ratio = MISSING if ratios is None else f"{np.median(ratios):.3g}"
        notes = [
            f"{bench.extra[key] / bench.median:,.0f} {key}/s"
            for key in ("runs", "points")
            if key in bench.extra
        ]
        if run[name].preempted is not None and run[name].preempted.any():
            notes.append(f"{run[name].preempted.mean():.0%} of rounds interrupted")
        note = ", ".join(notes)
        lines.append(
            f"{short_name(name):<{width}}  {format_seconds(bench.median):>9}  "
            f"{len(run[name].times):>6}  {ratio:>9}  {note}"
        )
    return "\n".join(lines)


def format_changes(changes: Sequence[Change], threshold: float) -> str:
    """The comparison table, most slowed first, and a closing count of each verdict."""
    order = sorted(
        changes, key=lambda c: (VERDICTS.index(c.verdict), -(c.time_factor or 0.0), c.name)
    )
    width = max([len(short_name(c.name)) for c in changes] + [9])
    lines = [
        f"{'benchmark':<{width}}  {'before':>9}  {'after':>9}  {'time':>6}  {'ratio':>6}  "
        f"{'p':>7}  verdict"
    ]
    for c in order:
        p = MISSING if c.p_value is None else f"{c.p_value:.1g}"
        lines.append(
            f"{short_name(c.name):<{width}}  {format_seconds(c.before):>9}  "
            f"{format_seconds(c.after):>9}  {format_factor(c.time_factor):>6}  "
            f"{format_factor(c.ratio_factor):>6}  {p:>7}  {c.verdict}"
        )
    counts = ", ".join(
        f"{sum(c.verdict == v for c in changes)} {v}"
        for v in VERDICTS
        if any(c.verdict == v for c in changes)
    )
    lines.append(
        f"\n{counts} (threshold {threshold:.0%} on both time and time/control, "
        f"Mann-Whitney U p < {ALPHA})"
    )
    return "\n".join(lines)

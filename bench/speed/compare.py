"""Whether a benchmark got slower: asv's rule, applied to seconds and to ratios to a control.

A benchmark changed only when its median moved by more than the threshold *and* a Mann-Whitney U
test over the rounds says the move is real. optbench applies that rule twice, to the seconds and
to each round's ratio to the benchmark's control (an ``np.copyto`` of the benchmark's bytes timed
just before each round; see ``bench/speed/suite/conftest.py``), and reports a regression only
when both agree, in every process that timed the benchmark (the suite runs in two processes by
default, as asv's benchmarks do). A machine that is slower as a whole slows the control too, so
the ratio stays put; one process's bad luck shows in that process only; a change in the code
moves everything.

Rounds during which the scheduler took the CPU away (from the round or from its control) are
left out first: on a busy machine they are longer by a whole scheduler slice (about 4 ms), and
how many of them a process gets depends on the neighbours, not on the code. A benchmark with no
such clean rounds left is ``unsettled``, not judged. ``confirm`` then keeps a change only if a
second timing of that benchmark, later, agrees.

Everything here is pure (no benchmark runs), so it is tested on synthetic rounds.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.stats import mannwhitneyu

from bench.speed.errors import SpeedError

ALPHA = 0.05  # significance level of the one-sided Mann-Whitney U tests
VERDICTS = ("regression", "improvement", "same", "unsettled", "new", "gone")
CHANGED = ("regression", "improvement")


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One benchmark of one run: seconds per round and the control's seconds per round."""

    name: str
    times: np.ndarray
    control: np.ndarray | None = None  # None when the run has no control timings
    extra: dict = dataclasses.field(default_factory=dict)
    preempted: np.ndarray | None = None  # per round; None when the run did not record it

    @property
    def median(self) -> float:
        return float(np.median(self.times))

    def processes(self) -> list[slice]:
        """The rounds of each process that timed this benchmark (one slice if unknown)."""
        counts = self.extra.get("process_rounds") or [len(self.times)]
        if sum(counts) != len(self.times):
            return [slice(None)]
        edges = np.cumsum([0, *counts])
        return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]

    def settled(self) -> Benchmark | None:
        """This benchmark without the rounds the scheduler interrupted (see ``preempted``).

        A process left with fewer than 2 such rounds is left out; None when no process is left.
        A run that did not record interruptions is returned whole.
        """
        if self.preempted is None or len(self.preempted) != len(self.times):
            return self
        kept = [np.flatnonzero(~self.preempted[part]) + (part.start or 0)
                for part in self.processes()]  # fmt: skip
        kept = [rounds for rounds in kept if len(rounds) >= 2]
        if not kept:
            return None
        chosen = np.concatenate(kept)
        control = None if self.control is None else self.control[chosen]
        extra = {**self.extra, "process_rounds": [len(rounds) for rounds in kept]}
        return Benchmark(self.name, self.times[chosen], control, extra)

    @property
    def ratios(self) -> np.ndarray | None:
        """Each round's time over its own control's, timed just before it: a slow spell of the
        machine inflates both and cancels out."""
        if self.control is None or len(self.control) != len(self.times):
            return None
        return self.times / self.control


@dataclasses.dataclass(frozen=True)
class Change:
    """How one benchmark moved between a saved run (``before``) and a new one (``after``)."""

    name: str
    verdict: str  # one of VERDICTS
    before: float | None = None  # median seconds
    after: float | None = None
    time_factor: float | None = None  # after / before, medians
    ratio_factor: float | None = None  # the same for the time / control ratios
    p_value: float | None = None  # the larger of the two one-sided tests' p-values


def parse_threshold(text: str) -> float:
    """``"10%"`` or ``"0.1"`` -> 0.1; the change a regression must exceed.

    Raises
    ------
    SpeedError
        Not a number, or outside (0%, 1000%).
    """
    cleaned = text.strip()
    try:
        value = float(cleaned[:-1]) / 100 if cleaned.endswith("%") else float(cleaned)
    except ValueError:
        raise SpeedError(
            f"--threshold {text!r}: give a percentage like 10% or a fraction like 0.1"
        ) from None
    if not 0 < value < 10:
        raise SpeedError(f"--threshold {text!r} is out of range; allowed (0%, 1000%)")
    return value


def compare(
    before: dict[str, Benchmark],
    after: dict[str, Benchmark],
    threshold: float = 0.10,
    alpha: float = ALPHA,
) -> list[Change]:
    """Classify every benchmark of either run; see the module docstring for the rule.

    A benchmark is a ``regression`` when, in every process of the new run, its median seconds
    and its median ratio to the control both exceed the saved run's by a factor above
    ``1 + threshold``, and one-sided Mann-Whitney U tests of those rounds against the saved
    rounds give p < ``alpha``; an ``improvement`` is the mirror image (before / after above
    ``1 + threshold``). Asking every process keeps one process's bad luck (a neighbour's busy
    spell, an unlucky placement of its arrays) from reading as a change of the code. Without
    control timings on both sides only the seconds are judged. Benchmarks in only one run are
    ``new`` or ``gone``. The factors reported are those of the pooled rounds.
    """
    changes = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            changes.append(Change(name, "new", after=after[name].median))
        elif name not in after:
            changes.append(Change(name, "gone", before=before[name].median))
        else:
            changes.append(_judge(name, before[name], after[name], threshold, alpha))
    return changes


def _judge(name: str, old: Benchmark, new: Benchmark, threshold: float, alpha: float) -> Change:
    """The verdict on one benchmark present in both runs, on its settled rounds."""
    old_settled, new_settled = old.settled(), new.settled()
    if old_settled is None or new_settled is None:
        return Change(name, "unsettled", old.median, new.median, new.median / old.median)
    old, new = old_settled, new_settled
    measures = [(old.times, new.times)]
    if old.ratios is not None and new.ratios is not None:
        measures.append((old.ratios, new.ratios))
    factors = [float(np.median(b) / np.median(a)) for a, b in measures]
    verdict, p_value = "same", None
    for direction, alternative in (("regression", "greater"), ("improvement", "less")):
        evidence = [
            (float(np.median(b[part]) / np.median(a)), _mann_whitney(b[part], a, alternative))
            for a, b in measures
            for part in new.processes()
        ]
        moved = [f > 1 + threshold if direction == "regression" else 1 / f > 1 + threshold
                 for f, _ in evidence]  # fmt: skip
        if all(moved):
            p_value = max(p for _, p in evidence)
            if p_value < alpha:
                verdict = direction
            break
    return Change(
        name,
        verdict,
        old.median,
        new.median,
        factors[0],
        factors[1] if len(factors) > 1 else None,
        p_value,
    )


def confirm(changes: list[Change], recheck: list[Change]) -> list[Change]:
    """``changes`` where a regression or improvement stands only if ``recheck`` (the same
    benchmarks timed again, later, against the same saved run) reached the same verdict.

    A neighbour's busy minute can slow every process of one run alike, the control included or
    not; it rarely lasts into a second run. A change of the code is there both times. Where the
    second timing disagrees, its numbers are shown, as ``same`` (or ``unsettled``).
    """
    again = {c.name: c for c in recheck}
    confirmed = []
    for change in changes:
        second = again.get(change.name, dataclasses.replace(change, verdict="same"))
        if change.verdict not in CHANGED or second.verdict == change.verdict:
            confirmed.append(change)
        else:
            verdict = "unsettled" if second.verdict == "unsettled" else "same"
            confirmed.append(dataclasses.replace(second, verdict=verdict))
    return confirmed


def _mann_whitney(after: np.ndarray, before: np.ndarray, alternative: str) -> float:
    if len(after) < 2 or len(before) < 2:
        return 1.0  # too few rounds to call anything real
    return float(mannwhitneyu(after, before, alternative=alternative).pvalue)

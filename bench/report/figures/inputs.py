"""What every figure draws from, computed once per report and shared by the figure modules."""

from __future__ import annotations

import dataclasses
import functools

import pandas as pd

from bench.report.labels import labelled, with_labels
from bench.report.style import Style, styles


@dataclasses.dataclass
class Inputs:
    """A store's frames and the choices every figure shares.

    Attributes
    ----------
    runs, curves
        The frames of ``bench.store.store.load``.
    criterion
        How each optimizer's configuration is tuned (``bench.analysis.tuned``).
    trajectories
        Whether to replay each 2-D test function's tuned cells for the trajectory figures.
    """

    runs: pd.DataFrame
    curves: pd.DataFrame
    criterion: str = "final_train_loss"
    trajectories: bool = True

    @functools.cached_property
    def stats(self) -> pd.DataFrame:
        """``bench.analysis.cell_stats`` without bootstrap intervals (figures need none)."""
        from bench import analysis

        return analysis.cell_stats(self.runs, n_resamples=0)

    @functools.cached_property
    def tuned(self) -> pd.DataFrame:
        """Each optimizer's tuned cell per problem (``bench.analysis.tuned``)."""
        from bench import analysis

        return analysis.tuned(self.stats, self.criterion)

    @functools.cached_property
    def tau_max(self) -> float:
        """The performance profile's largest τ (:func:`bench.report.figures.profile.tau_range`):
        past every finite ratio, so each curve has levelled off before the right edge."""
        from bench import analysis
        from bench.report.figures.profile import tau_range

        return tau_range(analysis.performance_ratios(self.runs, self.criterion))

    @functools.cached_property
    def profile(self) -> pd.DataFrame:
        """``bench.analysis.performance_profile`` of the runs up to :attr:`tau_max`: the static
        and the interactive profile draw the same frame, computed once."""
        from bench import analysis

        return analysis.performance_profile(self.runs, self.tau_max, criterion=self.criterion)

    @functools.cached_property
    def ecdf(self) -> pd.DataFrame:
        """``bench.analysis.runtime_ecdf`` of the runs, shared as :attr:`profile` is."""
        from bench import analysis

        return analysis.runtime_ecdf(self.runs, criterion=self.criterion)

    @functools.cached_property
    def problems(self) -> list[str]:
        """The labels of the problems whose tuned cells logged curves, sorted: the problems
        that get a section of figures."""
        runs = labelled(self.runs)
        drawn = runs["cell_key"].isin(self.tuned["cell_key"])
        drawn &= runs["cell_key"].isin(self.curves["cell_key"])
        return sorted(set(runs.loc[drawn, "problem"]))

    @functools.cached_property
    def timing(self) -> dict[str, tuple[bool, str]]:
        """Per problem of :attr:`problems`: whether its figures against time are drawn, and
        why or why not (:func:`bench.report.figures.timer.verdicts`); shared by the static and
        the interactive figures."""
        from bench.report.figures import timer

        return timer.verdicts(self.runs, self.tuned, self.problems)

    def configurations(self, problem: str | None = None) -> str:
        """Each optimizer's tuned configuration on ``problem`` (a label), or on every problem
        when None, as one sentence part: ``adam lr=0.01; sgd lr=0.1`` (a configuration that
        differs between problems is given per problem)."""
        tuned = with_labels(self.tuned)
        if problem is not None:
            tuned = tuned[tuned["problem"] == problem]
        parts = []
        for name, mine in tuned.groupby("optimizer", sort=True):
            configs = dict(zip(mine["problem"], mine["config"].fillna(""), strict=True))
            if len(set(configs.values())) == 1:
                parts.append(f"{name} {next(iter(configs.values())) or 'defaults'}")
            else:
                each = ", ".join(f"{c or 'defaults'} on {p}" for p, c in sorted(configs.items()))
                parts.append(f"{name} {each}")
        return "; ".join(parts)

    @functools.cached_property
    def styles(self) -> dict[str, Style]:
        """Every optimizer's style, fixed for the whole report (``bench.report.style``)."""
        return styles(self.runs["optimizer"])

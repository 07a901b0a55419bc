"""The report's figures, one module each; adding a figure is adding a module to :data:`FIGURES`.

Each figure module holds the figure's plot data (tidy frames or dicts, no matplotlib: testable
without drawing), its drawing function (matplotlib imported when it draws, through
:mod:`bench.report.canvas`) and ``figures(inputs)``, which yields ``(section, name, figure)`` for
every figure of that kind a store has data for; in place of a figure it may yield a one-line
note (a ``str``) saying why that figure is left out (``convergence_time`` where steps are too
short to time). Each figure carries its caption (:func:`bench.report.canvas.caption_of`).
Conventions shared by every module:

- ``problem`` in the plot data is a problem label (:func:`bench.report.labels.problem_labels`).
- Every optimizer keeps one colour, marker and line style (:mod:`bench.report.style`) in every
  figure of a report; an ``x`` marks a run's divergence wherever one is drawn. Legends sit below
  the axes, never over the data.
- More than :data:`bench.report.style.MAX_PER_PANEL` optimizers on one axis become small
  multiples (:func:`bench.report.style.panels`), ranked, the best repeated as a reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pandas as pd

from bench.report.figures import (
    accuracy,
    convergence,
    ecdf,
    profile,
    robustness,
    sensitivity,
    trajectories,
)
from bench.report.figures.inputs import Inputs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# The order of the figures within a report section.
FIGURES = (profile, ecdf, convergence, sensitivity, trajectories, accuracy, robustness)
FINISHED = ("done", "diverged", "timeout")  # statuses whose runs have something to draw


def figures(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    criterion: str = "final_train_loss",
    trajectories: bool = True,
    inputs: Inputs | None = None,
) -> Iterator[tuple[str, str, Figure | str]]:
    """Every figure of a store, built one at a time, for a report to save (and so close).

    Parameters
    ----------
    runs, curves
        The frames of ``bench.store.store.load``.
    criterion
        How each optimizer's configuration is tuned (``bench.analysis.tuned``).
    trajectories
        Replay each 2-D test function's tuned cells (one seed each) for the trajectory figures.
    inputs
        The :class:`Inputs` of these frames, when the caller shares them with other figures
        (the report's interactive ones); default: built here.

    Yields
    ------
    section : str
        ``"overview"``, ``"robustness"`` or a problem label.
    name : str
        In ``overview``: ``performance_profile``, ``runtime_ecdf``. Per problem:
        ``convergence_step``, ``convergence_time``, ``lr_sensitivity`` (when some optimizer
        ran several lrs), ``trajectories`` (2-D test functions), ``accuracy`` (classification
        problems). In ``robustness``: ``<axis>_<problem>`` for ``clip`` and ``initializer``,
        where the problem ran two values or more.
    figure : matplotlib.figure.Figure or str
        Pass a figure to :func:`bench.report.canvas.save` (file name:
        :func:`bench.report.canvas.figure_filename`; caption:
        :func:`bench.report.canvas.caption_of`). A ``str`` is the note standing in for a
        figure left out (:mod:`bench.report.figures.timer`).
    """
    if not runs["status"].isin(FINISHED).any():
        return
    inputs = inputs if inputs is not None else Inputs(runs, curves, criterion, trajectories)
    for module in FIGURES:
        yield from module.figures(inputs)


__all__ = ["FIGURES", "Inputs", "figures"]

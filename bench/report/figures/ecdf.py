"""The runtime ECDF (COCO style): the share of (problem, target, run) triples reached by a cost."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import pandas as pd

from bench.report.curves import spans_decades
from bench.report.figures.profile import draw_steps, ranked
from bench.report.labels import ECDF_LABELS, LOG_SUFFIX
from bench.report.style import Style

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bench.report.figures.inputs import Inputs

ECDF_MEASURES = tuple(ECDF_LABELS)  # the cost columns, the preferred first


def measure(ecdf: pd.DataFrame) -> str:
    """The cost column of ``ecdf``: ``budget_fraction`` or ``seconds``."""
    return next((m for m in ECDF_MEASURES if m in ecdf), ECDF_MEASURES[0])


def ecdf_data(ecdf: pd.DataFrame) -> pd.DataFrame:
    """The runtime ECDF (``bench.analysis.runtime_ecdf``), its rows unchanged, ordered like
    :func:`bench.report.figures.profile.profile_data`, then by cost."""
    return ranked(ecdf, measure(ecdf), "fraction")


def draw(data: pd.DataFrame, table: Mapping[str, Style] | None = None) -> Figure:
    """The runtime ECDF: the share of (problem, target, run) triples reached within a cost.

    Parameters
    ----------
    data
        :func:`ecdf_data` (its cost column is ``budget_fraction`` or ``seconds``).
    table
        The report's styles; default: those of the optimizers drawn.
    """
    cost = next(m for m in ECDF_MEASURES if m in data)
    fig, ax = draw_steps(data, cost, "fraction", table)
    log_x = spans_decades(data[cost][data[cost] > 0])
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(ECDF_LABELS[cost] + (LOG_SUFFIX if log_x else ""))
    ax.set_ylabel("share of (problem, target, run)\ntriples reached")
    ax.set_title(
        "Runtime ECDF over all problems and targets (COCO style)\n"
        "higher and further left is better; legend ordered best first",
        fontsize="medium",
    )
    return fig


def caption(inputs: Inputs, data: pd.DataFrame) -> str:
    """What the runtime ECDF of ``data`` (:func:`ecdf_data`) draws, static or interactive."""
    return (
        "Runtime ECDF (COCO): for each optimizer at its tuned configuration "
        f"({inputs.configurations()}), the share of its (problem, target, run) triples, "
        f"every seed counted, whose target was reached within the cost on the x axis "
        f"({ECDF_LABELS[measure(data)]}); a curve's final height is the share ever reached."
    )


def figures(inputs: Inputs) -> Iterator[tuple[str, str, Figure]]:
    """In ``overview``: ``runtime_ecdf``, when some target was reached."""
    data = ecdf_data(inputs.ecdf)
    if not data.empty:
        fig = draw(data, inputs.styles)
        fig.caption = caption(inputs, data)
        yield "overview", "runtime_ecdf", fig

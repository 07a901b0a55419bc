"""The Dolan–Moré performance profile on steps-to-target, over all problems and targets.

Also the ranked order and the step-curve drawing that the runtime ECDF (:mod:`.ecdf`) shares.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import pandas as pd

from bench.report.style import Style, style, styles

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bench.report.figures.inputs import Inputs


def ranked(frame: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """``frame`` sorted by optimizer (highest mean of ``y`` first, ties by name), then ``x``."""
    missing = {"optimizer", x, y} - set(frame.columns)
    if missing:
        raise ValueError(f"expected columns optimizer, {x}, {y}; missing {sorted(missing)}")
    frame = frame.sort_values(["optimizer", x], kind="stable")

    # The analysis evaluates every optimizer on the same grid of x, so the mean height is the
    # area under the curve up to a common factor.
    areas = frame.groupby("optimizer")[y].mean().to_dict()
    order = sorted(areas, key=lambda n: (-areas[n], n))
    rank = frame["optimizer"].map({name: i for i, name in enumerate(order)})
    result = frame.assign(_rank=rank).sort_values(["_rank", x], kind="stable")
    return result.drop(columns="_rank").reset_index(drop=True)


def profile_data(profile: pd.DataFrame) -> pd.DataFrame:
    """The performance profile (``bench.analysis.performance_profile``), its rows unchanged,
    ordered by optimizer (largest area under its curve first, so the legend reads as a
    ranking: the mean of rho over the shared taus), then by ``tau``."""
    return ranked(profile, "tau", "rho")


def draw_steps(
    frame: pd.DataFrame, x: str, y: str, table: Mapping[str, Style] | None = None
) -> tuple[Figure, Axes]:
    """One step curve of ``y`` against ``x`` per optimizer, in the frame's (ranked) order."""
    from bench.report import canvas

    fig = canvas.new_figure(5.2)
    ax = fig.add_subplot()
    table = table if table is not None else styles(frame["optimizer"])
    handles, labels = [], []
    for optimizer in dict.fromkeys(frame["optimizer"]):
        mine = frame[frame["optimizer"] == optimizer]
        look = style(optimizer, table)
        xs = mine[x].to_numpy(float)
        handles += ax.step(
            xs,
            mine[y],
            where="post",
            **look.kwargs(),
            linewidth=1.6,
            markersize=5,
            markevery=canvas.markevery(look.position, len(xs)),
        )
        labels.append(optimizer)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    canvas.legend_below(fig, handles, labels, columns=5)
    return fig, ax


def draw(data: pd.DataFrame, table: Mapping[str, Style] | None = None) -> Figure:
    """The performance profile (τ from 1 to its maximum).

    Parameters
    ----------
    data
        :func:`profile_data`.
    table
        The report's styles; default: those of the optimizers drawn.
    """
    fig, ax = draw_steps(data, "tau", "rho", table)
    ax.set_xlim(1.0, float(data["tau"].max()) if not data.empty else 4.0)
    ax.set_xlabel("τ: steps-to-target as a multiple of the best optimizer's")
    ax.set_ylabel("share of (problem, target) pairs\nreached within τ × best")
    ax.set_title(
        "Performance profile (Dolan–Moré) over all problems and targets\n"
        "higher and further left is better; legend ordered best first",
        fontsize="medium",
    )
    return fig


def figures(inputs: Inputs) -> Iterator[tuple[str, str, Figure]]:
    """In ``overview``: ``performance_profile``, when some target was reached."""
    data = profile_data(inputs.profile)
    if not data.empty:
        yield "overview", "performance_profile", draw(data, inputs.styles)

"""The Dolan–Moré performance profile on steps-to-target, over all problems and targets.

Also the ranked order and the step-curve drawing that the runtime ECDF (:mod:`.ecdf`) shares.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
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


TAU_FLOOR = 4.0  # the profile shows at least 1 <= tau <= 4 (AlgoPerf's range)
TAU_MARGIN = 1.1  # room right of the last step, so the level it reaches is seen
LOG_TAU_FROM = 10.0  # a wider tau range is drawn on a log2 axis


def tau_range(ratios: pd.DataFrame) -> float:
    """The largest tau to show: past every finite ratio of ``bench.analysis.performance_ratios``
    (the last step of every curve), so each curve has levelled off before the right edge."""
    finite = ratios["ratio"][np.isfinite(ratios["ratio"])] if not ratios.empty else []
    return max(TAU_FLOOR, TAU_MARGIN * float(max(finite, default=1.0)))


def draw(data: pd.DataFrame, table: Mapping[str, Style] | None = None) -> Figure:
    """The performance profile (τ from 1 to its maximum; a log axis past τ = 10).

    Parameters
    ----------
    data
        :func:`profile_data`.
    table
        The report's styles; default: those of the optimizers drawn.
    """
    fig, ax = draw_steps(data, "tau", "rho", table)
    right = float(data["tau"].max()) if not data.empty else TAU_FLOOR
    if right > LOG_TAU_FROM:
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 4, not 2^2
    ax.set_xlim(1.0, right)
    ax.set_xlabel("τ: steps-to-target as a multiple of the best optimizer's"
                  + (" (log scale)" if right > LOG_TAU_FROM else ""))  # fmt: skip
    ax.set_ylabel("share of (problem, target) pairs\nreached within τ × best")
    ax.set_title(
        "Performance profile (Dolan–Moré) over all problems and targets\n"
        "higher and further left is better; legend ordered best first",
        fontsize="medium",
    )
    return fig


def caption(inputs: Inputs) -> str:
    """What the performance profile draws (the static and the interactive one)."""
    return (
        "Dolan–Moré performance profile: for each optimizer at its tuned configuration "
        f"({inputs.configurations()}), the share of (problem, target) pairs whose median "
        "steps-to-target over seeds is within τ times the best optimizer's; a target whose "
        f"median run missed it never counts. τ runs to {inputs.tau_max:.3g}, past the largest "
        "finite ratio, so every curve has levelled off."
    )


def figures(inputs: Inputs) -> Iterator[tuple[str, str, Figure]]:
    """In ``overview``: ``performance_profile``, when some target was reached."""
    data = profile_data(inputs.profile)
    if not data.empty:
        fig = draw(data, inputs.styles)
        fig.caption = caption(inputs)
        yield "overview", "performance_profile", fig

"""What every figure shares when drawn: the blank figure, the legend below, y limits, saving.

The one module of the report that imports matplotlib at its top (on the Agg backend: files
only, no window); the figure modules import it when they draw, so their data stays testable
without matplotlib. Figures are built without pyplot (no global figure registry, nothing to
leak), 8.2 inches wide so that :func:`save` writes them about 900 pixels wide. Every text drawn
from a name goes through :func:`bench.report.labels.literal` (legends here, titles and tick
labels in the figure modules), so a ``$`` in a name is drawn as written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; the figures never need a window

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from bench.report import output  # noqa: E402
from bench.report.labels import literal  # noqa: E402
from bench.report.style import DIVERGED_MARKER  # noqa: E402

WIDTH = 8.2  # inches; at DPI this is about 900 pixels
DPI = 110
LEGEND_CHARS = 140  # characters of a "small" legend that fit across the figure
EXPORT_FORMATS = ("png", "svg", "pdf")  # what `optbench report --format` writes besides PNGs
MARKS_PER_LINE = 8  # markers along a curve: enough to tell optimizers apart, few enough to read


def new_figure(height: float) -> Figure:
    """A blank figure of the report's width and ``height`` inches, laid out by constraints."""
    return Figure(figsize=(WIDTH, height), layout="constrained")


def save(fig: Figure, path: str | os.PathLike, dpi: int = DPI, formats: Iterable[str] = ()) -> None:
    """Write ``fig`` as a PNG (about 900 pixels wide at the default ``dpi``), and in each of
    ``formats`` (:data:`EXPORT_FORMATS`) beside it with that suffix, then release it.

    Each file is replaced whole (:func:`bench.report.output.replace`). The figure is cleared
    afterwards: it was built without pyplot, so clearing is all closing means, and it frees the
    artists at once when a report writes dozens of figures.
    """
    kinds = list(dict.fromkeys(("png", *formats)))
    unknown = [kind for kind in kinds if kind not in EXPORT_FORMATS]
    if unknown:
        raise ValueError(f"figure format {unknown[0]!r} is not one of {', '.join(EXPORT_FORMATS)}")
    path = Path(path)
    try:
        for kind in kinds:

            def write(file: Path, kind: str = kind) -> None:
                fig.savefig(file, dpi=dpi, format=kind, facecolor="white")

            output.replace(path.with_suffix(f".{kind}"), write)
    finally:
        fig.clear()


def figure_filename(section: str, name: str) -> str:
    """A safe PNG file name for a figure (grid names may hold anything)."""
    slug = re.sub(r"[^A-Za-z0-9.=-]+", "_", f"{section}_{name}").strip("_.")
    return f"{slug or 'figure'}.png"


def legend_below(fig: Figure, handles: list, labels: list[str], columns: int = 5) -> None:
    """A legend under the axes, as many columns as the longest label lets fit in the width;
    the labels are drawn as written (:func:`bench.report.labels.literal`)."""
    if handles:
        fit = LEGEND_CHARS // (max(map(len, labels)) + 7)  # + room for the handle
        fig.legend(
            handles,
            [literal(label) for label in labels],
            loc="outside lower center",
            ncols=max(1, min(columns, fit, len(handles))),
            frameon=False,
            fontsize="small",
        )


def diverged_handle() -> Line2D:
    """The legend entry of the divergence cross."""
    return Line2D([], [], color="black", marker=DIVERGED_MARKER, linestyle="none", mew=2)


def markevery(position: int, points: int) -> tuple[int, int]:
    """About :data:`MARKS_PER_LINE` markers along a curve of ``points``, staggered by the
    optimizer's style ``position`` so that markers of overlapping curves do not coincide."""
    every = max(1, points // MARKS_PER_LINE)
    return position % every, every


def limits(values: np.ndarray, log: bool, trim: float = 0.0) -> tuple[float, float]:
    """A padded y range for the finite (and, on a log axis, positive) ``values``, leaving out
    the lowest ``trim`` share of them (so one lucky dip does not squash every curve)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & ((v > 0) if log else True)]
    if v.size == 0:
        return (0.1, 10.0) if log else (0.0, 1.0)
    lo, hi = float(np.quantile(v, trim, method="lower")), float(v.max())
    if log:
        return lo / 2.0, hi * 2.0
    pad = 0.05 * (hi - lo) or 0.05 * max(abs(hi), 1.0)
    return lo - pad, hi + pad

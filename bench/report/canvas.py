"""What every figure shares when drawn: the blank figure, the legend below, y limits, saving.

The one module of the report that imports matplotlib at its top (on the Agg backend: files
only, no window); the figure modules import it when they draw, so their data stays testable
without matplotlib. Figures are built without pyplot (no global figure registry, nothing to
leak), 8.2 inches wide so that :func:`save` writes them about 900 pixels wide. Every text drawn
from a name goes through :func:`bench.report.labels.literal` (legends here, titles and tick
labels in the figure modules), so a ``$`` in a name is drawn as written.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; the figures never need a window

import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from bench.report import output  # noqa: E402
from bench.report.labels import literal  # noqa: E402
from bench.report.style import DIVERGED_MARKER  # noqa: E402

WIDTH = 8.2  # inches; at DPI this is about 900 pixels
DPI = 110
LEGEND_CHARS = 140  # characters of a "small" legend that fit across the figure
# A legend swatch, in font sizes: long enough to show two whole periods of the longest dash
# pattern (``--`` at the curves' 1.6 pt width, 8.5 pt) on each side of the marker in its middle.
HANDLE_LENGTH = 5.0
HANDLE_CHARS = 12  # the room a swatch and its padding take in a legend column, in characters
EXPORT_FORMATS = ("png", "svg", "pdf")  # what `optbench report --format` writes besides PNGs
MARKS_PER_LINE = 8  # markers along a curve: enough to tell optimizers apart, few enough to read


class ReportFigure(Figure):
    """A report figure: a matplotlib ``Figure`` that carries its ``caption``, the sentence
    under it saying what is drawn (which runs, which band, which configuration of each
    optimizer). The figure modules set it; the report prints it under the figure."""

    caption: str = ""


def new_figure(height: float, caption: str = "") -> ReportFigure:
    """A blank figure of the report's width and ``height`` inches, laid out by constraints."""
    fig = ReportFigure(figsize=(WIDTH, height), layout="constrained")
    FigureCanvasAgg(fig)  # text extents can be measured before saving (fit_tick_labels)
    fig.caption = caption
    return fig


def caption_of(fig: Figure) -> str:
    """The caption of ``fig`` (empty for a figure not made by :func:`new_figure`)."""
    return getattr(fig, "caption", "")


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
        fit = LEGEND_CHARS // (max(map(len, labels)) + HANDLE_CHARS)
        fig.legend(
            handles,
            [literal(label) for label in labels],
            loc="outside lower center",
            ncols=max(1, min(columns, fit, len(handles))),
            frameon=False,
            fontsize="small",
            handlelength=HANDLE_LENGTH,
        )


def diverged_handle() -> Line2D:
    """The legend entry of the divergence cross."""
    return Line2D([], [], color="black", marker=DIVERGED_MARKER, linestyle="none", mew=2)


def panels_height(count: int, single: float) -> float:
    """The height of a figure of ``count`` panels: ``single`` inches for one, else 2.7
    inches per row of two and room for the titles and the legend."""
    return single if count == 1 else 1.9 + 2.7 * math.ceil(count / 2)


def panel_grid(fig: Figure, count: int) -> list:
    """``count`` axes sharing both axes (small multiples), two per row when there are several;
    the slots of the grid left over are hidden."""
    columns = 1 if count == 1 else 2
    grid = fig.subplots(math.ceil(count / columns), columns, sharex=True, sharey=True,
                        squeeze=False).ravel()  # fmt: skip
    for ax in grid[count:]:
        ax.set_visible(False)
    return list(grid[:count])


def style_handle(look) -> Line2D:
    """A legend entry drawn in ``look`` (a :class:`bench.report.style.Style`), for an
    optimizer with nothing else to show (all its runs diverged)."""
    return Line2D([], [], **look.kwargs(), linewidth=1.6, markersize=5)


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


def text_boxes(texts: list) -> list:
    """The window extents of the visible, non-empty ``texts`` (matplotlib ``Text``) as laid
    out in their figure (which is laid out, not rendered, first)."""
    shown = [t for t in texts if t.get_visible() and t.get_text()]
    if not shown:
        return []
    fig = shown[0].figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in shown]


def overlapping(texts: list) -> bool:
    """Whether any two of the visible, non-empty ``texts`` overlap as laid out."""
    boxes = text_boxes(texts)
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


SMALLEST_FONT = 5.0  # points: tick labels shrink no further, they are abbreviated instead
ABBREVIATED = 12  # characters an abbreviated tick label keeps, with an ellipsis


def _shrink_to_fit(labels: list, along: int, room: float) -> None:
    """Set the font of ``labels`` so that each one's extent along axis ``along`` (0: width,
    1: height) takes at most 90% of ``room`` pixels, never below :data:`SMALLEST_FONT`."""
    boxes = text_boxes(labels)
    widest = max((box.width if along == 0 else box.height) for box in boxes)
    size = labels[0].get_fontsize()
    fitted = max(SMALLEST_FONT, size * 0.9 * room / widest)
    for label in labels:
        label.set_fontsize(min(size, fitted))


def fit_tick_labels(ax, axis: str = "x") -> None:
    """Make ``ax``'s tick labels on ``axis`` stop overlapping, measured on the laid-out figure:
    upright if they fit; else (x only) turned 90 degrees; then a smaller font, and as a last
    resort abbreviated (:data:`ABBREVIATED` characters)."""
    ticks = ax.xaxis if axis == "x" else ax.yaxis
    labels = [label for label in ticks.get_ticklabels() if label.get_text()]
    if len(labels) < 2 or not overlapping(labels):
        return
    if axis == "x":
        ax.tick_params(axis="x", labelrotation=90)
    positions = ax.transData.transform([(0, 0), (1, 1)])
    spacing = abs(positions[1][0 if axis == "x" else 1] - positions[0][0 if axis == "x" else 1])
    _shrink_to_fit(labels, 0 if axis == "x" else 1, spacing)
    if overlapping(labels):
        for label in labels:
            text = label.get_text()
            if len(text) > ABBREVIATED:
                label.set_text(text[: ABBREVIATED - 1] + "…")

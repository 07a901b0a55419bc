"""How each optimizer is drawn: one colour, line style and marker, the same in every figure.

No matplotlib here: the plot data and its tests use the order and the styles without drawing.

The style of an optimizer is a function of its position in a stable order (:func:`optimizer_order`:
the built-in optimizers in sorted order, whichever of them are present, then every other name by
name). Position ``i`` takes colour ``i mod 11``, line style ``i mod 3`` and marker ``i mod 13``;
the three cycle lengths are pairwise coprime, so by the Chinese remainder theorem the first
11 x 3 x 13 = 429 positions all get different (colour, line style, marker) triples, and the first
33 already differ in (colour, line style) alone.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence

import optimizers

# Okabe & Ito's colour-blind-safe set without yellow (too pale on white) and black (kept for
# annotations: optimum, start, reference lines), completed with Paul Tol's "muted" wine, olive,
# indigo, teal and green: 11 colours, so that 33 optimizers differ in (colour, line style) alone.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#882255",  # wine (Tol muted)
    "#999933",  # olive (Tol muted)
    "#332288",  # indigo (Tol muted)
    "#44AA99",  # teal (Tol muted)
    "#117733",  # green (Tol muted)
)
LINESTYLES = ("-", "--", ":")
# Not among them: "x", which marks divergence in every figure, "+", the optimum of a trajectory
# plot, and "8", an octagon too close to "o" to tell apart at marker size.
MARKERS = ("o", "s", "^", "D", "v", "P", "<", ">", "p", "h", "d", "H", "*")
DIVERGED_MARKER = "x"
DISTINCT_STYLES = len(PALETTE) * len(LINESTYLES) * len(MARKERS)  # 429, the lengths are coprime


@dataclasses.dataclass(frozen=True)
class Style:
    """How one optimizer is drawn: ``color``, ``marker``, ``linestyle``, and its ``position``
    in :func:`optimizer_order` (which also staggers the markers along curves)."""

    color: str
    marker: str
    linestyle: str
    position: int = 0

    def kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``Axes.plot``."""
        return {"color": self.color, "marker": self.marker, "linestyle": self.linestyle}


def style_at(position: int) -> Style:
    """The style of the optimizer at ``position`` in :func:`optimizer_order`."""
    return Style(
        color=PALETTE[position % len(PALETTE)],
        marker=MARKERS[position % len(MARKERS)],
        linestyle=LINESTYLES[position % len(LINESTYLES)],
        position=position,
    )


@functools.cache
def builtin_optimizers() -> tuple[str, ...]:
    """The sorted names of the optimizers shipped with optbench (plugins excluded)."""
    names = optimizers.names()
    return tuple(n for n in names if optimizers.get(n).__module__.startswith("optimizers."))


def optimizer_order(names: Iterable[str]) -> list[str]:
    """``names`` in a stable order: the built-ins in sorted order, then the others by name."""
    builtin = builtin_optimizers()
    return sorted(set(names), key=lambda n: (n not in builtin, n))


def positions(names: Iterable[str]) -> dict[str, int]:
    """Name -> style position: a built-in keeps its index among all built-ins whatever else is
    drawn; the others follow the built-ins in name order."""
    builtin = builtin_optimizers()
    others = [n for n in optimizer_order(names) if n not in builtin]
    found = {n: builtin.index(n) for n in set(names) if n in builtin}
    return found | {n: len(builtin) + k for k, n in enumerate(others)}


def styles(names: Iterable[str]) -> dict[str, Style]:
    """The style of each of ``names``: distinct for up to :data:`DISTINCT_STYLES` names.

    Pass every optimizer of a report at once, so that a plugin keeps one style in all its
    figures (built-ins keep theirs in every report).
    """
    return {name: style_at(i) for name, i in positions(names).items()}


def style(optimizer: str, table: Mapping[str, Style] | None = None) -> Style:
    """The style of ``optimizer`` in ``table`` (of :func:`styles`), or on its own."""
    if table is not None and optimizer in table:
        return table[optimizer]
    return styles([optimizer])[optimizer]


# More optimizers than this on one axis and their bands blur into one blob (measured on the
# quick preset's xor and spirals accuracy and beale convergence): the figure then becomes small
# multiples, :func:`panels`.
MAX_PER_PANEL = 5


def panels(ranked: Sequence[str], limit: int = MAX_PER_PANEL) -> list[list[str]]:
    """``ranked`` cut into as few panels of at most ``limit`` names as possible, in order and
    as even as can be (19 names -> 5, 5, 5, 4); one panel when they fit in one."""
    names = list(ranked)
    count = max(1, math.ceil(len(names) / limit))
    size, extra = divmod(len(names), count)
    cuts = [0]
    for k in range(count):
        cuts.append(cuts[-1] + size + (k < extra))
    return [names[a:b] for a, b in itertools.pairwise(cuts)]

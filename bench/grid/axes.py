"""The one table of grid axes.

Every axis of a grid (problems, optimizers, initializers, clipping, schedules, regularizers) is
declared once here. Everything else is derived from :data:`AXES`: cell expansion and its order,
validation, the ``Cell``'s fields and identity, the store's columns, the flat ``<prefix><key>``
columns of ``bench.load``, the analysis defaults (which axes a configuration differs in) and the
robustness heatmaps. Adding an axis is one :func:`register_axis` call (or one row below).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

# Which problems an axis expands for.
EVERY_PROBLEM = "every problem"
WEIGHTS_ONLY = "problems with weights"


@dataclasses.dataclass(frozen=True)
class Axis:
    """One grid axis.

    Attributes
    ----------
    key
        The grid's key, e.g. ``"clipping"`` (``[[clipping]]`` tables).
    column
        The ``Cell`` field and store column holding the chosen name, e.g. ``"clip"``.
    params
        The ``Cell`` field and store column holding its parameters as JSON, or None for an axis
        of bare names (initializers).
    prefix
        The prefix of its parameters' flat columns in ``bench.load``'s runs frame.
    kind
        How messages name one value, e.g. ``"clipping strategy"``.
    title
        How figures and tables name the axis.
    default
        The value a grid that omits the axis gets (None: no value, the problem's own choice).
    required
        Whether a grid must give the axis.
    applies_to
        :data:`EVERY_PROBLEM` or :data:`WEIGHTS_ONLY`; elsewhere the axis keeps its default.
    robustness
        Whether the report draws a robustness heatmap over it.
    resolve
        ``resolve(grid data) -> tuple[Option, ...]``: the axis's validated, canonical values.
        None for the problem and schedule axes, which ``bench.grid.load`` resolves with the
        budget they depend on.
    """

    key: str
    column: str
    params: str | None
    prefix: str
    kind: str
    title: str
    default: str | None = None
    required: bool = False
    applies_to: str = EVERY_PROBLEM
    robustness: bool = False
    resolve: Callable[[Any], tuple] | None = None

    @property
    def varies(self) -> bool:
        """Whether configurations of one problem and optimizer may differ in this axis."""
        return self.column not in ("problem", "optimizer")


def _resolvers() -> dict[str, Callable]:
    from bench.grid import resolve
    from bench.grid.values import Option, table_list

    def initializers(data: dict) -> tuple:
        return tuple(Option(n, {}) for n in resolve.initializer_options(data.get("initializers")))

    return {
        "optimizers": lambda data: resolve.optimizer_options(table_list(data, "optimizers", True)),
        "initializers": initializers,
        "clipping": lambda data: resolve.clipping_options(table_list(data, "clipping", False)),
        "regularizers": lambda data: resolve.regularizer_options(
            table_list(data, "regularizers", False)
        ),
    }


AXES: tuple[Axis, ...] = (
    Axis("problems", "problem", "problem_params", "problem.", "problem", "problem",
         required=True),
    Axis("optimizers", "optimizer", "optimizer_params", "opt.", "optimizer", "optimizer",
         required=True),
    Axis("initializers", "initializer", None, "", "initializer", "initializer",
         applies_to=WEIGHTS_ONLY, robustness=True),
    Axis("clipping", "clip", "clip_params", "clip.", "clipping strategy", "gradient clipping",
         default="none", robustness=True),
    Axis("schedules", "schedule", "schedule_params", "schedule.", "schedule",
         "learning-rate schedule", default="constant"),
    Axis("regularizers", "regularizer", "regularizer_params", "regularizer.", "regularizer",
         "regularizer", default="none", applies_to=WEIGHTS_ONLY),
)  # fmt: skip


def axes() -> tuple[Axis, ...]:
    """Every axis, the built-in ones first, in expansion order."""
    return AXES


def axis(key_or_column: str) -> Axis:
    """The axis with this grid key (``"clipping"``) or column (``"clip"``)."""
    for candidate in AXES:
        if key_or_column in (candidate.key, candidate.column):
            return candidate
    raise KeyError(key_or_column)


def resolver(entry: Axis) -> Callable[[Any], tuple]:
    """The function that validates and resolves ``entry``'s grid values."""
    if entry.resolve is not None:
        return entry.resolve
    return _resolvers()[entry.key]


def register_axis(new: Axis) -> Axis:
    """Add an axis (a plugin's, or a test's): cells, store, load and analysis pick it up."""
    global AXES
    if any(new.key == a.key or new.column == a.column for a in AXES):
        raise ValueError(f"axis {new.key!r} ({new.column!r}) is already registered")
    if new.resolve is None:
        raise ValueError(f"axis {new.key!r} needs a resolve function")
    AXES = (*AXES, new)
    return new


def unregister_axis(key: str) -> None:
    """Remove an axis added by :func:`register_axis` (the built-in ones stay)."""
    global AXES
    AXES = tuple(a for a in AXES if a.key != key or a in _BUILTIN)


def name_columns() -> tuple[str, ...]:
    """The columns holding each axis's chosen name, in axis order."""
    return tuple(a.column for a in AXES)


def params_columns() -> tuple[str, ...]:
    """The JSON parameter columns, in axis order."""
    return tuple(a.params for a in AXES if a.params)


def flat_prefixes() -> dict[str, str]:
    """JSON parameter column -> prefix of its flat columns in ``bench.load``'s runs frame."""
    return {a.params: a.prefix for a in AXES if a.params}


def varying() -> tuple[Axis, ...]:
    """The axes besides problem and optimizer (what a configuration of one optimizer varies)."""
    return tuple(a for a in AXES if a.varies)


_BUILTIN = AXES

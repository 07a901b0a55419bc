"""Checks that turn bad arguments and names into clear ``ValueError``s (for ``problems`` only).

``problems`` never imports ``optimizers`` (see DESIGN.md), so this mirrors the style of
``optimizers/_validate.py`` rather than importing it.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable


def closest(name: str, valid: Iterable[str]) -> str:
    """Return a ``" (did you mean 'x', 'y'?)"`` hint, or the valid names if none is close."""
    valid = sorted(valid)
    matches = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
    if matches:
        return " (did you mean " + ", ".join(repr(m) for m in matches) + "?)"
    return " (valid: " + ", ".join(valid) + ")"


def unknown_name(kind: str, name: object, valid: Iterable[str]) -> ValueError:
    """The error for a name that is not registered, e.g. ``unknown initializer 'xavier' (...)``."""
    return ValueError(f"unknown {kind} {name!r}{closest(str(name), valid)}")


def check_number(
    owner: str,
    name: str,
    value: object,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise unless ``value`` is a finite real number in the interval given by its bounds.

    An infinite bound is always open: ``check_number(o, "strength", v, 0.0)`` allows
    ``[0, inf)`` and rejects ``inf`` and ``nan``. NumPy scalars are accepted; ``bool`` is not.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}")
    left = "(" if low_open or math.isinf(low) else "["
    right = ")" if high_open or math.isinf(high) else "]"
    interval = f"{left}{low:g}, {high:g}{right}"
    number = float(value)
    inside = (
        math.isfinite(number)
        and (number > low if low_open else number >= low)
        and (number < high if high_open else number <= high)
    )
    if not inside:
        raise ValueError(f"{owner}: {name}={value!r} is out of range; allowed {interval}")

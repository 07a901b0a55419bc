"""Shared checks that turn bad hyperparameters and names into clear ``ValueError``s."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable

import numpy as np


def closest(name: str, valid: Iterable[str]) -> str:
    """A ``" (did you mean 'x', 'y'?)"`` hint, or the list of valid names if none is close."""
    valid = sorted(valid)
    matches = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
    if matches:
        return " (did you mean " + ", ".join(repr(m) for m in matches) + "?)"
    return " (valid: " + ", ".join(valid) + ")"


def unknown_name(kind: str, name: object, valid: Iterable[str]) -> ValueError:
    """The error for a name that is not registered."""
    return ValueError(f"unknown {kind} {name!r}{closest(str(name), valid)}")


def check_keywords(kind: str, given: Iterable[str], valid: Iterable[str]) -> None:
    """Raise if any keyword in ``given`` is not in ``valid``, naming the closest valid keywords."""
    valid = list(valid)
    for key in given:
        if key not in valid:
            raise ValueError(f"{kind}: unknown keyword {key!r}{closest(key, valid)}")


def check_number(
    owner: str,
    name: str,
    value: object,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise unless ``value`` is a finite real number in the interval given by its bounds."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}")
    left = "(" if low_open or math.isinf(low) else "["
    right = ")" if high_open or math.isinf(high) else "]"
    interval = f"{left}{low:g}, {high:g}{right}"
    inside = (value > low if low_open else value >= low) and (
        value < high if high_open else value <= high
    )
    if not inside or not math.isfinite(value):
        raise ValueError(f"{owner}: {name}={value!r} is out of range; allowed {interval}")


def check_numbers(
    owner: str,
    name: str,
    value: object,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float | np.ndarray:
    """``check_number`` for a number or a per-run array; return it normalised.

    A number comes back as a Python float. A 1-D real ndarray (one value per run) is checked
    element by element, the first bad one named as ``name[i]``, and comes back as a read-only
    float64 copy.
    """
    if not isinstance(value, np.ndarray):
        check_number(owner, name, value, low, high, low_open, high_open)
        return float(value)
    if value.ndim != 1 or value.size == 0 or value.dtype.kind not in "fiu":
        raise ValueError(
            f"{owner}: {name} must be a number or a 1-D array of numbers (one per run), "
            f"got an array of shape {value.shape} and dtype {value.dtype}"
        )
    values = value.astype(np.float64)  # a copy, so the caller's array can change freely
    with np.errstate(invalid="ignore"):
        inside = (values > low if low_open else values >= low) & (
            values < high if high_open else values <= high
        )
    bad = np.flatnonzero(~(inside & np.isfinite(values)))
    if bad.size:
        check_number(
            owner, f"{name}[{bad[0]}]", float(values[bad[0]]), low, high, low_open, high_open
        )
    values.flags.writeable = False
    return values

"""Small text helpers shared by every stage: numbers for tables, errors on one line, name hints.

This module imports nothing from ``bench``, so any layer may import it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

MISSING = "-"  # what a table shows for a value that is absent or not finite


def format_seconds(value: float | None) -> str:
    """Seconds with three significant digits in the largest unit that keeps them above 1.

    ``0.00123`` -> ``"1.23 ms"``; ``None``, NaN and infinities -> ``"-"``.
    """
    seconds = _as_float(value)
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def format_percent(value: float | None, missing: str = MISSING) -> str:
    """A fraction as a whole percentage: ``0.125`` -> ``"12%"``; ``None``, NaN and ``pd.NA``
    -> ``missing`` (``"-"`` unless given, e.g. the report's en dash)."""
    number = _as_float(value)
    if number is None or math.isnan(number):
        return missing
    return f"{number:.0%}"


P_FLOOR, P_BELOW = 1e-4, "< 1e-4"  # smaller p-values are written as this bound


def format_p(value: float | None, missing: str = MISSING) -> str:
    """A p-value with two significant digits, or ``"< 1e-4"`` below :data:`P_FLOOR` (never
    ``"0"``: a test's tiny p-value says "far below any alpha", its digits mean nothing);
    ``None`` and NaN -> ``missing``."""
    number = _as_float(value)
    if number is None or math.isnan(number):
        return missing
    return P_BELOW if number < P_FLOOR else f"{number:.2g}"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun`` in the number that agrees: ``1 cell``, ``2 cells``, ``0 cells``
    (``plural`` for nouns not made by adding an s)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _as_float(value: object) -> float | None:
    try:
        return float(value)  # NumPy scalars too; None and pd.NA raise
    except (TypeError, ValueError):
        return None


def one_line(error: BaseException) -> str:
    """An exception's message on one line (its type's name when it has none, or when its
    ``__str__`` itself fails)."""
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - a message that cannot be formatted still names its type
        text = ""
    return " ".join(text.split()) or type(error).__name__


def closest(name: str, valid: Iterable[str]) -> str:
    """A ``" (did you mean 'x', 'y'?)"`` hint, or the list of valid names if none is close."""
    valid = sorted(valid)
    matches = difflib.get_close_matches(str(name), valid, n=3, cutoff=0.5)
    if matches:
        return " (did you mean " + ", ".join(repr(m) for m in matches) + "?)"
    return " (valid: " + ", ".join(valid) + ")"

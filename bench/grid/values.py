"""Plain values of a grid and the messages about them: option records, type checks, errors.

Errors are raised as :class:`InvalidKeyError` (a key path and a message); ``bench.grid.load``
adds the file name and turns them into a one-line :class:`GridError`.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import numbers
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from bench.grid.axes import axes
from bench.text import closest

BUDGET_KEYS = ("steps", "epochs", "batch_size", "log_every", "timeout")
DEFAULT_STEPS = 100


DEFAULT_LOG_EVERY = 10


DEFAULT_SEEDS = 5

# Every integer of a grid must fit the store's SQLite INTEGER (int64) and NumPy's int64.
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

# Lists and tables nested deeper than this are refused (a real grid nests four deep:
# the file, [[problems]], one entry, a list of lists such as hidden = [[64], [64, 64]]).
MAX_DEPTH = 8


class GridError(Exception):
    """A grid that cannot run; the message is one line naming the file, the key and the value."""


class InvalidKeyError(Exception):
    """A bad value at ``path`` (e.g. ``optimizers[1].lr``); ``bench.grid`` adds the file name."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclasses.dataclass(frozen=True)
class Option:
    """One resolved value of an axis: a registry name and its full parameters as plain data."""

    name: str
    params: dict[str, Any]

    @property
    def identity(self) -> str:
        return json.dumps([self.name, self.params], sort_keys=True)


@dataclasses.dataclass(frozen=True)
class ProblemOption(Option):
    """A resolved problem with its budget; ``batch_size`` None is full batch (or no data)."""

    uses_weights: bool = True
    steps: int = DEFAULT_STEPS
    batch_size: int | None = None
    log_every: int = DEFAULT_LOG_EVERY
    timeout: float | None = None
    path: str = ""  # the entry it came from, e.g. "problems[2]", for messages

    @property
    def identity(self) -> str:
        budget = [self.steps, self.batch_size, self.log_every]
        return json.dumps([self.name, self.params, budget], sort_keys=True)


def plain(value: Any) -> Any:
    """``value`` as JSON data: tuples become lists, NumPy scalars and dtypes Python values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{value!r} ({type(value).__name__}) is not plain data")


def as_plain(path: str, source: str, value: Any) -> Any:
    """:func:`plain`, raising :class:`InvalidKeyError` for what a plugin class cannot log."""
    try:
        return plain(value)
    except TypeError as error:
        raise InvalidKeyError(path, f"{source}: {error}") from None


def describe_value(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime.date | datetime.time):
        return f"a date/time ({value})"
    return repr(value)


def check_data(path: str, value: Any) -> None:
    """Reject TOML values that are not hyperparameters: tables, dates and NaN."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_data(f"{path}[{i}]", item)
    elif not isinstance(value, bool | int | float | str):
        raise InvalidKeyError(
            path, f"expected a number, string, boolean or list, got {describe_value(value)}"
        )
    elif isinstance(value, float) and math.isnan(value):
        raise InvalidKeyError(path, "nan is not a valid value")
    elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise InvalidKeyError(path, f"{value} is out of range; integers must fit in 64 bits")


def check_depth(data: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse lists and tables nested more than ``limit`` deep (walked without recursion)."""
    stack = [(data, 0, "")]
    while stack:
        value, depth, path = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if depth >= limit:
            raise InvalidKeyError(
                path or "<top>", f"lists and tables nested more than {limit} deep"
            )
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            child = f"{path}[{key}]" if isinstance(value, list) else f"{path}.{key}".lstrip(".")
            stack.append((item, depth + 1, child))


def _integral_hint(value: Any) -> str:
    """`` (write 3)`` for a float with an integral value such as 3.0 or 1e8."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return f" (write {int(value)}, without a decimal point or exponent)"
    return ""


def quoted_numbers_hint(path: str, value: Any) -> str:
    """A hint for numbers written as a string: ``lr = "1e-3, 1e-2"`` -> `` (to sweep, write a
    TOML list, without quotes: lr = [1e-3, 1e-2])``; ``lr = "1e-3"`` -> `` (write the number
    without quotes: 1e-3)``; anything else -> ``""``."""
    if not isinstance(value, str):
        return ""
    words = [w for w in re.split(r"[\s,;]+", value.strip().strip("[]()")) if w]
    try:
        finite = all(math.isfinite(float(word)) for word in words)
    except ValueError:
        return ""
    if not finite or not words:
        return ""
    if len(words) == 1:
        return f" (write the number without quotes: {words[0]})"
    key = re.sub(r"\[\d+\]$", "", path.rsplit(".", 1)[-1])
    return f" (to sweep, write a TOML list, without quotes: {key} = [{', '.join(words)}])"


def integer(path: str, value: Any, low: int, high: int = INT64_MAX) -> int:
    """``value`` as an int in ``[low, high]``, else :class:`InvalidKeyError`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidKeyError(
            path,
            f"expected an integer >= {low}, got {describe_value(value)}"
            f"{_integral_hint(value)}{quoted_numbers_hint(path, value)}",
        )
    if value < low:
        raise InvalidKeyError(path, f"{value!r} is out of range; allowed >= {low}")
    if value > high:
        raise InvalidKeyError(path, f"{value!r} is out of range; allowed at most {high:,}")
    return value


def of_kind(path: str, value: Any, kind: type) -> None:
    """Refuse a value of the wrong type for a parameter of ``kind`` (bool, int or float).

    A boolean must be a TOML boolean (``"false"`` would be true in Python), an integer a TOML
    integer (not ``3.0``), a number a TOML number (not a string, not a boolean).
    """
    if kind is bool and not isinstance(value, bool):
        raise InvalidKeyError(path, f"expected true or false, got {describe_value(value)}")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        hint = _integral_hint(value) + quoted_numbers_hint(path, value)
        raise InvalidKeyError(path, f"expected an integer, got {describe_value(value)}{hint}")
    if kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
        hint = quoted_numbers_hint(path, value)
        raise InvalidKeyError(path, f"expected a number, got {describe_value(value)}{hint}")


def positive(path: str, value: Any) -> float:
    """``value`` as a finite float ``> 0``, else :class:`InvalidKeyError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        hint = quoted_numbers_hint(path, value)
        raise InvalidKeyError(path, f"expected a number > 0, got {describe_value(value)}{hint}")
    if not (math.isfinite(value) and value > 0):
        raise InvalidKeyError(path, f"{value!r} is out of range; allowed a finite number > 0")
    return float(value)


def string(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidKeyError(path, f"expected a string, got {describe_value(value)}")
    return value


def table_list(data: dict[str, Any], key: str, required: bool) -> list[dict[str, Any]] | None:
    """The entries of an axis such as ``[[optimizers]]``; a bare string means ``{name = ...}``."""
    if key not in data:
        if required:
            raise InvalidKeyError(key, f"missing: add at least one [[{key}]] table with a name")
        return None
    value = data[key]
    if not isinstance(value, list):
        raise InvalidKeyError(
            key, f"expected a list of [[{key}]] tables, got {describe_value(value)}"
        )
    if not value:
        raise InvalidKeyError(key, "empty: give at least one entry")
    entries = []
    for i, entry in enumerate(value):
        entry = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict):
            raise InvalidKeyError(
                f"{key}[{i}]", f"expected a table or a name, got {describe_value(entry)}"
            )
        if "name" not in entry:
            raise InvalidKeyError(f"{key}[{i}]", "missing key 'name'")
        string(f"{key}[{i}].name", entry["name"])
        entries.append(entry)
    return entries


def check_keys(path: str, entry: dict[str, Any], valid: Iterable[str], owner: str) -> None:
    """Raise for a key of ``entry`` that is not ``name`` or in ``valid``, naming the closest."""
    valid = list(valid)
    for key in entry:
        if key == "name" or key in valid:
            continue
        if key in top_level_keys():
            raise misplaced(path, key)
        hint = closest(key, valid) if valid else f" ({owner} takes no parameters)"
        raise InvalidKeyError(f"{path}.{key}", f"unknown parameter {key!r} of {owner}{hint}")


def lookup(path: str, name: str, valid: Iterable[str], kind: str) -> str:
    if name not in valid:
        raise InvalidKeyError(path, f"unknown {kind} {name!r}{closest(name, valid)}")
    return name


def top_level_keys() -> tuple[str, ...]:
    """The keys a grid may have at its top level: settings, budget, plugins and every axis."""
    settings = ("name", "description", "seed", "seeds", *BUDGET_KEYS, "plugins")
    return (*settings, *(entry.key for entry in axes()))


def misplaced(path: str, key: str) -> InvalidKeyError:
    """The error for a top-level key written inside a ``[[table]]`` (TOML's usual trap)."""
    return InvalidKeyError(
        f"{path}.{key}",
        f"{key!r} is a top-level key but sits inside this table (in TOML every key after a "
        "[[table]] header belongs to that table): move it above the first [[...]] header",
    )

"""Sweeps: a list value sweeps, and an entry expands to the cartesian product of its keys."""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from bench.grid.values import InvalidKeyError, Option, check_data
from bench.text import one_line

# One entry's sweep is built value by value to validate it: cap it so that validation stays quick
# (the whole grid's cell count has its own limit, bench.grid.MAX_CELLS, lifted by --yes).
MAX_COMBINATIONS = 100_000


def sweep(path: str, value: Any, list_valued: bool) -> list[Any]:
    """The values a key takes; see the rule in ``bench.grid``'s docstring."""
    check_data(path, value)
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return [tuple(v) for v in value]  # a list of lists is always a sweep
    if list_valued:
        return [tuple(value) if isinstance(value, list) else value]
    if isinstance(value, list):
        if not value:
            raise InvalidKeyError(path, "empty list: give at least one value to sweep over")
        return list(value)
    return [value]


@dataclasses.dataclass(frozen=True)
class Combination:
    """One point of an entry's sweep, and how to blame a key when building it fails."""

    path: str
    kwargs: dict[str, Any]
    axes: dict[str, list[Any]]
    known: tuple[str, ...] = ()  # other keys an error may name (e.g. a missing one)

    def blame(self, error: Exception, context: str = "") -> InvalidKeyError:
        """An :class:`InvalidKeyError` at the key the error message names first (else the entry)."""
        message = one_line(error)
        detail = message.split(": ", 1)[-1]  # skip the owner ("adam: lr=...")
        if not isinstance(error, ValueError | TypeError):  # a plugin's own error, or memory
            message = f"{type(error).__name__}: {message}"
        found = []
        for key in dict.fromkeys([*self.kwargs, *self.known]):
            match = re.search(rf"(?<![\w.]){re.escape(key)}(?!\w)", detail)
            if match:
                found.append((match.start(), key))
        path = self.key_path(min(found)[1]) if found else self.path
        return InvalidKeyError(path, message + context)

    def key_path(self, key: str) -> str:
        """Where ``key``'s value of this combination is written: ``path.key[i]`` in a sweep."""
        values = self.axes.get(key, ())
        if len(values) > 1:
            return f"{self.path}.{key}[{values.index(self.kwargs[key])}]"
        return f"{self.path}.{key}"


def combinations(
    path: str,
    params: dict[str, Any],
    list_valued: Iterable[str] = (),
    known: Iterable[str] = (),
) -> Iterator[Combination]:
    """Every combination of ``params``' values, in key order then value order.

    ``known`` are the entry's other valid keys, which an error message may name.
    """
    list_valued = set(list_valued)
    axes = {key: sweep(f"{path}.{key}", value, key in list_valued) for key, value in params.items()}
    total = math.prod(len(values) for values in axes.values())
    if total > MAX_COMBINATIONS:
        sizes = " x ".join(f"{len(v)} {k}" for k, v in axes.items() if len(v) > 1)
        raise InvalidKeyError(
            path,
            f"sweeps {sizes} = {total:,} combinations, more than {MAX_COMBINATIONS:,} for one "
            "entry; shrink the sweep",
        )
    for values in itertools.product(*axes.values()):
        yield Combination(path, dict(zip(axes, values, strict=True)), axes, tuple(known))


def list_valued(parameters: Iterable[Any]) -> list[str]:
    """The names of the parameters (``Parameter`` records of a ``describe()``) whose one value is
    a list: those of kind ``tuple`` or ``list``, such as ``betas`` or ``milestones``."""
    return [p.name for p in parameters if p.kind in (tuple, list)]


def dedupe(options: Iterable[Option]) -> tuple[Option, ...]:
    seen: dict[str, Option] = {}
    for option in options:
        seen.setdefault(option.identity, option)
    return tuple(seen.values())

"""The grid's top-level settings: its name, seeds, plugins, and keys in the wrong place."""

from __future__ import annotations

import re
from typing import Any

from bench.grid.axes import axes
from bench.grid.values import (
    BUDGET_KEYS,
    DEFAULT_SEEDS,
    InvalidKeyError,
    closest,
    describe_value,
    integer,
    misplaced,
    quoted_numbers_hint,
    string,
    top_level_keys,
)

_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

# Runs per cell: every seed of a cell is one row of each of its arrays, and one row in the store.
MAX_SEEDS = 100_000


def seeds(value: Any) -> tuple[int, ...]:
    """``seeds``: a count n (seeds 0..n-1) or an explicit list of distinct integers >= 0."""
    if isinstance(value, list):
        if not value:
            raise InvalidKeyError("seeds", "empty list: give a count (seeds = 5) or some seeds")
        if len(value) > MAX_SEEDS:
            raise InvalidKeyError("seeds", f"{len(value):,} seeds, more than {MAX_SEEDS:,}")
        seeds = tuple(integer(f"seeds[{i}]", s, 0) for i, s in enumerate(value))
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        if repeated:
            raise InvalidKeyError(
                "seeds", f"{value!r} repeats {repeated}; each seed must be distinct"
            )
        return seeds
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidKeyError(
            "seeds",
            f"expected a count >= 1 or a list of seeds, got {describe_value(value)}"
            f"{quoted_numbers_hint('seeds', value)}",
        )
    return tuple(range(integer("seeds", value, 1, MAX_SEEDS)))


def grid_name(value: Any) -> str:
    """A name that is safe as a file name (the default store is ``results/<name>.sqlite``)."""
    name = string("name", value)
    if not _NAME_PATTERN.fullmatch(name):
        raise InvalidKeyError(
            "name", f"{name!r} is not valid; use letters, digits, '.', '_' and '-' only"
        )
    return name


def plugin_names(data: dict[str, Any]) -> list[str]:
    """The ``plugins`` list: module names to import before names are checked."""
    value = data.get("plugins", [])
    if not isinstance(value, list):
        raise InvalidKeyError(
            "plugins", f"expected a list of module names, got {describe_value(value)}"
        )
    return [string(f"plugins[{i}]", module) for i, module in enumerate(value)]


def near_misses(data: dict[str, Any]) -> list[str]:
    """Warnings for valid keys that were probably meant as another one: ``seed = 10`` (the grid's
    random seed) with no ``seeds`` (how many runs each cell makes), a classic slip."""
    notes = []
    value = data.get("seed")
    plausible_count = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    if plausible_count and "seeds" not in data:
        notes.append(
            f"seed: seed = {value!r} sets the grid's random seed, not the number of runs per "
            f"cell, which is seeds (default {DEFAULT_SEEDS}); for {value!r} runs per cell "
            f"write seeds = {value!r}, or add seeds = {DEFAULT_SEEDS} to keep the default"
        )
    return notes


def check_top_level(data: dict[str, Any]) -> None:
    """Unknown top-level keys, and top-level keys caught inside the table before them."""
    valid = top_level_keys()
    for key in data:
        if key not in valid:
            raise InvalidKeyError(key, f"unknown key {key!r}{closest(key, valid)}")
    never_parameters = set(valid) - {"name", "description", "seed", *BUDGET_KEYS}
    for axis in (entry.key for entry in axes() if entry.params):
        entries = data.get(axis)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            for key in entry if isinstance(entry, dict) else ():
                if key in never_parameters:
                    raise misplaced(f"{axis}[{i}]", key)

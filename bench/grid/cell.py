"""A cell is one configuration of a grid; all its seeds run together as one array program.

``Cell`` is what ``bench.grid`` produces and ``bench.run`` consumes. It is plain data, so it
pickles cheaply to workers.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from typing import Any

import numpy as np

from bench.grid.axes import axes

# How runs draw their random numbers; recorded with every experiment. Both schemes key a run by
# (grid seed, problem configuration, initializer, seed index), so seeds are paired across
# configurations. "common-1": batches and gradient noise came from the run's sequential
# generator. "common-2": from a counter-based Philox stream per run, drawn for all runs at once
# (problems.streams); starts are drawn as in common-1. Stores that lack it were written with
# streams keyed by the whole configuration.
RANDOM_STREAMS = "common-2"


class Cell:
    """One grid configuration and the seed indices to run it with.

    The configuration has one name (and, for most axes, one parameter dict) per axis of
    :func:`bench.grid.axes.axes`, read as attributes: ``cell.optimizer``, ``cell.clip_params``.
    An axis not given takes its default (``clip="none"``, ``initializer=None``...). Parameter
    dicts hold fully resolved values (defaults included) as plain JSON types, so two spellings of
    the same configuration get the same ``key``.
    """

    _BUDGET = ("batch_size", "steps", "log_every", "grid_seed")

    _DEFAULTS: dict[str, Any] = {"batch_size": None, "steps": 100, "log_every": 10,
                                 "seeds": (0,), "grid_seed": 0, "timeout": None,
                                 "code": None}  # fmt: skip

    def __init__(self, *positional: Any, **fields: Any) -> None:
        """Fields by keyword (positional ones follow the axes' order, then the budget).

        Budget: ``batch_size`` (None: full batch), ``steps``, ``log_every``, ``seeds``,
        ``grid_seed``, ``timeout`` (wall-clock seconds for the whole cell, None: no limit).
        ``code``: the plugin source hashes the cell runs (:mod:`bench.grid.code`), None when it
        uses only built-in names.
        """
        order = [f for entry in axes() for f in (entry.column, entry.params) if f]
        order += list(self._DEFAULTS)
        for name, value in zip(order, positional, strict=False):
            if name in fields:
                raise TypeError(f"Cell got multiple values for {name!r}")
            fields[name] = value
        budget = {k: fields.pop(k, default) for k, default in self._DEFAULTS.items()}
        config: dict[str, Any] = {}
        for entry in axes():
            config[entry.column] = fields.pop(entry.column, entry.default)
            if entry.params:
                config[entry.params] = fields.pop(entry.params, {})
        if fields:
            raise TypeError(f"Cell: unknown field(s) {sorted(fields)}")
        if config["problem"] is None or config["optimizer"] is None:
            raise TypeError("Cell needs a problem and an optimizer")
        budget["seeds"] = tuple(budget["seeds"])
        budget["code"] = None if budget["code"] is None else dict(sorted(budget["code"].items()))
        self.__dict__.update(config=config, **budget)

    def __getattr__(self, name: str) -> Any:
        config = self.__dict__.get("config", {})
        if name in config:
            return config[name]
        raise AttributeError(f"'Cell' object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cell):
            return NotImplemented
        mine, theirs = (
            c.identity() | {"seeds": c.seeds, "timeout": c.timeout} for c in (self, other)
        )
        return mine == theirs

    def __repr__(self) -> str:
        fields = {**self.config, "steps": self.steps, "seeds": self.seeds}
        return "Cell(" + ", ".join(f"{k}={v!r}" for k, v in fields.items()) + ")"

    def replace(self, **changes: Any) -> Cell:
        """A copy with some fields changed (as ``dataclasses.replace``)."""
        fields = {**self.config, **{k: getattr(self, k) for k in self._BUDGET}}
        fields |= {"seeds": self.seeds, "timeout": self.timeout, "code": self.code}
        return Cell(**(fields | changes))

    def identity(self) -> dict[str, Any]:
        """Everything that determines a run's numbers except the seed index (and the timeout):
        the configuration, the budget and, for a cell that uses plugins, their code."""
        identity = {**self.config, **{k: getattr(self, k) for k in self._BUDGET}}
        if self.code is not None:  # absent otherwise: built-in cells keep their keys
            identity["code"] = self.code
        return identity

    @functools.cached_property
    def key(self) -> str:
        """A stable hash of :meth:`identity`: the same on every machine, process and version of
        Python (canonical JSON, sorted keys, SHA-256)."""
        canonical = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]

    def stream_identity(self) -> dict[str, Any]:
        """What a run's random numbers depend on besides its seed index: the grid seed, the
        problem configuration and the initializer. Never the optimizer, the clipping, the
        schedule or the regularizer, so seed k of a problem starts every configuration from the
        same point and feeds it the same batches and gradient noise (common random numbers)."""
        return {"problem": self.problem, "problem_params": self.problem_params,
                "initializer": self.initializer, "grid_seed": self.grid_seed}  # fmt: skip

    def seed_sequence(self, seed: int) -> np.random.SeedSequence:
        """The entropy of run ``seed``: :meth:`stream_identity` and the seed index, nothing else.

        Runs of different configurations with the same seed index are therefore paired; a run's
        numbers do not depend on which other seeds share its cell, on the number of jobs, the
        backend or the order in which cells run.
        """
        canonical = json.dumps(self.stream_identity(), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
        words = [int(digest[i : i + 8], 16) for i in range(0, len(digest), 8)]
        return np.random.SeedSequence([self.grid_seed, *words, seed])

    def with_seeds(self, seeds: tuple[int, ...]) -> Cell:
        """The same configuration with other seeds (used to run only the missing ones)."""
        return self.replace(seeds=tuple(seeds))

    @property
    def lr(self) -> float | None:
        """The base learning rate, the axis most reports sweep."""
        return self.optimizer_params.get("lr")

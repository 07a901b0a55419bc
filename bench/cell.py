"""A cell is one configuration of a grid; all its seeds run together as one array program.

``Cell`` is what ``bench.grid`` produces and ``bench.engine`` consumes; ``CellResult`` is what the
engine returns and ``bench.store`` writes (in the parent process, one transaction per cell).
Both are plain data so they pickle cheaply to and from workers.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from typing import Any

import numpy as np

STATUSES = ("done", "diverged", "error", "timeout")

# The columns of a cell's logged curve, in order. Metrics a problem lacks are NaN.
CURVE_COLUMNS = (
    "seed",
    "step",
    "epoch",
    "time",
    "train_loss",
    "grad_norm",
    "test_loss",
    "train_accuracy",
    "test_accuracy",
)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One grid configuration and the seed indices to run it with.

    Parameter dicts hold fully resolved values (defaults included) as plain JSON types, so two
    spellings of the same configuration get the same ``key``.
    """

    problem: str
    problem_params: dict[str, Any]
    optimizer: str
    optimizer_params: dict[str, Any]
    initializer: str | None = None
    clip: str = "none"
    clip_params: dict[str, Any] = dataclasses.field(default_factory=dict)
    schedule: str = "constant"
    schedule_params: dict[str, Any] = dataclasses.field(default_factory=dict)
    regularizer: str = "none"
    regularizer_params: dict[str, Any] = dataclasses.field(default_factory=dict)
    batch_size: int | None = None  # None: full batch
    steps: int = 100
    log_every: int = 10
    seeds: tuple[int, ...] = (0,)
    grid_seed: int = 0
    timeout: float | None = None  # wall-clock seconds for the whole cell, None: no limit

    def identity(self) -> dict[str, Any]:
        """Everything that determines a run's numbers except the seed index (and the timeout)."""
        fields = dataclasses.asdict(self)
        del fields["seeds"], fields["timeout"]
        return fields

    @functools.cached_property
    def key(self) -> str:
        """A stable hash of :meth:`identity`: the same on every machine, process and version of
        Python (canonical JSON, sorted keys, SHA-256)."""
        canonical = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]

    def seed_sequence(self, seed: int) -> np.random.SeedSequence:
        """The entropy of run ``seed``: grid seed, cell hash and seed index, nothing else.

        A run's random numbers therefore do not depend on which other seeds share its cell, on
        the number of jobs, the backend or the order in which cells run.
        """
        words = [int(self.key[i : i + 8], 16) for i in range(0, len(self.key), 8)]
        return np.random.SeedSequence([self.grid_seed, *words, seed])

    def with_seeds(self, seeds: tuple[int, ...]) -> Cell:
        """The same configuration with other seeds (used to run only the missing ones)."""
        return dataclasses.replace(self, seeds=tuple(seeds))

    @property
    def lr(self) -> float | None:
        """The base learning rate, the axis most reports sweep."""
        return self.optimizer_params.get("lr")


@dataclasses.dataclass
class CellResult:
    """What running a cell produced: one entry per seed in ``runs``.

    runs
        One dict per seed with keys ``seed``, ``status`` (one of ``STATUSES``), ``steps_done``,
        ``diverged_step`` (int or None), ``error`` (traceback text or None), ``final_train_loss``,
        ``best_train_loss``, ``final_test_loss``, ``final_train_accuracy``,
        ``final_test_accuracy`` (floats, NaN where the problem has no such metric), ``opt_time``
        (seconds of optimization steps only).
    targets
        One dict per (seed, target) with keys ``seed``, ``target``, ``step`` and ``time``
        (``None`` when the run never reached the target).
    curves
        Column arrays named by ``CURVE_COLUMNS``, all the same length (one row per logged point
        per seed).
    wall_time
        Seconds the whole cell took in its worker, evaluation included.
    """

    cell: Cell
    runs: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    curves: dict[str, np.ndarray]
    wall_time: float

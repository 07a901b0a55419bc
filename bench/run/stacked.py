"""A group's per-run components: one optimizer, schedule, clipping and regularizer for all its runs.

Each cell of a group (:mod:`bench.run.grouping`) contributes its configuration for its own runs;
the stacked objects hold one value per run (:func:`optimizers.stack` and its counterparts for
schedules, clipping and regularizers). A cell alone goes through the very same objects, with its
one value repeated, so a run's numbers do not depend on which cells share its group. A plugin
rule written for scalars (:func:`optimizers.takes_per_run`) gets its own configuration and a
Python float lr, as before run groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import optimizers
import optimizers.clipping
import optimizers.schedules
from bench.grid.cell import Cell
from problems import regularizers


class Components:
    """The optimizer, per-step learning rates, clipping and penalty of a group's runs."""

    def __init__(self, cells: Sequence[Cell]):
        sizes = [len(cell.seeds) for cell in cells]
        rules = [optimizers.create(c.optimizer, **c.optimizer_params) for c in cells]
        self.per_run = optimizers.takes_per_run(rules[0])
        if self.per_run:
            self.optimizer = optimizers.stack(rules, sizes)
            self.base_lr = np.asarray(self.optimizer.lr, dtype=np.float64)
        else:  # a plugin rule written for scalars: alone, with Python floats, as it expects
            (self.optimizer,) = rules
            self.base_lr = self.optimizer.lr
        schedules = [optimizers.schedule(c.schedule, **c.schedule_params) for c in cells]
        self.schedules = schedules
        self.schedule = optimizers.schedules.stack(schedules, sizes)
        self.constant = all(c.schedule == "constant" for c in cells)
        clippers = [optimizers.clipping.clipper(c.clip, **c.clip_params) for c in cells]
        self.clip = optimizers.clipping.stack(clippers, sizes)  # checked once, per cell
        self.clipped = cells[0].clip != "none"
        penalties = [regularizers.create(c.regularizer, **c.regularizer_params) for c in cells]
        self.regularizer = regularizers.stack(penalties, sizes)
        self.regularized = cells[0].regularizer != "none"
        self.runs = sum(sizes)

    def lr(self, t: int) -> np.ndarray:
        """Step ``t``'s learning rate of every run: its base lr times its schedule's factor
        (the base lr itself under constant schedules, whose factor is exactly 1)."""
        if self.constant:
            return self.base_lr
        if not self.per_run:
            return self.base_lr * self.schedules[0](t)
        return self.base_lr * self.schedule(t)

    def penalty(self, params: list[np.ndarray], grads: list[np.ndarray]) -> np.ndarray:
        """Add the regularizer's gradient into ``grads``; the penalty of every run, shape (R,)."""
        if not self.regularized:
            return np.zeros(self.runs)
        return self.regularizer(params, grads)

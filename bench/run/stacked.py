"""A group's per-run components: one optimizer, schedule, clipping and regularizer for all its runs.

Each cell of a group (:mod:`bench.run.grouping`) contributes its configuration for its own runs;
the stacked objects hold one value per run (:func:`optimizers.stack` and its counterparts for
schedules, clipping and regularizers). The optimizer and the schedule of one configuration (a
cell alone) keep their Python numbers, which give the same bits as the per-run arrays
(``optimizers.per_run``; ``tests/bench/run/test_groups.py`` checks every rule), and let the fused
kernels and blocks serve it. A plugin rule written for numbers
(:func:`optimizers.takes_per_run`) always runs alone, so it always gets numbers."""

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
        schedules = [optimizers.schedule(c.schedule, **c.schedule_params) for c in cells]
        # Python numbers for one configuration (its fused kernels and blocks serve that case)
        # and for a plugin rule written for them; (R,) arrays for a group of configurations.
        one = all(_configuration(c) == _configuration(cells[0]) for c in cells)
        self.scalar = one or not optimizers.takes_per_run(rules[0])
        if self.scalar:
            self.optimizer, self.schedule = rules[0], schedules[0]
        else:
            self.optimizer = optimizers.stack(rules, sizes)
            self.schedule = optimizers.schedules.stack(schedules, sizes)
        self.base_lr = self.optimizer.lr
        self.constant = all(c.schedule == "constant" for c in cells)
        clippers = [optimizers.clipping.clipper(c.clip, **c.clip_params) for c in cells]
        self.clip = optimizers.clipping.stack(clippers, sizes)  # checked once, per cell
        self.clipped = cells[0].clip != "none"
        penalties = [regularizers.create(c.regularizer, **c.regularizer_params) for c in cells]
        self.regularizer = regularizers.stack(penalties, sizes)
        self.regularized = cells[0].regularizer != "none"
        self.runs = sum(sizes)

    def lr(self, t: int) -> float | np.ndarray:
        """Step ``t``'s learning rate: the base lr times the schedule's factor (the base lr
        itself under constant schedules, whose factor is exactly 1); one number, or one per run.
        """
        if self.constant:
            return self.base_lr
        return self.base_lr * self.schedule(t)

    def penalty(self, params: list[np.ndarray], grads: list[np.ndarray]) -> np.ndarray:
        """Add the regularizer's gradient into ``grads``; the penalty of every run, shape (R,)."""
        if not self.regularized:
            return np.zeros(self.runs)
        return self.regularizer(params, grads)


def _configuration(cell: Cell) -> tuple:
    """What sets a cell's optimizer hyperparameters and per-step lr."""
    return (cell.optimizer_params, cell.schedule, cell.schedule_params)

"""Run groups: cells of one problem that differ only in continuous values run as ONE array program.

The cell stays the unit of storage, resume and reporting; only execution is grouped. A group
concatenates its cells' runs on the leading runs axis and steps them with one optimizer whose
continuous hyperparameters are per-run arrays (:func:`optimizers.stack`), one per-run schedule,
clipping threshold and regularizer strength. Every operation is per run, so a run's numbers are
the same whichever cells share its group, in whatever order (``tests/bench/run/test_groups.py``).

What may differ inside a group: the optimizer's continuous hyperparameters (lr, betas, eps,
weight_decay, momentum...), the schedule (kind and parameters), the clipping threshold, the
regularizer's strength, the initializer and the seeds. What may not: the problem and its
parameters, the budget (steps, log_every, batch_size, grid seed), the optimizer's rule and
structural settings (:func:`optimizers.group_signature`), the clipping kind and the regularizer
kind. A cell with a ``timeout`` always runs alone (its limit is its own), and so does a cell of a
plugin rule written for scalars (:func:`optimizers.takes_per_run`).

Size rule: a group holds at most :data:`GROUP_BYTES` of parameter-sized arrays, counted as the
params, their gradients, the rule's state and scratch, and a batch's activations
(:func:`run_bytes`), and at most
:data:`GROUP_RUNS` runs. A grid whose groups are fewer than the jobs is split further so that
every job has work.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from bench.grid.cell import Cell

GROUP_BYTES = 256 * 1024 * 1024  # parameter-sized arrays of one group, at most
GROUP_RUNS = 20_000  # runs in one group, at most (per-step bookkeeping grows with them)
ARRAYS_PER_PARAM = 8  # params, grads, up to 3 state buffers, up to 3 scratch arrays


def signature(cell: Cell) -> str:
    """What cells must share to run in one group (JSON, so it hashes and sorts)."""
    import optimizers
    import optimizers.clipping
    from problems import regularizers

    rule = optimizers.create(cell.optimizer, **cell.optimizer_params)
    if cell.timeout is not None or not optimizers.takes_per_run(rule):
        return json.dumps(["alone", cell.key])
    clip = optimizers.clipping.clipper(cell.clip, **cell.clip_params)
    penalty = regularizers.create(cell.regularizer, **cell.regularizer_params)
    shared = {
        "problem": cell.problem,
        "problem_params": cell.problem_params,
        "budget": [cell.steps, cell.log_every, cell.batch_size, cell.grid_seed],
        "rule": repr(optimizers.group_signature(rule)),
        "clip": repr(optimizers.clipping.group_signature(clip)),
        "regularizer": repr(regularizers.group_signature(penalty)),
    }
    shared |= _other_axes(cell)
    return json.dumps(shared, sort_keys=True, default=repr)


def _other_axes(cell: Cell) -> dict[str, Any]:
    """Axes the engine does not stack (a plugin's axis): cells must agree on them entirely."""
    from bench.grid.axes import axes

    stacked = {"problem", "optimizer", "initializer", "clip", "schedule", "regularizer"}
    other = {}
    for entry in axes():
        if entry.column not in stacked:
            other[entry.column] = getattr(cell, entry.column)
            if entry.params:
                other[entry.params] = getattr(cell, entry.params)
    return other


def run_bytes(cell: Cell) -> int:
    """Bytes one run of ``cell`` needs (an upper estimate): :data:`ARRAYS_PER_PARAM` arrays the
    size of its parameters, and an MLP's activations for one batch.

    Sized from the problem's keywords (:mod:`bench.grid.footprint`); a problem unknown there (a
    plugin's) is built, and one run's parameters are counted.
    """
    from bench.grid.footprint import footprint

    sizes = footprint(cell.problem, cell.problem_params)
    if sizes is None:
        import numpy as np

        from bench.run.engine import build_problem

        params = build_problem(cell).init_params(np.random.default_rng(0), 1, cell.initializer)
        return ARRAYS_PER_PARAM * sum(p.nbytes for p in params)
    batch = cell.batch_size or sizes.examples
    return (ARRAYS_PER_PARAM * sizes.parameters + sizes.per_example * batch) * sizes.itemsize


def plan(cells: Sequence[Cell], jobs: int = 1) -> list[tuple[Cell, ...]]:
    """Partition ``cells`` into groups, keeping their order inside each group.

    Parameters
    ----------
    cells
        The cells to run, biggest first (the run command's order): groups are ordered by their
        first cell, so the heavy groups still start first.
    jobs
        Workers that will run the groups; when the cells form fewer groups than this, the
        largest groups are halved until every worker has one (or no group can be split).
    """
    by_signature: dict[str, list[Cell]] = {}
    for cell in cells:
        by_signature.setdefault(signature(cell), []).append(cell)
    groups: list[list[Cell]] = []
    for members in by_signature.values():
        groups.extend(_capped(members, run_bytes(members[0])))
    groups = _spread(groups, jobs)
    order = {id(cell): i for i, cell in enumerate(cells)}
    groups.sort(key=lambda group: order[id(group[0])])
    return [tuple(group) for group in groups]


def _capped(members: list[Cell], per_run: int) -> list[list[Cell]]:
    """Consecutive chunks of ``members`` within the byte and run caps (a cell is never split)."""
    limit_runs = max(1, min(GROUP_RUNS, GROUP_BYTES // max(per_run, 1)))
    chunks: list[list[Cell]] = [[]]
    runs = 0
    for cell in members:
        size = len(cell.seeds)
        if chunks[-1] and runs + size > limit_runs:
            chunks.append([])
            runs = 0
        chunks[-1].append(cell)
        runs += size
    return chunks


def _spread(groups: list[list[Cell]], jobs: int) -> list[list[Cell]]:
    """Halve the largest groups until there are at least ``jobs`` of them, where possible."""
    groups = list(groups)
    while len(groups) < jobs:
        largest = max(range(len(groups)), key=lambda i: len(groups[i]))
        group = groups[largest]
        if len(group) < 2:
            break
        half = math.ceil(len(group) / 2)
        groups[largest : largest + 1] = [group[:half], group[half:]]
    return groups

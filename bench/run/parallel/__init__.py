"""Dispatch cells to worker processes and yield each result the moment it finishes.

Two backends: loky (the default, :mod:`.loky`) and Dask (:mod:`.dask`); :mod:`.workers` holds
what every worker shares. Faults inside a grid are results, not crashes: a cell that raises, whose
worker dies, or that hangs past its ``timeout`` is recorded ``error`` or ``timeout`` and the grid
goes on. A cell that failed through no fault of its own (its worker was killed from outside, or
Dask cancelled it) says so at the start of its error text (:data:`WORKER_DIED`), and the next
run of the same command retries it. Workers cannot stop the run, except when they cannot start
at all (:class:`WorkerError`: one line, exit code 2).

Workers ignore SIGINT (Ctrl-C on a terminal reaches the whole process group; the parent decides)
and exit by themselves as soon as the parent is killed outright (SIGKILL leaves it no chance to
clean up). ``jobs=1`` runs in this process (what a debugger wants) unless a cell has a timeout,
which needs a worker that can be killed.

Each cell's numbers depend only on the cell, so backend, job count and order do not change them.
This package imports nothing heavy (a starting worker imports it before anything else).
"""

from __future__ import annotations

import sys
import time  # noqa: F401 - tests patch bench.run.parallel.time.monotonic
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from bench.run.parallel.dask import _dask_result, _DaskWatch, connect, run_dask
from bench.run.parallel.loky import THREAD_VARIABLES, cpu_count, run_loky
from bench.run.parallel.workers import (
    ORPHAN_CHECK,
    POLL,
    WORKER_DIED,
    WorkerError,
    check_plugins,
    grace,
)

if TYPE_CHECKING:
    from bench.grid.cell import Cell
    from bench.run.result import CellResult

__all__ = ["BACKENDS", "ORPHAN_CHECK", "POLL", "THREAD_VARIABLES", "WORKER_DIED", "WorkerError",
           "_DaskWatch", "_dask_result", "check_plugins", "connect", "cpu_count", "grace",
           "run_cells"]  # fmt: skip

BACKENDS = ("loky", "dask")


def run_cells(
    cells: Iterable[Cell],
    jobs: int = -1,
    backend: str = "loky",
    scheduler=None,
    plugins: tuple[str, ...] = (),
) -> Iterator[CellResult]:
    """Run ``cells`` and yield their results as they finish (in no particular order).

    Parameters
    ----------
    cells
        The cells, in the order to start them (the run command puts the biggest first).
    jobs
        Worker processes for loky; -1 uses every core. ``jobs=1`` runs in this process unless a
        cell has a timeout.
    backend
        ``"loky"`` or ``"dask"``. With dask, ``scheduler`` is the address of a running
        scheduler (``tcp://host:8786``) or a client from :func:`connect`; the extra
        ``optbench[dask]`` provides ``distributed``.
    plugins
        Modules to import in each worker before running a cell.

    Yields
    ------
    CellResult
        One per cell. Nothing raises for a cell: exceptions, dead workers and hangs are results
        (``error`` or ``timeout``). Closing the generator early kills every worker.

    Raises
    ------
    WorkerError
        Worker processes keep dying at start-up, or the Dask scheduler cannot be reached.
    """
    cells = list(cells)
    if not cells:
        return
    paths = tuple(sys.path) if plugins else ()
    jobs = cpu_count() if jobs == -1 else jobs
    groups = grouped(cells, jobs, plugins, paths)
    if backend == "dask":
        yield from run_dask(groups, scheduler, plugins, paths)
        return
    if jobs == 1 and all(cell.timeout is None for cell in cells):
        from bench.run.engine import run_group

        for group in groups:
            yield from run_group(group, plugins)
        return
    yield from run_loky(groups, min(jobs, len(groups)), plugins, paths)


def grouped(cells: list[Cell], jobs: int, plugins, paths) -> list[tuple[Cell, ...]]:
    """The run groups of ``cells`` (:func:`bench.run.grouping.plan`); plugins are imported first
    so their rules can be grouped. A grid that cannot be planned (a configuration the registry
    refuses) runs cell by cell, and each such cell records its own error."""
    from bench.run import grouping
    from bench.run.engine import import_plugins

    try:
        import_plugins(plugins, paths)
        return grouping.plan(cells, jobs)
    except Exception:  # noqa: BLE001 - the engine records the error of each cell that has one
        return [(cell,) for cell in cells]

"""Dispatch cells to workers with joblib: loky processes by default, or a Dask cluster.

Results come back as an unordered generator so the parent can store each cell the moment it
finishes. Each cell's numbers depend only on the cell, so backend, job count and order do not
change them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator

import joblib

from bench.cell import Cell, CellResult
from bench.engine import run_cell

BACKENDS = ("loky", "dask")


def run_cells(
    cells: Iterable[Cell],
    jobs: int = -1,
    backend: str = "loky",
    scheduler: str | None = None,
    plugins: tuple[str, ...] = (),
) -> Iterator[CellResult]:
    """Run ``cells`` and yield their results as they finish (in no particular order).

    ``jobs=1`` with loky runs in this process, which is what a debugger or a tiny grid wants.
    With ``backend="dask"``, ``scheduler`` is the address of a running Dask scheduler
    (``tcp://host:8786``); the extra ``optbench[dask]`` provides ``distributed``.
    """
    cells = list(cells)
    if backend == "loky" and jobs == 1:
        for cell in cells:
            yield run_cell(cell, plugins)
        return
    paths = tuple(sys.path) if plugins else ()
    with _backend(backend, scheduler, jobs):
        parallel = joblib.Parallel(
            n_jobs=jobs if backend == "loky" else -1,
            return_as="generator_unordered",
            batch_size="auto",
        )
        yield from parallel(joblib.delayed(run_cell)(cell, plugins, paths) for cell in cells)


@contextlib.contextmanager
def _backend(backend: str, scheduler: str | None, jobs: int):
    if backend == "loky":
        yield
        return
    from distributed import Client  # the optional extra; imported only when asked for

    with Client(scheduler) as client, joblib.parallel_config(backend="dask"):
        yield client

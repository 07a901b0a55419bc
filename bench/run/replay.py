"""Replaying a stored run step by step, for the report's trajectory figures.

The engine keeps only logged points; a trajectory needs every step. :func:`trace_params` reruns
one seed of a cell through the engine's own training loop, so the path is the stored run's path
(bit for bit: same generators, same single BLAS thread), with each step's parameters recorded.
"""

from __future__ import annotations

import numpy as np

from bench.grid.cell import Cell
from bench.run.engine import Loop, one_blas_thread


def trace_params(cell: Cell, seed: int | None = None) -> np.ndarray:
    """The path of one run's parameters, shape (steps + 1, n): start included, flattened.

    Reruns seed ``seed`` (default: the cell's first) exactly as the grid ran it, so the path
    belongs to the stored run. Meant for 2-D test functions' trajectory plots.
    """
    cell = cell.with_seeds((cell.seeds[0] if seed is None else seed,))
    with np.errstate(all="ignore"), one_blas_thread():
        loop = Loop(cell)
        path = [np.concatenate([p.ravel() for p in loop.params])]
        loop.run(lambda t, params: path.append(np.concatenate([p.ravel() for p in params])))
    return np.stack(path)

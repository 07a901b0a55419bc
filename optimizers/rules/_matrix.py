"""Helpers of the rules that act on whole matrices (Muon, SOAP) or whole tensors (MARS).

Every array carries the leading runs axis R, so a run's matrix is a slice ``p[r]`` of an array of
shape (R, a, b): NumPy's stacked ``matmul``, ``eigh`` and ``qr`` work on each run's matrix alone,
and every norm here is per run (shape (R, 1, ..., 1)).

These rules have their own ``step``; like every rule, they take their continuous hyperparameters
only through their float64 coefficients, placed for each array by ``Optimizer.coefficients_for``
(a Python float, or (R, 1, ..., 1) in the array's dtype for truly per-run values).
"""

from __future__ import annotations

import numpy as np

from optimizers._validate import check_number
from optimizers.rules._per_run import norm_per_run


def check_count(owner: str, name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` as a Python int; raise unless it is an int in [low, high] (booleans are not
    counts)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{owner}: {name} must be an integer, got {value!r}")
    check_number(owner, name, int(value), low, np.inf if high is None else high)
    return int(value)


def lerp(average: np.ndarray, target: np.ndarray, weight: float | np.ndarray) -> None:
    """``average += weight (target - average)`` in place (torch's ``lerp_``); ``target`` is
    overwritten."""
    target -= average
    target *= weight
    average += target


class NewtonSchulzWork:
    """The scratch arrays of Newton–Schulz on a stack of (m, n) matrices, made once.

    The iteration runs on the wide orientation (the short side first), as torch.optim.Muon's
    ``_zeropower_via_newtonschulz`` transposes tall matrices.
    """

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        runs, rows, cols = shape
        self.transposed = rows > cols
        short, long = min(rows, cols), max(rows, cols)
        self.x = np.empty((runs, short, long), dtype)
        self.product = np.empty((runs, short, long), dtype)
        self.gram = np.empty((runs, short, short), dtype)
        self.gram_update = np.empty((runs, short, short), dtype)
        self.norm = np.empty((runs, 1, 1), dtype)

    def oriented(self, x: np.ndarray) -> np.ndarray:
        """``x`` (R, m, n) seen in the iteration's orientation (a view)."""
        return x.mT if self.transposed else x


def newton_schulz(matrix: np.ndarray, work: NewtonSchulzWork, *, a, b, c, eps, steps: int):
    r"""The quintic Newton–Schulz iteration of torch.optim.Muon on each run's matrix.

    .. math::
        X_0 = G / \max(\lVert G\rVert_F, \epsilon), \quad
        A = X X^T, \quad X \leftarrow a X + (b A + c A A) X \quad (\text{``steps`` times})

    ``matrix`` is (R, m, n) and is only read; the result is ``work.x`` in the wide orientation
    (``work.oriented`` turns it back). Norms and products are per run.
    """
    x = work.x
    np.copyto(x, work.oriented(matrix))
    norm_per_run(x, out=work.norm)
    np.maximum(work.norm, eps, out=work.norm)
    x /= work.norm
    for _ in range(steps):
        np.matmul(x, x.mT, out=work.gram)
        np.matmul(work.gram, work.gram, out=work.gram_update)
        work.gram_update *= c
        work.gram *= b
        work.gram_update += work.gram  # b A + c A A
        np.matmul(work.gram_update, x, out=work.product)
        x *= a
        x += work.product
    return x

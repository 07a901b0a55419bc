"""Helpers of the rules that act on whole matrices (Muon, SOAP) or whole tensors (MARS).

Every array carries the leading runs axis R, so a run's matrix is a slice ``p[r]`` of an array of
shape (R, a, b): NumPy's stacked ``matmul``, ``eigh`` and ``qr`` work on each run's matrix alone,
and every norm here is per run (shape (R, 1, ..., 1)).

These rules have their own ``step``, so they place their step coefficients themselves, as the
per-run contract asks of ``Optimizer.step``: a coefficient is a Python float, or a (R,) float64
array (one value per run) that becomes (R, 1, ..., 1) in the param's dtype (or a float when all
its values are equal). The update then only ever multiplies, adds or compares an array with a
coefficient, never two coefficients with each other, so a run's numbers do not depend on whether
its coefficient came as a float or inside an array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optimizers._validate import check_number
from optimizers.rules._per_run import norm_per_run


def coefficient_for(value: Any, p: np.ndarray) -> Any:
    """``value`` as an update of ``p`` uses it: a NumPy float or a (R,) array whose values are
    all equal becomes a Python float (weak under NumPy 2's promotion rules: it never promotes
    ``p``), another (R,) array becomes (R, 1, ..., 1) of ``p``'s dtype; anything else (Python
    floats, booleans) is returned as is."""
    if not isinstance(value, np.ndarray | np.floating):
        return value
    value = np.asarray(value)
    first = value.flat[0]
    if np.all(value == first):
        return float(first)
    return value.astype(p.dtype).reshape((-1,) + (1,) * (p.ndim - 1))


def coefficients_for(coefficients: dict[str, Any], p: np.ndarray) -> dict[str, Any]:
    """Every entry of ``coefficients`` placed for ``p`` (:func:`coefficient_for`)."""
    return {name: coefficient_for(value, p) for name, value in coefficients.items()}


def as_hyperparameter(value: Any) -> Any:
    """A float hyperparameter normalised as ``validate_common`` does (arrays are kept)."""
    return value if isinstance(value, np.ndarray) else float(value)


def check_count(owner: str, name: str, value: object, low: int, high: int | None = None) -> None:
    """Raise unless ``value`` is an int in [low, high] (booleans are not counts)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{owner}: {name} must be an integer, got {value!r}")
    check_number(owner, name, int(value), low, np.inf if high is None else high)


def lerp(average: np.ndarray, target: np.ndarray, weight: Any) -> None:
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

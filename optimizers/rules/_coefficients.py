"""Coefficients that may be per run: a hyperparameter is a float or a (R,) array of them.

A rule computes its step's coefficients with NumPy ufuncs, so that the same line serves a float
and one value per run. :func:`plain` turns a 0-d result back into a Python float (NumPy's weak
scalar: a float64 hyperparameter never promotes float32 params), and :func:`operand` shapes a
per-run coefficient for one parameter array, for the rules with their own ``step``.
"""

from __future__ import annotations

import numpy as np


def plain(value) -> float | np.ndarray:
    """A 0-d value as a Python float; a (R,) array of per-run values as float64."""
    if np.ndim(value) == 0:
        return float(value)
    return np.asarray(value, dtype=np.float64)


def operand(value: float | np.ndarray, p: np.ndarray) -> float | np.ndarray:
    """``value`` ready to combine with ``p``: a float as is, per-run values as a (R, 1, ..., 1)
    array of ``p``'s dtype (what NumPy does with a float, one run at a time)."""
    if np.ndim(value) == 0:
        return float(value)
    return np.asarray(value, dtype=p.dtype).reshape((p.shape[0],) + (1,) * (p.ndim - 1))


def any_nonzero(value: float | np.ndarray) -> bool:
    """Whether a hyperparameter whose zero skips work (weight decay) is on; per-run values share
    this (it is part of the run group's signature)."""
    return bool(np.any(np.asarray(value) != 0.0))

"""Helpers of the rules whose steps reduce over a whole tensor (LAMB, LARS, Adafactor).

Every array has the leading runs axis R, and the reference optimizers are per tensor, so a "norm
of the tensor" here is one norm per run: over every axis but the first, kept as shape
(R, 1, ..., 1) so that it broadcasts against the array.
"""

from __future__ import annotations

import numpy as np


def per_run_scalar(p: np.ndarray) -> np.ndarray:
    """A (R, 1, ..., 1) buffer of ``p``'s dtype, broadcasting against ``p``."""
    return np.zeros((p.shape[0],) + (1,) * (p.ndim - 1), dtype=p.dtype)


def norm_per_run(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The L2 norm of each run's slice of ``x``, written into ``out`` (shape (R, 1, ..., 1)).

    Reads ``x`` only; for a C-contiguous ``x`` it allocates nothing proportional to its size.
    """
    flat = x.reshape(x.shape[0], -1)
    np.vecdot(flat, flat, out=out.reshape(x.shape[0]))
    return np.sqrt(out, out=out)

"""Weight penalties, looked up by name; they add their gradient into ``grads`` in place.

Which arrays are penalized
--------------------------
**Only weight matrices, recognised by shape: an array with ``ndim >= 3``, i.e.
``(R, fan_in, fan_out)``.** Arrays with ``ndim == 2`` -- biases ``(R, n)`` and the coordinates of
test functions ``(R, dim)`` -- are skipped, as is usual for weight decay. A problem that wants an
array penalized must therefore store it with at least two axes after the runs axis.

For one run with weights ``w`` (all penalized arrays together) and ``lam = strength``:

===============  ============================================  ================================
name             penalty                                       gradient added to ``grads``
===============  ============================================  ================================
``none``         0                                             nothing
``l1``           lam * sum|w|                                  lam * sign(w)
``l2``           lam / 2 * ||w||^2                             lam * w
``elastic_net``  lam * (r * sum|w| + (1 - r) / 2 * ||w||^2)    lam * (r * sign(w) + (1 - r) * w)
===============  ============================================  ================================

``r`` is ``l1_ratio``. At ``w = 0`` the L1 subgradient used is ``sign(0) = 0``. ``elastic_net``
follows scikit-learn's ``ElasticNet`` parametrization (``alpha`` is ``strength``).

References
----------
.. [1] R. Tibshirani, "Regression shrinkage and selection via the lasso", J. R. Stat. Soc. B, 1996.
.. [2] H. Zou and T. Hastie, "Regularization and variable selection via the elastic net",
   J. R. Stat. Soc. B, 2005.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from problems._validate import check_number, unknown_name

# name -> (weight of sum|w|, weight of ||w||^2 / 2), each to be multiplied by strength.
_COEFFICIENTS = {
    "none": lambda ratio: (0.0, 0.0),
    "l1": lambda ratio: (1.0, 0.0),
    "l2": lambda ratio: (0.0, 1.0),
    "elastic_net": lambda ratio: (ratio, 1.0 - ratio),
}


def names() -> list[str]:
    """Return the registered regularizer names, sorted.

    Returns
    -------
    list of str
        ``["elastic_net", "l1", "l2", "none"]``.
    """
    return sorted(_COEFFICIENTS)


def is_weight(array: np.ndarray) -> bool:
    """Return whether ``array`` is a weight matrix, which by project convention is ``ndim >= 3``."""
    return array.ndim >= 3


def _penalize(w: np.ndarray, g: np.ndarray, l1: float, l2: float) -> np.ndarray:
    """Add ``l1 * sign(w) + l2 * w`` into ``g``; return ``l1*sum|w| + l2/2*||w||^2`` per run."""
    runs = w.shape[0]
    flat = w.reshape(runs, -1)  # a view unless w is non-contiguous
    penalty = np.zeros(runs)
    scratch = None
    if l1:
        scratch = np.sign(w)
        # sum|w| = sum(sign(w) * w): reuses the sign array instead of allocating |w|.
        penalty += l1 * np.einsum("ij,ij->i", scratch.reshape(runs, -1), flat)
        scratch *= l1
        g += scratch
    if l2:
        penalty += 0.5 * l2 * np.einsum("ij,ij->i", flat, flat)
        if scratch is None:
            g += l2 * w
        else:
            np.multiply(w, l2, out=scratch)
            g += scratch
    return penalty


def regularize(
    name: str,
    params: Sequence[np.ndarray],
    grads: Sequence[np.ndarray],
    strength: float,
    l1_ratio: float = 0.5,
) -> np.ndarray:
    """Add the named penalty's gradient into ``grads`` in place and return the penalty per run.

    Only weight matrices (arrays with ``ndim >= 3``, i.e. ``(R, fan_in, fan_out)``) are penalized;
    biases and test-function coordinates (``ndim == 2``) are skipped. See the module docstring for
    each penalty and its gradient.

    Parameters
    ----------
    name : str
        One of :func:`names`: ``none``, ``l1``, ``l2``, ``elastic_net``.
    params : sequence of numpy.ndarray
        The parameters, each with the leading runs axis ``R``; ``R`` is ``params[0].shape[0]``.
    grads : sequence of numpy.ndarray
        The gradients, same shapes as ``params``; the penalty gradient is added in place.
    strength : float
        The regularization strength ``lam >= 0`` (finite).
    l1_ratio : float, optional
        The share of L1 in ``elastic_net``, in ``[0, 1]``; ignored by the other penalties.
        Default 0.5.

    Returns
    -------
    numpy.ndarray
        The float64 penalty of each run, shape ``(R,)``, to add to the reported loss.

    Raises
    ------
    ValueError
        For an unknown name (naming the closest ones), ``strength`` negative or not finite,
        ``l1_ratio`` outside ``[0, 1]``, no params, or params and grads that do not match.

    References
    ----------
    Tibshirani 1996 (lasso); Zou & Hastie 2005 (elastic net). Full citations in the module
    docstring.

    Examples
    --------
    >>> W = np.ones((2, 3, 4)); b = np.ones((2, 4))
    >>> gW, gb = np.zeros_like(W), np.zeros_like(b)
    >>> regularize("l2", [W, b], [gW, gb], strength=0.1)
    array([0.6, 0.6])
    >>> float(gW[0, 0, 0]), float(gb[0, 0])
    (0.1, 0.0)
    """
    if name not in _COEFFICIENTS:
        raise unknown_name("regularizer", name, _COEFFICIENTS)
    check_number(f"regularizer {name!r}", "strength", strength, 0.0)
    check_number(f"regularizer {name!r}", "l1_ratio", l1_ratio, 0.0, 1.0)
    if len(params) == 0:
        raise ValueError("regularize: params is empty; the runs axis comes from params[0]")
    if len(params) != len(grads):
        raise ValueError(f"regularize: {len(params)} params but {len(grads)} grads")
    runs = params[0].shape[0]
    for i, (w, g) in enumerate(zip(params, grads, strict=True)):
        if w.shape != g.shape or w.shape[0] != runs:
            raise ValueError(
                f"regularize: params[{i}] has shape {w.shape} and grads[{i}] {g.shape}; "
                f"both must be equal and start with the runs axis R={runs}"
            )

    l1_weight, l2_weight = _COEFFICIENTS[name](float(l1_ratio))
    l1, l2 = strength * l1_weight, strength * l2_weight
    penalty = np.zeros(runs)
    if l1 or l2:
        for w, g in zip(params, grads, strict=True):
            if is_weight(w):
                penalty += _penalize(w, g, l1, l2)
    return penalty

"""Gradient clipping: ``clip(name, grads, params=None, **kw)`` clips in place, run by run.

Every array has the leading runs axis R; every norm here is taken per run, so one run's large
gradient never rescales another run. Scaling is done in place with a per-run coefficient of shape
(R, 1, ...), so contiguous arrays need no full-size temporary; dtypes are kept (float32 stays
float32).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np

from optimizers._validate import check_keywords, check_number, unknown_name

Arrays = Sequence[np.ndarray]

# The constant torch.nn.utils.clip_grad_norm_ adds to the norm before dividing.
_TORCH_NORM_EPS = 1e-6


def _sum_squares(x: np.ndarray) -> np.ndarray:
    """Per-run sum of squares, shape (R,)."""
    flat = x.reshape(x.shape[0], -1)  # a view for contiguous arrays; only read
    # vecdot (NumPy >= 2) and batched matmul use BLAS dots: 3-6x faster than einsum here.
    if hasattr(np, "vecdot"):
        return np.vecdot(flat, flat)
    return (flat[:, None, :] @ flat[:, :, None]).reshape(flat.shape[0])


def _global_norm(grads: Arrays) -> np.ndarray:
    """Per-run L2 norm over all arrays, shape (R,)."""
    return np.sqrt(sum(_sum_squares(g) for g in grads))


def _scale(g: np.ndarray, coef: np.ndarray) -> None:
    """``g *= coef`` in place; ``coef`` has shape (R,) or (R, g.shape[-1])."""
    if np.all(coef == 1.0):  # nothing clipped: skip a full pass over g
        return
    if coef.ndim == 1:
        g *= coef.reshape((-1,) + (1,) * (g.ndim - 1))
    else:
        g *= coef.reshape((coef.shape[0],) + (1,) * (g.ndim - 2) + (coef.shape[1],))


def _none(grads: Arrays, params: Arrays | None) -> None:
    pass


def _value(grads: Arrays, params: Arrays | None, clip_value: float) -> None:
    for g in grads:
        np.clip(g, -clip_value, clip_value, out=g)


def _norm(grads: Arrays, params: Arrays | None, max_norm: float) -> None:
    for g in grads:
        norm = np.sqrt(_sum_squares(g))
        _scale(g, np.minimum(max_norm / (norm + _TORCH_NORM_EPS), 1.0))


def _global_norm_clip(grads: Arrays, params: Arrays | None, max_norm: float) -> None:
    coef = np.minimum(max_norm / (_global_norm(grads) + _TORCH_NORM_EPS), 1.0)
    for g in grads:
        _scale(g, coef)


def _normalize(grads: Arrays, params: Arrays | None, eps: float) -> None:
    coef = 1.0 / (_global_norm(grads) + eps)
    for g in grads:
        _scale(g, coef)


def _unit_norms(x: np.ndarray) -> np.ndarray:
    """Per-run norms of the output units of ``x``: shape (R,) or (R, x.shape[-1])."""
    if x.ndim <= 2:  # a scalar or a vector per run is a single unit (optax unitwise_norm)
        return np.sqrt(_sum_squares(x))
    flat = x.reshape(x.shape[0], -1, x.shape[-1])
    return np.sqrt(np.einsum("riu,riu->ru", flat, flat))


def _agc(grads: Arrays, params: Arrays, clip_factor: float, eps: float) -> None:
    for g, p in zip(grads, params, strict=True):
        max_norm = clip_factor * np.maximum(_unit_norms(p), eps)
        # max_norm / max(||G_u||, max_norm): 1 exactly when unclipped, and never divides by 0.
        _scale(g, max_norm / np.maximum(_unit_norms(g), max_norm))


@dataclasses.dataclass(frozen=True)
class _Rule:
    function: Callable[..., None]
    defaults: dict[str, float | None]  # None marks a required keyword
    needs_params: bool = False


_RULES: dict[str, _Rule] = {
    "none": _Rule(_none, {}),
    "value": _Rule(_value, {"clip_value": None}),
    "norm": _Rule(_norm, {"max_norm": None}),
    "global_norm": _Rule(_global_norm_clip, {"max_norm": None}),
    "normalize": _Rule(_normalize, {"eps": 1e-8}),
    "agc": _Rule(_agc, {"clip_factor": 0.01, "eps": 1e-3}, needs_params=True),
}


def names() -> list[str]:
    """The sorted names of every clipping strategy.

    Returns
    -------
    list of str
    """
    return sorted(_RULES)


def clip(name: str, grads: Arrays, params: Arrays | None = None, **kw: float) -> Arrays:
    """Clip ``grads`` in place, each run on its own, and return ``grads``.

    Every array is shaped (R, ...) with R runs; every norm below is taken per run.

    - ``none``: no change.
    - ``value(clip_value)``: clamp every element to ``[-clip_value, clip_value]``
      (``torch.nn.utils.clip_grad_value_``).
    - ``norm(max_norm)``: each array on its own, ``g *= min(max_norm / (||g|| + 1e-6), 1)``
      (``torch.nn.utils.clip_grad_norm_`` applied to that single array).
    - ``global_norm(max_norm)``: the same with ``||g||`` the L2 norm over all arrays of the run
      (``torch.nn.utils.clip_grad_norm_``; Pascanu et al. 2013).
    - ``normalize(eps=1e-8)``: ``g /= ||g|| + eps`` with the same global norm.
    - ``agc(clip_factor=0.01, eps=1e-3)``: adaptive gradient clipping (Brock et al. 2021,
      NFNets), needs ``params``. For each unit u, ``max_norm_u = clip_factor * max(||W_u||, eps)``
      and if ``||G_u|| > max_norm_u`` then ``G_u *= max_norm_u / ||G_u||``. A unit is an output
      unit: for a weight stored (R, fan_in, fan_out) and used as ``x @ W`` it is a column, the
      norm running over every axis but the last (also for (R, kh, kw, c_in, c_out) kernels);
      a vector (R, n) or a scalar (R,) per run -- a bias, a test function's coordinates -- is a
      single unit, as in optax ``unitwise_norm``.

    Parameters
    ----------
    name : str
        One of ``names()``.
    grads : sequence of ndarray
        Gradients, each (R, ...); modified in place.
    params : sequence of ndarray, optional
        The current parameters, same shapes as ``grads``; required by ``agc`` only.
    **kw
        The strategy's keywords above; all must be finite and ``> 0``.

    Returns
    -------
    sequence of ndarray
        ``grads`` itself.

    Raises
    ------
    ValueError
        For an unknown name or keyword (naming the closest valid ones), a missing keyword, a
        value out of range, or missing or mismatched ``params`` for ``agc``.

    References
    ----------
    https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_norm_.html
    A. Brock, S. De, S. L. Smith, K. Simonyan, "High-Performance Large-Scale Image Recognition
    Without Normalization", ICML 2021, arXiv:2102.06171.

    Examples
    --------
    >>> import numpy as np
    >>> grads = [np.array([[3.0, 4.0], [0.3, 0.4]])]  # two runs
    >>> clip("global_norm", grads, max_norm=1.0)[0].round(6)
    array([[0.6, 0.8],
           [0.3, 0.4]])
    """
    return clipper(name, **kw)(grads, params)


def clipper(name: str, **kw: float) -> Callable[[Arrays, Arrays | None], Arrays]:
    """Validate the strategy ``name`` and its keywords once; return ``apply(grads, params)``.

    ``clip(name, grads, params, **kw)`` is ``clipper(name, **kw)(grads, params)``; a training
    loop builds the clipper once and calls it every step without re-checking the keywords.
    """
    try:
        rule = _RULES[name]
    except (KeyError, TypeError):
        raise unknown_name("clipping", name, _RULES) from None
    owner = f"clip {name!r}"
    check_keywords(owner, kw, rule.defaults)
    values = {}
    for key, default in rule.defaults.items():
        value = kw.get(key, default)
        if value is None:
            raise ValueError(f"{owner}: missing required keyword {key!r}")
        check_number(owner, key, value, 0.0, math.inf, low_open=True, high_open=True)
        values[key] = value

    def apply(grads: Arrays, params: Arrays | None = None) -> Arrays:
        if rule.needs_params:
            if params is None:
                raise ValueError(f"{owner} needs params (the current parameters), got None")
            shapes = [p.shape for p in params]
            if shapes != [g.shape for g in grads]:
                raise ValueError(f"{owner}: params shapes {shapes} differ from grads shapes")
        rule.function(grads, params, **values)
        return grads

    return apply


def keywords(name: str) -> dict[str, float | None]:
    """The keywords of clipping strategy ``name`` and their defaults (None: required)."""
    if name not in _RULES:
        raise unknown_name("clipping", name, _RULES)
    return dict(_RULES[name].defaults)

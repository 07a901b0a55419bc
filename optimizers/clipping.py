"""Gradient clipping: ``clip(name, grads, params=None, **kw)`` clips in place, run by run.

``create(name, **kw)`` (also ``clipper``) validates once and returns the strategy, a callable
``(grads, params=None) -> grads``; the module's ``names``, ``get``, ``create`` and ``describe`` are
those of its :class:`Registry`.

Every array has the leading runs axis R; every norm here is taken per run, so one run's large
gradient never rescales another run. Scaling is done in place with a per-run coefficient of shape
(R, 1, ...), so contiguous arrays need no full-size temporary; dtypes are kept (float32 stays
float32).

Per run: a strategy's thresholds may be (R,) float64 arrays, one per run, and :func:`stack` builds
such a strategy for a group of configurations of one kind. A per-run threshold enters the
arithmetic in the dtype of what it meets, as a Python float would, so a float32 norm stays float32.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from optimizers._validate import check_numbers
from optimizers.per_run import check_same_signature, signature, stack_fields
from optimizers.registry import Registry

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


def _like(value: float | np.ndarray, x: np.ndarray) -> float | np.ndarray:
    """A threshold as it meets ``x`` (shape (R,) or (R, units)): a number as is, a per-run array
    in ``x``'s dtype, shaped to broadcast over its runs axis."""
    if not isinstance(value, np.ndarray):
        return value
    return value.astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))


def _scale(g: np.ndarray, coef: np.ndarray) -> None:
    """``g *= coef`` in place; ``coef`` has shape (R,) or (R, g.shape[-1])."""
    if np.all(coef == 1.0):  # nothing clipped: skip a full pass over g
        return
    if coef.ndim == 1:
        g *= coef.reshape((-1,) + (1,) * (g.ndim - 1))
    else:
        g *= coef.reshape((coef.shape[0],) + (1,) * (g.ndim - 2) + (coef.shape[1],))


CLIPPING = Registry("clipping")
names = CLIPPING.names
get = CLIPPING.get
create = CLIPPING.create
describe = CLIPPING.describe


@dataclasses.dataclass(frozen=True)
class _Strategy:
    """A clipping strategy: its keywords are its fields, checked once when it is built."""

    name: ClassVar[str] = ""
    needs_params: ClassVar[bool] = False
    torch_reference: ClassVar[str | None] = None

    def __post_init__(self) -> None:
        owner = f"clipping {self.name!r}"
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            checked = check_numbers(owner, f.name, value, 0.0, math.inf, True, True)
            if isinstance(value, np.ndarray):  # a number keeps its type, as before
                self._set(f.name, checked)

    def _set(self, field: str, value: Any) -> None:
        object.__setattr__(self, field, value)

    @classmethod
    def describe_extra(cls) -> dict[str, Any]:
        """Facts for ``describe``: whether it needs params, and the torch function it matches."""
        return {"needs_params": cls.needs_params, "torch": cls.torch_reference}

    def __call__(self, grads: Arrays, params: Arrays | None = None) -> Arrays:
        """Clip ``grads`` in place, each run on its own, and return ``grads``."""
        if self.needs_params:
            owner = f"clipping {self.name!r}"
            if params is None:
                raise ValueError(f"{owner} needs params (the current parameters), got None")
            shapes = [p.shape for p in params]
            if shapes != [g.shape for g in grads]:
                raise ValueError(f"{owner}: params shapes {shapes} differ from grads shapes")
        self.apply(grads, params)
        return grads

    def apply(self, grads: Arrays, params: Arrays | None) -> None:
        raise NotImplementedError


def _register(name: str) -> Callable[[type[_Strategy]], type[_Strategy]]:
    def decorator(cls: type[_Strategy]) -> type[_Strategy]:
        cls.name = name
        return CLIPPING.register(name, cls)

    return decorator


@_register("none")
@dataclasses.dataclass(frozen=True)
class NoClipping(_Strategy):
    """No change."""

    def apply(self, grads: Arrays, params: Arrays | None) -> None:
        pass


@_register("value")
@dataclasses.dataclass(frozen=True)
class Value(_Strategy):
    """Clamp every element to ``[-clip_value, clip_value]``."""

    clip_value: float
    torch_reference = "torch.nn.utils.clip_grad_value_"

    def apply(self, grads: Arrays, params: Arrays | None) -> None:
        for g in grads:
            bound = _like(self.clip_value, g)
            np.clip(g, -bound, bound, out=g)


@_register("norm")
@dataclasses.dataclass(frozen=True)
class Norm(_Strategy):
    """Each array on its own: ``g *= min(max_norm / (||g|| + 1e-6), 1)``."""

    max_norm: float
    torch_reference = "torch.nn.utils.clip_grad_norm_"  # applied to each array alone

    def apply(self, grads: Arrays, params: Arrays | None) -> None:
        for g in grads:
            norm = np.sqrt(_sum_squares(g))
            _scale(g, np.minimum(_like(self.max_norm, norm) / (norm + _TORCH_NORM_EPS), 1.0))


@_register("global_norm")
@dataclasses.dataclass(frozen=True)
class GlobalNorm(_Strategy):
    """``g *= min(max_norm / (||g|| + 1e-6), 1)``, ``||g||`` the norm over all arrays of a run."""

    max_norm: float
    torch_reference = "torch.nn.utils.clip_grad_norm_"

    def apply(self, grads: Arrays, params: Arrays | None) -> None:
        norm = _global_norm(grads)
        coef = np.minimum(_like(self.max_norm, norm) / (norm + _TORCH_NORM_EPS), 1.0)
        for g in grads:
            _scale(g, coef)


@_register("normalize")
@dataclasses.dataclass(frozen=True)
class Normalize(_Strategy):
    """``g /= ||g|| + eps`` with ``||g||`` the norm over all arrays of a run."""

    eps: float = 1e-8

    def apply(self, grads: Arrays, params: Arrays | None) -> None:
        norm = _global_norm(grads)
        coef = 1.0 / (norm + _like(self.eps, norm))
        for g in grads:
            _scale(g, coef)


def _unit_norms(x: np.ndarray) -> np.ndarray:
    """Per-run norms of the output units of ``x``: shape (R,) or (R, x.shape[-1])."""
    if x.ndim <= 2:  # a scalar or a vector per run is a single unit (optax unitwise_norm)
        return np.sqrt(_sum_squares(x))
    flat = x.reshape(x.shape[0], -1, x.shape[-1])
    return np.sqrt(np.einsum("riu,riu->ru", flat, flat))


@_register("agc")
@dataclasses.dataclass(frozen=True)
class AdaptiveGradientClipping(_Strategy):
    """Adaptive gradient clipping (Brock et al. 2021): each unit's norm at most a share of W's."""

    clip_factor: float = 0.01
    eps: float = 1e-3
    needs_params = True

    def apply(self, grads: Arrays, params: Arrays | None) -> None:
        for g, p in zip(grads, params, strict=True):
            norms = _unit_norms(p)
            max_norm = _like(self.clip_factor, norms) * np.maximum(norms, _like(self.eps, norms))
            # max_norm / max(||G_u||, max_norm): 1 exactly when unclipped, and never divides by 0.
            _scale(g, max_norm / np.maximum(_unit_norms(g), max_norm))


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
    return create(name, **kw)


def group_signature(strategy: Any) -> tuple:
    """The clipping kind, plus any non-float keyword: strategies of one signature can be stacked."""
    return signature(strategy, strategy.name)


def stack(strategies: Sequence[Any], runs: Sequence[int]) -> Any:
    """One strategy for the runs of ``strategies`` (all of one kind), concatenated in order.

    Every threshold of the result is a (sum(runs),) float64 array (also for a single strategy);
    a strategy's own value may be a number or an array of its runs' values. Raises ``ValueError``
    for strategies of different kinds.
    """
    strategies = list(strategies)
    check_same_signature("clipping.stack", [group_signature(s) for s in strategies])
    fields = stack_fields(strategies, runs, "clipping.stack")
    return dataclasses.replace(strategies[0], **fields)

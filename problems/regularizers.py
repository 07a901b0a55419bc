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

Per run: ``strength`` and ``l1_ratio`` may be (R,) float64 arrays, one value per run (in
``create``, ``regularize`` and :func:`stack`, which builds one regularizer for a group of
configurations of one kind). A per-run coefficient enters the arithmetic in the weights' dtype, as
a Python float would. Whether each of ``l1`` and ``l2`` is zero decides which passes run, so it
is part of :func:`group_signature`: a zero strength and a nonzero one never share a group.

References
----------
.. [1] R. Tibshirani, "Regression shrinkage and selection via the lasso", J. R. Stat. Soc. B, 1996.
.. [2] H. Zou and T. Hastie, "Regularization and variable selection via the elastic net",
   J. R. Stat. Soc. B, 2005.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from problems._validate import check_numbers
from problems.registry import Description, Registry

_REGISTRY = Registry("regularizer")


def is_weight(array: np.ndarray) -> bool:
    """Return whether ``array`` is a weight matrix, which by project convention is ``ndim >= 3``."""
    return array.ndim >= 3


def _nonzero(value: float | np.ndarray) -> bool:
    return bool(np.any(value))


def _like(value: float | np.ndarray, x: np.ndarray) -> float | np.ndarray:
    """A coefficient as it meets ``x``: a number as is, a per-run array in ``x``'s dtype, shaped
    to broadcast over its runs axis (what NumPy does with a Python float)."""
    if not isinstance(value, np.ndarray):
        return value
    return value.astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))


def _penalize(w: np.ndarray, g: np.ndarray, l1, l2) -> np.ndarray:
    """Add ``l1 * sign(w) + l2 * w`` into ``g``; return ``l1*sum|w| + l2/2*||w||^2`` per run.

    ``l1`` and ``l2`` are numbers or (R,) arrays."""
    runs = w.shape[0]
    flat = w.reshape(runs, -1)  # a view unless w is non-contiguous
    penalty = np.zeros(runs)
    scratch = None
    if _nonzero(l1):
        scratch = np.sign(w)
        # sum|w| = sum(sign(w) * w): reuses the sign array instead of allocating |w|.
        abs_sum = np.einsum("ij,ij->i", scratch.reshape(runs, -1), flat)
        penalty += _like(l1, abs_sum) * abs_sum
        scratch *= _like(l1, w)
        g += scratch
    if _nonzero(l2):
        sq_sum = np.einsum("ij,ij->i", flat, flat)
        penalty += 0.5 * _like(l2, sq_sum) * sq_sum
        if scratch is None:
            g += _like(l2, w) * w
        else:
            np.multiply(w, _like(l2, w), out=scratch)
            g += scratch
    return penalty


def _check_arrays(params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> int:
    """Raise unless params and grads match and share the runs axis; return R."""
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
    return runs


@dataclasses.dataclass(frozen=True)
class Regularizer:
    """Base class: a weight penalty whose fields are its keywords (validated when built).

    A subclass implements ``coefficients() -> (l1, l2)``, the weights of ``sum|w|`` and
    ``||w||^2 / 2``, already multiplied by the strength. Calling the regularizer adds the
    gradient into ``grads`` in place and returns the penalty per run (see :func:`regularize`).
    """

    name: ClassVar[str] = ""  # set by register
    # field -> (low, high): the closed interval each numeric keyword is checked against
    ranges: ClassVar[dict[str, tuple[float, float]]] = {}

    def __post_init__(self) -> None:
        for field, (low, high) in self.ranges.items():
            value = getattr(self, field)
            checked = check_numbers(f"regularizer {self.name!r}", field, value, low, high)
            if isinstance(value, np.ndarray):  # a number keeps its type, as before
                object.__setattr__(self, field, checked)

    def coefficients(self) -> tuple[float | np.ndarray, float | np.ndarray]:
        raise NotImplementedError

    def __call__(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> np.ndarray:
        """Add the penalty's gradient into ``grads``; return the float64 penalty ``(R,)``."""
        runs = _check_arrays(params, grads)
        l1, l2 = self.coefficients()
        penalty = np.zeros(runs)
        if _nonzero(l1) or _nonzero(l2):
            for w, g in zip(params, grads, strict=True):
                if is_weight(w):
                    penalty += _penalize(w, g, l1, l2)
        return penalty


def register(name: str, cls: type[Regularizer] | None = None) -> Any:
    """Register a :class:`Regularizer` dataclass as ``name`` (a class decorator without ``cls``)."""
    if cls is None:
        return lambda decorated: register(name, decorated)
    if not (isinstance(cls, type) and issubclass(cls, Regularizer)):
        raise TypeError(f"register({name!r}) expects a problems.regularizers.Regularizer subclass")
    cls.name = name
    return _REGISTRY.register(name, cls)


@register("none")
@dataclasses.dataclass(frozen=True)
class NoPenalty(Regularizer):
    """No penalty."""

    def coefficients(self) -> tuple[float, float]:
        return 0.0, 0.0


@register("l1")
@dataclasses.dataclass(frozen=True)
class L1(Regularizer):
    """strength * sum|w| (the lasso penalty)."""

    strength: float
    ranges = {"strength": (0.0, math.inf)}

    def coefficients(self) -> tuple[float, float]:
        return self.strength * 1.0, self.strength * 0.0


@register("l2")
@dataclasses.dataclass(frozen=True)
class L2(Regularizer):
    """strength / 2 * ||w||^2 (coupled weight decay)."""

    strength: float
    ranges = {"strength": (0.0, math.inf)}

    def coefficients(self) -> tuple[float, float]:
        return self.strength * 0.0, self.strength * 1.0


@register("elastic_net")
@dataclasses.dataclass(frozen=True)
class ElasticNet(Regularizer):
    """strength * (l1_ratio * sum|w| + (1 - l1_ratio) / 2 * ||w||^2) (scikit-learn's ElasticNet)."""

    strength: float
    l1_ratio: float = 0.5
    ranges = {"strength": (0.0, math.inf), "l1_ratio": (0.0, 1.0)}

    def coefficients(self) -> tuple[float, float]:
        ratio = self.l1_ratio if isinstance(self.l1_ratio, np.ndarray) else float(self.l1_ratio)
        return self.strength * ratio, self.strength * (1.0 - ratio)


def names() -> list[str]:
    """Return the registered regularizer names, sorted.

    Returns
    -------
    list of str
        ``["elastic_net", "l1", "l2", "none"]``.
    """
    return _REGISTRY.names()


def get(name: str) -> type[Regularizer]:
    """Return the :class:`Regularizer` class registered as ``name`` (unknown: closest names)."""
    return _REGISTRY.get(name)


def create(name: str, **keywords: Any) -> Regularizer:
    """Build the regularizer ``name``: a callable ``(params, grads) -> penalty``.

    Examples
    --------
    >>> W = np.ones((2, 3, 4)); gW = np.zeros_like(W)
    >>> create("elastic_net", strength=0.1, l1_ratio=1.0)([W], [gW])
    array([1.2, 1.2])
    """
    return _REGISTRY.create(name, **keywords)


def describe(name: str) -> Description:
    """Describe the regularizer ``name``: its penalty and its keywords with their defaults.

    Examples
    --------
    >>> [(p.name, p.default, p.required) for p in describe("elastic_net").parameters]
    [('strength', None, True), ('l1_ratio', 0.5, False)]
    """
    return _REGISTRY.describe(name)


def regularize(
    name: str,
    params: Sequence[np.ndarray],
    grads: Sequence[np.ndarray],
    strength: float | np.ndarray,
    l1_ratio: float | np.ndarray = 0.5,
) -> np.ndarray:
    """Add the named penalty's gradient into ``grads`` in place and return the penalty per run.

    ``create(name, ...)(params, grads)`` with the keywords ``name`` takes: only weight matrices
    (``ndim >= 3``) are penalized; each penalty and its gradient are in the module docstring.

    Parameters
    ----------
    name : str
        One of :func:`names`: ``none``, ``l1``, ``l2``, ``elastic_net``.
    params, grads : sequence of numpy.ndarray
        Equal shapes, each with the leading runs axis ``R``; the gradient is added into ``grads``.
    strength : float or numpy.ndarray
        The regularization strength ``lam >= 0`` (finite), or a (R,) array of one per run.
    l1_ratio : float or numpy.ndarray, optional
        The share of L1 in ``elastic_net``, in ``[0, 1]`` (or one per run); checked but ignored
        by the other penalties. Default 0.5.

    Returns
    -------
    numpy.ndarray
        The float64 penalty of each run, shape ``(R,)``, to add to the reported loss.

    Raises
    ------
    ValueError
        For an unknown name (naming the closest ones), ``strength`` negative or not finite,
        ``l1_ratio`` outside ``[0, 1]``, no params, or params and grads that do not match.

    Examples
    --------
    >>> W = np.ones((2, 3, 4)); b = np.ones((2, 4))
    >>> gW, gb = np.zeros_like(W), np.zeros_like(b)
    >>> regularize("l2", [W, b], [gW, gb], strength=0.1)
    array([0.6, 0.6])
    >>> float(gW[0, 0, 0]), float(gb[0, 0])
    (0.1, 0.0)
    """
    get(name)  # an unknown name is the first error, naming the closest ones
    check_numbers(f"regularizer {name!r}", "strength", strength, 0.0)
    check_numbers(f"regularizer {name!r}", "l1_ratio", l1_ratio, 0.0, 1.0)
    given = {"strength": strength, "l1_ratio": l1_ratio}
    accepted = [p.name for p in describe(name).parameters]
    # the regularizer checks params and grads before it changes anything
    return create(name, **{k: v for k, v in given.items() if k in accepted})(params, grads)


def group_signature(regularizer: Regularizer) -> tuple:
    """``(name, l1 is zero, l2 is zero)``: regularizers of one signature can be stacked.

    A zero coefficient skips its pass, so a zero and a nonzero one do different arithmetic.
    """
    l1, l2 = regularizer.coefficients()
    return regularizer.name, _zero_state(l1), _zero_state(l2)


def _zero_state(value: float | np.ndarray) -> bool | str:
    zeros = np.asarray(value) == 0
    return bool(zeros.all()) if zeros.all() or not zeros.any() else "mixed"


def stack(regularizers: Sequence[Regularizer], runs: Sequence[int]) -> Regularizer:
    """One regularizer for the runs of ``regularizers`` concatenated on the runs axis, in order.

    Every keyword of the result is a (sum(runs),) float64 array (also for a single regularizer);
    each regularizer's own value may be a number or an array of its runs' values.

    Raises
    ------
    ValueError
        For regularizers of different :func:`group_signature` (kind, or a strength zero in one
        and not the other), or run counts that do not match.

    Examples
    --------
    >>> both = stack([create("l2", strength=0.1), create("l2", strength=0.2)], runs=[1, 2])
    >>> both.strength
    array([0.1, 0.2, 0.2])
    """
    regularizers, runs = list(regularizers), [int(n) for n in runs]
    if len(regularizers) != len(runs) or not regularizers or min(runs) < 1:
        raise ValueError(f"regularizers.stack: {len(regularizers)} regularizers, run counts {runs}")
    first = group_signature(regularizers[0])
    for i, other in enumerate(regularizers[1:], start=1):
        if group_signature(other) != first:
            raise ValueError(
                f"regularizers.stack: regularizers 0 and {i} cannot share a group: "
                f"{first} != {group_signature(other)} (name, l1 is zero, l2 is zero)"
            )
    fields = {}
    for field in regularizers[0].ranges:
        pieces = []
        for reg, n in zip(regularizers, runs, strict=True):
            piece = np.asarray(getattr(reg, field), dtype=np.float64)
            if piece.ndim and piece.shape != (n,):
                raise ValueError(
                    f"regularizers.stack: {field} has {piece.size} values for {n} runs"
                )
            pieces.append(np.broadcast_to(piece, (n,)))
        fields[field] = np.concatenate(pieces)
    return dataclasses.replace(regularizers[0], **fields)

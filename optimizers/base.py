"""The optimizer contract and its registry.

An optimizer is a frozen dataclass of hyperparameters with two operations:
``init(params) -> state`` and an in-place ``step(params, grads, state, lr=None)``.
Every array carries the leading runs axis (R, ...); all rules here are elementwise,
so runs never mix.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from optimizers._validate import check_keywords, check_number, unknown_name

Params = list[np.ndarray]

_REGISTRY: dict[str, type[Optimizer]] = {}


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """Base class: subclasses are frozen dataclasses whose fields are the hyperparameters."""

    lr: float = 1e-3
    name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        validate_common(self, lr=(0.0, math.inf, False, True))

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters as a plain dict (tuples stay tuples)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def init(self, params: Params) -> Any:
        """Build the state for ``params``; arrays in it have the params' shapes and dtypes."""
        raise NotImplementedError

    def step(self, params: Params, grads: Params, state: Any, lr: float | None = None) -> None:
        """Update ``params`` and ``state`` in place. ``lr`` overrides ``self.lr`` for this step."""
        raise NotImplementedError

    def _lr(self, lr: float | None) -> float:
        return self.lr if lr is None else lr

    def _set(self, field: str, value: Any) -> None:
        """Normalise a field inside ``__post_init__`` (the dataclass is frozen)."""
        object.__setattr__(self, field, value)


def register(name: str) -> Callable[[type[Optimizer]], type[Optimizer]]:
    """Class decorator: make an ``Optimizer`` subclass available as ``create(name)``."""

    def decorator(cls: type[Optimizer]) -> type[Optimizer]:
        if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
            raise TypeError(f"register({name!r}) expects an optimizers.Optimizer subclass")
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"register({name!r}): {cls.__name__} must be a dataclass")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def names() -> list[str]:
    """The sorted names of every registered optimizer."""
    return sorted(_REGISTRY)


def get(name: str) -> type[Optimizer]:
    """The registered class for ``name``; an unknown name lists the closest ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise unknown_name("optimizer", name, _REGISTRY) from None


def create(name: str, **hyperparameters: Any) -> Optimizer:
    """Build the optimizer ``name`` with ``hyperparameters`` (torch.optim names and defaults)."""
    cls = get(name)
    fields = [f.name for f in dataclasses.fields(cls)]
    check_keywords(f"optimizer {name!r}", hyperparameters, fields)
    return cls(**hyperparameters)


def zeros_like(params: Params) -> Params:
    """One zero buffer per parameter array, same shape and dtype."""
    return [np.zeros_like(p) for p in params]


def scratch(params: Params, count: int) -> list[tuple[np.ndarray, ...]]:
    """``count`` uninitialised work buffers per parameter array, so ``step`` allocates nothing."""
    return [tuple(np.empty_like(p) for _ in range(count)) for p in params]


def add_weight_decay(grad: np.ndarray, param: np.ndarray, weight_decay: float, out: np.ndarray):
    """torch's coupled L2 penalty ``g + weight_decay * p``, written into ``out``.

    Returns ``grad`` itself (no copy) when ``weight_decay`` is zero.
    """
    if not weight_decay:
        return grad
    np.multiply(param, weight_decay, out=out)
    out += grad
    return out


def validate_common(opt: Optimizer, **ranges: tuple) -> None:
    """Range-check and float-normalise the named fields of ``opt``.

    ``ranges`` maps a field to ``(low, high, low_open, high_open)``; pairs (betas) are checked
    element by element. Values become Python floats so NumPy keeps the params' dtype.
    """
    owner = type(opt).name or type(opt).__name__
    for field, (low, high, low_open, high_open) in ranges.items():
        value = getattr(opt, field)
        if isinstance(opt.__dataclass_fields__[field].default, tuple) or isinstance(
            value, tuple | list
        ):
            if not isinstance(value, tuple | list) or len(value) != 2:
                raise ValueError(f"{owner}: {field} must be a pair of numbers, got {value!r}")
            for i, v in enumerate(value):
                check_number(owner, f"{field}[{i}]", v, low, high, low_open, high_open)
            opt._set(field, (float(value[0]), float(value[1])))
        else:
            check_number(owner, field, value, low, high, low_open, high_open)
            opt._set(field, float(value))

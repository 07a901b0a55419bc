"""The optimizer contract, the step every built-in rule shares, and the registry of rules.

An optimizer is a frozen dataclass of hyperparameters with two operations:
``init(params) -> state`` and an in-place ``step(params, grads, state, lr=None)``.
Every array carries the leading runs axis (R, ...); all rules here are elementwise,
so runs never mix.

A built-in rule writes only what is its own: the names of its state buffers (torch's names), its
step's scalar coefficients, and its update of one array. ``Optimizer.step`` is the one loop around
them, and runs each update through a fused kernel (:mod:`optimizers.fused`, with numba) or else
:func:`optimizers.blocked.apply` (the blocked NumPy path).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, ClassVar

import numpy as np

from optimizers import blocked, fused
from optimizers._validate import check_number
from optimizers.registry import Registry

Params = list[np.ndarray]


@dataclasses.dataclass
class State:
    """An optimizer's state: the step count and the rule's arrays, per parameter array.

    Attributes
    ----------
    step : int
        Steps taken so far.
    buffers : dict of str to list of ndarray
        torch's state names (``exp_avg``, ``momentum_buffer``, ...) to one array per parameter
        array, shaped like it. A buffer this configuration does not use is absent.
    work : list of tuple of ndarray
        Each parameter array's scratch arrays, so a step allocates nothing.
    scalars : dict of str to float
        torch's scalar state of the rule (NAdam's ``mu_product``).
    """

    step: int
    buffers: dict[str, Params]
    work: list[tuple[np.ndarray, ...]]
    scalars: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """Base class: subclasses are frozen dataclasses whose fields are the hyperparameters.

    A rule on the shared step declares ``state_buffers`` (torch's names, in the order ``update``
    takes them), ``work_buffers`` (float scratch) and ``mask_buffers`` (boolean scratch), and
    defines ``coefficients(state, lr)`` and ``update(p, g, *buffers, *work, *masks, **coefs)``.
    Subclasses set these class attributes without an annotation, so that they do not become
    hyperparameters. A plugin may instead override ``init`` and ``step`` entirely.
    """

    lr: float = 1e-3
    name: ClassVar[str] = ""
    state_buffers: ClassVar[tuple[str, ...]] = ()
    state_scalars: ClassVar[dict[str, float]] = {}
    work_buffers: ClassVar[tuple[str, ...]] = ()
    mask_buffers: ClassVar[tuple[str, ...]] = ()
    # The torch.optim class giving the same numbers, the fixed keywords that make it this rule,
    # and the hyperparameters of ours it does not take.
    torch_reference: ClassVar[str | None] = None
    torch_kwargs: ClassVar[dict[str, Any]] = {}
    torch_omits: ClassVar[tuple[str, ...]] = ()
    # The dotted name of a reference outside torch.optim ("pytorch_optimizer.Lamb").
    reference: ClassVar[str | None] = None
    family: ClassVar[str] = "other"  # its group in `optbench list`: "classic", "adaptive", ...
    # False for a rule that ignores a per-step lr (rprop: lr is its initial step size only).
    uses_lr_per_step: ClassVar[bool] = True
    # False for a rule whose first step only fills its state (ADOPT records v_1 = g^2).
    first_step_moves: ClassVar[bool] = True
    # The lr and steps with which it reaches a small loss on optimizers.testing's quadratic.
    quadratic_lr: ClassVar[float | None] = None
    quadratic_steps: ClassVar[int] = 3000

    def __post_init__(self) -> None:
        validate_common(self, lr=(0.0, math.inf, False, True))

    def _lr(self, lr: float | None) -> float:
        """This step's learning rate: ``lr`` when given, else ``self.lr`` (plugins use it)."""
        return self.lr if lr is None else lr

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters as a plain dict (tuples stay tuples)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def uses(self, buffer: str) -> bool:
        """Whether this configuration keeps ``buffer`` (``max_exp_avg_sq`` only with amsgrad)."""
        return True

    def initial_value(self, buffer: str) -> float:
        """The value ``buffer`` starts from (0 unless the rule says otherwise)."""
        return 0.0

    def state_floats_per_param(self) -> int:
        """How many numbers of state this configuration keeps per parameter."""
        return sum(self.uses(b) for b in self.state_buffers)

    def state_bytes_per_param(self, dtype: np.dtype | type = np.float64) -> int:
        """The state's bytes per parameter of ``dtype`` (scratch arrays not counted)."""
        return self.state_floats_per_param() * np.dtype(dtype).itemsize

    def torch_arguments(self) -> dict[str, Any]:
        """The keywords of ``torch_reference`` that reproduce this configuration."""
        hyper = self.hyperparameters()
        return {k: v for k, v in hyper.items() if k not in self.torch_omits}

    @classmethod
    def describe_extra(cls) -> dict[str, Any]:
        """Facts for ``optimizers.describe``: references, state size (of the default
        configuration), lr handling."""
        try:
            default = cls()
        except (TypeError, ValueError):  # a plugin with required hyperparameters
            default = None
        kept = () if default is None else tuple(b for b in cls.state_buffers if default.uses(b))
        return {
            "torch": cls.torch_reference,
            "torch_kwargs": dict(cls.torch_kwargs),
            "reference": cls.reference,
            "state_buffers": kept,
            "state_floats_per_param": None if default is None else default.state_floats_per_param(),
            "uses_lr_per_step": cls.uses_lr_per_step,
        }

    def init(self, params: Params) -> State:
        """Build the state for ``params``; arrays in it have the params' shapes and dtypes."""
        buffers = {
            name: [np.full_like(p, self.initial_value(name)) for p in params]
            for name in self.state_buffers
            if self.uses(name)
        }
        work = [
            tuple(np.empty_like(p) for _ in self.work_buffers)
            + tuple(np.empty(p.shape, bool) for _ in self.mask_buffers)
            for p in params
        ]
        scalars = dict(self.state_scalars)
        return State(step=0, buffers=buffers, work=work, scalars=scalars)

    def step(self, params: Params, grads: Params, state: State, lr: float | None = None) -> None:
        """Update ``params`` and ``state`` in place. ``lr`` overrides ``self.lr`` for this step."""
        state.step += 1
        coefficients = self.coefficients(state, self.lr if lr is None else lr)
        buffers = [state.buffers.get(name) for name in self.state_buffers]
        launcher = fused.launcher_for(type(self).update)
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            arrays = (p, g, *[None if b is None else b[i] for b in buffers])
            if launcher is None or not fused.try_launch(launcher, self, arrays, coefficients):
                blocked.apply(self.update, arrays, state.work[i], **coefficients)

    def coefficients(self, state: State, lr: float) -> dict[str, float | bool | None]:
        """The step's scalars, passed to ``update`` as keywords (``state.step`` already counts
        this step)."""
        return {"lr": lr}

    def update(self, p: np.ndarray, g: np.ndarray, *arrays: np.ndarray | None, **coefs) -> None:
        """The step on one array, or one block of it; elementwise, in place, allocating nothing."""
        raise NotImplementedError(f"{type(self).__name__} defines neither update nor step")

    def _set(self, field: str, value: Any) -> None:
        """Normalise a field inside ``__post_init__`` (the dataclass is frozen)."""
        object.__setattr__(self, field, value)


class _RuleRegistry(Registry):
    """The registry of update rules; it accepts only ``Optimizer`` dataclasses and names them."""

    def _table(self) -> dict[str, Any]:
        # The module global, looked up at each call: tests swap it for a copy so that the
        # plugins one test registers do not leak into the next (tests/conftest.py).
        return _REGISTRY

    def register(self, name: str, obj: Any = None) -> Any:
        """Class decorator: make an ``Optimizer`` subclass available as ``create(name)``."""
        if obj is None:
            return functools.partial(self.register, name)
        if not (isinstance(obj, type) and issubclass(obj, Optimizer)):
            raise TypeError(f"register({name!r}) expects an optimizers.Optimizer subclass")
        if not dataclasses.is_dataclass(obj):
            raise TypeError(f"register({name!r}): {obj.__name__} must be a dataclass")
        obj.name = name
        return super().register(name, obj)


_REGISTRY: dict[str, type[Optimizer]] = {}
RULES = _RuleRegistry("optimizer")
register = RULES.register
names = RULES.names
get = RULES.get
create = RULES.create
describe = RULES.describe


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

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
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from optimizers import blocked, fused, per_run
from optimizers._validate import check_numbers
from optimizers.per_run import check_same_signature
from optimizers.registry import Registry

Params = list[np.ndarray]
# Elements per segment of runs from which per-run steps call a rule's fused kernel once per
# segment rather than broadcasting on the NumPy path. Measured here (adam, float64, 10 segments
# of 10 runs): the broadcast path took 0.7x the segments' time at 10^3 elements per segment,
# 2.1x at 10^4 (sgd 0.4x and 1.3x, rmsprop 0.6x and 1.7x).
FUSED_SEGMENT_SIZE = 4096


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

    Per-run hyperparameters: any continuous field may be a (R,) float64 array, one value per run
    (:func:`stack` builds such an optimizer). ``coefficients`` then computes every coefficient with
    NumPy in float64 (``lr`` may be a (R,) array too), and ``update`` sees the continuous
    hyperparameters only through its coefficients, never as ``self.<field>``.
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
    # Whether ``stack`` may give this rule (R,) arrays of hyperparameters (see takes_per_run).
    per_run: ClassVar[bool | None] = None
    # The lr and steps with which it reaches a small loss on optimizers.testing's quadratic.
    quadratic_lr: ClassVar[float | None] = None
    quadratic_steps: ClassVar[int] = 3000

    def __post_init__(self) -> None:
        validate_common(self, lr=(0.0, math.inf, False, True))

    def _lr(self, lr: float | np.ndarray | None) -> float | np.ndarray:
        """This step's learning rate: ``lr`` when given, else ``self.lr`` (plugins use it)."""
        return self.lr if lr is None else lr

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters as a plain dict (tuples stay tuples)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def uses(self, buffer: str) -> bool:
        """Whether this configuration keeps ``buffer`` (``max_exp_avg_sq`` only with amsgrad)."""
        return True

    def initial_value(self, buffer: str) -> float | np.ndarray:
        """The value ``buffer`` starts from (0 unless the rule says otherwise; may be per run)."""
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
            name: [_filled_like(p, self.initial_value(name)) for p in params]
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

    def step(self, params: Params, grads: Params, state: State, lr=None) -> None:
        """Update ``params`` and ``state`` in place. ``lr`` (a number or a (R,) array) overrides
        ``self.lr`` for this step."""
        state.step += 1
        coefficients = self.settled_coefficients(state, self._lr(lr))
        buffers = [state.buffers.get(name) for name in self.state_buffers]
        launcher = fused.launcher_for(type(self).update)
        per_run_values = not per_run.plain(coefficients) and any(
            type(c) is np.ndarray for c in coefficients.values()
        )
        parts = per_run.segments(coefficients) if per_run_values else None
        shaped: dict = {}  # the broadcast coefficients, per (ndim, dtype) of the param arrays
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            arrays = (p, g, *[None if b is None else b[i] for b in buffers])
            if per_run_values:
                self._apply_per_run(launcher, arrays, state.work[i], coefficients, parts, shaped)
            elif launcher is None or not fused.try_launch(launcher, self, arrays, coefficients):
                blocked.apply(self.update, arrays, state.work[i], **coefficients)

    def settled_coefficients(self, state: State, lr) -> dict[str, Any]:
        """``coefficients(state, lr)`` with uniform per-run arrays as Python scalars.

        When every per-run field and ``lr`` hold one value across the runs (a configuration
        stacked alone), the coefficients are those of the same configuration built from Python
        numbers: the same bits, computed once instead of once per run.
        """
        twin = self._scalar_twin()
        if twin is not None and twin is not self:
            if type(lr) is not np.ndarray:
                return twin.settled_coefficients(state, lr)
            if per_run.uniform(lr):
                return twin.settled_coefficients(state, lr[0].item())
        coefficients = self.coefficients(state, lr)
        if per_run.plain(coefficients):
            return coefficients  # Python numbers already: the one-configuration path
        return {k: per_run.settle(v) for k, v in coefficients.items()}

    def _scalar_twin(self) -> Optimizer | None:
        """``per_run.scalar_twin(self)``, memoised on the instance (it depends only on the
        frozen fields); "self" is memoised as a string, so the instance never refers to itself."""
        twin = self.__dict__.get("_twin", "unknown")
        if twin == "unknown":
            twin = per_run.scalar_twin(self)
            object.__setattr__(self, "_twin", "self" if twin is self else twin)
        return self if twin == "self" else twin

    def coefficients_for(self, coefficients: dict[str, Any], p: np.ndarray) -> dict[str, Any]:
        """Settled coefficients for the array ``p``: per-run ones shaped (R, 1, ..., 1) in
        ``p``'s dtype (rules with their own ``step`` call this for each array)."""
        owner = type(self).name or type(self).__name__
        return {k: per_run.broadcast(v, p, owner) for k, v in coefficients.items()}

    def _apply_per_run(self, launcher, arrays, work, coefficients, parts, shaped) -> None:
        """One array's update with truly per-run coefficients.

        When the runs that share their coefficients hold arrays large enough to block, or to
        pay a fused kernel's call, each such segment is stepped alone with its scalars (fused
        kernel or blocks); otherwise the whole array is stepped at once with the coefficients
        broadcast over the runs axis. The arithmetic of every element is the same either way.
        """
        p = arrays[0]
        large = p.nbytes >= blocked.MIN_BLOCKED_BYTES * len(parts)
        fusable = launcher is not None and p.size >= FUSED_SEGMENT_SIZE * len(parts)
        if not (large or fusable):
            key = (p.ndim, p.dtype)
            if key not in shaped:
                shaped[key] = self.coefficients_for(coefficients, p)
            self.update(*arrays, *work, **shaped[key])
            return
        for start, stop in parts:
            scalars = per_run.at(coefficients, start)
            piece = tuple(None if a is None else a[start:stop] for a in arrays)
            scratch = tuple(w[start:stop] for w in work)
            if launcher is None or not fused.try_launch(launcher, self, piece, scalars):
                blocked.apply(self.update, piece, scratch, **scalars)

    def eval_params(self, params: Params, state: State) -> Params:
        """Where the model is evaluated: ``params`` itself, unless the rule averages
        (schedule-free's x, Lookahead's slow weights). The engine logs and evaluates there, and
        must not write into what it returns."""
        return params

    def coefficients(self, state: State, lr) -> dict[str, Any]:
        """The step's coefficients, passed to ``update`` as keywords (``state.step`` already
        counts this step): numbers, or (R,) arrays for per-run hyperparameters or lr, computed in
        float64 with NumPy (``per_run.power`` for powers)."""
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

    Returns ``grad`` itself (no copy) when ``weight_decay`` is zero (every run's).
    """
    if not per_run.nonzero(weight_decay):
        return grad
    np.multiply(param, weight_decay, out=out)
    out += grad
    return out


def validate_common(opt: Optimizer, **ranges: tuple) -> None:
    """Range-check and float-normalise the named fields of ``opt``.

    ``ranges`` maps a field to ``(low, high, low_open, high_open)``; tuples (betas, Muon's
    ns_coefficients) are checked element by element and must have the default's length (a pair
    when the default is not a tuple). Numbers become Python floats, so NumPy keeps the params'
    dtype; per-run arrays are checked value by value and become read-only float64 arrays.
    """
    owner = type(opt).name or type(opt).__name__
    for field, (low, high, low_open, high_open) in ranges.items():
        value = getattr(opt, field)
        default = opt.__dataclass_fields__[field].default
        if isinstance(default, tuple) or isinstance(value, tuple | list):
            size = len(default) if isinstance(default, tuple) else 2
            if not isinstance(value, tuple | list) or len(value) != size:
                count = "a pair of" if size == 2 else str(size)
                raise ValueError(f"{owner}: {field} must be {count} numbers, got {value!r}")
            checked = tuple(
                check_numbers(owner, f"{field}[{i}]", v, low, high, low_open, high_open)
                for i, v in enumerate(value)
            )
            opt._set(field, checked)
        else:
            opt._set(field, check_numbers(owner, field, value, low, high, low_open, high_open))


def _filled_like(p: np.ndarray, value: float | np.ndarray) -> np.ndarray:
    """An array like ``p`` holding ``value`` (a number, or one value per run)."""
    filled = np.empty_like(p)
    filled[...] = per_run.broadcast(per_run.settle(value), p)
    return filled


def takes_per_run(opt: Optimizer | type[Optimizer]) -> bool:
    """Whether the rule runs with per-run (R,) hyperparameter arrays, so that its configurations
    may share a run group: every rule of this package does (``tests/optimizers/test_per_run.py``
    checks each); a plugin's rule, written for scalars, does only if it sets ``per_run = True``.
    A rule that does not is run one configuration at a time, with Python floats, as before."""
    cls = opt if isinstance(opt, type) else type(opt)
    if cls.per_run is not None:
        return bool(cls.per_run)
    return cls.__module__.split(".")[0] == "optimizers"


def group_signature(opt: Optimizer) -> tuple:
    """What configurations must share to run as one group: the rule, every non-continuous field
    (booleans, ints, strings, None) and, for every continuous field, whether it is zero.

    Returns a hashable tuple ``(rule, ((field, value), ...), ((field, is_zero), ...))``; a pair
    such as ``betas`` counts as ``betas[0]`` and ``betas[1]``.
    """
    return per_run.signature(opt, type(opt).name or type(opt).__qualname__)


def stack(configs: Sequence[Optimizer], runs: Sequence[int]) -> Optimizer:
    """One optimizer for the runs of ``configs`` concatenated on the runs axis, in order.

    Parameters
    ----------
    configs : sequence of Optimizer
        Configurations of one rule and one :func:`group_signature`; their continuous fields may
        be numbers or arrays of their own runs' values.
    runs : sequence of int
        The number of runs of each configuration.

    Returns
    -------
    Optimizer
        Of the configurations' class, every continuous field a (sum(runs),) float64 array (also
        for a single configuration), every other field the configurations' own.

    Raises
    ------
    ValueError
        If the signatures differ (naming the first difference), or ``runs`` does not match.
    """
    configs = list(configs)
    check_same_signature("optimizers.stack", [group_signature(c) for c in configs])
    classes = {type(c) for c in configs}
    if len(classes) > 1:
        raise ValueError(f"optimizers.stack: configurations of different classes {classes}")
    fields = per_run.stack_fields(configs, runs, "optimizers.stack")
    return dataclasses.replace(configs[0], **fields)

"""Learning-rate schedules: ``create(name, **kw)`` (or ``schedule``) returns ``t -> multiplier``.

The engine applies ``lr_t = base_lr * sched(t)`` at step ``t = 0, 1, 2, ...``; ``sched(t)`` is the
learning rate that the matching ``torch.optim.lr_scheduler`` gives after ``t`` calls of
``scheduler.step()``, divided by the base learning rate. Each schedule is a frozen dataclass
(hashable, printable, validated once when built) whose ``__call__`` is a line of arithmetic; the
module's ``names``, ``get``, ``create`` and ``describe`` are those of its :class:`Registry`.

Per run: a schedule's float parameters (``gamma``, ``min_factor``, ``decay_rate``) may be (R,)
float64 arrays, and ``sched(t)`` is then a (R,) array. :func:`stack` joins schedules of any kinds
into one callable ``t -> (R,) float64`` for a group of configurations.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from optimizers._validate import check_number, check_numbers
from optimizers.per_run import power, signature, stack_fields
from optimizers.registry import Registry

SCHEDULES = Registry("schedule")
names = SCHEDULES.names
get = SCHEDULES.get
create = SCHEDULES.create
describe = SCHEDULES.describe


def _register(name: str) -> Callable[[type[_Schedule]], type[_Schedule]]:
    def decorator(cls: type[_Schedule]) -> type[_Schedule]:
        cls.name = name
        return SCHEDULES.register(name, cls)

    return decorator


def _check_int(owner: str, name: str, value: object, low: int, high: float = math.inf) -> int:
    """Raise unless ``value`` is an integer in ``[low, high)``; return it as a Python int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{owner}: {name} must be an integer, got {value!r}")
    check_number(owner, name, int(value), low, high, high_open=True)
    return int(value)


def _positive(owner: str, name: str, value: object):
    return check_numbers(owner, name, value, 0.0, math.inf, low_open=True, high_open=True)


def _cosine(t: int, T_max: int, min_factor):
    # torch's _get_closed_form_lr divided by base_lr; periodic in t, so it rises again after T_max.
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * t / T_max))


@dataclasses.dataclass(frozen=True)
class _Schedule:
    name: ClassVar[str] = ""
    torch_reference: ClassVar[str | None] = None  # the torch.optim.lr_scheduler equivalent

    @classmethod
    def describe_extra(cls) -> dict[str, Any]:
        """Facts for ``describe``: the torch scheduler this schedule reproduces."""
        return {"torch": cls.torch_reference}

    @property
    def _owner(self) -> str:
        return f"schedule {self.name!r}"

    def _set(self, field: str, value: Any) -> None:
        object.__setattr__(self, field, value)

    def __call__(self, t: int) -> float:
        raise NotImplementedError


@_register("constant")
@dataclasses.dataclass(frozen=True)
class Constant(_Schedule):
    """Multiplier 1 at every step (``torch.optim.lr_scheduler.ConstantLR`` with ``factor=1``)."""

    torch_reference = "torch.optim.lr_scheduler.ConstantLR"

    def __call__(self, t: int) -> float:
        return 1.0


@_register("step")
@dataclasses.dataclass(frozen=True)
class Step(_Schedule):
    """``gamma ** (t // step_size)``, as ``torch.optim.lr_scheduler.StepLR``.

    Parameters
    ----------
    step_size : int
        Steps between two decays, ``>= 1``.
    gamma : float
        Decay factor, ``> 0``.
    """

    torch_reference = "torch.optim.lr_scheduler.StepLR"

    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        self._set("step_size", _check_int(self._owner, "step_size", self.step_size, 1))
        self._set("gamma", _positive(self._owner, "gamma", self.gamma))

    def __call__(self, t: int) -> float:
        return power(self.gamma, t // self.step_size)


@_register("multistep")
@dataclasses.dataclass(frozen=True)
class MultiStep(_Schedule):
    """``gamma ** (number of milestones <= t)``, as ``torch.optim.lr_scheduler.MultiStepLR``.

    Parameters
    ----------
    milestones : sequence of int
        Steps at which the multiplier is multiplied by ``gamma``; strictly increasing, ``>= 1``.
    gamma : float
        Decay factor, ``> 0``.
    """

    torch_reference = "torch.optim.lr_scheduler.MultiStepLR"

    milestones: tuple[int, ...]
    gamma: float = 0.1

    def __post_init__(self) -> None:
        milestones = self.milestones
        bad = ValueError(
            f"{self._owner}: milestones={milestones!r} is out of range; "
            "allowed a strictly increasing sequence of integers >= 1"
        )
        if not isinstance(milestones, list | tuple):
            raise bad
        for m in milestones:
            if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
                raise bad
        if any(a >= b for a, b in zip(milestones, milestones[1:], strict=False)):
            raise bad
        self._set("milestones", tuple(int(m) for m in milestones))
        self._set("gamma", _positive(self._owner, "gamma", self.gamma))

    def __call__(self, t: int) -> float:
        return power(self.gamma, bisect.bisect_right(self.milestones, t))


@_register("exponential")
@dataclasses.dataclass(frozen=True)
class Exponential(_Schedule):
    """``gamma ** t``, as ``torch.optim.lr_scheduler.ExponentialLR``.

    Parameters
    ----------
    gamma : float
        Factor per step, ``> 0``.
    """

    torch_reference = "torch.optim.lr_scheduler.ExponentialLR"

    gamma: float

    def __post_init__(self) -> None:
        self._set("gamma", _positive(self._owner, "gamma", self.gamma))

    def __call__(self, t: int) -> float:
        return power(self.gamma, t)


@_register("inverse_time")
@dataclasses.dataclass(frozen=True)
class InverseTime(_Schedule):
    """``1 / (1 + decay_rate * t)`` (``LambdaLR`` with that lambda; optax ``inverse_time_decay``).

    Parameters
    ----------
    decay_rate : float
        ``>= 0``; 0 gives a constant schedule.
    """

    torch_reference = "torch.optim.lr_scheduler.LambdaLR"

    decay_rate: float

    def __post_init__(self) -> None:
        decay_rate = check_numbers(self._owner, "decay_rate", self.decay_rate, 0.0, math.inf)
        self._set("decay_rate", decay_rate)

    def __call__(self, t: int) -> float:
        return 1.0 / (1.0 + self.decay_rate * t)


@_register("cosine")
@dataclasses.dataclass(frozen=True)
class Cosine(_Schedule):
    """Cosine annealing, as ``torch.optim.lr_scheduler.CosineAnnealingLR``.

    ``min_factor + (1 - min_factor) * (1 + cos(pi * t / T_max)) / 2``, i.e. torch's closed form
    with ``eta_min = min_factor * base_lr`` (Loshchilov & Hutter 2017, SGDR, without restarts).
    The minimum is reached at ``t = T_max``; beyond it the multiplier rises again along the same
    cosine, as torch's does, so set ``T_max`` to the run length.

    Parameters
    ----------
    T_max : int
        Steps from the start to the minimum, ``>= 1``.
    min_factor : float
        Final multiplier, in ``[0, 1]``.
    """

    torch_reference = "torch.optim.lr_scheduler.CosineAnnealingLR"

    T_max: int
    min_factor: float = 0.0

    def __post_init__(self) -> None:
        self._set("T_max", _check_int(self._owner, "T_max", self.T_max, 1))
        self._set("min_factor", check_numbers(self._owner, "min_factor", self.min_factor, 0.0, 1.0))

    def __call__(self, t: int) -> float:
        return _cosine(t, self.T_max, self.min_factor)


@_register("warmup_cosine")
@dataclasses.dataclass(frozen=True)
class WarmupCosine(_Schedule):
    """Linear warm-up, then cosine annealing; the minimum is reached at ``t = T_max``.

    ``(t + 1) / (warmup_steps + 1)`` for ``t < warmup_steps``, then
    ``Cosine(T_max - warmup_steps, min_factor)`` at ``t - warmup_steps``: the warm-up takes
    ``warmup_steps`` steps strictly below the base rate, none of them at zero, and the base rate is
    reached exactly once, at ``t = warmup_steps``. ``warmup_steps=0`` is ``Cosine(T_max)``.
    For ``warmup_steps >= 1`` this equals torch's
    ``SequentialLR([LinearLR(start_factor=1 / (warmup_steps + 1), total_iters=warmup_steps),
    CosineAnnealingLR(T_max=T_max - warmup_steps, eta_min=min_factor * base_lr)],
    milestones=[warmup_steps])``.

    Parameters
    ----------
    warmup_steps : int
        Steps of linear warm-up, in ``[0, T_max)``.
    T_max : int
        Step at which the minimum is reached, counted from the start of warm-up, ``>= 1``.
    min_factor : float
        Final multiplier, in ``[0, 1]``.
    """

    torch_reference = "torch.optim.lr_scheduler.SequentialLR"

    warmup_steps: int
    T_max: int
    min_factor: float = 0.0

    def __post_init__(self) -> None:
        self._set("T_max", _check_int(self._owner, "T_max", self.T_max, 1))
        warmup = _check_int(self._owner, "warmup_steps", self.warmup_steps, 0, self.T_max)
        self._set("warmup_steps", warmup)
        self._set("min_factor", check_numbers(self._owner, "min_factor", self.min_factor, 0.0, 1.0))

    def __call__(self, t: int) -> float:
        if t < self.warmup_steps:
            return (t + 1) / (self.warmup_steps + 1)
        return _cosine(t - self.warmup_steps, self.T_max - self.warmup_steps, self.min_factor)


def schedule(name: str, **kw: Any) -> Callable[[int], float]:
    """Build the learning-rate schedule ``name``.

    Parameters
    ----------
    name : str
        One of ``names()``: ``constant``, ``step(step_size, gamma=0.1)``,
        ``multistep(milestones, gamma=0.1)``, ``exponential(gamma)``,
        ``inverse_time(decay_rate)``, ``cosine(T_max, min_factor=0.0)``,
        ``warmup_cosine(warmup_steps, T_max, min_factor=0.0)``.
    **kw
        The schedule's keywords, named as in ``torch.optim.lr_scheduler``.

    Returns
    -------
    callable
        ``sched(t) -> float``, the multiplier of the base learning rate at step ``t = 0, 1, ...``;
        ``base_lr * sched(t)`` equals the torch scheduler's lr after ``t`` calls of ``step()``.

    Raises
    ------
    ValueError
        For an unknown name or keyword (naming the closest valid ones), a missing keyword, or a
        value out of range (naming the parameter, the value and the allowed range).

    References
    ----------
    https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate

    Examples
    --------
    >>> sched = schedule("step", step_size=10, gamma=0.5)
    >>> sched(0), sched(10), sched(25)
    (1.0, 0.5, 0.25)
    """
    return create(name, **kw)


class StackedSchedule:
    """Schedules of any kinds for a group: ``sched(t)`` is the (R,) float64 multiplier of every run.

    Schedules of one kind and the same integer parameters are evaluated together, their float
    parameters as per-run arrays; each run's multiplier is the one its own schedule gives when
    stacked alone, whatever the group.
    """

    def __init__(self, parts: list[tuple[_Schedule, np.ndarray]], runs: int) -> None:
        self.parts = parts  # (schedule with per-run float parameters, the runs it serves)
        self.runs = runs

    def __call__(self, t: int) -> np.ndarray:
        multipliers = np.empty(self.runs)
        for sched, index in self.parts:
            multipliers[index] = sched(t)
        return multipliers

    def __repr__(self) -> str:
        return f"StackedSchedule(runs={self.runs}, parts={[p for p, _ in self.parts]})"


def stack(schedules: Sequence[Callable[[int], Any]], runs: Sequence[int]) -> StackedSchedule:
    """One schedule for the runs of ``schedules`` concatenated on the runs axis, in order.

    Parameters
    ----------
    schedules : sequence of schedules
        Built by :func:`create` (any kinds, mixed freely); their float parameters may be numbers
        or arrays of their own runs' values.
    runs : sequence of int
        The number of runs of each schedule.

    Returns
    -------
    StackedSchedule
        ``sched(t)`` returns a (sum(runs),) float64 array, run r's multiplier at step t.
    """
    schedules, runs = list(schedules), [int(n) for n in runs]
    if len(schedules) != len(runs) or not schedules or min(runs) < 1:
        raise ValueError(f"schedules.stack: {len(schedules)} schedules for run counts {runs}")
    starts = np.cumsum([0, *runs])
    families: dict[tuple, list[int]] = {}
    for i, sched in enumerate(schedules):
        if not isinstance(sched, _Schedule):
            raise ValueError(f"schedules.stack: {sched!r} was not built by schedules.create")
        kind, structural, _ = signature(sched, sched.name)
        families.setdefault((kind, structural), []).append(i)
    parts = []
    for members in families.values():
        group = [schedules[i] for i in members]
        fields = stack_fields(group, [runs[i] for i in members], "schedules.stack")
        index = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in members])
        parts.append((dataclasses.replace(group[0], **fields), index))
    return StackedSchedule(parts, int(starts[-1]))

"""Schedule-free SGD and AdamW (Defazio et al. 2024) as the ``schedulefree`` package does them.

The params are the iterate y where gradients are taken; the state keeps z (the base sequence),
and the averaged point x, where the model is evaluated, is recovered from y and z by
:meth:`eval_params`, exactly as the package's ``optimizer.eval()`` does.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers import per_run
from optimizers.base import Optimizer, State, register, validate_common
from optimizers.per_run import nonzero, power

INF = math.inf
NON_NEGATIVE = (0.0, INF, False, True)


@dataclasses.dataclass(frozen=True)
class _ScheduleFree(Optimizer):
    r"""The averaging both rules share, per step t (1-based) and per run:

    .. math::
        \gamma_t &= \gamma \min(1, t / \text{warmup\_steps}), \quad
            \gamma_{max} = \max(\gamma_{max}, \gamma_t) \\
        w_t &= t^r \gamma_{max}^{\text{weight\_lr\_power}}, \quad
            c_t = w_t / \textstyle\sum_{s \le t} w_s \quad (0 \text{ if the sum is } 0) \\
        y &\leftarrow y + c_t (z - y) + \gamma_t (\beta (1 - c_t) - 1)\, u_t, \quad
            z \leftarrow z - \gamma_t u_t \\
        x &= y + (1 - 1/\beta)(z - y) \quad (\text{the evaluation point})

    where :math:`u_t` is the rule's direction (with :math:`\lambda y` added: weight decay at y).
    """

    weight_decay: float = 0.0
    warmup_steps: int = 0
    r: float = 0.0
    weight_lr_power: float = 2.0

    state_scalars = {"lr_max": -1.0, "weight_sum": 0.0}
    uses_lr_per_step = True

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(self, weight_decay=NON_NEGATIVE, weight_lr_power=NON_NEGATIVE)
        validate_common(self, r=(-INF, INF, True, True))
        steps = self.warmup_steps
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"{self.name}: warmup_steps must be an integer >= 0, got {steps!r}")

    def interpolation(self) -> float | np.ndarray:
        """beta: ``momentum`` (SGD) or ``betas[0]`` (AdamW)."""
        raise NotImplementedError

    def init(self, params: list[np.ndarray]) -> State:
        """z starts at the params (the package clones them at its first step)."""
        state = super().init(params)
        for z, p in zip(state.buffers["z"], params, strict=True):
            np.copyto(z, p)
        return state

    def averaging(self, state: State, lr) -> dict[str, float | np.ndarray | None]:
        """This step's lr, averaging weight and y's coefficient; updates lr_max and weight_sum."""
        t = state.step
        scheduled_lr = np.multiply(
            lr, min(1.0, t / self.warmup_steps) if self.warmup_steps else 1.0
        )
        lr_max = np.maximum(scheduled_lr, state.scalars["lr_max"])
        weight = power(float(t), self.r) * power(lr_max, self.weight_lr_power)
        weight_sum = np.add(state.scalars["weight_sum"], weight)
        ckp1 = np.divide(
            weight, weight_sum, out=np.zeros(np.shape(weight_sum)), where=weight_sum != 0
        )
        state.scalars["lr_max"] = per_run.settle(lr_max)
        state.scalars["weight_sum"] = per_run.settle(weight_sum)
        beta = self.interpolation()
        return {
            "lr": scheduled_lr,
            "ckp1": ckp1,
            "y_coef": scheduled_lr * (beta * (1.0 - ckp1) - 1.0),
            "weight_decay": self.weight_decay if nonzero(self.weight_decay) else None,
        }

    def eval_params(self, params: list[np.ndarray], state: State) -> list[np.ndarray]:
        """x = y + (1 - 1/beta)(z - y): the params of the package's ``optimizer.eval()`` (new
        arrays; the params stay y)."""
        weight = per_run.settle(1.0 - 1.0 / np.asarray(self.interpolation(), dtype=np.float64))
        return [
            p + self.coefficients_for({"weight": weight}, p)["weight"] * (z - p)
            for p, z in zip(params, state.buffers["z"], strict=True)
        ]


def _average_and_step(p, z, u, work, *, lr, ckp1, y_coef) -> None:
    """y <- y + c (z - y) + y_coef u, then z <- z - lr u (the direction u is in ``u``)."""
    np.subtract(z, p, out=work)
    work *= ckp1
    p += work
    np.multiply(u, y_coef, out=work)
    p += work
    u *= lr
    z -= u


@register("schedulefree_sgd")
@dataclasses.dataclass(frozen=True)
class ScheduleFreeSGD(_ScheduleFree):
    r"""Schedule-free SGD (Defazio et al. 2024), as schedulefree.SGDScheduleFree.

    The direction is :math:`u_t = g + \lambda y` and :math:`\beta` is ``momentum``, in the
    averaging above. ``lr`` is the base step size (the package's default 1.0) and any per-step lr
    multiplies it as a schedule would; warmup is ``warmup_steps`` linear steps, as in the package.
    Evaluate at :meth:`eval_params` (x). State: ``z``; per run ``lr_max`` and ``weight_sum``.
    """

    lr: float = 1.0
    momentum: float = 0.9

    state_buffers = ("z",)
    work_buffers = ("direction", "work")
    reference = "schedulefree.SGDScheduleFree"
    family = "schedule-free"
    quadratic_lr = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(self, momentum=(0.0, 1.0, True, True))

    def interpolation(self) -> float | np.ndarray:
        return self.momentum

    def coefficients(self, state: State, lr) -> dict[str, float | np.ndarray | None]:
        return self.averaging(state, lr)

    def update(self, p, g, z, direction, work, *, lr, ckp1, y_coef, weight_decay) -> None:
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        np.copyto(direction, g)
        if weight_decay is not None:
            np.multiply(p, weight_decay, out=work)
            direction += work
        _average_and_step(p, z, direction, work, lr=lr, ckp1=ckp1, y_coef=y_coef)


@register("schedulefree_adamw")
@dataclasses.dataclass(frozen=True)
class ScheduleFreeAdamW(_ScheduleFree):
    r"""Schedule-free AdamW (Defazio et al. 2024), as schedulefree.AdamWScheduleFree.

    .. math::
        v_t &= \beta_2 v_{t-1} + (1-\beta_2) g^2, \quad
            u_t = g / (\sqrt{v_t / (1-\beta_2^t)} + \epsilon) + \lambda y

    and :math:`\beta = \beta_1`, in the averaging above (there is no first moment: the
    averaging is the momentum). Weight decay is applied at y, as in the package. Evaluate at
    :meth:`eval_params` (x). State: ``z``, ``exp_avg_sq`` (v); per run ``lr_max`` and
    ``weight_sum``.
    """

    lr: float = 0.0025
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8

    state_buffers = ("z", "exp_avg_sq")
    work_buffers = ("direction", "work")
    reference = "schedulefree.AdamWScheduleFree"
    family = "schedule-free"
    quadratic_lr = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(self, betas=(0.0, 1.0, True, True), eps=NON_NEGATIVE)

    def interpolation(self) -> float | np.ndarray:
        return self.betas[0]

    def coefficients(self, state: State, lr) -> dict[str, float | np.ndarray | None]:
        beta2 = np.asarray(self.betas[1], dtype=np.float64)
        return {
            **self.averaging(state, lr),
            "beta2": beta2,
            "one_minus_beta2": 1.0 - beta2,
            "bias_correction2": 1.0 - power(beta2, state.step),
            "eps": self.eps,
        }

    def update(
        self, p, g, z, exp_avg_sq, direction, work, *,
        lr, ckp1, y_coef, weight_decay, beta2, one_minus_beta2, bias_correction2, eps,
    ) -> None:  # fmt: skip
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        np.multiply(g, g, out=work)
        work *= one_minus_beta2
        exp_avg_sq *= beta2
        exp_avg_sq += work
        np.divide(exp_avg_sq, bias_correction2, out=work)
        np.sqrt(work, out=work)
        work += eps
        np.divide(g, work, out=direction)
        if weight_decay is not None:
            np.multiply(p, weight_decay, out=work)
            direction += work
        _average_and_step(p, z, direction, work, lr=lr, ckp1=ckp1, y_coef=y_coef)

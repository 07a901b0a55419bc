"""Sign-based rules: Rprop (torch.optim.Rprop) and Lion (Chen et al. 2023)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers.base import Optimizer, State, register, validate_common
from optimizers.per_run import nonzero

INF = math.inf


@register("rprop")
@dataclasses.dataclass(frozen=True)
class Rprop(Optimizer):
    r"""Resilient backpropagation as documented by torch.optim.Rprop (Riedmiller & Braun 1993).

    .. math::
        \eta_t &= \min(\eta_{t-1}\eta_+, \Gamma_{max}) \ \text{if}\ g_t g_{t-1} > 0 \\
        \eta_t &= \max(\eta_{t-1}\eta_-, \Gamma_{min}),\ g_t \leftarrow 0
            \ \text{if}\ g_t g_{t-1} < 0 \\
        \eta_t &= \eta_{t-1} \ \text{otherwise} \\
        \theta &\leftarrow \theta - \eta_t\, \mathrm{sign}(g_t), \quad g_{t-1} \leftarrow g_t

    As in torch, ``lr`` only sets the initial step size :math:`\eta_0`; a per-step ``lr``
    passed to ``step`` (a schedule) has no effect on Rprop.

    State: ``prev`` (the previous gradient, zeroed where its sign changed) and ``step_size`` (η).
    """

    lr: float = 1e-2
    etas: tuple[float, float] = (0.5, 1.2)
    step_sizes: tuple[float, float] = (1e-6, 50.0)

    state_buffers = ("prev", "step_size")
    work_buffers = ("factor",)
    mask_buffers = ("grow", "shrink")
    torch_reference = "torch.optim.Rprop"
    family = "sign-based"
    uses_lr_per_step = False

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(self, etas=(0.0, INF, True, True), step_sizes=(0.0, INF, True, True))
        eta_minus, eta_plus = self.etas
        if not (np.all(eta_minus < 1.0) and np.all(eta_plus > 1.0)):
            raise ValueError(f"rprop: etas={self.etas!r} must satisfy 0 < etaminus < 1 < etaplus")
        if np.any(self.step_sizes[0] > self.step_sizes[1]):
            raise ValueError(f"rprop: step_sizes={self.step_sizes!r} must satisfy min <= max")

    def initial_value(self, buffer: str) -> float:
        return self.lr if buffer == "step_size" else 0.0

    def coefficients(self, state: State, lr) -> dict:
        # the step sizes live in the state; lr only initialised them
        eta_minus, eta_plus = self.etas
        low, high = self.step_sizes
        return {"eta_minus": eta_minus, "eta_plus": eta_plus, "low": low, "high": high}

    def update(
        self, p, g, prev, step_size, factor, grow, shrink, *, eta_minus, eta_plus, low, high
    ) -> None:
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        np.multiply(g, prev, out=factor)
        np.greater(factor, 0.0, out=grow)
        np.less(factor, 0.0, out=shrink)
        factor.fill(1.0)
        np.copyto(factor, eta_plus, where=grow)
        np.copyto(factor, eta_minus, where=shrink)
        step_size *= factor
        np.clip(step_size, low, high, out=step_size)
        np.copyto(prev, g)
        np.copyto(prev, 0.0, where=shrink)  # a sign change skips this step's update
        np.sign(prev, out=factor)
        factor *= step_size
        p -= factor


@register("lion")
@dataclasses.dataclass(frozen=True)
class Lion(Optimizer):
    r"""Lion, Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2.

    .. math::
        c_t &= \beta_1 m_{t-1} + (1-\beta_1) g \\
        \theta &\leftarrow \theta - \gamma (\mathrm{sign}(c_t) + \lambda\theta) \\
        m_t &= \beta_2 m_{t-1} + (1-\beta_2) g

    Weight decay is decoupled, as in the paper; lr defaults to 1e-4 (the paper suggests an lr
    3-10x smaller than AdamW's). State: ``exp_avg`` (m). Not in torch.optim.
    """

    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.0

    state_buffers = ("exp_avg",)
    family = "sign-based"
    work_buffers = ("direction", "work")
    quadratic_lr = 1e-3
    quadratic_steps = 5000

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(self, betas=(0.0, 1.0, False, True), weight_decay=(0.0, INF, False, True))

    def coefficients(self, state: State, lr) -> dict:
        beta1, beta2 = self.betas
        return {
            "lr": lr,
            "beta1": beta1,
            "rest1": 1.0 - beta1,
            "beta2": beta2,
            "rest2": 1.0 - beta2,
            "weight_decay": self.weight_decay,
            "keep": 1.0 - lr * self.weight_decay,
        }

    def update(
        self, p, g, exp_avg, direction, work, *, lr, beta1, rest1, beta2, rest2, weight_decay, keep
    ) -> None:
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        np.multiply(exp_avg, beta1, out=direction)
        np.multiply(g, rest1, out=work)
        direction += work
        np.sign(direction, out=work)  # not in place: NumPy's in-place sign is ~10x slower
        if nonzero(weight_decay):
            p *= keep
        work *= -lr
        p += work
        exp_avg *= beta2
        np.multiply(g, rest2, out=work)
        exp_avg += work

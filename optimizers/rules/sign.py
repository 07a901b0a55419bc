"""Sign-based rules: Rprop (torch.optim.Rprop) and Lion (Chen et al. 2023)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers import blocked
from optimizers.base import Optimizer, Params, register, scratch, validate_common, zeros_like

INF = math.inf


@dataclasses.dataclass
class RpropState:
    step: int
    prev: Params
    step_size: Params
    scratch: list[tuple[np.ndarray, ...]]
    masks: list[tuple[np.ndarray, np.ndarray]]  # (increase, decrease) boolean work buffers


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
    """

    lr: float = 1e-2
    etas: tuple[float, float] = (0.5, 1.2)
    step_sizes: tuple[float, float] = (1e-6, 50.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(self, etas=(0.0, INF, True, True), step_sizes=(0.0, INF, True, True))
        eta_minus, eta_plus = self.etas
        if not eta_minus < 1.0 < eta_plus:
            raise ValueError(f"rprop: etas={self.etas!r} must satisfy 0 < etaminus < 1 < etaplus")
        if self.step_sizes[0] > self.step_sizes[1]:
            raise ValueError(f"rprop: step_sizes={self.step_sizes!r} must satisfy min <= max")

    def init(self, params: Params) -> RpropState:
        step_size = [np.full_like(p, self.lr) for p in params]
        masks = [(np.empty(p.shape, bool), np.empty(p.shape, bool)) for p in params]
        return RpropState(0, zeros_like(params), step_size, scratch(params, 1), masks)

    def step(self, params: Params, grads: Params, state: RpropState, lr=None) -> None:
        state.step += 1
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            arrays = (p, g, state.prev[i], state.step_size[i])
            blocked.apply(self.update, arrays, (*state.scratch[i], *state.masks[i]))

    def update(self, p, g, prev, step_size, factor, grow, shrink) -> None:
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        eta_minus, eta_plus = self.etas
        low, high = self.step_sizes
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


@dataclasses.dataclass
class LionState:
    step: int
    exp_avg: Params
    scratch: list[tuple[np.ndarray, ...]]


@register("lion")
@dataclasses.dataclass(frozen=True)
class Lion(Optimizer):
    r"""Lion, Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2.

    .. math::
        c_t &= \beta_1 m_{t-1} + (1-\beta_1) g \\
        \theta &\leftarrow \theta - \gamma (\mathrm{sign}(c_t) + \lambda\theta) \\
        m_t &= \beta_2 m_{t-1} + (1-\beta_2) g

    Weight decay is decoupled, as in the paper; lr defaults to 1e-4 (the paper suggests an lr
    3-10x smaller than AdamW's).
    """

    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(self, betas=(0.0, 1.0, False, True), weight_decay=(0.0, INF, False, True))

    def init(self, params: Params) -> LionState:
        return LionState(0, zeros_like(params), scratch(params, 2))

    def step(self, params: Params, grads: Params, state: LionState, lr=None) -> None:
        lr = self._lr(lr)
        state.step += 1
        for p, g, m, work in zip(params, grads, state.exp_avg, state.scratch, strict=True):
            blocked.apply(self.update, (p, g, m), work, lr=lr)

    def update(self, p, g, m, direction, work, *, lr) -> None:
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        beta1, beta2 = self.betas
        np.multiply(m, beta1, out=direction)
        np.multiply(g, 1.0 - beta1, out=work)
        direction += work
        np.sign(direction, out=work)  # not in place: NumPy's in-place sign is ~10x slower
        if self.weight_decay:
            p *= 1.0 - lr * self.weight_decay
        work *= -lr
        p += work
        m *= beta2
        np.multiply(g, 1.0 - beta2, out=work)
        m += work

"""Per-coordinate adaptive step sizes: AdaGrad, RMSProp and AdaDelta (torch.optim)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers import blocked
from optimizers.base import (
    Optimizer,
    Params,
    add_weight_decay,
    register,
    scratch,
    validate_common,
    zeros_like,
)

INF = math.inf


@dataclasses.dataclass
class AccumulatorState:
    """Running statistics per parameter array; unused ones are empty lists."""

    step: int
    square_avg: Params
    second: Params  # AdaGrad: unused; RMSProp: momentum buffer; AdaDelta: acc_delta
    grad_avg: Params  # RMSProp centered only
    scratch: list[tuple[np.ndarray, ...]]


@register("adagrad")
@dataclasses.dataclass(frozen=True)
class Adagrad(Optimizer):
    r"""AdaGrad as documented by torch.optim.Adagrad (Duchi et al. 2011).

    .. math::
        \tilde\gamma &= \gamma / (1 + (t-1)\eta) \\
        g &\leftarrow g + \lambda\theta \\
        s_t &= s_{t-1} + g^2 \\
        \theta &\leftarrow \theta - \tilde\gamma\, g / (\sqrt{s_t} + \epsilon)
    """

    lr: float = 1e-2
    lr_decay: float = 0.0
    weight_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self,
            lr_decay=(0.0, INF, False, True),
            weight_decay=(0.0, INF, False, True),
            initial_accumulator_value=(0.0, INF, False, True),
            eps=(0.0, INF, True, True),
        )

    def init(self, params: Params) -> AccumulatorState:
        sums = [np.full_like(p, self.initial_accumulator_value) for p in params]
        return AccumulatorState(0, sums, [], [], scratch(params, 2))

    def step(self, params: Params, grads: Params, state: AccumulatorState, lr=None) -> None:
        state.step += 1
        clr = self._lr(lr) / (1.0 + (state.step - 1) * self.lr_decay)
        for p, g, total, work in zip(params, grads, state.square_avg, state.scratch, strict=True):
            blocked.apply(self.update, (p, g, total), work, clr=clr)

    def update(self, p, g, total, decayed, work, *, clr) -> None:
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        d = add_weight_decay(g, p, self.weight_decay, out=decayed)
        np.multiply(d, d, out=work)
        total += work
        np.sqrt(total, out=work)
        work += self.eps
        np.divide(d, work, out=work)
        work *= -clr
        p += work


@register("rmsprop")
@dataclasses.dataclass(frozen=True)
class RMSprop(Optimizer):
    r"""RMSProp as documented by torch.optim.RMSprop (Hinton, lecture 6e).

    .. math::
        g &\leftarrow g + \lambda\theta \\
        v_t &= \alpha v_{t-1} + (1-\alpha) g^2, \quad \tilde v = v_t \\
        \text{centered:}\ \bar g_t &= \alpha \bar g_{t-1} + (1-\alpha) g,
            \quad \tilde v = v_t - \bar g_t^2 \\
        \mu > 0:\ b_t &= \mu b_{t-1} + g / (\sqrt{\tilde v} + \epsilon),
            \quad \theta \leftarrow \theta - \gamma b_t \\
        \text{else:}\ \theta &\leftarrow \theta - \gamma g / (\sqrt{\tilde v} + \epsilon)
    """

    lr: float = 1e-2
    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0
    centered: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self,
            alpha=(0.0, 1.0, False, True),
            eps=(0.0, INF, True, True),
            weight_decay=(0.0, INF, False, True),
            momentum=(0.0, 1.0, False, True),
        )

    def init(self, params: Params) -> AccumulatorState:
        return AccumulatorState(
            0,
            zeros_like(params),
            zeros_like(params) if self.momentum else [],
            zeros_like(params) if self.centered else [],
            scratch(params, 2),
        )

    def step(self, params: Params, grads: Params, state: AccumulatorState, lr=None) -> None:
        lr = self._lr(lr)
        state.step += 1
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            avg = state.grad_avg[i] if self.centered else None
            b = state.second[i] if self.momentum else None
            arrays = (p, g, state.square_avg[i], avg, b)
            blocked.apply(self.update, arrays, state.scratch[i], lr=lr)

    def update(self, p, g, v, avg, b, decayed, work, *, lr) -> None:
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        alpha = self.alpha
        d = add_weight_decay(g, p, self.weight_decay, out=decayed)
        v *= alpha
        np.multiply(d, d, out=work)
        work *= 1.0 - alpha
        v += work
        if avg is not None:
            avg *= alpha
            np.multiply(d, 1.0 - alpha, out=work)
            avg += work
            np.multiply(avg, avg, out=work)
            np.subtract(v, work, out=work)
            np.sqrt(work, out=work)
        else:
            np.sqrt(v, out=work)
        work += self.eps
        np.divide(d, work, out=work)
        if b is not None:
            b *= self.momentum
            b += work
            np.multiply(b, -lr, out=work)
        else:
            work *= -lr
        p += work


@register("adadelta")
@dataclasses.dataclass(frozen=True)
class Adadelta(Optimizer):
    r"""AdaDelta as documented by torch.optim.Adadelta (Zeiler 2012).

    .. math::
        g &\leftarrow g + \lambda\theta \\
        v_t &= \rho v_{t-1} + (1-\rho) g^2 \\
        \Delta x_t &= \sqrt{u_{t-1} + \epsilon} / \sqrt{v_t + \epsilon}\; g \\
        u_t &= \rho u_{t-1} + (1-\rho) \Delta x_t^2 \\
        \theta &\leftarrow \theta - \gamma \Delta x_t
    """

    lr: float = 1.0
    rho: float = 0.9
    eps: float = 1e-6
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self,
            rho=(0.0, 1.0, False, False),
            eps=(0.0, INF, True, True),
            weight_decay=(0.0, INF, False, True),
        )

    def init(self, params: Params) -> AccumulatorState:
        return AccumulatorState(0, zeros_like(params), zeros_like(params), [], scratch(params, 3))

    def step(self, params: Params, grads: Params, state: AccumulatorState, lr=None) -> None:
        lr = self._lr(lr)
        state.step += 1
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            arrays = (p, g, state.square_avg[i], state.second[i])
            blocked.apply(self.update, arrays, state.scratch[i], lr=lr)

    def update(self, p, g, v, acc_delta, decayed, delta, work, *, lr) -> None:
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        rho = self.rho
        d = add_weight_decay(g, p, self.weight_decay, out=decayed)
        v *= rho
        np.multiply(d, d, out=work)
        work *= 1.0 - rho
        v += work
        np.add(acc_delta, self.eps, out=delta)
        np.sqrt(delta, out=delta)
        np.add(v, self.eps, out=work)
        np.sqrt(work, out=work)
        delta /= work
        delta *= d
        acc_delta *= rho
        np.multiply(delta, delta, out=work)
        work *= 1.0 - rho
        acc_delta += work
        delta *= -lr
        p += delta

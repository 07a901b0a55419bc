"""Per-coordinate adaptive step sizes: AdaGrad, RMSProp and AdaDelta (torch.optim)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers.base import Optimizer, State, add_weight_decay, register, validate_common
from optimizers.per_run import nonzero

INF = math.inf


@register("adagrad")
@dataclasses.dataclass(frozen=True)
class Adagrad(Optimizer):
    r"""AdaGrad as documented by torch.optim.Adagrad (Duchi et al. 2011).

    .. math::
        \tilde\gamma &= \gamma / (1 + (t-1)\eta) \\
        g &\leftarrow g + \lambda\theta \\
        s_t &= s_{t-1} + g^2 \\
        \theta &\leftarrow \theta - \tilde\gamma\, g / (\sqrt{s_t} + \epsilon)

    State: ``sum`` (s; torch's pseudo-code calls it state_sum).
    """

    lr: float = 1e-2
    lr_decay: float = 0.0
    weight_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10

    state_buffers = ("sum",)
    work_buffers = ("decayed", "work")
    torch_reference = "torch.optim.Adagrad"
    family = "adaptive"
    quadratic_lr = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self,
            lr_decay=(0.0, INF, False, True),
            weight_decay=(0.0, INF, False, True),
            initial_accumulator_value=(0.0, INF, False, True),
            eps=(0.0, INF, True, True),
        )

    def initial_value(self, buffer: str) -> float:
        return self.initial_accumulator_value

    def coefficients(self, state: State, lr) -> dict:
        return {
            "clr": lr / (1.0 + (state.step - 1) * self.lr_decay),
            "weight_decay": self.weight_decay,
            "eps": self.eps,
        }

    def update(self, p, g, state_sum, decayed, work, *, clr, weight_decay, eps) -> None:
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        d = add_weight_decay(g, p, weight_decay, out=decayed)
        np.multiply(d, d, out=work)
        state_sum += work
        np.sqrt(state_sum, out=work)
        work += eps
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

    State: ``square_avg`` (v), ``grad_avg`` (centered only), ``momentum_buffer`` (b, momentum only).
    """

    lr: float = 1e-2
    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0
    centered: bool = False

    state_buffers = ("square_avg", "grad_avg", "momentum_buffer")
    work_buffers = ("decayed", "work")
    torch_reference = "torch.optim.RMSprop"
    family = "adaptive"

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self,
            alpha=(0.0, 1.0, False, True),
            eps=(0.0, INF, True, True),
            weight_decay=(0.0, INF, False, True),
            momentum=(0.0, 1.0, False, True),
        )

    def uses(self, buffer: str) -> bool:
        return {"grad_avg": self.centered, "momentum_buffer": nonzero(self.momentum)}.get(
            buffer, True
        )

    def coefficients(self, state: State, lr) -> dict:
        return {
            "lr": lr,
            "weight_decay": self.weight_decay,
            "alpha": self.alpha,
            "rest": 1.0 - self.alpha,
            "eps": self.eps,
            "momentum": self.momentum,
        }

    def update(
        self, p, g, square_avg, grad_avg, momentum_buffer, decayed, work, *,
        lr, weight_decay, alpha, rest, eps, momentum,
    ) -> None:  # fmt: skip
        """The step on one array, or one block of it (:mod:`optimizers.blocked`); ``rest`` is
        1 - alpha."""
        d = add_weight_decay(g, p, weight_decay, out=decayed)
        square_avg *= alpha
        np.multiply(d, d, out=work)
        work *= rest
        square_avg += work
        if grad_avg is not None:
            grad_avg *= alpha
            np.multiply(d, rest, out=work)
            grad_avg += work
            np.multiply(grad_avg, grad_avg, out=work)
            np.subtract(square_avg, work, out=work)
            np.sqrt(work, out=work)
        else:
            np.sqrt(square_avg, out=work)
        work += eps
        np.divide(d, work, out=work)
        if momentum_buffer is not None:
            momentum_buffer *= momentum
            momentum_buffer += work
            np.multiply(momentum_buffer, -lr, out=work)
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

    State: ``square_avg`` (v), ``acc_delta`` (u).
    """

    lr: float = 1.0
    rho: float = 0.9
    eps: float = 1e-6
    weight_decay: float = 0.0

    state_buffers = ("square_avg", "acc_delta")
    work_buffers = ("decayed", "delta", "work")
    torch_reference = "torch.optim.Adadelta"
    family = "adaptive"
    quadratic_steps = 20000

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self,
            rho=(0.0, 1.0, False, False),
            eps=(0.0, INF, True, True),
            weight_decay=(0.0, INF, False, True),
        )

    def coefficients(self, state: State, lr) -> dict:
        return {
            "lr": lr,
            "weight_decay": self.weight_decay,
            "rho": self.rho,
            "rest": 1.0 - self.rho,
            "eps": self.eps,
        }

    def update(
        self, p, g, square_avg, acc_delta, decayed, delta, work, *, lr, weight_decay, rho, rest, eps
    ) -> None:
        """The step on one array, or one block of it (:mod:`optimizers.blocked`); ``rest`` is
        1 - rho."""
        d = add_weight_decay(g, p, weight_decay, out=decayed)
        square_avg *= rho
        np.multiply(d, d, out=work)
        work *= rest
        square_avg += work
        np.add(acc_delta, eps, out=delta)
        np.sqrt(delta, out=delta)
        np.add(square_avg, eps, out=work)
        np.sqrt(work, out=work)
        delta /= work
        delta *= d
        acc_delta *= rho
        np.multiply(delta, delta, out=work)
        work *= rest
        acc_delta += work
        delta *= -lr
        p += delta

"""Adan (Xie et al. 2024) as pytorch-optimizer implements it."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers._validate import check_numbers
from optimizers.base import Optimizer, State, register, validate_common
from optimizers.per_run import nonzero, power, sqrt

INF = math.inf
NON_NEGATIVE = (0.0, INF, False, True)


@register("adan")
@dataclasses.dataclass(frozen=True)
class Adan(Optimizer):
    r"""Adan, adaptive Nesterov momentum (Xie et al. 2024), as pytorch_optimizer.Adan.

    .. math::
        \Delta_t &= g_t - g_{t-1} \quad (\Delta_1 = 0) \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
            n_t = \beta_2 n_{t-1} + (1-\beta_2) \Delta_t \\
        v_t &= \beta_3 v_{t-1} + (1-\beta_3) (g_t + \beta_2 \Delta_t)^2 \\
        \eta_t &= \sqrt{v_t} / \sqrt{1-\beta_3^t} + \epsilon \\
        \theta &\leftarrow \theta (1 - \gamma\lambda) \quad (\text{weight\_decouple}) \\
        \theta &\leftarrow \theta - \frac{\gamma}{1-\beta_1^t} \frac{m_t}{\eta_t}
            - \frac{\gamma \beta_2}{1-\beta_2^t} \frac{n_t}{\eta_t} \\
        \theta &\leftarrow \theta / (1 + \gamma\lambda) \quad (\text{without weight\_decouple})

    pytorch-optimizer's ``max_grad_norm`` (global gradient clipping, off by default) is not
    offered: it is the engine's ``global_norm`` clipping. State: ``exp_avg`` (m),
    ``exp_avg_sq`` (v), ``exp_avg_diff`` (n) and ``previous_grad`` (holds :math:`-g_{t-1}`).
    """

    lr: float = 1e-3
    betas: tuple[float, float, float] = (0.98, 0.92, 0.99)
    weight_decay: float = 0.0
    weight_decouple: bool = False
    eps: float = 1e-8

    state_buffers = ("exp_avg", "exp_avg_sq", "exp_avg_diff", "previous_grad")
    work_buffers = ("denom", "work")
    reference = "pytorch_optimizer.Adan"
    family = "adaptive"
    quadratic_lr = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        betas = self.betas
        if not isinstance(betas, tuple | list) or len(betas) != 3:
            raise ValueError(f"adan: betas must be three numbers, got {betas!r}")
        betas = tuple(
            check_numbers("adan", f"betas[{k}]", beta, 0.0, 1.0, high_open=True)
            for k, beta in enumerate(betas)
        )
        self._set("betas", betas)
        validate_common(self, weight_decay=NON_NEGATIVE, eps=NON_NEGATIVE)

    def coefficients(self, state: State, lr) -> dict:
        t = state.step
        beta1, beta2, beta3 = self.betas
        decay = lr * self.weight_decay
        return {
            "first": t == 1,
            "beta1": beta1,
            "beta2": beta2,
            "beta3": beta3,
            "rest1": 1.0 - beta1,
            "rest2": 1.0 - beta2,
            "rest3": 1.0 - beta3,
            "avg_coef": -lr / (1.0 - power(beta1, t)),
            "diff_coef": -lr * beta2 / (1.0 - power(beta2, t)),
            "sqrt_bias_correction3": sqrt(1.0 - power(beta3, t)),
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "keep": 1.0 - decay,
            "shrink": 1.0 + decay,
        }

    def update(
        self, p, g, exp_avg, exp_avg_sq, exp_avg_diff, previous_grad, denom, work, *,
        first, beta1, beta2, beta3, rest1, rest2, rest3, avg_coef, diff_coef,
        sqrt_bias_correction3, eps, weight_decay, keep, shrink,
    ) -> None:  # fmt: skip
        """The step on one array, or one block of it (:mod:`optimizers.blocked`); ``rest1``...
        are 1 - beta1..., ``keep`` and ``shrink`` 1 -+ lr weight_decay."""
        if first:
            np.negative(g, out=previous_grad)  # so that Delta_1 = 0
        diff = previous_grad
        diff += g  # Delta_t = g_t - g_{t-1}
        np.multiply(g, rest1, out=work)
        exp_avg *= beta1
        exp_avg += work
        np.multiply(diff, rest2, out=work)
        exp_avg_diff *= beta2
        exp_avg_diff += work
        diff *= beta2
        diff += g  # g_t + beta2 Delta_t
        np.multiply(diff, diff, out=work)
        work *= rest3
        exp_avg_sq *= beta3
        exp_avg_sq += work
        np.sqrt(exp_avg_sq, out=denom)
        denom /= sqrt_bias_correction3
        denom += eps
        decays = nonzero(weight_decay)
        if decays and self.weight_decouple:
            p *= keep
        np.divide(exp_avg, denom, out=work)
        work *= avg_coef
        p += work
        np.divide(exp_avg_diff, denom, out=work)
        work *= diff_coef
        p += work
        if decays and not self.weight_decouple:
            p /= shrink
        np.negative(g, out=previous_grad)

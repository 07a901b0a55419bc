"""The Adam family: Adam, AdamW, AMSGrad, Adamax, NAdam and RAdam (torch.optim)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers.base import Optimizer, State, add_weight_decay, register, validate_common
from optimizers.per_run import nonzero, power, sqrt

INF = math.inf
OPEN_UNIT = (0.0, 1.0, False, True)  # betas live in [0, 1)


@dataclasses.dataclass(frozen=True)
class _AdamBase(Optimizer):
    """Shared hyperparameters, validation and moment updates of the family."""

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0

    state_buffers = ("exp_avg", "exp_avg_sq")
    work_buffers = ("decayed", "work")
    quadratic_lr = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self, betas=OPEN_UNIT, eps=(0.0, INF, True, True), weight_decay=(0.0, INF, False, True)
        )

    def _moment_coefficients(self, lr) -> dict:
        """The coefficients every update of the family takes: ``keep`` = 1 − γλ,
        ``rest1`` = 1 − β1, ``rest2`` = 1 − β2."""
        beta1, beta2 = self.betas
        return {
            "weight_decay": self.weight_decay,
            "keep": 1.0 - lr * self.weight_decay,
            "beta1": beta1,
            "rest1": 1.0 - beta1,
            "beta2": beta2,
            "rest2": 1.0 - beta2,
        }

    def _decayed_grad(self, p, g, out, weight_decay, keep):
        """Apply weight decay: decoupled (θ ← θ(1 − γλ)) or coupled (g ← g + λθ)."""
        if getattr(self, "decoupled_weight_decay", False):
            if nonzero(weight_decay):
                p *= keep
            return g
        return add_weight_decay(g, p, weight_decay, out=out)

    @staticmethod
    def _update_moments(d, exp_avg, exp_avg_sq, work, beta1, rest1, beta2, rest2):
        """m ← β1 m + (1 − β1) g and v ← β2 v + (1 − β2) g²."""
        exp_avg *= beta1
        np.multiply(d, rest1, out=work)
        exp_avg += work
        exp_avg_sq *= beta2
        np.multiply(d, d, out=work)
        work *= rest2
        exp_avg_sq += work


@register("adam")
@dataclasses.dataclass(frozen=True)
class Adam(_AdamBase):
    r"""Adam as documented by torch.optim.Adam (Kingma & Ba 2015; AMSGrad: Reddi et al. 2018).

    .. math::
        g &\leftarrow g + \lambda\theta \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g^2 \\
        \hat m_t &= m_t / (1-\beta_1^t) \\
        \hat v_t &= v_t / (1-\beta_2^t)
            \quad (\text{amsgrad: } \max(\hat v^{max}_{t-1}, v_t) / (1-\beta_2^t)) \\
        \theta &\leftarrow \theta - \gamma \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    State: ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (amsgrad's running max of v).
    """

    amsgrad: bool = False
    decoupled_weight_decay: bool = False

    state_buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    torch_reference = "torch.optim.Adam"
    family = "adaptive"

    def uses(self, buffer: str) -> bool:
        return buffer != "max_exp_avg_sq" or self.amsgrad

    def coefficients(self, state: State, lr) -> dict:
        beta1, beta2 = self.betas
        sqrt_bias_correction2 = sqrt(1.0 - power(beta2, state.step))
        # Both bias corrections go into two scalars, which saves a pass over the arrays (Kingma &
        # Ba 2015, end of section 2): gamma m_hat / (sqrt(v_hat) + eps)
        #   = (gamma sqrt(1 - beta2^t) / (1 - beta1^t)) m / (sqrt(v) + eps sqrt(1 - beta2^t)).
        step_size = lr * sqrt_bias_correction2 / (1.0 - power(beta1, state.step))
        return {
            **self._moment_coefficients(lr),
            "step_size": step_size,
            "eps": self.eps * sqrt_bias_correction2,
        }

    def update(
        self, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, decayed, work, *,
        weight_decay, keep, beta1, rest1, beta2, rest2, step_size, eps,
    ) -> None:  # fmt: skip
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        d = self._decayed_grad(p, g, decayed, weight_decay, keep)
        self._update_moments(d, exp_avg, exp_avg_sq, work, beta1, rest1, beta2, rest2)
        v = exp_avg_sq
        if max_exp_avg_sq is not None:
            v = np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        np.sqrt(v, out=work)
        work += eps
        np.divide(exp_avg, work, out=work)
        work *= -step_size
        p += work


@register("adamw")
@dataclasses.dataclass(frozen=True)
class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter 2019), torch.optim.AdamW: θ ← θ(1 − γλ), then Adam without L2."""

    weight_decay: float = 1e-2
    decoupled_weight_decay: bool = True

    torch_reference = "torch.optim.AdamW"
    torch_omits = ("decoupled_weight_decay",)  # implied by torch.optim.AdamW itself


@register("amsgrad")
@dataclasses.dataclass(frozen=True)
class AMSGrad(Adam):
    """AMSGrad (Reddi et al. 2018): ``adam`` with amsgrad=True."""

    amsgrad: bool = True

    torch_kwargs = {"amsgrad": True}


@register("adamax")
@dataclasses.dataclass(frozen=True)
class Adamax(_AdamBase):
    r"""Adamax as documented by torch.optim.Adamax (Kingma & Ba 2015, section 7).

    .. math::
        g &\leftarrow g + \lambda\theta \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g \\
        u_t &= \max(\beta_2 u_{t-1}, |g| + \epsilon) \\
        \theta &\leftarrow \theta - \gamma m_t / ((1-\beta_1^t) u_t)

    State: ``exp_avg`` (m), ``exp_inf`` (u, the exponentially weighted infinity norm).
    """

    lr: float = 2e-3

    state_buffers = ("exp_avg", "exp_inf")
    torch_reference = "torch.optim.Adamax"
    family = "adaptive"

    def coefficients(self, state: State, lr) -> dict:
        return {
            **self._moment_coefficients(lr),
            "clr": lr / (1.0 - power(self.betas[0], state.step)),
            "eps": self.eps,
        }

    def update(
        self,
        p,
        g,
        exp_avg,
        exp_inf,
        decayed,
        work,
        *,
        weight_decay,
        keep,
        beta1,
        rest1,
        beta2,
        rest2,
        clr,
        eps,
    ) -> None:
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        d = self._decayed_grad(p, g, decayed, weight_decay, keep)
        exp_avg *= beta1
        np.multiply(d, rest1, out=work)
        exp_avg += work
        exp_inf *= beta2
        np.abs(d, out=work)
        work += eps
        np.maximum(exp_inf, work, out=exp_inf)
        np.divide(exp_avg, exp_inf, out=work)
        work *= -clr
        p += work


@register("nadam")
@dataclasses.dataclass(frozen=True)
class NAdam(_AdamBase):
    r"""NAdam as documented by torch.optim.NAdam (Dozat 2016).

    .. math::
        g &\leftarrow g + \lambda\theta \\
        \mu_t &= \beta_1 (1 - \tfrac12 \, 0.96^{t\psi}), \quad
            \mu_{t+1} = \beta_1 (1 - \tfrac12 \, 0.96^{(t+1)\psi}) \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g^2 \\
        \hat m_t &= \mu_{t+1} m_t / (1 - \textstyle\prod_{i=1}^{t+1}\mu_i)
            + (1-\mu_t) g / (1 - \textstyle\prod_{i=1}^{t}\mu_i) \\
        \theta &\leftarrow \theta - \gamma \hat m_t / (\sqrt{v_t / (1-\beta_2^t)} + \epsilon)

    State: ``exp_avg`` (m), ``exp_avg_sq`` (v) and the scalar ``mu_product``.
    """

    lr: float = 2e-3
    momentum_decay: float = 4e-3
    decoupled_weight_decay: bool = False

    state_scalars = {"mu_product": 1.0}
    torch_reference = "torch.optim.NAdam"
    family = "adaptive"

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(self, momentum_decay=(0.0, INF, False, True))

    def coefficients(self, state: State, lr) -> dict:
        t = state.step
        beta1, beta2 = self.betas
        mu = beta1 * (1.0 - 0.5 * power(0.96, t * self.momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * power(0.96, (t + 1) * self.momentum_decay))
        state.scalars["mu_product"] = state.scalars["mu_product"] * mu  # per run if mu is
        mu_product = state.scalars["mu_product"]
        return {
            **self._moment_coefficients(lr),
            "grad_coef": -lr * (1.0 - mu) / (1.0 - mu_product),
            "avg_coef": -lr * mu_next / (1.0 - mu_product * mu_next),
            "bias_correction2": 1.0 - power(beta2, t),
            "eps": self.eps,
        }

    def update(
        self, p, g, exp_avg, exp_avg_sq, decayed, work, *,
        weight_decay, keep, beta1, rest1, beta2, rest2, grad_coef, avg_coef, bias_correction2, eps,
    ) -> None:  # fmt: skip
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        d = self._decayed_grad(p, g, decayed, weight_decay, keep)
        self._update_moments(d, exp_avg, exp_avg_sq, work, beta1, rest1, beta2, rest2)
        np.divide(exp_avg_sq, bias_correction2, out=work)
        np.sqrt(work, out=work)
        work += eps
        # two scaled quotients, g/denom then m/denom; the first overwrites the decayed copy
        denom = work
        np.divide(d, denom, out=decayed)
        decayed *= grad_coef
        p += decayed
        np.divide(exp_avg, denom, out=denom)
        denom *= avg_coef
        p += denom


@register("radam")
@dataclasses.dataclass(frozen=True)
class RAdam(_AdamBase):
    r"""RAdam as documented by torch.optim.RAdam (Liu et al. 2020).

    .. math::
        \rho_\infty &= 2/(1-\beta_2) - 1, \quad
            \rho_t = \rho_\infty - 2t\beta_2^t / (1-\beta_2^t) \\
        \hat m_t &= m_t / (1-\beta_1^t) \\
        \rho_t > 5:\ \theta &\leftarrow \theta - \gamma \hat m_t r_t l_t, \quad
            l_t = \sqrt{1-\beta_2^t} / (\sqrt{v_t} + \epsilon), \quad
            r_t = \sqrt{\tfrac{(\rho_t-4)(\rho_t-2)\rho_\infty}
                              {(\rho_\infty-4)(\rho_\infty-2)\rho_t}} \\
        \text{else:}\ \theta &\leftarrow \theta - \gamma \hat m_t

    State: ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    decoupled_weight_decay: bool = False

    torch_reference = "torch.optim.RAdam"
    family = "adaptive"

    def coefficients(self, state: State, lr) -> dict:
        t = state.step
        beta1, beta2 = self.betas
        bias_correction1 = 1.0 - power(beta1, t)
        bias_correction2 = 1.0 - power(beta2, t)
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * t * power(beta2, t) / bias_correction2
        # no rectification while the variance estimate is too young (rho_t <= 5); per run
        rectified = rho_t > 5.0
        if type(rectified) is np.ndarray:  # runs left unrectified get a harmless stand-in
            rho_t, rho_inf = np.where(rectified, rho_t, 6.0), np.where(rectified, rho_inf, 6.0)
        elif not rectified:
            rho_t = rho_inf = 6.0
        ratio = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        rect = sqrt(ratio)
        return {
            **self._moment_coefficients(lr),
            "rectified": rectified,
            "plain_step": -lr / bias_correction1,
            "rect_step": -lr * rect / bias_correction1,
            "sqrt_bias_correction2": sqrt(bias_correction2),
            "eps": self.eps,
        }

    def update(
        self, p, g, exp_avg, exp_avg_sq, decayed, work, *,
        weight_decay, keep, beta1, rest1, beta2, rest2, rectified, plain_step, rect_step,
        sqrt_bias_correction2, eps,
    ) -> None:  # fmt: skip
        """The step on one array, or one block of it (:mod:`optimizers.blocked`).

        ``rectified`` is a bool, or per run an (R, 1, ..., 1) mask: the rectified step is
        computed for every run, then the others' is overwritten by the plain step.
        """
        d = self._decayed_grad(p, g, decayed, weight_decay, keep)
        self._update_moments(d, exp_avg, exp_avg_sq, work, beta1, rest1, beta2, rest2)
        if rectified is False:
            np.multiply(exp_avg, plain_step, out=work)
        else:
            np.sqrt(exp_avg_sq, out=work)
            work += eps
            np.divide(sqrt_bias_correction2, work, out=work)
            work *= exp_avg
            work *= rect_step
            if rectified is not True:
                np.multiply(exp_avg, plain_step, out=work, where=~rectified)
        p += work

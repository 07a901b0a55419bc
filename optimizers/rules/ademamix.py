"""AdEMAMix (Pagliardini et al. 2024) as pytorch-optimizer implements it."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers._validate import check_numbers
from optimizers.base import Optimizer, State, register, validate_common
from optimizers.per_run import nonzero, power

INF = math.inf
NON_NEGATIVE = (0.0, INF, False, True)


@register("ademamix")
@dataclasses.dataclass(frozen=True)
class AdEMAMix(Optimizer):
    r"""AdEMAMix, Adam with a mixture of a fast and a slow EMA of the gradient (Pagliardini et al.
    2024), as pytorch_optimizer.AdEMAMix.

    .. math::
        g &\leftarrow g + \lambda\theta \quad (\text{without weight\_decouple}) \\
        \theta &\leftarrow \theta (1 - \gamma\lambda) \quad (\text{weight\_decouple};\
            \theta (1 - \lambda) \text{ with fixed\_decay}) \\
        m_1 &\leftarrow m_1 + (1-\beta_1)(g - m_1), \quad
            v \leftarrow \beta_2 v + (1-\beta_2) g^2, \quad
            m_2 \leftarrow m_2 + (1-\beta_{3,t})(g - m_2) \\
        \theta &\leftarrow \theta - \gamma\,
            \frac{m_1 / (1-\beta_1^t) + \alpha_t m_2}{\sqrt{v} / \sqrt{1-\beta_2^t} + \epsilon}

    With ``t_alpha_beta3`` = T, :math:`\alpha_t = \min(t\alpha/T, \alpha)` and
    :math:`\beta_{3,t} = \min(\exp(\frac{\ln\beta_1 \ln\beta_3}
    {(1 - t/T)\ln\beta_3 + (t/T)\ln\beta_1}), \beta_3)`; without it (None),
    :math:`\alpha_t = \alpha` and :math:`\beta_{3,t} = \beta_3`. pytorch-optimizer's
    ``cautious`` and ``stable_adamw`` options (off by default) and ``maximize`` are not offered.
    State: ``exp_avg`` (m_1), ``exp_avg_sq`` (v), ``exp_avg_slow`` (m_2).
    """

    lr: float = 1e-3
    betas: tuple[float, float, float] = (0.9, 0.999, 0.9999)
    weight_decay: float = 0.0
    weight_decouple: bool = False
    fixed_decay: bool = False
    alpha: float = 5.0
    t_alpha_beta3: float | None = None
    eps: float = 1e-8

    state_buffers = ("exp_avg", "exp_avg_sq", "exp_avg_slow")
    work_buffers = ("decayed_grad", "denom", "work")
    reference = "pytorch_optimizer.AdEMAMix"
    family = "adaptive"
    quadratic_lr = 0.1  # its slow EMA (beta3 = 0.9999) needs a large step to settle in 3000

    def __post_init__(self) -> None:
        super().__post_init__()
        betas = self.betas
        if not isinstance(betas, tuple | list) or len(betas) != 3:
            raise ValueError(f"ademamix: betas must be three numbers, got {betas!r}")
        checked = (
            check_numbers("ademamix", f"betas[{k}]", beta, 0.0, 1.0, False, True)
            for k, beta in enumerate(betas)
        )
        self._set("betas", tuple(checked))
        validate_common(self, weight_decay=NON_NEGATIVE, alpha=NON_NEGATIVE, eps=NON_NEGATIVE)
        if self.t_alpha_beta3 is not None:
            validate_common(self, t_alpha_beta3=(0.0, INF, True, True))

    def coefficients(self, state: State, lr) -> dict[str, float | np.ndarray | None]:
        """float64 NumPy coefficients; with weight decay, ``keep`` = 1 - lr wd (1 - wd with
        fixed_decay) multiplies the params under weight_decouple, else ``weight_decay`` is
        added to the gradient (the other is None, as both are without weight decay)."""
        t = state.step
        beta1, beta2, beta3 = (np.asarray(b, dtype=np.float64) for b in self.betas)
        alpha, beta3_t = np.asarray(self.alpha, dtype=np.float64), beta3
        if self.t_alpha_beta3 is not None:
            progress = t / np.asarray(self.t_alpha_beta3, dtype=np.float64)
            alpha = np.minimum(t * alpha / self.t_alpha_beta3, alpha)
            log1, log3 = np.log(beta1), np.log(beta3)
            beta3_t = np.minimum(
                np.exp(log1 * log3 / ((1.0 - progress) * log3 + progress * log1)), beta3
            )
        keep = weight_decay = None
        if nonzero(self.weight_decay) and self.weight_decouple:
            keep = 1.0 - self.weight_decay * (1.0 if self.fixed_decay else np.asarray(lr))
        elif nonzero(self.weight_decay):
            weight_decay = self.weight_decay
        return {
            "neg_lr": np.negative(lr),
            "keep": keep,
            "weight_decay": weight_decay,
            "fast": 1.0 - beta1,
            "beta2": beta2,
            "one_minus_beta2": 1.0 - beta2,
            "slow": 1.0 - beta3_t,
            "bias_correction1": 1.0 - power(beta1, t),
            "sqrt_bias_correction2": np.sqrt(1.0 - power(beta2, t)),
            "alpha": alpha,
            "eps": self.eps,
        }

    def update(
        self, p, g, exp_avg, exp_avg_sq, exp_avg_slow, decayed_grad, denom, work, *,
        neg_lr, keep, weight_decay, fast, beta2, one_minus_beta2, slow, bias_correction1,
        sqrt_bias_correction2, alpha, eps,
    ) -> None:  # fmt: skip
        """The step on one array, or one block of it (:mod:`optimizers.blocked`)."""
        if keep is not None:
            p *= keep
        if weight_decay is not None:
            np.multiply(p, weight_decay, out=decayed_grad)
            decayed_grad += g
            g = decayed_grad
        _lerp(exp_avg, g, fast, work)
        np.multiply(g, g, out=work)
        work *= one_minus_beta2
        exp_avg_sq *= beta2
        exp_avg_sq += work
        _lerp(exp_avg_slow, g, slow, work)
        np.sqrt(exp_avg_sq, out=denom)
        denom /= sqrt_bias_correction2
        denom += eps
        np.divide(exp_avg, bias_correction1, out=work)
        np.multiply(exp_avg_slow, alpha, out=decayed_grad)  # g is no longer needed
        work += decayed_grad
        work /= denom
        work *= neg_lr
        p += work


def _lerp(average: np.ndarray, target: np.ndarray, weight, work: np.ndarray) -> None:
    """``average += weight (target - average)``, torch's ``lerp_`` for a weight below 1/2."""
    np.subtract(target, average, out=work)
    work *= weight
    average += work

"""Prodigy (Mishchenko & Defazio 2024) as pytorch-optimizer implements it.

Prodigy's distance estimate d comes from dot products and sums over every parameter of the model.
Each run is its own model, so here those reductions cover all of a run's arrays (every axis but the
leading runs axis, summed over the arrays) and d is one number per run.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers import per_run
from optimizers._validate import check_numbers
from optimizers.base import Optimizer, State, register, validate_common
from optimizers.per_run import nonzero, power

INF = math.inf
PER_RUN = ("d", "d_max", "d_numerator")


@register("prodigy")
@dataclasses.dataclass(frozen=True)
class Prodigy(Optimizer):
    r"""Prodigy, Adam with a learned step size d (Mishchenko & Defazio 2024), as
    pytorch_optimizer.Prodigy.

    Per run, at step t, with :math:`\hat\gamma = d\,\gamma / b_t` (:math:`b_t =
    (1-\beta_1^t)/\sqrt{1-\beta_2^t}` with ``bias_correction``, else 1) and sums over all the
    run's params:

    .. math::
        r &\leftarrow \beta_3 r + (d/d_0)\,\hat\gamma\, \langle g, \theta_0 - \theta\rangle \\
        m &\leftarrow \beta_1 m + d(1-\beta_1) g, \quad
            v \leftarrow \beta_2 v + d^2(1-\beta_2) g^2 \\
        s &\leftarrow \beta_3 s + (d/d_0)\,(d \text{ with safeguard\_warmup,
            else } \hat\gamma)\, g \\
        \hat d &= d_{coef}\, r / \lVert s\rVert_1, \quad
            d_{max} \leftarrow \max(d_{max}, \hat d), \quad
            d \leftarrow \min(d_{max},\ \text{growth\_rate} \cdot
            (\max(d, \hat d) \text{ while } d = d_0, \text{ else } d)) \\
        \theta &\leftarrow \theta (1 - \lambda\hat\gamma) \quad (\text{weight\_decouple};
            \ \theta (1-\lambda) \text{ with fixed\_decay}) \\
        \theta &\leftarrow \theta - \hat\gamma\, m / (\sqrt v + d\epsilon)
            \quad (\hat\gamma \operatorname{atan2}(m, \sqrt v) \text{ with eps=None})

    :math:`\beta_3` defaults to :math:`\sqrt{\beta_2}`; :math:`\hat\gamma` uses d before its
    update, :math:`d\epsilon` after it. A run whose :math:`\lVert s\rVert_1` is 0 stops after the
    moments, as the reference returns early. As in the reference, ``weight_decouple=False`` adds
    :math:`\lambda\theta` to a gradient nothing reads any more: it has no effect. ``maximize`` is
    not offered. State: ``s``, ``p0`` (:math:`\theta_0`), ``exp_avg`` (m), ``exp_avg_sq`` (v);
    per run ``d``, ``d_max`` and ``d_numerator`` (r), in the params' dtype.
    """

    lr: float = 1.0
    betas: tuple[float, float] = (0.9, 0.999)
    beta3: float | None = None
    d0: float = 1e-6
    d_coef: float = 1.0
    growth_rate: float = INF
    weight_decay: float = 0.0
    weight_decouple: bool = True
    fixed_decay: bool = False
    bias_correction: bool = False
    safeguard_warmup: bool = False
    eps: float | None = 1e-8

    state_buffers = ("s", "p0", "exp_avg", "exp_avg_sq")
    reference = "pytorch_optimizer.Prodigy"
    family = "parameter-free"
    quadratic_lr = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self,
            betas=(0.0, 1.0, False, True),
            d0=(0.0, INF, True, True),
            d_coef=(0.0, INF, False, True),
            weight_decay=(0.0, INF, False, True),
        )
        if self.beta3 is not None:
            validate_common(self, beta3=(0.0, 1.0, False, True))
        if self.eps is not None:
            validate_common(self, eps=(0.0, INF, False, True))
        self._set("growth_rate", _checked_growth_rate(self.growth_rate))

    def init(self, params: list[np.ndarray]) -> State:
        """The buffers, ``p0`` a copy of the params, and ``d``, ``d_max`` (d0) and
        ``d_numerator`` (0) per run, shaped (R,)."""
        state = super().init(params)
        for p0, p in zip(state.buffers["p0"], params, strict=True):
            np.copyto(p0, p)
        runs, dtype = params[0].shape[0], params[0].dtype
        d0 = np.broadcast_to(np.asarray(self.d0, dtype=np.float64), (runs,))
        state.scalars = {"d": d0.astype(dtype), "d_max": d0.astype(dtype)}
        state.scalars["d_numerator"] = np.zeros(runs, dtype)
        state.work = [(np.empty_like(p), np.empty(p.shape[0], p.dtype)) for p in params]
        return state

    def step(self, params, grads, state: State, lr=None) -> None:
        """Update ``params`` and ``state`` in place. ``lr`` overrides ``self.lr`` for this step."""
        state.step += 1
        t = state.step
        beta1, beta2 = (np.asarray(b, dtype=np.float64) for b in self.betas)
        beta3 = np.sqrt(beta2) if self.beta3 is None else np.asarray(self.beta3, np.float64)
        d, d_max, numerator = (state.scalars[k].astype(np.float64) for k in PER_RUN)
        scale = 1.0
        if self.bias_correction:
            scale = (1.0 - power(beta1, t)) / np.sqrt(1.0 - power(beta2, t))
        d_lr = d * np.asarray(self.lr if lr is None else lr, np.float64) / scale
        d0 = np.asarray(self.d0, dtype=np.float64)
        coefs = {
            "avg": d * (1.0 - beta1),
            "avg_sq": d * d * (1.0 - beta2),
            "s": d / d0 * (d if self.safeguard_warmup else d_lr),
            "beta1": beta1,
            "beta2": beta2,
            "beta3": beta3,
        }
        coefs = {k: per_run.settle(v) for k, v in coefs.items()}
        coefs["numerator"] = d / d0 * d_lr  # float64, as the numerator it adds to
        numerator *= beta3
        denominator = np.zeros_like(numerator)
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            moments = [state.buffers[k][i] for k in self.state_buffers]
            self._accumulate(p, g, *moments, *state.work[i], numerator, denominator, coefs)
        active = denominator != 0.0
        d_hat = np.divide(self.d_coef * numerator, denominator, out=d.copy(), where=active)
        new_d = np.where(d == d0, np.maximum(d, d_hat), d)
        d_max = np.where(active, np.maximum(d_max, d_hat), d_max)
        new_d = np.where(active, np.minimum(d_max, new_d * self.growth_rate), d)
        for key, value in zip(PER_RUN, (new_d, d_max, numerator), strict=True):
            np.copyto(state.scalars[key], value, casting="same_kind")
        moves = self._move_coefficients(d_lr, new_d, active)
        for i, p in enumerate(params):
            exp_avg, exp_avg_sq = (state.buffers[k][i] for k in ("exp_avg", "exp_avg_sq"))
            self._move(p, exp_avg, exp_avg_sq, state.work[i][0], active, moves)

    def _accumulate(self, p, g, s, p0, exp_avg, exp_avg_sq, work, dot, numerator,
                    denominator, coefs) -> None:  # fmt: skip
        """One array's share: <g, p0 - p> into the numerator, the moments, s, and ||s||_1."""
        runs = p.shape[0]
        shaped = self.coefficients_for({k: v for k, v in coefs.items() if k != "numerator"}, p)
        np.subtract(p0, p, out=work)
        np.vecdot(g.reshape(runs, -1), work.reshape(runs, -1), out=dot)
        numerator += coefs["numerator"] * dot
        exp_avg *= shaped["beta1"]
        np.multiply(g, shaped["avg"], out=work)
        exp_avg += work
        exp_avg_sq *= shaped["beta2"]
        np.multiply(g, g, out=work)
        work *= shaped["avg_sq"]
        exp_avg_sq += work
        s *= shaped["beta3"]
        np.multiply(g, shaped["s"], out=work)
        s += work
        np.abs(s, out=work)
        np.sum(work.reshape(runs, -1), axis=1, out=dot)
        denominator += dot

    def _move_coefficients(self, d_lr, d, active) -> dict[str, float | np.ndarray | None]:
        """The settled coefficients of :meth:`_move`: ``keep`` (1 - wd d_lr, or 1 - wd with
        fixed_decay; 1 in runs that do not move), ``d_eps`` (d eps) and ``step`` (-d_lr)."""
        keep = None
        if self.weight_decouple and nonzero(self.weight_decay):
            decay = self.weight_decay * (1.0 if self.fixed_decay else d_lr)
            keep = np.where(active, 1.0 - decay, 1.0)
        d_eps = None if self.eps is None else d * self.eps
        return {
            k: per_run.settle(v) for k, v in {"keep": keep, "d_eps": d_eps, "step": -d_lr}.items()
        }

    def _move(self, p, exp_avg, exp_avg_sq, work, active, coefs) -> None:
        """Weight decay and the Adam step, in the runs whose ||s||_1 was not 0."""
        moving = None if active.all() else active.reshape((p.shape[0],) + (1,) * (p.ndim - 1))
        shaped = self.coefficients_for(coefs, p)
        if shaped["keep"] is not None:
            p *= shaped["keep"]
        np.sqrt(exp_avg_sq, out=work)
        if shaped["d_eps"] is None:
            np.arctan2(exp_avg, work, out=work)
        else:
            work += shaped["d_eps"]
            np.divide(exp_avg, work, out=work)
        work *= shaped["step"]
        if moving is None:
            p += work
        else:
            np.add(p, work, out=p, where=moving)


def _checked_growth_rate(rate) -> float | np.ndarray:
    """growth_rate as every continuous field is normalised: each value >= 1, or inf (no cap,
    the default)."""
    is_float_array = isinstance(rate, np.ndarray) and rate.dtype.kind == "f"
    uncapped = np.isposinf(rate) if is_float_array or isinstance(rate, float) else False
    if not np.any(uncapped):
        return check_numbers("prodigy", "growth_rate", rate, 1.0, INF, False, True)
    if np.ndim(rate) == 0:
        return INF
    checked = check_numbers("prodigy", "growth_rate", np.where(uncapped, 1.0, rate), 1.0, INF)
    rates = np.where(uncapped, INF, checked)
    rates.flags.writeable = False
    return rates

"""Muon (Jordan et al. 2024) as torch.optim.Muon, with AdamW on the parameters that are not
matrices."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np

from optimizers import per_run
from optimizers._validate import closest
from optimizers.base import Optimizer, State, register, validate_common
from optimizers.rules._matrix import NewtonSchulzWork, check_count, lerp, newton_schulz
from optimizers.rules.adam import AdamW

INF = math.inf
NON_NEGATIVE = (0.0, INF, False, True)
OPEN_UNIT = (0.0, 1.0, False, True)
FINITE = (-INF, INF, False, False)
ADJUST_LR_FNS = ("original", "match_rms_adamw")


@dataclasses.dataclass
class MuonState(State):
    """Muon's state: ``momentum_buffer`` for matrices, and the AdamW state of the other arrays
    (``adamw``, whose arrays are also listed in ``buffers``, None at the matrices' places)."""

    adamw: State | None = None


@register("muon")
@dataclasses.dataclass(frozen=True)
class Muon(Optimizer):
    r"""Muon, momentum orthogonalised by Newton–Schulz, as torch.optim.Muon; AdamW elsewhere.

    On a matrix (each run's slice of an array of shape (R, a, b)):

    .. math::
        B_t &= \mu B_{t-1} + (1-\mu) g \\
        \tilde B_t &= (1-\mu) g + \mu B_t \ (\text{nesterov}), \ \text{else}\ B_t \\
        O_t &= \mathrm{NS}^{(a,b,c)}_k(\tilde B_t; \epsilon) \\
        \theta &\leftarrow \theta (1 - \gamma\lambda) - \gamma\, s(a, b)\, O_t

    (the momentum is torch's ``lerp``, an average of the gradients). :math:`\mathrm{NS}` is
    ``ns_steps`` quintic Newton–Schulz iterations with ``ns_coefficients`` on
    :math:`\tilde B_t / \max(\lVert\tilde B_t\rVert_F, \epsilon)`, on the wide orientation.
    :math:`s` is ``adjust_lr_fn``: :math:`\sqrt{\max(1, a/b)}` (None, ``"original"``) or
    :math:`0.2\sqrt{\max(a, b)}` (``"match_rms_adamw"``). Norms and products are per run.

    torch.optim.Muon accepts only matrices and asks for another optimizer, such as AdamW, on the
    rest. Here every other array (vectors, scalars and tensors of three or more axes per run)
    takes torch.optim.AdamW with the same per-step ``lr`` (as optax.contrib.muon uses one lr),
    ``betas=adamw_betas``, ``eps=adamw_eps`` and ``weight_decay=adamw_wd``; those names and
    defaults are pytorch-optimizer's Muon's (and Keller Jordan's MuonWithAuxAdam's).

    torch iterates in bfloat16; here the iteration runs in the params' dtype (NumPy has no
    bfloat16), so float64 params give the exact polynomial. State: ``momentum_buffer`` (B) on
    matrices, ``exp_avg`` and ``exp_avg_sq`` on the AdamW arrays.
    """

    lr: float = 1e-3
    weight_decay: float = 0.1
    momentum: float = 0.95
    nesterov: bool = True
    ns_coefficients: tuple[float, float, float] = (3.4445, -4.7750, 2.0315)
    eps: float = 1e-7
    ns_steps: int = 5
    adjust_lr_fn: str | None = None
    adamw_betas: tuple[float, float] = (0.9, 0.95)
    adamw_eps: float = 1e-10
    adamw_wd: float = 0.0

    state_buffers = ("momentum_buffer", "exp_avg", "exp_avg_sq")
    reference = "torch.optim.Muon"
    family = "matrix"
    quadratic_lr = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self,
            weight_decay=NON_NEGATIVE,
            momentum=OPEN_UNIT,
            ns_coefficients=FINITE,
            eps=NON_NEGATIVE,
            adamw_betas=OPEN_UNIT,
            adamw_eps=(0.0, INF, True, True),  # torch.optim.AdamW's ranges
            adamw_wd=NON_NEGATIVE,
        )
        self._set("ns_steps", check_count("muon", "ns_steps", self.ns_steps, 1, 99))
        if self.adjust_lr_fn is not None and self.adjust_lr_fn not in ADJUST_LR_FNS:
            raise ValueError(
                f"muon: unknown adjust_lr_fn {self.adjust_lr_fn!r}"
                f"{closest(str(self.adjust_lr_fn), ADJUST_LR_FNS)}"
            )

    @functools.cached_property
    def adamw(self) -> AdamW:
        """The AdamW that steps the arrays that are not matrices."""
        return AdamW(
            lr=self.lr, betas=self.adamw_betas, eps=self.adamw_eps, weight_decay=self.adamw_wd
        )

    def state_floats_per_param(self) -> int:
        """At most two: AdamW's two moments; a matrix keeps one (its momentum buffer)."""
        return 2

    def init(self, params: list[np.ndarray]) -> MuonState:
        """``momentum_buffer`` and Newton–Schulz scratch for matrices; AdamW's state otherwise."""
        others = [p for p in params if not is_matrix(p)]
        adamw = self.adamw.init(others)
        buffers: dict[str, list] = {name: [] for name in self.state_buffers}
        work: list[Any] = []
        position = 0
        for p in params:
            if is_matrix(p):
                buffers["momentum_buffer"].append(np.zeros(p.shape, p.dtype))
                buffers["exp_avg"].append(None)
                buffers["exp_avg_sq"].append(None)
                work.append((NewtonSchulzWork(p.shape, p.dtype), np.empty(p.shape, p.dtype)))
            else:
                buffers["momentum_buffer"].append(None)
                for name in ("exp_avg", "exp_avg_sq"):
                    buffers[name].append(adamw.buffers[name][position])
                work.append(None)
                position += 1
        return MuonState(step=0, buffers=buffers, work=work, adamw=adamw)

    def coefficients(self, state: State, lr: Any) -> dict[str, Any]:
        """The matrices' step scalars in float64 (numbers, or (R,) arrays); the AdamW arrays
        take AdamW's own."""
        a, b, c = self.ns_coefficients
        return {
            "lr": lr,
            "momentum": self.momentum,
            "averaging": np.subtract(1.0, self.momentum),
            "decay": np.subtract(1.0, np.multiply(lr, self.weight_decay)),
            "a": a,
            "b": b,
            "c": c,
            "eps": self.eps,
            "decays": per_run.nonzero(self.weight_decay),  # in every run or none (signature)
        }

    def step(self, params, grads, state: MuonState, lr: Any = None) -> None:
        """Update ``params`` and ``state`` in place. ``lr`` overrides ``self.lr`` for this step."""
        state.step += 1
        lr = self._lr(lr)
        coefficients = self.settled_coefficients(state, lr)
        for p, g, buffer, work in zip(
            params, grads, state.buffers["momentum_buffer"], state.work, strict=True
        ):
            if buffer is not None:
                scale = self.lr_adjustment(p.shape)
                neg_lr = per_run.settle(np.multiply(coefficients["lr"], -scale))
                local = self.coefficients_for({**coefficients, "neg_lr": neg_lr}, p)
                self._update_matrix(p, g, buffer, *work, **local)
        matrices = [b is not None for b in state.buffers["momentum_buffer"]]
        others = [(p, g) for p, g, m in zip(params, grads, matrices, strict=True) if not m]
        if others:
            subset, subset_grads = zip(*others, strict=True)
            self.adamw.step(list(subset), list(subset_grads), state.adamw, lr=lr)

    def lr_adjustment(self, shape: tuple[int, ...]) -> float:
        """torch's ``_adjust_lr`` ratio for a run's (rows, cols) matrix."""
        rows, cols = shape[1], shape[2]
        if self.adjust_lr_fn == "match_rms_adamw":
            return 0.2 * math.sqrt(max(rows, cols))
        return math.sqrt(max(1.0, rows / cols))

    def _update_matrix(
        self, p, g, buffer, newton_schulz_work, direction, *,
        lr, momentum, averaging, decay, decays, a, b, c, eps, neg_lr,
    ) -> None:  # fmt: skip
        """The step on one array of matrices (per run)."""
        np.copyto(direction, g)
        lerp(buffer, direction, averaging)  # B = B + (1 - mu)(g - B)
        if self.nesterov:  # g + mu (B - g)
            np.subtract(buffer, g, out=direction)
            direction *= momentum
            direction += g
        else:
            np.copyto(direction, buffer)
        x = newton_schulz(direction, newton_schulz_work, a=a, b=b, c=c, eps=eps,
                          steps=self.ns_steps)  # fmt: skip
        if decays:
            p *= decay
        np.multiply(x, neg_lr, out=newton_schulz_work.product)
        p += newton_schulz_work.oriented(newton_schulz_work.product)


def is_matrix(p: np.ndarray) -> bool:
    """Whether each run's slice of ``p`` is a matrix, the only arrays Muon orthogonalises."""
    return p.ndim == 3

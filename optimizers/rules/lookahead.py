"""Lookahead (Zhang et al. 2019) around any registered rule, as pytorch-optimizer's Lookahead."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from optimizers import base, per_run
from optimizers._validate import closest
from optimizers.base import Optimizer, State, register, validate_common

PULLBACK = ("none", "reset", "pullback")


@dataclasses.dataclass
class LookaheadState(State):
    """A ``State`` whose buffers are the inner rule's (the same arrays) plus ``slow_params`` (and
    ``slow_momentum`` with ``pullback``); ``inner`` is the inner rule's own state and ``counter``
    the steps since the last pull."""

    inner: State | None = None
    counter: int = 0


class _InnerFact:
    """A fact the checks and the engine read of a rule (``quadratic_lr``...), taken from the inner
    rule: an instance's ``inner_optimizer``, or on the class the default inner rule's class."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, opt: Lookahead | None, owner: type) -> Any:
        inner = base.get(owner.inner) if opt is None else opt.inner_optimizer
        return getattr(inner, self.name)


@register("lookahead")
@dataclasses.dataclass(frozen=True)
class Lookahead(Optimizer):
    r"""Lookahead around the rule ``inner`` (Zhang et al. 2019), as pytorch_optimizer.Lookahead.

    The inner rule steps the params (the fast weights :math:`\theta`) every step; every ``k``-th
    step the slow weights :math:`\phi` (the params at the start) are pulled in:

    .. math::
        \theta &\leftarrow \theta + (1-\alpha)(\phi - \theta), \quad \phi \leftarrow \theta

    ``pullback_momentum`` treats an inner ``momentum_buffer`` (SGD's) at that moment as the
    reference does: ``"none"`` leaves it, ``"reset"`` zeroes it, ``"pullback"`` interpolates it
    with its own slow copy in the same way. A rule without that buffer is unaffected, as there.

    Hyperparameters: ``lr`` is the inner rule's (None: the inner's default) and the one a
    schedule or a per-step lr drives; the inner's other hyperparameters are
    ``inner_hyperparameters``, a mapping or its JSON text (a grid writes
    ``inner_hyperparameters = '{"betas": [0.9, 0.99]}'``), stored as canonical JSON so that it
    is hashable and prints as given. The model is evaluated at the slow weights
    (:meth:`eval_params`), as the reference's ``backup_and_load_cache`` does for evaluation.
    State: the inner rule's buffers, ``slow_params`` (and ``slow_momentum``); ``inner``, its state.
    """

    lr: float | None = None
    inner: str = "adam"
    k: int = 5
    alpha: float = 0.5
    pullback_momentum: str = "none"
    inner_hyperparameters: str | Mapping[str, Any] = "{}"

    reference = "pytorch_optimizer.Lookahead"
    family = "adaptive"  # a wrapper: listed with its default inner rule, adam

    def __post_init__(self) -> None:
        options = self.inner_hyperparameters
        if isinstance(options, str):
            try:
                options = json.loads(options)
            except json.JSONDecodeError as error:
                raise ValueError(f"lookahead: inner_hyperparameters is not JSON: {error}") from None
        if not isinstance(options, Mapping):
            raise ValueError(f"lookahead: inner_hyperparameters must be a mapping, got {options!r}")
        if "lr" in options:
            raise ValueError(
                "lookahead: give the inner rule's lr as lr, not in inner_hyperparameters"
            )
        inner = base.create(self.inner, **({} if self.lr is None else {"lr": self.lr}), **options)
        object.__setattr__(self, "inner_optimizer", inner)
        self._set("lr", inner.lr)
        self._set("inner_hyperparameters", json.dumps(_plain(options), sort_keys=True))
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"lookahead: k must be an integer >= 1, got {self.k!r}")
        validate_common(self, alpha=(0.0, 1.0, False, False))
        if self.pullback_momentum not in PULLBACK:
            hint = closest(str(self.pullback_momentum), PULLBACK)
            raise ValueError(
                f"lookahead: unknown pullback_momentum {self.pullback_momentum!r}{hint}"
            )

    # What the checks and the engine read of a rule, from the inner one (``inner_optimizer``, the
    # inner rule built in __post_init__: build a changed Lookahead through its constructor).
    quadratic_lr = _InnerFact()
    quadratic_steps = _InnerFact()
    first_step_moves = _InnerFact()
    uses_lr_per_step = _InnerFact()

    def state_floats_per_param(self) -> int:
        """The inner rule's, plus the slow weights (and slow momenta with ``pullback``)."""
        slow = 2 if self._pulls_back() else 1
        return self.inner_optimizer.state_floats_per_param() + slow

    def torch_arguments(self) -> dict[str, Any]:
        """The reference's own keywords; the inner rule is built from its own."""
        return {"k": self.k, "alpha": self.alpha, "pullback_momentum": self.pullback_momentum}

    def init(self, params: list[np.ndarray]) -> LookaheadState:
        """The inner rule's state and the slow weights, a copy of the params."""
        inner = self.inner_optimizer.init(params)
        buffers = {**inner.buffers, "slow_params": [p.copy() for p in params]}
        if self._pulls_back():
            buffers["slow_momentum"] = [np.zeros_like(p) for p in params]
        return LookaheadState(step=0, buffers=buffers, work=[], inner=inner)

    def step(self, params, grads, state: LookaheadState, lr=None) -> None:
        """The inner step; every ``k``-th step, the pull towards the slow weights."""
        self.inner_optimizer.step(params, grads, state.inner, lr=lr)
        state.step += 1
        state.counter += 1
        if state.counter < self.k:
            return
        state.counter = 0
        pull = {"weight": per_run.settle(1.0 - np.asarray(self.alpha, dtype=np.float64))}
        for p, slow in zip(params, state.buffers["slow_params"], strict=True):
            _pull(p, slow, self.coefficients_for(pull, p)["weight"])
        momenta = state.inner.buffers.get("momentum_buffer")
        if momenta is None or self.pullback_momentum == "none":
            return
        for i, buffer in enumerate(momenta):
            if self.pullback_momentum == "reset":
                buffer.fill(0.0)
            else:
                weight = self.coefficients_for(pull, buffer)["weight"]
                _pull(buffer, state.buffers["slow_momentum"][i], weight)

    def eval_params(self, params: list[np.ndarray], state: LookaheadState) -> list[np.ndarray]:
        """The slow weights (the state's own arrays: read them, do not write)."""
        return state.buffers["slow_params"]

    def _pulls_back(self) -> bool:
        return self.pullback_momentum == "pullback"


def _pull(fast: np.ndarray, slow: np.ndarray, weight) -> None:
    """``fast += weight (slow - fast)`` (torch's ``lerp_``), then ``slow = fast``; in place."""
    slow -= fast
    slow *= weight
    fast += slow
    np.copyto(slow, fast)


def _plain(options: Mapping[str, Any]) -> dict[str, Any]:
    """The inner hyperparameters as JSON values (tuples become lists)."""
    return json.loads(json.dumps(dict(options)))

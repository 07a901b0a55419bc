"""Any optax factory returning a ``GradientTransformation`` on optbench's arrays:
``optax:module.factory`` (``optax:optax.adamw``).

- **Runs stay independent.** ``init`` and ``update`` are ``jax.vmap``-ed over the runs axis, so
  every norm or statistic the transformation takes is one run's; ``optax.apply_updates`` gives the
  new params, which are written back into optbench's NumPy arrays.
- **Schedules.** The factory is wrapped in ``optax.inject_hyperparams``, so ``learning_rate`` is
  part of the state and is set every step to that step's rate (one per run under the vmap). Its
  other float keywords are injected too; booleans, integers and strings stay static.
- **Precision.** float64 params run with JAX's x64 mode on (inside the adapter only), float32
  params as JAX's settings have them.
- **Cost of crossing.** Each step copies the grads and params from NumPy into JAX buffers and the
  new params back (three copies of the params' size); the optimizer state stays in JAX. That
  crossing is inside the timed ``step``, so ``opt_time`` includes it (``benchmarks/adapters.py``
  prints it beside the update alone). ``init`` compiles the step ahead of time, outside
  ``opt_time``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optimizers.adapters import signature
from optimizers.adapters.base import Adapted, adapted_class
from optimizers.base import Params

KNOWN_MODULES = ("optax", "optax.contrib")


@dataclasses.dataclass
class OptaxState:
    """The vmapped optax state and the compiled step.

    Attributes
    ----------
    step : int
        Steps taken so far.
    inner : Any
        The transformation's state, every leaf with the leading runs axis.
    update : callable
        ``(grads, inner, params, rates) -> (new params, new inner)``, compiled for these shapes.
    """

    step: int
    inner: Any
    update: Any


def precision(dtype: np.dtype):
    """JAX's x64 mode for float64 params (inside the block), JAX's own settings otherwise."""
    return jax.enable_x64(True) if dtype == np.float64 else contextlib.nullcontext()


@dataclasses.dataclass(frozen=True)
class OptaxAdapted(Adapted):
    """An optax ``GradientTransformation`` factory run through the optax adapter."""

    prefix = "optax"
    lr_keyword = "learning_rate"

    def validate(self) -> None:
        transformation = self.target(**self.hyperparameters())
        if not isinstance(transformation, optax.GradientTransformation):
            raise ValueError(
                f"optimizer {self.full_name!r}: returned {type(transformation).__name__}, "
                "not an optax GradientTransformation"
            )

    def transformation(self) -> optax.GradientTransformation:
        """The factory's transformation, its float keywords (the learning rate) injected."""
        keywords = self.hyperparameters()
        if self.scheduled:
            keywords[self.lr_keyword] = float(keywords[self.lr_keyword])
        injected = [k for k, v in keywords.items() if isinstance(v, float)]
        if not injected:
            return self.target(**keywords)
        static = [k for k in keywords if k not in injected]
        return optax.inject_hyperparams(self.target, static_args=static)(**keywords)

    def init(self, params: Params) -> OptaxState:
        """The vmapped state, and the step compiled for these shapes and dtypes."""
        transformation = self.transformation()
        lr_keyword = self.lr_keyword if self.scheduled else None

        def update(grads, inner, params, rate):
            if lr_keyword:
                hyperparams = {**inner.hyperparams, lr_keyword: rate}
                inner = inner._replace(hyperparams=hyperparams)
            updates, inner = transformation.update(grads, inner, params)
            return optax.apply_updates(params, updates), inner

        dtype = params[0].dtype
        with precision(dtype):
            arrays = [jnp.asarray(p) for p in params]
            inner = jax.vmap(transformation.init)(arrays)
            rates = jnp.zeros(params[0].shape[0], dtype=dtype)
            step = jax.jit(jax.vmap(update)).lower(arrays, inner, arrays, rates).compile()
        return OptaxState(0, inner, step)

    def step(
        self, params: Params, grads: Params, state: OptaxState, lr: float | None = None
    ) -> None:
        """``update`` and ``apply_updates`` for every run; the new params written in place."""
        state.step += 1
        dtype = params[0].dtype
        rates = np.broadcast_to(np.asarray(self._lr(lr), dtype=dtype), (params[0].shape[0],))
        with precision(dtype):
            new_params, state.inner = state.update(list(grads), state.inner, list(params), rates)
            for p, new in zip(params, new_params, strict=True):
                np.copyto(p, np.asarray(new))


def resolve(full_name: str) -> type[OptaxAdapted]:
    """The adapted class of ``optax:module.factory``; ``ValueError`` (one line) if it is none."""
    module_name, attribute, target = signature.import_target(full_name, KNOWN_MODULES)
    if isinstance(target, type) or not callable(target):
        raise ValueError(
            f"optimizer {full_name!r}: {module_name}.{attribute} is not a factory of optax "
            "GradientTransformations"
        )
    return adapted_class(OptaxAdapted, full_name, module_name, target, lr_keyword="learning_rate")


def catalogue(module_name: str) -> list[str]:
    """The full names of ``module_name``'s functions annotated to return a transformation."""
    module = signature.import_module(module_name, KNOWN_MODULES, "optbench list --optax")
    names = []
    for attribute in dir(module):
        value = getattr(module, attribute)
        if attribute.startswith("_") or isinstance(value, type) or not callable(value):
            continue
        returns = getattr(value, "__annotations__", {}).get("return", "")
        if "GradientTransformation" in str(returns):
            names.append(f"optax:{module_name}.{attribute}")
    return sorted(names, key=str.lower)

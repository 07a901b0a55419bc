"""What an update rule must satisfy, as one public check (like scikit-learn's ``check_estimator``).

>>> from optimizers.testing import check_optimizer
>>> check_optimizer("adam")              # a registered name
>>> check_optimizer("sgd", momentum=0.5)  # hyperparameters for every configuration it builds

``check_optimizer`` raises ``AssertionError`` naming the rule, the check and what differed. It
imports no test framework (NumPy only), so a plugin's own tests, whatever runs them, can call it.
The checks, in order:

1. ``step`` updates the params in place (same list, same arrays), leaves the grads alone and
   returns None; the params move on the first step (on the second for a rule declaring
   ``first_step_moves = False``);
2. float32 and float64 params keep their dtype, and so does every array of the state;
3. runs are independent: perturbing one run's params and grads leaves every other run bit for bit;
4. the blocked fast path, and the fused kernel where numba and a kernel for the rule exist, equal
   the whole-array NumPy reference path bit for bit (rules with ``update``);
5. a per-step ``lr`` equals a rule built with that lr (rules with ``uses_lr_per_step = False``
   must instead ignore it);
6. a steady-state step allocates nothing proportional to the parameter count (``tracemalloc``);
7. it reaches a small loss on a well-conditioned quadratic (lr from the hyperparameters, else the
   class's ``quadratic_lr``; ``quadratic_steps`` steps).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from optimizers import base, blocked, fused
from optimizers.base import Optimizer

SHAPES = ((3, 5), (3, 2, 4))  # 3 runs of a 5-vector and of a 2x4 matrix
BLOCKED_SHAPES = ((3, 7, 11), (3, 50))  # sizes that no small block size divides
ALLOCATION_PARAMS = 200_000


def check_optimizer(name_or_class: str | type[Optimizer], /, **hyperparameters: Any) -> None:
    """Run every conformance check on a rule; raise ``AssertionError`` at the first failure.

    Parameters
    ----------
    name_or_class : str or Optimizer subclass
        A registered name (``optimizers.names()``) or the class itself (registered or not).
    **hyperparameters
        Keywords every configuration is built with; ``lr`` is overridden where a check needs to.

    Raises
    ------
    AssertionError
        Naming the rule and the failed check.
    ValueError
        For an unknown name or invalid hyperparameters.
    """
    if isinstance(name_or_class, str):
        base.create(name_or_class, **hyperparameters)  # names a bad name or keyword clearly
        cls = base.get(name_or_class)
    else:
        cls = name_or_class
    label = f"{cls.name or cls.__name__}{_format(hyperparameters)}"

    def make(**overrides: Any) -> Optimizer:
        return cls(**{**hyperparameters, **overrides})

    for check in CHECKS:
        check(make, label, hyperparameters)


def steady_state_peak(opt: Optimizer, params, grads, warmup: int = 3, steps: int = 3) -> int:
    """Peak bytes traced over ``steps`` steps, after ``warmup`` steps took any once-only paths."""
    state = opt.init(params)
    for _ in range(warmup):
        opt.step(params, grads, state, lr=1e-3)
    tracemalloc.start()
    try:
        for _ in range(steps):
            opt.step(params, grads, state, lr=1e-3)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _format(hyperparameters: dict[str, Any]) -> str:
    inner = ", ".join(f"{k}={v!r}" for k, v in hyperparameters.items())
    return f"({inner})" if inner else ""


def _problem(seed: int, shapes, dtype=np.float64, steps: int = 10):
    """Params and a sequence of gradients whose scale wanders over decades."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [
        [(rng.standard_normal(s) * np.exp(rng.normal())).astype(dtype) for s in shapes]
        for _ in range(steps)
    ]
    return params, grads


def _run(opt: Optimizer, params, grad_sequence, lr=None) -> list[np.ndarray]:
    params = [p.copy() for p in params]
    state = opt.init(params)
    for grads in grad_sequence:
        opt.step(params, [g.copy() for g in grads], state, lr=lr)
    return params


def _arrays(obj: Any) -> Iterator[np.ndarray]:
    """Every ndarray inside a state (dataclass, dict, list or tuple, any depth)."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _arrays(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            yield from _arrays(value)
    elif hasattr(obj, "__dict__"):
        yield from _arrays(vars(obj))


def check_step_in_place(make: Callable[..., Optimizer], label: str, hyper: dict) -> None:
    """``step`` updates the params in place, leaves the grads alone and returns None; the params
    have moved after the first step, or the second if ``first_step_moves`` is False."""
    opt = make()
    steps = 1 if opt.first_step_moves else 2
    params, grad_sequence = _problem(0, SHAPES, steps=steps)
    ids = [id(p) for p in params]
    before = [p.copy() for p in params]
    state = opt.init(params)
    for grads in grad_sequence:
        grads_before = [g.copy() for g in grads]
        result = opt.step(params, grads, state)
        assert result is None, (
            f"{label}: step returned {result!r}, expected None (it works in place)"
        )
        assert [id(p) for p in params] == ids, f"{label}: step replaced arrays in the params list"
        for g, b in zip(grads, grads_before, strict=True):
            assert np.array_equal(g, b), f"{label}: step modified the grads"
    changed = any(not np.array_equal(p, b) for p, b in zip(params, before, strict=True))
    which = "the first step" if steps == 1 else "two steps (first_step_moves is False)"
    assert changed, f"{label}: {which} left every parameter unchanged"


def check_dtypes(make: Callable[..., Optimizer], label: str, hyper: dict) -> None:
    """float32 and float64 params keep their dtype, and so does every state array."""
    for dtype in (np.float32, np.float64):
        opt = make()
        params, grad_sequence = _problem(1, SHAPES, dtype, steps=2)
        state = opt.init(params)
        for grads in grad_sequence:
            opt.step(params, grads, state, lr=0.01)
        for p in params:
            assert p.dtype == dtype, f"{label}: {np.dtype(dtype).name} params became {p.dtype}"
        for a in _arrays(state):
            assert a.dtype in (dtype, np.bool_), (
                f"{label}: a state array is {a.dtype} for {np.dtype(dtype).name} params"
            )


def check_runs_independent(make: Callable[..., Optimizer], label: str, hyper: dict) -> None:
    """Perturbing run 1's params and grads leaves runs 0 and 2 bit for bit."""
    params, grads = _problem(2, SHAPES, steps=10)
    baseline = _run(make(), params, grads)
    perturbed_params = [p.copy() for p in params]
    perturbed_grads = [[g.copy() for g in step] for step in grads]
    for p in perturbed_params:
        p[1] *= -3.0
    for step in perturbed_grads:
        for g in step:
            g[1] *= 1e3
    perturbed = _run(make(), perturbed_params, perturbed_grads)
    for k, (a, b) in enumerate(zip(baseline, perturbed, strict=True)):
        for run in (0, 2):
            assert np.array_equal(a[run], b[run]), (
                f"{label}: runs are not independent: changing run 1 changed run {run} "
                f"of parameter array {k}"
            )


def check_fast_path(make: Callable[..., Optimizer], label: str, hyper: dict) -> None:
    """The blocked path and the fused kernel (if any) equal the whole-array reference path bit
    for bit."""
    opt = make()
    if type(opt).update is Optimizer.update:
        return  # the rule has its own step, hence no blocked path
    paths = [(f"blocked path ({block}-byte blocks", block, False) for block in (12, 64, 400)]
    if fused.launcher_for(type(opt).update) is not None:
        paths.append(("fused kernel (numba", None, True))
    for dtype in (np.float32, np.float64):
        params, grads = _problem(3, BLOCKED_SHAPES, dtype, steps=10)
        with blocked.block_bytes(None), fused.kernels(False):
            reference = _run(opt, params, grads)
        for what, block, kernels in paths:  # block boundaries land inside the arrays
            with blocked.block_bytes(block, min_blocked=0), fused.kernels(kernels):
                fast = _run(opt, params, grads)
            for k, (ref, got) in enumerate(zip(reference, fast, strict=True)):
                assert np.array_equal(ref, got), (
                    f"{label}: {what}, {np.dtype(dtype).name}) "
                    f"differs from the reference path in parameter array {k}"
                )


def check_lr_per_step(make: Callable[..., Optimizer], label: str, hyper: dict) -> None:
    """``step(lr=x)`` equals a rule built with ``lr=x`` (or, if declared so, ignores ``lr``)."""
    params, grads = _problem(4, SHAPES, steps=10)
    lr = 0.003
    override = _run(make(), params, grads, lr=lr)
    if make().uses_lr_per_step:
        expected, what = _run(make(lr=lr), params, grads), f"a rule built with lr={lr}"
    else:
        expected, what = _run(make(), params, grads), "no lr (uses_lr_per_step is False)"
    for k, (a, b) in enumerate(zip(override, expected, strict=True)):
        assert np.array_equal(a, b), (
            f"{label}: step(lr={lr}) differs from {what} in parameter array {k}"
        )


def check_no_steady_state_allocation(
    make: Callable[..., Optimizer], label: str, hyper: dict
) -> None:
    """A steady-state step allocates nothing proportional to the parameters, blocked or not."""
    n = ALLOCATION_PARAMS
    limit = n * 8 // 20
    for block in (blocked.BLOCK_BYTES, 4096):
        params = [np.ones((1, n)), np.ones((1, 10, 10))]
        grads = [np.full_like(p, 0.1) for p in params]
        with blocked.block_bytes(block, min_blocked=0 if block == 4096 else None):
            peak = steady_state_peak(make(), params, grads)
        assert peak < limit, (
            f"{label}: a steady-state step on {n} float64 parameters allocated {peak} bytes "
            f"(limit {limit}); write into buffers made by init"
        )


def check_converges_on_quadratic(make: Callable[..., Optimizer], label: str, hyper: dict) -> None:
    """f = 0.5 x^T D x, eigenvalues in [1, 2], x0 ~ N(0, 1): loss falls 1e4-fold (or below 1e-4)."""
    rng = np.random.default_rng(3)
    curvature = np.linspace(1.0, 2.0, 10)
    x = [rng.standard_normal((2, 10))]
    start = 0.5 * np.sum(curvature * x[0] ** 2, axis=1)
    opt = make()
    if "lr" not in hyper and opt.quadratic_lr is not None:
        opt = make(lr=opt.quadratic_lr)
    steps = opt.quadratic_steps
    state = opt.init(x)
    for _ in range(steps):
        opt.step(x, [curvature * x[0]], state)
    loss = 0.5 * np.sum(curvature * x[0] ** 2, axis=1)
    assert np.all(loss < 1e-4 * np.maximum(start, 1.0)), (
        f"{label}: loss {loss} after {steps} steps with lr={opt.lr} on a quadratic "
        f"starting at {start}"
    )


CHECKS = (
    check_step_in_place,
    check_dtypes,
    check_runs_independent,
    check_fast_path,
    check_lr_per_step,
    check_no_steady_state_allocation,
    check_converges_on_quadratic,
)

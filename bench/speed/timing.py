"""Side-by-side timing for ``python -m bench.speed.perf``: the timer and the candidates it times
(an optimizer step, its reference path, its copy floor, the same step in torch)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

import optimizers
from optimizers import blocked

TORCH_CLASS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


def side_by_side(
    candidates: dict[str, Callable[[], object]], repeats: int, number: int
) -> dict[str, float]:
    """Median seconds per call of each candidate; candidates take turns, ``repeats`` rounds of
    ``number`` calls each, so a slow spell of the machine hits them all alike."""
    for fn in candidates.values():
        fn()  # warm up: first calls page memory in and take once-only paths
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: float(np.median(times)) for name, times in samples.items()}


def copy_floor(arrays: int, n: int, dtype=np.float32) -> Callable[[], None]:
    """``np.copyto`` of ``arrays * n / 2`` elements: ``arrays * n`` elements read plus written."""
    src = np.ones(math.ceil(arrays * n / 2), dtype=dtype)
    dst = np.empty_like(src)
    return lambda: np.copyto(dst, src)


def reference_path(fn: Callable[[], None]) -> Callable[[], None]:
    """``fn`` with the blocked fast path switched off (whole-array operations)."""

    def run() -> None:
        with blocked.block_bytes(None):
            fn()

    return run


def numpy_step(name: str, kwargs: dict, shape: tuple, dtype) -> Callable[[], None]:
    """One ``step`` of optimizer ``name`` on one parameter array of ``shape``, ready to call."""
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(shape).astype(dtype)]
    grads = [rng.standard_normal(shape).astype(dtype)]
    opt = optimizers.create(name, **kwargs)
    state = opt.init(params)
    opt.step(params, grads, state)  # past SGD's first-step copy
    return lambda: opt.step(params, grads, state)


def torch_step(name: str, kwargs: dict, shape: tuple, **mode: bool) -> Callable[[], None] | None:
    """The same step in ``torch.optim`` (``foreach=True`` or ``fused=True``); None if either
    torch or that mode is missing."""
    try:
        import torch
    except ImportError:
        return None
    if name not in TORCH_CLASS:
        return None
    param = torch.zeros(shape, dtype=torch.float32, requires_grad=True)
    param.grad = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    hyper = optimizers.create(name, **kwargs).hyperparameters()
    try:
        opt = getattr(torch.optim, TORCH_CLASS[name])([param], **hyper, **mode)
        opt.step()
    except (RuntimeError, TypeError, ValueError):  # e.g. no fused kernel for this rule
        return None
    return opt.step


def with_torch_threads(threads: int, fn: Callable[[], dict]) -> dict:
    """Run ``fn`` with torch's intra-op pool at ``threads`` (if torch is installed)."""
    try:
        import torch
    except ImportError:
        return fn()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return fn()
    finally:
        torch.set_num_threads(previous)


def ratio_to(times: dict[str, float], other: str) -> float | None:
    """``times["ours"] / times[other]``, or None when ``other`` was not timed."""
    return times["ours"] / times[other] if other in times else None

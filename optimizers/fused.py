"""Fused update kernels: each rule's ``update`` compiled by numba into one pass over the arrays.

The blocked NumPy path (:mod:`optimizers.blocked`) still makes one pass per operation over a
cache-sized block; a fused kernel reads each element of ``p``, ``g`` and the state once, applies
the rule's whole update to it in registers and writes it back once. The kernels live in
:mod:`optimizers.kernels`, one module per rule family, keyed by the ``update`` method they
replace (a subclass that overrides ``update`` therefore never gets its parent's kernel).

Each kernel performs, for every element, exactly the floating-point operations of the rule's
``update``, in the same order and in the params' dtype (a Python-float coefficient becomes a
float32 scalar for float32 params, as NumPy's weak scalars do). They are compiled without
fast-math and with NumPy's error model (no exception on division by zero), and LLVM does not fuse
a separate multiply and add into an FMA without fast-math flags, so results are bit-identical to
the NumPy path; ``tests/optimizers/test_fused.py`` checks both the numbers and the generated code.

``Optimizer.step`` uses a kernel when numba is importable, the environment variable
``OPTBENCH_NO_NUMBA`` is unset (or ``0``), every array is C-contiguous, of one size and of the
params' dtype (float32 or float64). Otherwise it takes the NumPy path. numba is imported on the
first step that could use a kernel, not when ``optimizers`` is imported.

>>> from optimizers import fused
>>> fused.available()       # numba installed and not switched off
>>> fused.compile_seconds() # first-call seconds of each kernel compiled in this process
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

ENV_SWITCH = "OPTBENCH_NO_NUMBA"
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_INSTALLED = importlib.util.find_spec("numba") is not None
_enabled = os.environ.get(ENV_SWITCH, "") in ("", "0")
_launchers: dict[Callable, Callable] | None = None  # update method -> launcher, once loaded
_first_calls: dict[str, float] = {}


def available() -> bool:
    """Whether steps use the fused kernels: numba installed and not switched off."""
    return _INSTALLED and _enabled


@contextlib.contextmanager
def kernels(on: bool) -> Iterator[None]:
    """Temporarily switch the kernels on or off (on has no effect without numba)."""
    global _enabled
    previous = _enabled
    _enabled = on
    try:
        yield
    finally:
        _enabled = previous


def launcher_for(update: Callable) -> Callable | None:
    """The launcher that replaces the ``update`` function (``type(opt).update``), or None."""
    if not available():
        return None
    global _launchers
    if _launchers is None:
        from optimizers import kernels as kernel_modules

        _launchers = kernel_modules.launchers()
    return _launchers.get(update)


def fused_rules() -> list[str]:
    """Registered rule names whose ``update`` has a kernel (empty without numba)."""
    from optimizers import base

    return [name for name in base.names() if launcher_for(base.get(name).update) is not None]


def try_launch(
    launcher: Callable, opt: Any, arrays: tuple[np.ndarray | None, ...], coefficients: dict
) -> bool:
    """Run ``launcher`` on the flattened ``arrays`` if a kernel can take them; return whether
    it ran (False leaves every array untouched, for the NumPy path to do the step)."""
    p = arrays[0]
    if p.dtype not in DTYPES:
        return False
    flat = []
    for a in arrays:
        if a is None:
            flat.append(None)
        elif a.dtype != p.dtype or a.size != p.size or not a.flags.c_contiguous:
            return False
        else:
            flat.append(a.reshape(-1))
    launcher(opt, *flat, **coefficients)
    return True


def timed_first_call(name: str, kernel: Any) -> Callable:
    """Wrap a numba dispatcher so that a call that compiles (or loads from the cache) a new
    specialization is timed into :func:`compile_seconds`."""

    def call(*args):
        known = len(kernel.overloads)
        start = time.perf_counter()
        kernel(*args)
        if len(kernel.overloads) != known:
            key = f"{name}[{np.asarray(args[0]).dtype}]"
            _first_calls[key] = _first_calls.get(key, 0.0) + time.perf_counter() - start

    return call


def warm_up() -> None:
    """Load (or compile) every kernel for float32 and float64 now, with one tiny step of each
    fused rule, so that a worker pays numba's import and its cache outside any cell's timeout."""
    if not available():
        return
    import optimizers  # the registry; imported here because this module is imported by it

    for name in fused_rules():
        for dtype in DTYPES:
            params = [np.ones((1, 4), dtype=dtype)]
            opt = optimizers.create(name)
            opt.step(params, [np.ones((1, 4), dtype=dtype)], opt.init(params))


def compile_seconds() -> dict[str, float]:
    """Seconds spent in calls that compiled a kernel specialization (or loaded it from numba's
    cache), by ``kernel[dtype]``, in this process so far."""
    return dict(_first_calls)


def numba_version() -> str | None:
    """numba's version, or None when it is not installed."""
    if not _INSTALLED:
        return None
    import numba

    return numba.__version__

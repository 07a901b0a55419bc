"""The fused kernels (numba), one module per rule family; imported only when numba is present.

Each module compiles its kernels with :func:`kernel` and declares ``LAUNCHERS``: the ``update``
method each launcher replaces, mapped to the launcher. A launcher takes the rule, its ``update``'s
arrays flattened (scratch buffers left out) and its coefficients, turns the hyperparameters and
coefficients into scalars of the params' dtype, and calls the kernel. Adding a kernel is adding a
module here; :mod:`optimizers.fused` finds it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import numba

from optimizers import fused

# No fastmath (which would allow reassociation, contraction into FMA, flush-to-zero); NumPy's
# error model (x / 0 is inf, not ZeroDivisionError) keeps the loop branch-free and NumPy's answer.
OPTIONS = {"cache": True, "error_model": "numpy", "fastmath": False, "nogil": True}


def kernel(fn: Callable) -> Callable:
    """Compile ``fn`` lazily (per dtype) with :data:`OPTIONS`; time each new specialization."""
    dispatcher = numba.njit(**OPTIONS)(fn)
    timed = fused.timed_first_call(fn.__name__, dispatcher)
    timed.dispatcher = dispatcher  # for tests that inspect the generated code
    return timed


def launchers() -> dict[Callable, Callable]:
    """Every module's ``LAUNCHERS``, merged."""
    table: dict[Callable, Callable] = {}
    for module in pkgutil.iter_modules(__path__):
        table.update(importlib.import_module(f"{__name__}.{module.name}").LAUNCHERS)
    return table

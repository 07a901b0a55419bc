"""The speed suite's shared parts: plugin loading and the ``measure`` fixture.

The normal test run skips this folder (``--ignore=tests/speed`` in pyproject's addopts);
``pytest tests/speed --benchmark-only`` runs it, and ``optbench speed`` wraps it. BLAS runs with
one thread throughout.

Every benchmark goes through ``measure``: pytest-benchmark times the target round by round, and
before each round ``measure`` times a control, an ``np.copyto`` of as many bytes as the target's
arrays hold, on the same machine a moment earlier. The control's timings are saved with the
benchmark (``extra_info["control"]``), so ``optbench speed --compare`` can read every timing as a
ratio to its control as well as in seconds: a machine that is slower as a whole, or a noisy
neighbour, moves both and leaves the ratio alone.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

MAX_ROUNDS = 5000  # rounds per benchmark: enough for the rank test, a bounded JSON file
MIN_CONTROL_BYTES = 4096


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--optbench-plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE before collection, so the optimizers and problems it registers are "
        "benchmarked too (repeatable)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for module in config.getoption("optbench_plugin"):
        importlib.import_module(module)


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """Every benchmark runs with BLAS held to one thread: a second thread on a shared 2-core
    machine makes matmul timings swing 3x from run to run (measured on mnist_mlp)."""
    with threadpool_limits(1):
        yield


class CopyControl:
    """``np.copyto`` between two buffers of ``nbytes / 2`` bytes: ``nbytes`` read plus written."""

    def __init__(self, nbytes: int):
        half = max(nbytes, MIN_CONTROL_BYTES) // 2
        self.src = np.ones(half, dtype=np.uint8)
        self.dst = np.empty_like(self.src)
        self.nbytes = 2 * half

    def __call__(self) -> None:
        np.copyto(self.dst, self.src)


def array_bytes(*collections: object) -> int:
    """Total bytes of every NumPy array found in the given objects (lists, tuples, dataclasses)."""
    total = 0
    stack = list(collections)
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            total += item.nbytes
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
    return total


def time_calls(fn: Callable[[], object], count: int) -> list[float]:
    """Seconds of each of ``count`` calls of ``fn``."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


@pytest.fixture
def measure(benchmark, request) -> Callable[..., None]:
    """``measure(target, nbytes=..., **info)``: benchmark ``target``, a control before each round.

    Rounds are sized from ``--benchmark-max-time`` and ``--benchmark-min-rounds`` (at most
    ``MAX_ROUNDS``), one call each: pytest-benchmark runs a per-round setup only with one
    iteration. The setup copies twice and times the second copy, so the control does not inherit
    the aftermath of the previous round (caches it evicted, a core idled by a sleep) and shrink
    the very changes it is there to confirm. ``info`` goes to ``extra_info``.
    """
    config = request.config

    def run(target: Callable[[], object], *, nbytes: int, **info: object) -> None:
        control = CopyControl(nbytes)
        target()  # once-only paths (first steps, lazy data loading) stay out of the estimate
        per_round = float(np.median(time_calls(target, 3)) + 2 * np.median(time_calls(control, 3)))
        max_time = float(config.getoption("benchmark_max_time"))
        min_rounds = int(config.getoption("benchmark_min_rounds"))
        rounds = math.ceil(max_time / (per_round + 2e-6))
        rounds = min(max(rounds, min_rounds), MAX_ROUNDS)
        warmup = min(10, max(1, rounds // 20))
        times: list[float] = []

        def time_control() -> None:
            control()  # warm the buffers and the core
            times.extend(time_calls(control, 1))

        benchmark.extra_info.update(info, control_bytes=control.nbytes)
        benchmark.pedantic(
            target, setup=time_control, rounds=rounds, warmup_rounds=warmup, iterations=1
        )
        benchmark.extra_info["control"] = times[warmup:]

    return run

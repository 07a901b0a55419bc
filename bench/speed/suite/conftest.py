"""The speed suite's shared parts: plugin loading and the ``measure`` fixture.

The project's test run does not collect this folder (it is outside ``testpaths``, and pyproject's
addopts ignore it); ``pytest bench/speed/suite --benchmark-only`` runs it with the folder's own
``pytest.ini``, and ``optbench speed`` wraps it. BLAS runs with one thread throughout.

Every benchmark goes through ``measure``: pytest-benchmark times the target round by round, and
before each round ``measure`` times a control, an ``np.copyto`` of as many bytes as the target's
arrays hold, on the same machine a moment earlier. The control's timings are saved with the
benchmark (``extra_info["control"]``), so ``optbench speed --compare`` can read every timing as a
ratio to its control as well as in seconds: a machine that is slower as a whole, or a noisy
neighbour, moves both and leaves the ratio alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from bench.speed.suite.measuring import (
    CopyControl,
    involuntary_switches,
    rounds_for,
    time_calls,
)


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


@pytest.fixture
def measure(benchmark, request) -> Callable[..., None]:
    """``measure(target, nbytes=..., **info)``: benchmark ``target``, a control before each round.

    Rounds are sized from ``--benchmark-max-time`` and ``--benchmark-min-rounds`` (at most
    ``measuring.MAX_ROUNDS``), one call each: pytest-benchmark runs a per-round setup only with one
    iteration. The setup copies twice and times the second copy, so the control does not inherit
    the aftermath of the previous round (caches it evicted, a core idled by a sleep) and shrink
    the very changes it is there to confirm. Each round is also marked ``preempted`` when the
    scheduler took the CPU away during it or its control (``extra_info["preempted"]``, 0/1 per
    round); ``optbench speed --compare`` leaves those rounds out. ``info`` goes to ``extra_info``.
    """
    config = request.config

    def run(target: Callable[[], object], *, nbytes: int, **info: object) -> None:
        control = CopyControl(nbytes)
        target()  # once-only paths (first steps, lazy data loading) stay out of the estimate
        per_round = float(np.median(time_calls(target, 3)) + 2 * np.median(time_calls(control, 3)))
        rounds = rounds_for(
            per_round,
            float(config.getoption("benchmark_max_time")),
            int(config.getoption("benchmark_min_rounds")),
        )
        warmup = min(10, max(1, rounds // 20))
        times: list[float] = []
        preempted: list[bool] = []  # per round: the scheduler interrupted its control or it
        opened: list[int] = []  # involuntary switches when each round started

        def close_round() -> None:
            if opened:
                preempted[-1] |= involuntary_switches() > opened[-1]

        def time_control() -> None:
            close_round()  # the previous round ran between its setup and this one
            control()  # warm the buffers and the core
            before = involuntary_switches()
            times.extend(time_calls(control, 1))
            opened.append(involuntary_switches())
            preempted.append(opened[-1] > before)

        benchmark.extra_info.update(info, control_bytes=control.nbytes)
        benchmark.pedantic(
            target, setup=time_control, rounds=rounds, warmup_rounds=warmup, iterations=1
        )
        close_round()
        benchmark.extra_info["control"] = times[warmup:]
        benchmark.extra_info["preempted"] = [int(flag) for flag in preempted[warmup:]]

    return run

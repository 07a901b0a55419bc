"""The speed suite's plain helpers: the control copy, byte counting and round sizing.

Kept out of ``conftest.py`` so that benchmarks and tests import them as an ordinary module.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

MAX_ROUNDS = 5000  # rounds per benchmark: enough for the rank test, a bounded JSON file
MIN_CONTROL_BYTES = 4096


class CopyControl:
    """``np.copyto`` between two buffers of ``nbytes / 2`` bytes: ``nbytes`` read plus written."""

    def __init__(self, nbytes: int):
        half = max(nbytes, MIN_CONTROL_BYTES) // 2
        self.src = np.ones(half, dtype=np.uint8)
        self.dst = np.empty_like(self.src)
        self.nbytes = 2 * half

    def __call__(self) -> None:
        np.copyto(self.dst, self.src)


def involuntary_switches() -> int:
    """How often the scheduler has taken the CPU away from this thread so far (0 where the OS
    does not count it). A round during which this grows timed the machine's other work too: on a
    busy 2-core machine such a round is longer by a scheduler slice (about 4 ms, measured), which
    no control of a few hundred microseconds shares."""
    try:
        import resource
    except ImportError:  # Windows: nothing to count, every round is kept
        return 0
    who = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)
    return resource.getrusage(who).ru_nivcsw


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


def rounds_for(per_round: float, max_time: float, min_rounds: int) -> int:
    """Rounds that fill ``max_time`` at ``per_round`` seconds each, within
    [``min_rounds``, ``MAX_ROUNDS``]; 2 us per round stand for pytest-benchmark's own overhead."""
    return min(max(math.ceil(max_time / (per_round + 2e-6)), min_rounds), MAX_ROUNDS)

"""The matrix rows of ``python -m bench.speed.perf`` compare like with like: each floor makes
the same matmul and QR calls, on arrays of the same dtype, as the step it is the floor of.
(Nothing here is timed.)"""

from collections import Counter

import numpy as np
import pytest

from bench.speed import matrix_targets
from bench.speed.perf import plan

SHAPE = (1, 6, 10)


def linear_algebra_calls(monkeypatch, fn) -> Counter:
    """How many times ``fn()`` calls ``np.matmul`` and ``np.linalg.qr``, and with which dtypes."""
    calls: Counter = Counter()
    for owner, name in ((np, "matmul"), (np.linalg, "qr")):
        original = getattr(owner, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            calls[(_name, *sorted({str(a.dtype) for a in args if hasattr(a, "dtype")}))] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)
    try:
        fn()
    finally:
        monkeypatch.undo()
    return calls


@pytest.mark.parametrize("ns_steps", [5, 3])
def test_muon_floor_is_its_newton_schulz_matmuls(monkeypatch, ns_steps):
    step = matrix_targets.rule_steps("muon", SHAPE, 1, ns_steps=ns_steps)
    floor = matrix_targets.newton_schulz_floor(SHAPE, ns_steps)
    calls = linear_algebra_calls(monkeypatch, step)
    assert calls == linear_algebra_calls(monkeypatch, floor)
    assert calls == {("matmul", "float32"): 3 * ns_steps}


def test_soap_floor_is_its_rotations_outer_products_and_one_refresh(monkeypatch):
    frequency = 4
    step = matrix_targets.rule_steps("soap", SHAPE, frequency, precondition_frequency=frequency)
    floor = matrix_targets.soap_floor(SHAPE, frequency)
    calls = linear_algebra_calls(monkeypatch, step)
    assert calls == linear_algebra_calls(monkeypatch, floor)
    assert calls == {("matmul", "float32"): 8 * frequency, ("qr", "float32"): 2}


def test_perf_has_a_matrix_section():
    titles = [title for title, _ in plan(("matrix",), 1)]
    assert len(titles) == 1 and "matrix rules" in titles[0]

"""The blocked fast path (optimizers.blocked) against the whole-array reference path.

Both run the same elementwise update, so they must agree to 1e-6 relative in float32 (the bar
the speed issue sets) and in fact bit for bit, whatever the block size and wherever the block
boundaries fall. Small blocks make the boundaries land inside the arrays of a quick test.
"""

import numpy as np
import pytest

import optimizers
from optimizers import blocked
from tests.optimizers.allocation import steady_state_peak
from tests.optimizers.cases import CASES, case_id
from tests.optimizers.test_rules import random_gradients, run

# (3, 7, 11) = 231 elements, (2, 50) = 100: neither is a multiple of any block size below.
SHAPES = [(3, 7, 11), (2, 50)]


def trajectories(name, kw, dtype, block, steps=40):
    rng = np.random.default_rng(7)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[g.astype(dtype) for g in step] for step in random_gradients(rng, SHAPES, steps)]
    opt = optimizers.create(name, **kw)
    with blocked.block_bytes(block, min_blocked=0):
        return run(opt, params, grads)


@pytest.mark.parametrize("block", [12, 64, 400])  # bytes: 3, 16 and 100 float32
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_blocked_path_matches_reference_in_float32(case, block):
    name, kw = case
    reference = trajectories(name, kw, np.float32, None)
    fast = trajectories(name, kw, np.float32, block)
    for t, (ref, got) in enumerate(zip(reference, fast, strict=True)):
        for k in range(len(SHAPES)):
            np.testing.assert_allclose(got[k], ref[k], rtol=1e-6, err_msg=f"step {t + 1}")
            np.testing.assert_array_equal(got[k], ref[k], err_msg=f"not bitwise, step {t + 1}")


@pytest.mark.parametrize("name", optimizers.names())
def test_blocked_path_is_bitwise_in_float64(name):
    reference = trajectories(name, {}, np.float64, None, steps=10)
    fast = trajectories(name, {}, np.float64, 64, steps=10)
    for ref, got in zip(reference, fast, strict=True):
        for k in range(len(SHAPES)):
            np.testing.assert_array_equal(got[k], ref[k])


def test_large_arrays_take_the_blocked_path_with_the_default_sizes():
    """Above MIN_BLOCKED_BYTES the defaults block the array; the result is the reference's."""
    n = blocked.MIN_BLOCKED_BYTES // 4 + 12_345  # float32, a partial last block
    rng = np.random.default_rng(8)
    p0 = rng.standard_normal((1, n)).astype(np.float32)
    grads = [[rng.standard_normal((1, n)).astype(np.float32)] for _ in range(3)]
    calls = []
    opt = optimizers.create("adam")
    original = type(opt).update

    def counting(self, *args, **kwargs):
        calls.append(args[0].size)
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(opt), "update", counting)
        fast = run(opt, [p0], grads)[-1][0]
    block = blocked.BLOCK_BYTES // 4
    assert calls[: -(-n // block)] == [block] * (n // block) + [n % block]
    with blocked.block_bytes(None):
        reference = run(opt, [p0], grads)[-1][0]
    np.testing.assert_array_equal(fast, reference)


def test_non_contiguous_arrays_take_the_whole_array_path():
    rng = np.random.default_rng(9)
    params = [np.asfortranarray(rng.standard_normal((3, 40, 5)))]
    grads = [
        [np.asfortranarray(g) for g in step] for step in random_gradients(rng, [(3, 40, 5)], 5)
    ]
    opt = optimizers.create("rmsprop", momentum=0.5)
    with blocked.block_bytes(64, min_blocked=0):
        fast = run(opt, params, grads)[-1][0]
    contiguous = run(
        opt, [np.ascontiguousarray(params[0])], [[np.ascontiguousarray(g[0])] for g in grads]
    )[-1][0]
    np.testing.assert_array_equal(fast, contiguous)


@pytest.mark.parametrize("name", optimizers.names())
def test_blocked_steady_state_step_allocates_nothing_proportional_to_params(name):
    n = 200_000
    params = [np.ones((1, n)), np.ones((1, 10, 10))]
    grads = [np.full_like(p, 0.1) for p in params]
    with blocked.block_bytes(4096, min_blocked=0):
        peak = steady_state_peak(optimizers.create(name), params, grads)
    assert peak < n * 8 / 20, f"{name} allocated {peak} bytes in a steady-state blocked step"

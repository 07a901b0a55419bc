"""The blocked fast path (optimizers.blocked): where it engages, and where it must not.

That it equals the whole-array reference path bit for bit, whatever the block size and wherever
the block boundaries fall, is ``check_optimizer``'s, run on every row of CASES
(tests/optimizers/test_conformance.py).
"""

import numpy as np
import pytest

import optimizers
from optimizers import blocked
from tests.optimizers.test_rules import random_gradients, run


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

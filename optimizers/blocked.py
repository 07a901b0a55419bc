"""The fast path of every update rule: the same equations, applied one cache-sized block at a time.

Each rule writes its update once, as ``update(p, g, *state, *scratch, **coefficients)``: a
readable sequence of in-place NumPy operations over whole arrays, one line per equation of its
docstring. Called on whole arrays, that is the reference path. On a large array every one of
those operations is a full pass over memory (Adam makes about 12), so :func:`apply` calls the same
``update`` on consecutive blocks of the flattened arrays instead: a block of ``p``, ``g`` and the
state is read from memory once, goes through every operation while it sits in cache, and is
written back once. Scratch buffers are reused block after block, so they stay in cache too.

Every operation is elementwise, so each element goes through exactly the same floating-point
operations in the same order whichever path runs: the two paths agree bit for bit, and where the
block boundaries fall cannot change a result (stacked runs still equal separate runs).
``optimizers.testing.check_optimizer`` checks this for every rule that has an ``update``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np

# Bytes of one array's block. Measured with bench/speed/perf.py on a 2-core AMD EPYC (1 MiB L2 per
# core, 32 MiB L3), 10^7 float32, side by side: Adam at 1.67x its copy floor with 1 MiB blocks,
# 1.74x with 512 KiB, 1.84x with 256 KiB (per-call overhead), 1.85x with 8 MiB (the ~7 arrays of
# a block no longer stay in cache); SGD, RMSprop, AdaGrad and Lion rank the sizes alike.
BLOCK_BYTES = 1024 * 1024
# Arrays under two blocks go whole: they sit in cache anyway and blocks only add calls (the two
# paths tie at 5 x 10^5 float32; blocks win from 10^6 on and lose 5-15% at 10^5).
MIN_BLOCKED_BYTES = 2 * BLOCK_BYTES

Array = np.ndarray | None


def apply(
    update: Callable[..., None],
    arrays: Sequence[Array],
    scratch: Sequence[np.ndarray],
    **coefficients: float | bool,
) -> None:
    """Run ``update(*arrays, *scratch, **coefficients)`` in place, block by block when it pays.

    Parameters
    ----------
    update
        The rule's update of one array; elementwise, in place, allocating nothing.
    arrays
        The parameter, its gradient and its state arrays, all of one shape (``None`` stands for
        an unused state array and is passed through).
    scratch
        Work buffers at least as large as ``arrays[0]``; in blocks only their first block is used.
    **coefficients
        The step's scalars (learning rate, bias corrections...).

    Notes
    -----
    Arrays under ``MIN_BLOCKED_BYTES``, and any array that is not C-contiguous (a flat view of it
    would be a copy), take the whole-array path.
    """
    p = arrays[0]
    if not BLOCK_BYTES or p.nbytes < MIN_BLOCKED_BYTES or not _all_contiguous(arrays, scratch):
        update(*arrays, *scratch, **coefficients)
        return
    block = max(BLOCK_BYTES // p.itemsize, 1)
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    work = [w.reshape(-1) for w in scratch]
    for start in range(0, p.size, block):
        stop = min(start + block, p.size)
        update(
            *[None if a is None else a[start:stop] for a in flat],
            *[w[: stop - start] for w in work],
            **coefficients,
        )


def _all_contiguous(arrays: Sequence[Array], scratch: Sequence[np.ndarray]) -> bool:
    size = arrays[0].size
    return all(
        a.flags.c_contiguous and a.size >= size for a in (*arrays, *scratch) if a is not None
    )


@contextlib.contextmanager
def block_bytes(size: int | None, min_blocked: int | None = None) -> Iterator[None]:
    """Temporarily set the block size in bytes; ``None`` turns blocking off (the reference path).

    ``min_blocked`` temporarily replaces ``MIN_BLOCKED_BYTES``. For tests and measurements only:
    the two paths give the same numbers.
    """
    global BLOCK_BYTES, MIN_BLOCKED_BYTES
    previous = BLOCK_BYTES, MIN_BLOCKED_BYTES
    BLOCK_BYTES = size or 0
    if min_blocked is not None:
        MIN_BLOCKED_BYTES = min_blocked
    try:
        yield
    finally:
        BLOCK_BYTES, MIN_BLOCKED_BYTES = previous

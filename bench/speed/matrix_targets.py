"""The matrix rules' rows of ``python -m bench.speed.perf`` (section ``matrix``).

Muon's and SOAP's steps are dominated by dense linear algebra on each run's matrix, so their
floor is that linear algebra alone, on arrays of the same shapes made beforehand: what no
implementation of the same algorithm can skip.

- Muon: ``ns_steps`` Newton–Schulz iterations, each X Xᵀ, A A and B X (matmuls into buffers).
- SOAP: per step, the gradient's two outer products, and the gradient's and the first moment's
  rotations into the eigenbasis and the update's rotation back (two matmuls each); every
  ``precondition_frequency`` steps, one power iteration per side (L Q, then ``np.linalg.qr``).
  A row times ``precondition_frequency`` steps, so exactly one refresh is inside.
- MARS is elementwise but for one norm per run: its floor is the copy floor of the arrays it
  must read and write (p, g, m, v and the last gradient read; p, m, v and the last gradient
  written: 9 arrays).

Every row holds BLAS and torch to one thread, as the MLP row does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

import optimizers
from bench.speed.targets import Row
from bench.speed.timing import copy_floor, side_by_side

MATRIX_SHAPE = (1, 256, 512)  # one run of a 256 x 512 weight matrix, float32
MARS_SIZE = 10**6
# Most the step may cost over its floor: the scratch copies and elementwise passes around the
# linear algebra (Muon, SOAP), or its ~25 whole-array NumPy passes where the floor moves 9
# arrays once (MARS).
TARGETS = {"muon": 1.3, "soap": 2.0, "mars": 6.0}


def rule_steps(name: str, shape: tuple, steps: int, **hyper) -> Callable[[], None]:
    """``steps`` steps of rule ``name`` on one float32 array of ``shape``, ready to call."""
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(shape).astype(np.float32)]
    grads = [rng.standard_normal(shape).astype(np.float32)]
    opt = optimizers.create(name, **hyper)
    state = opt.init(params)
    opt.step(params, grads, state)  # SOAP's first step only builds its eigenbases

    def run() -> None:
        for _ in range(steps):
            opt.step(params, grads, state, lr=1e-6)

    return run


def newton_schulz_floor(shape: tuple, ns_steps: int) -> Callable[[], None]:
    """The matmuls of ``ns_steps`` Newton–Schulz iterations on the wide orientation."""
    runs, rows, cols = shape
    short, long = min(rows, cols), max(rows, cols)
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((runs, short, long)) / np.sqrt(short * long)).astype(np.float32)
    gram = np.empty((runs, short, short), np.float32)
    gram_update = np.empty_like(gram)
    product = np.empty_like(x)

    def run() -> None:  # the iterate's values do not change the matmuls' cost
        for _ in range(ns_steps):
            np.matmul(x, x.mT, out=gram)
            np.matmul(gram, gram, out=gram_update)
            np.matmul(gram_update, x, out=product)

    return run


def soap_floor(shape: tuple, steps: int) -> Callable[[], None]:
    """SOAP's matmuls over ``steps`` steps, and one power iteration (L Q and QR) per side."""
    runs, rows, cols = shape
    rng = np.random.default_rng(2)
    g = rng.standard_normal(shape).astype(np.float32)
    left = np.linalg.qr(rng.standard_normal((runs, rows, rows)))[0].astype(np.float32)
    right = np.linalg.qr(rng.standard_normal((runs, cols, cols)))[0].astype(np.float32)
    half, rotated = np.empty_like(g), np.empty_like(g)
    left_outer, right_outer = np.empty_like(left), np.empty_like(right)

    def run() -> None:
        for _ in range(steps):
            np.matmul(g, g.mT, out=left_outer)
            np.matmul(g.mT, g, out=right_outer)
            for back in (False, False, True):  # g and m forward, the update back
                np.matmul(left if back else left.mT, g, out=half)
                np.matmul(half, right.mT if back else right, out=rotated)
        for statistic, basis in ((left_outer, left), (right_outer, right)):
            np.linalg.qr(statistic @ basis)

    return run


def matrix_rows(repeats: int) -> list[Row]:
    """Muon and SOAP against their linear algebra, MARS against its copy floor."""
    frequency = optimizers.create("soap").precondition_frequency
    ns_steps = optimizers.create("muon").ns_steps
    cases = {
        "muon": (
            rule_steps("muon", MATRIX_SHAPE, 1),
            newton_schulz_floor(MATRIX_SHAPE, ns_steps),
            f"muon, {MATRIX_SHAPE[1]}x{MATRIX_SHAPE[2]}, 1 step; floor = {ns_steps} NS matmuls",
        ),
        "soap": (
            rule_steps("soap", MATRIX_SHAPE, frequency),
            soap_floor(MATRIX_SHAPE, frequency),
            f"soap, {MATRIX_SHAPE[1]}x{MATRIX_SHAPE[2]}, {frequency} steps; floor = matmuls, QR",
        ),
        "mars": (
            rule_steps("mars", (1, MARS_SIZE), 1),
            copy_floor(9, MARS_SIZE),
            "mars, N = 10^6, 1 step; floor = np.copyto of 9 arrays",
        ),
    }
    rows = []
    with threadpool_limits(1):
        for name, (ours, floor, label) in cases.items():
            times = side_by_side({"ours": ours, "floor": floor}, repeats, 1)
            rows.append(Row(label, times["ours"], times["floor"], TARGETS[name]))
    return rows

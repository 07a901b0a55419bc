"""Rules whose reference is pytorch-optimizer (``reference``), and rules whose torch.optim
reference is per tensor (Adafactor), against that reference in float64: each run's slice is its
own torch parameter, the lr follows a schedule set on the reference's param group every step, and
the case rows switch on weight decay. 150 steps, 1e-9 relative."""

import numpy as np
import pytest

import optimizers
from tests.optimizers.cases import CASES, case_id
from tests.optimizers.reference import max_relative_difference

torch = pytest.importorskip("torch")
pytest.importorskip("pytorch_optimizer")

SHAPES = ((2, 5), (2, 3, 4), (2, 2, 3, 4), (2,))  # runs of a vector, a matrix, a 3-D, a scalar


def reference_of(name: str) -> str | None:
    """The dotted reference of a rule that reduces over whole tensors, or of pytorch-optimizer."""
    cls = optimizers.get(name)
    external = cls.reference
    per_tensor = cls.update is optimizers.Optimizer.update  # its own step: not elementwise
    return external or (cls.torch_reference if per_tensor else None)


WITH_REFERENCE = [c for c in CASES if reference_of(c[0])]


@pytest.fixture(autouse=True)
def float64_scalars():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def test_every_rule_with_an_external_reference_is_checked_against_it():
    external = [n for n in optimizers.names() if optimizers.get(n).reference]
    assert set(external) <= {name for name, _ in WITH_REFERENCE}
    assert {"adafactor", "lamb", "lars", "adan", "adopt"} <= {name for name, _ in WITH_REFERENCE}
    assert optimizers.describe("lamb").extra["reference"] == "pytorch_optimizer.Lamb"


@pytest.mark.parametrize("foreach", [None, False], ids=["default", "per-tensor"])
@pytest.mark.parametrize("case", WITH_REFERENCE, ids=case_id)
def test_matches_reference_over_150_steps_with_an_lr_schedule(case, foreach):
    name, kw = case
    opt = optimizers.create(name, **kw)
    worst = max_relative_difference(
        opt, reference_of(name), steps=150, shapes=SHAPES, rtol=1e-9, foreach=foreach
    )
    assert worst < 1e-9


@pytest.mark.parametrize("name", ["lamb", "lars", "adafactor"])
def test_per_tensor_norms_are_per_run(name):
    """Two runs stacked step exactly as each alone: no norm covers the stack."""
    rng = np.random.default_rng(1)
    shapes = ((2, 4, 3), (2, 6))
    params = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) * 10.0 ** (k - 2) for s in shapes] for k in range(5)]
    opt = optimizers.create(name)
    stacked = [p.copy() for p in params]
    state = opt.init(stacked)
    for g in grads:
        opt.step(stacked, g, state)
    for run in range(2):
        alone = [p[run : run + 1].copy() for p in params]
        state = opt.init(alone)
        for g in grads:
            opt.step(alone, [x[run : run + 1] for x in g], state)
        for a, s in zip(alone, stacked, strict=True):
            np.testing.assert_array_equal(a[0], s[run])

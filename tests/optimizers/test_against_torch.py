"""The same gradients fed to torch.optim (float64) and to optbench must give the same params.

This checks the implementations, not just the documented pseudo-code the textbook loops follow.
Each rule names its torch counterpart (``torch_reference``); Lion has none and is checked against
the paper's algorithm in test_rules.py."""

import importlib

import numpy as np
import pytest

import optimizers
from tests.optimizers.cases import CASES, case_id

torch = pytest.importorskip("torch")

WITH_TORCH = [c for c in CASES if optimizers.get(c[0]).torch_reference]


def torch_class(dotted):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.fixture(autouse=True)
def float64_scalars():
    """torch keeps step counters and NAdam's mu_product in the default dtype: make it float64."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def test_every_rule_with_a_torch_counterpart_is_checked_against_it():
    with_torch = [n for n in optimizers.names() if optimizers.get(n).torch_reference]
    assert sorted({name for name, _ in WITH_TORCH}) == with_torch
    assert optimizers.describe("lion").extra["torch"] is None


@pytest.mark.parametrize("name", optimizers.names())
def test_fixed_torch_keywords_are_the_rule_defaults(name):
    """``torch_kwargs`` (momentum -> SGD(momentum=0.9)) is what the defaults pass to torch."""
    opt = optimizers.create(name)
    arguments = opt.torch_arguments()
    for key, value in type(opt).torch_kwargs.items():
        assert arguments[key] == value, (name, key)


@pytest.mark.parametrize("case", WITH_TORCH, ids=case_id)
def test_matches_torch_optim_over_100_steps(case):
    """Each run's slice is its own torch parameter, as torch's per-tensor norms (Adafactor) need."""
    name, kw = case
    opt = optimizers.create(name, **kw)
    rng = np.random.default_rng(5)
    params = [rng.standard_normal((2, 4)), rng.standard_normal((2, 3, 3))]
    tensors = [
        [torch.tensor(run.copy(), dtype=torch.float64, requires_grad=True) for run in p]
        for p in params
    ]
    flat = [tensor for per_run in tensors for tensor in per_run]
    reference = torch_class(opt.torch_reference)(flat, **opt.torch_arguments())
    state = opt.init(params)
    for t in range(100):
        grads = [rng.standard_normal(p.shape) * np.exp(rng.normal()) for p in params]
        opt.step(params, grads, state)
        for per_run, g in zip(tensors, grads, strict=True):
            for tensor, run in zip(per_run, g, strict=True):
                tensor.grad = torch.tensor(run.copy())
        reference.step()
        for p, per_run in zip(params, tensors, strict=True):
            expected = np.stack([tensor.detach().numpy() for tensor in per_run])
            np.testing.assert_allclose(p, expected, rtol=1e-11, atol=1e-13, err_msg=f"step {t + 1}")

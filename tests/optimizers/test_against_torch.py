"""The same gradients fed to torch.optim (float64) and to optbench must give the same params.

This checks the implementations, not just the documented pseudo-code the textbook loops follow.
Lion is not in torch.optim; it is checked against the paper's algorithm in test_rules.py."""

import numpy as np
import pytest

import optimizers
from tests.optimizers.cases import CASES, case_id

torch = pytest.importorskip("torch")

TORCH_CLASS = {
    "sgd": "SGD", "momentum": "SGD", "nesterov": "SGD", "adagrad": "Adagrad",
    "rmsprop": "RMSprop", "adadelta": "Adadelta", "adam": "Adam", "adamw": "AdamW",
    "amsgrad": "Adam", "adamax": "Adamax", "nadam": "NAdam", "radam": "RAdam", "rprop": "Rprop",
}  # fmt: skip


@pytest.fixture(autouse=True)
def float64_scalars():
    """torch keeps step counters and NAdam's mu_product in the default dtype: make it float64."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in TORCH_CLASS], ids=case_id)
def test_matches_torch_optim_over_100_steps(case):
    name, kw = case
    opt = optimizers.create(name, **kw)
    hyper = opt.hyperparameters()  # the resolved values, defaults included
    if name == "adamw":
        del hyper["decoupled_weight_decay"]  # implied by torch.optim.AdamW itself
    rng = np.random.default_rng(5)
    params = [rng.standard_normal((2, 4)), rng.standard_normal((2, 3, 3))]
    tensors = [torch.tensor(p.copy(), dtype=torch.float64, requires_grad=True) for p in params]
    reference = getattr(torch.optim, TORCH_CLASS[name])(tensors, **hyper)
    state = opt.init(params)
    for t in range(100):
        grads = [rng.standard_normal(p.shape) * np.exp(rng.normal()) for p in params]
        opt.step(params, grads, state)
        for tensor, g in zip(tensors, grads, strict=True):
            tensor.grad = torch.tensor(g)
        reference.step()
        for p, tensor in zip(params, tensors, strict=True):
            np.testing.assert_allclose(
                p, tensor.detach().numpy(), rtol=1e-11, atol=1e-13, err_msg=f"step {t + 1}"
            )

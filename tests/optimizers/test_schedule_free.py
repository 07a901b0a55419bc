"""Schedule-free SGD and AdamW: the evaluation point is the ``schedulefree`` package's
``optimizer.eval()`` parameters, and the coefficients take per-run hyperparameters. (Their
trajectories are checked against the package in test_against_pytorch_optimizer.py.)"""

import numpy as np
import pytest

import optimizers
from tests.optimizers.per_run import assert_coefficients_per_run
from tests.optimizers.reference import build_reference, lr_schedule

torch = pytest.importorskip("torch")
pytest.importorskip("schedulefree")

SHAPES = ((3, 4, 5), (3, 6))  # three runs of a matrix and of a vector
CASES = [
    ("schedulefree_sgd", {"lr": 0.5, "weight_decay": 0.01, "warmup_steps": 20}),
    ("schedulefree_sgd", {"lr": 0.2, "momentum": 0.7, "r": 0.5, "weight_lr_power": 1.0}),
    ("schedulefree_adamw", {"lr": 0.01, "weight_decay": 0.05, "warmup_steps": 30}),
    ("schedulefree_adamw", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.01, "r": 1.0}),
]


@pytest.fixture(autouse=True)
def float64_scalars():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.mark.parametrize(("name", "kw"), CASES)
def test_eval_params_are_the_packages_eval_parameters(name, kw):
    """After 120 steps with a per-step lr, x from eval_params equals the params the package's
    ``eval()`` leaves (1e-9 relative); the params themselves stay the iterate y."""
    opt = optimizers.create(name, **kw)
    rng = np.random.default_rng(11)
    params = [rng.standard_normal(s) for s in SHAPES]
    tensors = [
        [torch.tensor(p[run].copy(), requires_grad=True) for p in params] for run in range(3)
    ]
    refs = [build_reference(opt, opt.reference, per_run) for per_run in tensors]
    state = opt.init(params)
    np.testing.assert_array_equal(opt.eval_params(params, state)[0], params[0])  # x_0 = y_0
    for t in range(120):
        lr = lr_schedule(opt.lr, t, 120)
        grads = [rng.standard_normal(p.shape) for p in params]
        opt.step(params, grads, state, lr=lr)
        for run, ref in enumerate(refs):
            for tensor, g in zip(tensors[run], grads, strict=True):
                tensor.grad = torch.tensor(g[run].copy())
            ref.param_groups[0]["lr"] = lr
            ref.step()
    iterate = [p.copy() for p in params]
    x = opt.eval_params(params, state)
    for ref in refs:
        ref.eval()
    for k, array in enumerate(x):
        expected = np.stack([tensors[run][k].detach().numpy() for run in range(3)])
        np.testing.assert_allclose(array, expected, rtol=1e-9, atol=0.0)
        assert not np.allclose(array, iterate[k], rtol=1e-6)  # x is not y
        np.testing.assert_array_equal(params[k], iterate[k])  # eval_params left y alone


@pytest.mark.parametrize(("name", "kw"), CASES)
def test_coefficients_take_per_run_hyperparameters(name, kw):
    """Per-run arrays (lr and the continuous hyperparameters) give, run by run, the coefficients
    of that run's configuration stacked alone, bit for bit, over several steps."""
    opt = optimizers.create(name, **kw)
    values = {"weight_decay": np.array([0.01, 0.0, 0.2]), "r": np.array([0.0, 0.5, 1.0])}
    values["weight_lr_power"] = np.array([2.0, 1.0, 0.5])
    if name == "schedulefree_sgd":
        values["momentum"] = np.array([0.9, 0.5, 0.8])
    else:
        values["betas"] = (np.array([0.9, 0.8, 0.95]), np.array([0.999, 0.99, 0.9]))
        values["eps"] = np.array([1e-8, 1e-6, 1e-3])
    values["weight_decay"][1] = 0.1  # zero or not is shared by a run group
    assert_coefficients_per_run(opt, values, np.array([0.3, 0.01, 0.1]), SHAPES)

"""Schedule-free SGD and AdamW: the evaluation point is the ``schedulefree`` package's
``optimizer.eval()`` parameters, and every hyperparameter may be per run. (Their
trajectories are checked against the package in test_against_pytorch_optimizer.py.)"""

import numpy as np
import pytest

import optimizers
from tests.optimizers.reference import build_reference, lr_schedule
from tests.optimizers.test_per_run import check_sweep

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


@pytest.mark.parametrize("name", ["schedulefree_sgd", "schedulefree_adamw"])
def test_every_hyperparameter_may_differ_between_runs(name):
    """Configurations differing in every continuous hyperparameter, exponents 2 and 0.5 among
    them (NumPy's power takes shortcuts for a scalar exponent that an array of them does not):
    each run's params, z, v, lr_max, weight_sum and x are its configuration's alone, bit for bit,
    in float32 and float64, with and without blocks."""
    momentum = [{"momentum": m} for m in (0.9, 0.5, 0.8)]
    if name == "schedulefree_adamw":
        betas = ((0.9, 0.999), (0.8, 0.99), (0.95, 0.9))
        momentum = [{"betas": b, "eps": e} for b, e in zip(betas, (1e-8, 1e-6, 1e-3), strict=True)]
    configs = [
        {"lr": lr, "weight_decay": wd, "warmup_steps": 5, "r": r, "weight_lr_power": power, **m}
        for lr, wd, r, power, m in zip(
            (0.3, 0.01, 0.1),
            (0.01, 0.1, 0.2),
            (0.25, 0.5, 2.0),
            (2.0, 0.5, 1.0),
            momentum,
            strict=True,
        )
    ]
    for blocks in (False, True):
        check_sweep(name, (configs, [2, 1, 3], [[1, 2, 0]], 7, blocks))

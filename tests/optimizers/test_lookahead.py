"""Lookahead: its evaluation point is the reference's slow weights, its inner rule is built from
``lr`` and ``inner_hyperparameters``, and bad input is a one-line error. (Trajectories against
pytorch-optimizer's Lookahead are in test_against_pytorch_optimizer.py; a per-run lr and alpha in
test_per_run.py.)"""

import json

import numpy as np
import pytest

import optimizers
from tests.optimizers.reference import build_reference, lr_schedule

SHAPES = ((2, 3, 4), (2, 5))


def test_eval_params_are_the_slow_weights_the_reference_evaluates():
    """After 13 steps with k = 5, eval_params equals the params the reference's
    ``backup_and_load_cache`` loads for evaluation (1e-9 relative), not the fast weights."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("pytorch_optimizer")
    opt = optimizers.create("lookahead", inner="adam", lr=0.05, inner_hyperparameters={})
    rng = np.random.default_rng(3)
    params = [rng.standard_normal(s) for s in SHAPES]
    tensors = [
        [torch.tensor(p[run].copy(), dtype=torch.float64, requires_grad=True) for p in params]
        for run in range(2)
    ]
    refs = [build_reference(opt, opt.reference, per_run) for per_run in tensors]
    state = opt.init(params)
    for t in range(13):
        lr = lr_schedule(opt.lr, t, 13)
        grads = [rng.standard_normal(p.shape) for p in params]
        opt.step(params, grads, state, lr=lr)
        for run, ref in enumerate(refs):
            for tensor, g in zip(tensors[run], grads, strict=True):
                tensor.grad = torch.tensor(g[run].copy())
            ref.param_groups[0]["lr"] = lr
            ref.step()
    for ref in refs:
        ref.backup_and_load_cache()
    for k, slow in enumerate(opt.eval_params(params, state)):
        expected = np.stack([tensors[run][k].detach().numpy() for run in range(2)])
        np.testing.assert_allclose(slow, expected, rtol=1e-9, atol=0.0)
        assert not np.allclose(slow, params[k])  # three fast steps since the last pull


def test_inner_rule_and_its_hyperparameters():
    opt = optimizers.create(
        "lookahead", inner="adam", lr=0.01, inner_hyperparameters={"betas": (0.8, 0.99)}
    )
    assert opt.inner_optimizer == optimizers.create("adam", lr=0.01, betas=(0.8, 0.99))
    assert json.loads(opt.inner_hyperparameters) == {"betas": [0.8, 0.99]}
    assert optimizers.create("lookahead", **opt.hyperparameters()) == opt  # as a grid stores it
    default = optimizers.create("lookahead", inner="prodigy")
    assert default.lr == optimizers.create("prodigy").lr  # lr=None: the inner rule's default
    # the inner state plus the slow weights, and the slow momenta with pullback
    assert default.state_floats_per_param() == 4 + 1
    sgd = optimizers.create(
        "lookahead",
        inner="sgd",
        pullback_momentum="pullback",
        inner_hyperparameters='{"momentum": 0.9}',
    )
    assert sgd.state_floats_per_param() == 1 + 2
    assert optimizers.create("lookahead", inner="rprop").uses_lr_per_step is False


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"inner": "adamm"}, r"unknown optimizer 'adamm' \(did you mean 'adam'"),
        ({"inner_hyperparameters": {"lr": 0.1}}, "give the inner rule's lr as lr"),
        ({"inner_hyperparameters": {"betaz": 0.1}}, "unknown keyword 'betaz'"),
        ({"inner_hyperparameters": "{betas"}, "inner_hyperparameters is not JSON"),
        ({"inner_hyperparameters": "[1]"}, "inner_hyperparameters must be a mapping"),
        ({"k": 0}, "k must be an integer >= 1"),
        ({"alpha": 1.5}, r"alpha=1.5 is out of range"),
        ({"pullback_momentum": "pulback"}, r"did you mean 'pullback'"),
    ],
)
def test_bad_input_is_a_one_line_value_error(kw, message):
    with pytest.raises(ValueError, match=message) as error:
        optimizers.create("lookahead", **kw)
    assert "\n" not in str(error.value)

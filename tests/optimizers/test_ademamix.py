"""AdEMAMix's coefficients take per-run hyperparameters. (Its trajectory is checked against
pytorch-optimizer in test_against_pytorch_optimizer.py.)"""

import numpy as np
import pytest

import optimizers
from tests.optimizers.per_run import assert_coefficients_per_run


@pytest.mark.parametrize(
    "kw",
    [
        {"weight_decay": 0.01},
        {"weight_decay": 0.01, "weight_decouple": True, "t_alpha_beta3": 20.0},
        {"weight_decay": 0.01, "weight_decouple": True, "fixed_decay": True},
    ],
)
def test_coefficients_take_per_run_hyperparameters(kw):
    opt = optimizers.create("ademamix", **kw)
    values = {
        "betas": tuple(
            np.array(b) for b in ([0.9, 0.8, 0.5], [0.999, 0.99, 0.9], [0.9999, 0.99, 0.95])
        ),
        "weight_decay": np.array([0.01, 0.1, 0.5]),
        "alpha": np.array([5.0, 1.0, 8.0]),
        "eps": np.array([1e-8, 1e-6, 1e-3]),
    }
    if "t_alpha_beta3" in kw:
        values["t_alpha_beta3"] = np.array([20.0, 5.0, 100.0])
    assert_coefficients_per_run(opt, values, np.array([1e-3, 0.1, 0.01]), ((3, 4, 5), (3, 6)))


def test_slow_momentum_warmup_follows_the_reference_schedule():
    """With t_alpha_beta3 = T, alpha_t = min(t alpha / T, alpha) and beta3_t rises from beta1 to
    beta3 (pytorch-optimizer's schedule_alpha and schedule_beta3)."""
    pytest.importorskip("pytorch_optimizer")
    from pytorch_optimizer import AdEMAMix as Reference

    opt = optimizers.create("ademamix", t_alpha_beta3=50.0, betas=(0.9, 0.99, 0.999))
    state = opt.init([np.ones((1, 2))])
    for t in (1, 10, 49, 50, 51, 200):
        state.step = t
        coefs = opt.coefficients(state, 1e-3)
        assert coefs["alpha"] == pytest.approx(Reference.schedule_alpha(50.0, t, 5.0), rel=1e-12)
        beta3_t = Reference.schedule_beta3(50.0, t, 0.9, 0.999)
        assert 1.0 - coefs["slow"] == pytest.approx(beta3_t, rel=1e-12)

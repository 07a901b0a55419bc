"""AdEMAMix: per-run hyperparameters and its slow momentum's warmup schedule. (Its trajectory is
checked against pytorch-optimizer in test_against_pytorch_optimizer.py.)"""

import numpy as np
import pytest

import optimizers
from tests.optimizers.test_per_run import check_sweep


def test_every_hyperparameter_may_differ_between_runs():
    """Two groups of configurations differing in every continuous hyperparameter (the last ones
    too, which the hypothesis test in test_per_run.py leaves as drawn): each run's numbers are its
    configuration's alone, bit for bit, in float32 and float64, with and without blocks."""
    decoupled = {"weight_decouple": True, "t_alpha_beta3": 20.0}
    configs = [
        {"lr": 0.01, "betas": (0.9, 0.999, 0.9999), "weight_decay": 0.01, "alpha": 5.0,
         "eps": 1e-8, **decoupled},
        {"lr": 0.1, "betas": (0.8, 0.99, 0.9), "weight_decay": 0.1, "alpha": 1.0,
         "eps": 1e-3, **decoupled, "t_alpha_beta3": 5.0},
        {"lr": 0.03, "betas": (0.5, 0.9, 0.95), "weight_decay": 0.5, "alpha": 8.0,
         "eps": 1e-6, **decoupled, "t_alpha_beta3": 100.0},
    ]  # fmt: skip
    for blocks in (False, True):
        check_sweep("ademamix", (configs, [2, 1, 3], [[2, 0, 1]], 5, blocks))


def test_per_run_betas_are_checked_value_by_value():
    betas = (np.array([0.9, 0.8]), np.array([0.999, 0.99]), np.array([0.9999, 1.0]))
    with pytest.raises(ValueError, match=r"ademamix: betas\[2\]\[1\]=1.0 is out of range"):
        optimizers.create("ademamix", betas=betas)
    with pytest.raises(ValueError, match="ademamix: betas must be three numbers"):
        optimizers.create("ademamix", betas=(0.9, 0.999))
    opt = optimizers.create("ademamix", betas=betas[:2] + (np.array([0.9999, 0.99]),))
    assert all(b.dtype == np.float64 and not b.flags.writeable for b in opt.betas)


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

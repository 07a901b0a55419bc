"""create/names/register: clear errors for bad names and hyperparameters, and user plugins."""

import dataclasses

import numpy as np
import pytest

import optimizers
import optimizers.base


@pytest.mark.parametrize(
    "name, kw, words",
    [
        ("adam", {"lr": -0.1}, ["lr", "-0.1", "[0, inf)"]),
        ("adam", {"betas": (0.9, 1.0)}, ["betas[1]", "1.0", "[0, 1)"]),
        ("lion", {"betas": (-0.1, 0.9)}, ["betas[0]", "-0.1"]),
        ("adam", {"eps": 0.0}, ["eps", "0.0", "(0, inf)"]),
        ("rmsprop", {"eps": -1e-8}, ["eps"]),
        ("adam", {"lr": float("nan")}, ["lr", "nan"]),
        ("adam", {"betas": 0.9}, ["betas", "pair"]),
        ("sgd", {"momentum": -0.5}, ["momentum", "-0.5"]),
        ("sgd", {"nesterov": True}, ["nesterov", "momentum"]),
        ("adagrad", {"lr_decay": -1}, ["lr_decay"]),
        ("rprop", {"etas": (1.5, 1.2)}, ["etas"]),
        ("adam", {"beta": (0.9, 0.99)}, ["beta", "betas"]),
        ("adam", {"weight_dacay": 0.1}, ["weight_dacay", "weight_decay"]),
        ("adam", {"lr": "fast"}, ["lr", "number"]),
    ],
)
def test_bad_hyperparameters_name_the_parameter_value_and_range(name, kw, words):
    with pytest.raises(ValueError) as info:
        optimizers.create(name, **kw)
    for word in words:
        assert word in str(info.value)


def test_unknown_optimizer_lists_closest_names():
    with pytest.raises(
        ValueError, match=r"unknown optimizer 'adamm' \(did you mean 'adam', 'radam'"
    ):
        optimizers.create("adamm")
    with pytest.raises(ValueError, match="did you mean 'nesterov'"):
        optimizers.create("nestrov")


def test_register_a_user_optimizer(monkeypatch):
    monkeypatch.setattr(optimizers.base, "_REGISTRY", dict(optimizers.base._REGISTRY))

    @optimizers.register("sign_sgd_test")
    @dataclasses.dataclass(frozen=True)
    class SignSGD(optimizers.Optimizer):
        lr: float = 0.01

        def init(self, params):
            return None

        def step(self, params, grads, state, lr=None):
            for p, g in zip(params, grads, strict=True):
                p -= (self.lr if lr is None else lr) * np.sign(g)

    assert "sign_sgd_test" in optimizers.names()
    opt = optimizers.create("sign_sgd_test", lr=0.5)
    p = [np.zeros((1, 2))]
    opt.step(p, [np.array([[3.0, -1.0]])], opt.init(p))
    np.testing.assert_array_equal(p[0], [[-0.5, 0.5]])
    with pytest.raises(ValueError, match="lr"):
        optimizers.create("sign_sgd_test", lr=-1.0)


def test_register_rejects_non_optimizers():
    with pytest.raises(TypeError):
        optimizers.register("not_an_optimizer")(object)


def test_hyperparameters_are_plain_python_values():
    opt = optimizers.create("adam", betas=[np.float64(0.8), 0.9], lr=np.float32(0.5))
    assert opt.betas == (0.8, 0.9) and type(opt.betas[0]) is float and type(opt.lr) is float
    assert opt.hyperparameters()["betas"] == (0.8, 0.9)
    hash(opt)  # frozen and hashable, so a configuration can key a cache

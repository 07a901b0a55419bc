"""``optbench list``: rules grouped by family, with their state size, in 80 columns."""

from dataclasses import dataclass

import numpy as np
import pytest

import optimizers
from bench.commands.listing import FAMILIES, WIDTH, family_of, list_everything, rules_by_family


@pytest.mark.parametrize("name", optimizers.names())
def test_every_builtin_rule_names_a_known_family(name):
    family = optimizers.describe(name).extra["family"]
    assert family in FAMILIES and family != "other"
    assert family == optimizers.get(name).family


def test_families_of_some_rules():
    expected = {"sgd": "classic", "nesterov": "classic", "adam": "adaptive", "adamw": "adaptive"}
    expected |= {"adafactor": "adaptive", "lion": "sign-based", "rprop": "sign-based"}
    for name, family in expected.items():
        assert family_of(optimizers.describe(name)) == family


def _plugin(name, **attributes):
    """A registered rule (plain SGD) with extra class attributes."""

    @dataclass(frozen=True)
    class Plugin(optimizers.Optimizer):
        """A plugin rule."""

        def init(self, params):
            return None

        def step(self, params, grads, state, lr=None):
            for p, g in zip(params, grads, strict=True):
                p -= self._lr(lr) * g

    for key, value in attributes.items():
        setattr(Plugin, key, value)
    optimizers.register(name, Plugin)


def test_a_rule_without_a_family_is_listed_under_other_last():
    _plugin("my_rule")
    _plugin("my_exotic_rule", family="exotic")
    groups = rules_by_family()
    order = [family for family, _ in groups]
    assert order[-2:] == ["exotic", "other"]
    assert dict(groups)["other"] == ["my_rule"]
    assert order[:3] == ["classic", "adaptive", "sign-based"]  # known ones in FAMILIES' order
    assert optimizers.describe("my_rule").extra["family"] == "other"  # the base class's default
    text = list_everything()
    assert "  [other]\n  my_rule" in text and "  [exotic]\n  my_exotic_rule" in text


def test_every_rule_is_listed_once_with_its_state_size():
    text = list_everything().split("\n\nproblems")[0]
    heads = [line.split()[0] for line in text.splitlines()[1:] if not line.startswith("   ")]
    rules = [head for head in heads if not head.startswith("[")]
    assert sorted(rules) == optimizers.names()
    assert "torch.optim.Adam; state 16 B/param" in text
    assert "pytorch_optimizer.Lamb; state 16 B/param" in text  # a reference outside torch.optim
    assert optimizers.create("adam").state_bytes_per_param(np.float64) == 16


def test_the_listing_fits_80_columns_with_plugins():
    _plugin("a_plugin_rule_with_a_very_long_name_indeed", family="a-long-family-name-of-its-own")
    text = list_everything()
    assert max(len(line) for line in text.splitlines()) <= WIDTH

"""Shared fixtures: every test starts from the built-in registries."""

import sys
from pathlib import Path

import pytest

import optimizers.base
import problems.base

TRUSTED = (str(Path(__file__).parents[1]), sys.prefix, sys.base_prefix)


@pytest.fixture(autouse=True)
def isolated_registries(monkeypatch):
    """Plugins registered by one test (in-process) must not leak into the next one."""
    monkeypatch.setattr(optimizers.base, "_REGISTRY", dict(optimizers.base._REGISTRY))
    monkeypatch.setattr(problems.base, "_REGISTRY", dict(problems.base._REGISTRY))
    before = set(sys.modules)
    monkeypatch.setattr(sys, "path", list(sys.path))  # grid folders added by plugins go away
    yield
    for name in set(sys.modules) - before:
        path = getattr(sys.modules[name], "__file__", None) or ""
        if path and not path.startswith(TRUSTED):
            del sys.modules[name]  # a plugin module written by the test: import it afresh next time

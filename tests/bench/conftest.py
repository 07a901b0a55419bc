"""Grids shared by the bench tests: the tiny grid, and the slow grid the fault tests strike."""

from pathlib import Path

import pytest

# Two problems x three optimizer configurations: six cells that run in a second or two.
TINY_TABLES = """\
[[problems]]
name = "rosenbrock"
start_noise = 0.1

[[problems]]
name = "xor"

[[optimizers]]
name = "adam"
lr = [0.01, 0.1]

[[optimizers]]
name = "sgd"
lr = 0.05
"""
TINY_CELLS = 6


def tiny_grid_text(name: str = "tiny", log_every: int = 20) -> str:
    """The tiny grid as TOML: 3 seeds of 60 steps per cell, logged every ``log_every`` steps."""
    return f'name = "{name}"\nseeds = 3\nsteps = 60\nlog_every = {log_every}\n\n{TINY_TABLES}'


TINY_GRID = tiny_grid_text()

# The tiny grid logged more often: the reference for the crash-and-resume tests.
CRASH_GRID = tiny_grid_text("crash", log_every=10)
CRASH_CELLS = TINY_CELLS

# Cells of a few tenths of a second, so that some are in flight when we strike; each of its own
# rule, so that no two share a run group (a group's cells are stored together when it ends).
SLOW_GRID = """\
name = "slow"
seeds = 2
steps = 800
log_every = 200

[[problems]]
name = "spirals"
hidden = 24

[[optimizers]]
name = "adam"
lr = 0.001

[[optimizers]]
name = "nadam"
lr = 0.001

[[optimizers]]
name = "radam"
lr = 0.001

[[optimizers]]
name = "adamax"
lr = 0.001

[[optimizers]]
name = "amsgrad"
lr = 0.001

[[optimizers]]
name = "sgd"
lr = 0.01

[[optimizers]]
name = "rmsprop"
lr = 0.001

[[optimizers]]
name = "adagrad"
lr = 0.01
"""
SLOW_CELLS = 8


@pytest.fixture
def tiny_grid(tmp_path: Path) -> Path:
    """:data:`TINY_GRID` written to ``tmp_path / "tiny.toml"``."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_GRID)
    return path


@pytest.fixture
def crash_grid(tmp_path: Path) -> Path:
    """:data:`CRASH_GRID` written to ``tmp_path / "crash.toml"``."""
    path = tmp_path / "crash.toml"
    path.write_text(CRASH_GRID)
    return path


@pytest.fixture
def slow_grid(tmp_path: Path) -> Path:
    """:data:`SLOW_GRID` written to ``tmp_path / "slow.toml"``."""
    path = tmp_path / "slow.toml"
    path.write_text(SLOW_GRID)
    return path

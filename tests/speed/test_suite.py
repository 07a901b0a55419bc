"""The speed suite ships inside the package, is collected only by its own configuration, and its
helpers count bytes and size rounds as the benchmarks expect."""

import dataclasses
import fnmatch
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import setuptools

import bench
from bench.speed import runner, suite
from bench.speed.suite.measuring import (
    MAX_ROUNDS,
    MIN_CONTROL_BYTES,
    CopyControl,
    array_bytes,
    rounds_for,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(bench.__file__).resolve().parent


def test_the_suite_is_found_inside_the_package_not_in_tests():
    assert runner.SUITE == PACKAGE / "speed" / "suite"
    assert Path(suite.__file__).resolve().parent == runner.SUITE
    assert "tests" not in runner.SUITE.relative_to(PACKAGE.parent).parts
    assert (runner.SUITE / "conftest.py").is_file() and (runner.SUITE / "pytest.ini").is_file()
    assert sorted(p.name for p in runner.SUITE.glob("test_*.py")) == [
        "test_harness_speed.py",
        "test_problem_speed.py",
        "test_step_speed.py",
    ]


def test_a_wheel_would_hold_every_file_of_the_suite():
    """The suite is a package (its .py files ship), and every other file in it is package data."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = setuptools.find_packages(ROOT, include=config["packages"]["find"]["include"])
    assert "bench.speed.suite" in packages
    data = config.get("package-data", {}).get("bench.speed.suite", [])
    others = [p.name for p in runner.SUITE.iterdir() if p.is_file() and p.suffix != ".py"]
    assert others  # at least pytest.ini
    for name in others:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in data), name


def collect(*args: str) -> str:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(command + list(args), cwd=ROOT, capture_output=True, text=True)
    return done.stdout + done.stderr


@pytest.mark.timeout(120)
def test_the_project_test_run_does_not_collect_the_suite_but_its_own_config_does():
    assert "test_step_speed" not in collect("bench")
    own = collect("bench/speed/suite")
    # names relative to the suite (its pytest.ini sets the rootdir), wherever it is installed
    assert "\ntest_step_speed.py::test_step[adam-1e3]" in "\n" + own


@dataclasses.dataclass
class State:
    m: np.ndarray
    v: np.ndarray
    count: int = 0


def test_array_bytes_walks_lists_tuples_and_dataclasses():
    a = np.zeros((2, 3), np.float32)  # 24 bytes
    b = np.zeros(5, np.float64)  # 40 bytes
    state = [State(np.zeros(4, np.float32), np.zeros(4, np.float32))]  # 32 bytes
    assert array_bytes([a], (b,), state) == 24 + 40 + 32
    assert array_bytes(None, 3, "text") == 0


def test_the_control_copies_the_bytes_asked_for_and_at_least_a_page():
    control = CopyControl(10_000)
    assert control.nbytes == 10_000 and control.src.nbytes == 5_000
    control()
    np.testing.assert_array_equal(control.dst, control.src)
    assert CopyControl(10).nbytes == MIN_CONTROL_BYTES


@pytest.mark.parametrize(
    ("per_round", "max_time", "min_rounds", "rounds"),
    [
        (1e-3, 1.0, 5, 999),  # 1 s at 1.002 ms a round (2 us of overhead each), rounded up
        (1.0, 1.0, 5, 5),  # at least min_rounds
        (1e-9, 1.0, 5, MAX_ROUNDS),  # at most MAX_ROUNDS
    ],
)
def test_rounds_fill_the_time_within_bounds(per_round, max_time, min_rounds, rounds):
    assert rounds_for(per_round, max_time, min_rounds) == rounds

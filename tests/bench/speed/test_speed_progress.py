"""``optbench speed`` reports a line per finished benchmark while the suite runs."""

import sys
import textwrap

import pytest

from bench.speed import runner
from bench.speed.errors import SpeedError

FAKE_PYTEST = textwrap.dedent(
    """
    import json, sys, time
    for k, name in enumerate(["test_step[sgd-1e3]", "test_step[adam-1e3]"]):
        print(f"test_step_speed.py::{name} PASSED" + " " * 20 + f"[{50 * (k + 1):3d}%]",
              flush=True)
    print("some pytest-benchmark table line")
    if sys.argv[1] == "fail":
        print("E   AssertionError: boom")
        sys.exit(1)
    open(sys.argv[2], "w").write(json.dumps({"benchmarks": []}))
    """
)


def test_a_finished_benchmark_line_is_recognised():
    line = "test_step_speed.py::test_step[adam-1e6] PASSED                  [ 12%]\n"
    assert runner.finished_benchmark(line) == ("test_step[adam-1e6]", "PASSED", 12)
    failed = "test_problem_speed.py::test_loss_and_grad[xor] FAILED [100%]"
    assert runner.finished_benchmark(failed) == ("test_loss_and_grad[xor]", "FAILED", 100)
    assert runner.finished_benchmark("==== 4 passed in 3.1s ====") is None
    assert "-v" in runner.pytest_command(runner.SUITE, runner.SUITE / "x.json")


def test_each_process_reports_each_benchmark_as_it_finishes(tmp_path):
    lines = []
    report = runner._reporter(lines.append, 0, 2)
    json_path = tmp_path / "run0.json"
    command = [sys.executable, "-c", FAKE_PYTEST, "ok", str(json_path)]
    assert runner._run_process(command, json_path, echo=False, on_line=report) == {"benchmarks": []}
    assert lines[0] == "process 1/2: starting pytest and collecting the suite"
    assert [line.split(" (")[0] for line in lines[1:]] == [
        "process 1/2  50%  test_step[sgd-1e3]",
        "process 1/2 100%  test_step[adam-1e3]",
    ]


def test_a_failed_suite_keeps_the_end_of_its_output(tmp_path):
    json_path = tmp_path / "run0.json"
    command = [sys.executable, "-c", FAKE_PYTEST, "fail", str(json_path)]
    with pytest.raises(SpeedError, match="pytest exit 1") as error:
        runner._run_process(command, json_path, echo=False)
    assert "AssertionError: boom" in str(error.value)

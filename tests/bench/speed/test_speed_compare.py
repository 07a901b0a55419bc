"""Speed tracking: the asv-like comparison on synthetic rounds, reading pytest-benchmark files,
and ``optbench speed`` end to end on a plugin optimizer slowed down by a sleep."""

import json
import textwrap

import numpy as np
import pytest

from bench.cli import main
from bench.speed.compare import Benchmark, compare, parse_threshold
from bench.speed.errors import SpeedError
from bench.speed.formatting import format_changes, format_run, short_name
from bench.speed.runner import pytest_command
from bench.speed.saved import find_saved, load_run, merge_documents


def bench(median, control=1e-5, rounds=200, spread=0.03, seed=0, name="b"):
    """Rounds with log-normal noise around ``median``; the control drawn alike, independently."""
    rng = np.random.default_rng(seed)
    times = median * np.exp(spread * rng.standard_normal(rounds))
    controls = control * np.exp(spread * rng.standard_normal(rounds))
    return Benchmark(name, times, controls)


def verdict(before, after, threshold=0.10):
    (change,) = compare({"b": before}, {"b": after}, threshold)
    return change


def test_the_same_distribution_is_same():
    change = verdict(bench(1e-4, seed=1), bench(1e-4, seed=2))
    assert change.verdict == "same"
    assert change.time_factor == pytest.approx(1.0, abs=0.02)


def test_a_slowdown_beyond_the_threshold_is_a_regression_and_a_speedup_an_improvement():
    slower = verdict(bench(1e-4, seed=1), bench(1.3e-4, seed=2))
    assert slower.verdict == "regression"
    assert slower.time_factor == pytest.approx(1.3, rel=0.03)
    assert slower.ratio_factor == pytest.approx(1.3, rel=0.05)
    assert slower.p_value < 1e-6
    assert verdict(bench(1.3e-4, seed=1), bench(1e-4, seed=2)).verdict == "improvement"


def test_a_real_change_below_the_threshold_is_same():
    change = verdict(bench(1e-4, spread=0.005, seed=1), bench(1.05e-4, spread=0.005, seed=2))
    assert change.verdict == "same"


def test_a_slower_machine_seen_by_the_control_is_not_a_regression():
    """Everything 1.5x slower, the control included: the seconds moved, the ratio did not."""
    change = verdict(bench(1e-4, control=1e-5, seed=1), bench(1.5e-4, control=1.5e-5, seed=2))
    assert change.time_factor == pytest.approx(1.5, rel=0.03)
    assert change.ratio_factor == pytest.approx(1.0, abs=0.03)
    assert change.verdict == "same"


def test_a_large_move_of_a_few_noisy_rounds_is_not_significant():
    before = Benchmark("b", np.array([1.0, 2.0, 3.0]) * 1e-4, None)
    after = Benchmark("b", np.array([1.5, 2.5, 3.5]) * 1e-4, None)
    change = verdict(before, after)
    assert change.time_factor == pytest.approx(2.5 / 2.0)
    assert change.p_value > 0.05
    assert change.verdict == "same"


def test_without_control_timings_the_seconds_alone_decide():
    before = Benchmark("b", bench(1e-4, seed=1).times, None)
    after = Benchmark("b", bench(2e-4, seed=2).times, None)
    change = verdict(before, after)
    assert change.ratio_factor is None
    assert change.verdict == "regression"


def test_benchmarks_in_one_run_only_are_new_or_gone():
    changes = compare({"old": bench(1e-4)}, {"new": bench(1e-4)})
    assert {c.name: c.verdict for c in changes} == {"old": "gone", "new": "new"}
    text = format_changes(changes, 0.1)
    assert "1 new, 1 gone" in text


def two_processes(first, second):
    """One benchmark timed in two processes: their rounds pooled, as run_suite pools them."""
    return Benchmark(
        "b",
        np.concatenate([first.times, second.times]),
        np.concatenate([first.control, second.control]),
        {"process_rounds": [len(first.times), len(second.times)]},
    )


def test_a_slowdown_in_one_process_only_is_not_a_regression():
    before = two_processes(bench(1e-4, seed=1), bench(1e-4, seed=2))
    unlucky = two_processes(bench(1e-4, seed=3), bench(1.6e-4, seed=4))
    change = verdict(before, unlucky)
    assert change.time_factor > 1.1  # the pooled median moved
    assert change.verdict == "same"
    slower = two_processes(bench(1.3e-4, seed=3), bench(1.3e-4, seed=4))
    assert verdict(before, slower).verdict == "regression"


def test_merge_documents_pools_rounds_and_recomputes_the_summary():
    def document(data, control):
        entry = {
            "fullname": "t::b",
            "stats": {"data": data, "median": float(np.median(data)), "rounds": len(data)},
            "extra_info": {"control": control, "params": 3},
        }
        return {"benchmarks": [entry], "machine_info": {"node": "x"}}

    merged = merge_documents(
        [document([1.0, 2.0, 3.0], [0.1, 0.1, 0.1]), document([4.0, 5.0], [0.2, 0.2])]
    )
    (entry,) = merged["benchmarks"]
    assert entry["stats"]["data"] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert entry["stats"]["median"] == 3.0 and entry["stats"]["rounds"] == 5
    assert entry["extra_info"]["control"] == [0.1, 0.1, 0.1, 0.2, 0.2]
    assert entry["extra_info"]["process_rounds"] == [3, 2]
    assert merged["machine_info"] == {"node": "x"}


@pytest.mark.parametrize(("text", "value"), [("10%", 0.1), ("0.25", 0.25), (" 5% ", 0.05)])
def test_parse_threshold(text, value):
    assert parse_threshold(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["ten", "0%", "-5%", "2000%"])
def test_parse_threshold_rejects_bad_values(text):
    with pytest.raises(SpeedError, match="threshold"):
        parse_threshold(text)


def write_run(path, data=(1e-4, 2e-4, 3e-4), control=(1e-5, 1e-5, 1e-5), with_data=True):
    stats = {"median": 2e-4, "rounds": len(data)}
    if with_data:
        stats["data"] = list(data)
    entry = {
        "name": "test_step[adam-1e3]",
        "fullname": "test_step_speed.py::test_step[adam-1e3]",
        "extra_info": {"control": list(control), "control_bytes": 4096, "params": 1000},
        "stats": stats,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"benchmarks": [entry], "machine_info": {}}))
    return path


def test_load_run_reads_rounds_control_and_extra_info(tmp_path):
    run = load_run(write_run(tmp_path / "run.json"))
    (name,) = run
    assert short_name(name) == "test_step[adam-1e3]"
    np.testing.assert_allclose(run[name].times, [1e-4, 2e-4, 3e-4])
    np.testing.assert_allclose(run[name].ratios, [10.0, 20.0, 30.0])
    assert run[name].extra == {"control_bytes": 4096, "params": 1000}
    assert "x control" in format_run(run)


def test_load_run_refuses_files_without_rounds(tmp_path):
    with pytest.raises(SpeedError, match="no rounds"):
        load_run(write_run(tmp_path / "run.json", with_data=False))
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(SpeedError, match="not a pytest-benchmark result"):
        load_run(tmp_path / "junk.json")


def test_find_saved_takes_the_newest_run_of_that_name(tmp_path):
    machine = tmp_path / "Linux-CPython-3.11-64bit"
    write_run(machine / "0001_main.json")
    write_run(machine / "0002_other.json")
    newest = write_run(machine / "0003_main.json")
    assert find_saved(tmp_path, "main") == newest
    assert find_saved(tmp_path, "0002").name == "0002_other.json"
    assert find_saved(tmp_path, str(newest)) == newest
    with pytest.raises(SpeedError, match="did you mean 'main'"):
        find_saved(tmp_path, "mian")
    with pytest.raises(SpeedError, match="valid: main, other"):
        find_saved(tmp_path, "zzz")


def test_the_pytest_command_saves_rounds_and_drops_the_projects_addopts(tmp_path):
    command = pytest_command(
        tmp_path, tmp_path / "out.json", save="main", storage=tmp_path, keyword="adam"
    )
    assert "--benchmark-only" in command and "addopts=" in command
    assert command[command.index("-c") + 1] == str(tmp_path / "pytest.ini")
    assert command[command.index("--rootdir") + 1] == str(tmp_path)
    assert "--benchmark-save=main" in command and "--benchmark-save-data" in command
    assert command[command.index("-k") + 1] == "adam"


def test_compare_with_an_unknown_name_exits_2_before_running(tmp_path, capsys):
    assert main(["speed", "--compare", "nothing", "--storage", str(tmp_path)]) == 2
    assert "no run saved as 'nothing'" in capsys.readouterr().err


PLUGIN = '''
import dataclasses
import time

import optimizers

SLEEP = {sleep}


@optimizers.register("slowpoke")
@dataclasses.dataclass(frozen=True)
class Slowpoke(optimizers.Optimizer):
    """Plain SGD that sleeps first, so its step time is the sleep."""

    lr: float = 0.01

    def init(self, params):
        return None

    def step(self, params, grads, state, lr=None):
        time.sleep(SLEEP)
        for p, g in zip(params, grads):
            p -= self._lr(lr) * g
'''


def test_speed_flags_a_slowed_optimizer_and_passes_an_unchanged_one(tmp_path, monkeypatch, capsys):
    """The plugin's step sleeps 5 ms; slowed, 15 ms. Sleep-bound steps keep the noise of a busy
    machine small next to the change; the threshold is 50% because a loaded machine wakes a
    sleeper late (by a millisecond or more), and that noise is not what this test is about."""
    monkeypatch.chdir(tmp_path)  # `optbench speed` puts the current directory on the path
    plugin = tmp_path / "speedplug.py"
    common = ["-k", "slowpoke-1e3", "--plugin", "speedplug", "--max-time", "0.1"]
    common += ["--storage", str(tmp_path / ".benchmarks"), "--threshold", "50%"]

    plugin.write_text(textwrap.dedent(PLUGIN.format(sleep=0.005)))
    assert main(["speed", "--save", "base", *common]) == 0
    assert "test_step[slowpoke-1e3]" in capsys.readouterr().out

    plugin.write_text(textwrap.dedent(PLUGIN.format(sleep=0.015)))
    assert main(["speed", "--compare", "base", *common]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(
        line.startswith("test_step[slowpoke-1e3]") and "regression" in line for line in lines
    )
    assert lines[-1].startswith("1 regression")

    plugin.write_text(textwrap.dedent(PLUGIN.format(sleep=0.005)))
    assert main(["speed", "--compare", "base", *common]) == 0
    assert "1 same" in capsys.readouterr().out

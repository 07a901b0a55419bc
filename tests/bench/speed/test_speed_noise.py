"""The speed gate on a shared, busy machine: rounds the scheduler interrupted are left out,
changes are confirmed by a second timing, and ``optbench speed --compare`` on unchanged code
finds nothing while a 20% slowdown of one rule is found every time."""

import numpy as np
import pytest

from bench.speed.compare import Benchmark, Change, compare, confirm
from bench.speed.formatting import format_run
from bench.speed.runner import keyword_for
from bench.speed.saved import merge_documents

SLICE = 4e-3  # what an interrupted round gains on the shared 2-core machine (measured)


def interrupted(share, seed, work=2.2e-3, rounds=120, processes=2):
    """Rounds of ``work`` seconds, of which ``share`` are interrupted for a scheduler slice; the
    0.55 ms control is too short to be interrupted. Two processes, as run_suite pools them."""
    rng = np.random.default_rng(seed)
    times = work * np.exp(0.03 * rng.standard_normal(rounds))
    preempted = rng.random(rounds) < share
    times[preempted] += SLICE
    control = 5.5e-4 * np.exp(0.03 * rng.standard_normal(rounds))
    extra = {"process_rounds": [rounds // processes] * processes}
    return Benchmark("b", times, control, extra, preempted)


def test_a_base_timed_while_the_machine_was_busy_is_not_an_improvement_later():
    """The issue's false improvements: 1e6 steps of ~2 ms timed while a neighbour ran tests had
    most rounds interrupted (median ~6 ms); the control did not notice. Timed again on a quieter
    machine, every median halved, and time and time/control both read as a 0.4x "improvement"."""
    busy, quiet = interrupted(0.7, seed=1), interrupted(0.1, seed=2)
    raw = [Benchmark("b", b.times, b.control, b.extra) for b in (busy, quiet)]  # no marks
    (blind,) = compare({"b": raw[0]}, {"b": raw[1]})
    assert blind.verdict == "improvement" and blind.time_factor < 0.5
    (change,) = compare({"b": busy}, {"b": quiet})
    assert change.verdict == "same"
    assert change.time_factor == pytest.approx(1.0, abs=0.03)


def test_settled_rounds_keep_their_process_and_their_control():
    bench = Benchmark(
        "b",
        np.arange(6.0),
        np.arange(6.0) + 10,
        {"process_rounds": [3, 3]},
        np.array([1, 0, 0, 0, 1, 1], dtype=bool),
    )
    settled = bench.settled()
    assert settled.times.tolist() == [1.0, 2.0]  # the second process kept one round: left out
    assert settled.control.tolist() == [11.0, 12.0]
    assert settled.extra["process_rounds"] == [2]
    assert Benchmark("b", np.ones(3), None).settled().times.tolist() == [1.0] * 3  # no marks


def test_a_benchmark_interrupted_in_every_round_is_unsettled_not_judged():
    always = interrupted(1.0, seed=3)
    (change,) = compare({"b": interrupted(0.1, seed=4)}, {"b": always})
    assert change.verdict == "unsettled" and change.p_value is None


def test_a_change_stands_only_when_timing_it_again_agrees():
    changes = [Change("a", "regression", 1.0, 1.5), Change("b", "improvement", 1.0, 0.5)]
    changes += [Change("c", "same"), Change("d", "regression")]
    recheck = [Change("a", "regression", 1.0, 1.4), Change("b", "same", 1.0, 1.02)]
    confirmed = confirm(changes, recheck)
    assert [c.verdict for c in confirmed] == ["regression", "same", "same", "same"]
    assert confirmed[0].after == 1.5 and confirmed[1].after == 1.02  # the second timing's


def test_merge_documents_pools_the_preemption_marks():
    def document(marks):
        entry = {
            "fullname": "t::b",
            "stats": {"data": [1.0] * len(marks)},
            "extra_info": {"control": [0.1] * len(marks), "preempted": marks},
        }
        return {"benchmarks": [entry]}

    (entry,) = merge_documents([document([0, 1]), document([1])])["benchmarks"]
    assert entry["extra_info"]["preempted"] == [0, 1, 1]


def test_keyword_for_selects_benchmarks_by_their_short_names():
    names = ["test_step_speed.py::test_step[sgd-1e6]", "test_step[adam-1e3]"]
    assert keyword_for(names) == "test_step[adam-1e3] or test_step[sgd-1e6]"


def test_the_run_table_shows_settled_medians_and_how_many_rounds_were_interrupted():
    busy = interrupted(0.7, seed=5)
    (line,) = format_run({"t::b": busy}).splitlines()[1:]
    assert " 2.18 ms     120 " in line  # the settled median (not ~6 ms); every round counted
    assert f"{busy.preempted.mean():.0%} of rounds interrupted" in line

"""Common random numbers: seed k of a problem gives every configuration the same start, the same
batches and the same gradient noise, so comparisons between configurations are paired."""

import numpy as np

from bench.grid.cell import RANDOM_STREAMS, Cell
from bench.run.engine import Loop, per_run_batch
from bench.store import Store

SPIRALS = {"problem": "spirals", "problem_params": {"hidden": 8, "noise": 0.1}, "batch_size": 16}


def configurations(**problem):
    """The same problem under configurations that differ in everything but problem and seeds."""
    return [
        Cell(**problem, optimizer="adam", optimizer_params={"lr": 0.01}, seeds=(0, 1, 2)),
        Cell(**problem, optimizer="sgd", optimizer_params={"lr": 0.5, "momentum": 0.9},
             clip="global_norm", clip_params={"max_norm": 1.0}, schedule="cosine",
             schedule_params={"T_max": 100, "min_factor": 0.0}, seeds=(0, 1, 2)),
    ]  # fmt: skip


def starts_and_batches(cell, batches=5):
    loop = Loop(cell)
    start = [p.copy() for p in loop.params]
    drawn = [per_run_batch(loop.problem, loop.rngs, cell.batch_size) for _ in range(batches)]
    return start, drawn


def test_every_configuration_starts_from_the_same_point_per_seed():
    problem = {"problem": "rosenbrock", "problem_params": {"dim": 2, "start_noise": 0.5}}
    (a, _), (b, _) = (starts_and_batches(c, 0) for c in configurations(**problem))
    np.testing.assert_array_equal(a[0], b[0])
    assert len({tuple(row) for row in a[0]}) == 3  # and seeds differ from each other


def test_every_configuration_sees_the_same_batches_per_seed():
    (start_a, batches_a), (start_b, batches_b) = (
        starts_and_batches(c) for c in configurations(**SPIRALS)
    )
    for x, y in zip(start_a, start_b, strict=True):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(batches_a, batches_b, strict=True):
        np.testing.assert_array_equal(x, y)
    first = batches_a[0]
    assert not np.array_equal(first[0], first[1])  # seeds 0 and 1 draw different batches


def test_a_seed_keeps_its_stream_whatever_its_cell_mates():
    alone = configurations(**SPIRALS)[0].with_seeds((2,))
    together = configurations(**SPIRALS)[1]  # another configuration, seeds 0, 1, 2
    (a, batches_a), (b, batches_b) = starts_and_batches(alone), starts_and_batches(together)
    np.testing.assert_array_equal(a[0][0], b[0][2])
    np.testing.assert_array_equal(batches_a[3][0], batches_b[3][2])


def test_the_initializer_and_the_problem_are_part_of_the_stream():
    xor = {"problem": "xor", "problem_params": {}}
    base = Cell(**xor, optimizer="adam", seeds=(0,))
    other = base.replace(initializer="he_normal")
    assert not np.array_equal(Loop(base).params[0], Loop(other).params[0])
    assert base.seed_sequence(0).entropy != base.replace(problem_params={"hidden": 3})\
        .seed_sequence(0).entropy  # fmt: skip


def test_the_store_records_the_stream_scheme(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.start_experiment("crn", "")
        versions = store.experiments()["version.random_streams"]
    assert list(versions) == [RANDOM_STREAMS]

"""Common random numbers: seed k of a problem gives every configuration the same start, the same
batches and the same gradient noise, so comparisons between configurations are paired."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import problems
from bench.cli import main
from bench.grid.cell import RANDOM_STREAMS, Cell
from bench.run.engine import Loop, batch_streams, build_problem, per_run_batch, run_cell
from bench.store import Store

SPIRALS = {"problem": "spirals", "problem_params": {"hidden": 8, "noise": 0.1}, "batch_size": 16}
MNIST = {"problem": "mnist_logreg", "problem_params": {"dtype": "float64"}, "batch_size": 128}
NOISY = {"problem": "rosenbrock", "problem_params": {"dim": 3, "noise": 0.5}}


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
    drawn = [per_run_batch(loop.problem, loop.streams, t, cell.batch_size) for t in range(batches)]
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


@settings(max_examples=25, deadline=None)
@given(
    others=st.integers(1, 1000),
    order_seed=st.integers(0, 2**32 - 1),
    step=st.integers(0, 10**5),
    which=st.sampled_from([(SPIRALS, 16), (MNIST, 128), (NOISY, None)]),
)
def test_a_seeds_batches_do_not_depend_on_its_cell_mates(others, order_seed, step, which):
    """Seed 0's batch at ``step``, alone and among ``others`` seeds in any order: the same bits
    (minibatch indices of both sampling paths, and gradient noise)."""
    problem, batch_size = which
    cell = Cell(**problem, optimizer="adam", seeds=(0,))
    prob = build_problem(cell)
    seeds = np.random.default_rng(order_seed).permutation(others + 1)  # seed 0 somewhere
    alone = per_run_batch(prob, batch_streams([cell.seed_sequence(0)]), step, batch_size)
    streams = batch_streams([cell.seed_sequence(int(s)) for s in seeds])
    stacked = per_run_batch(prob, streams, step, batch_size)
    assert stacked.shape[0] == others + 1
    np.testing.assert_array_equal(stacked[np.flatnonzero(seeds == 0)[0]], alone[0])


class OldContractNoise(problems.Problem):
    """A plugin written before ``draw_batch``: x**2 with gradient noise from ``sample_batch``."""

    description = "x**2 with noisy gradients, through the old sample_batch contract."
    uses_initializer = False

    def init_params(self, rng, runs, initializer=None):
        return [np.ones((runs, 1))]

    def sample_batch(self, rng, runs, batch_size):
        return rng.standard_normal((runs, 1))

    def loss_and_grad(self, params, batch=None):
        (x,) = params
        grad = 2 * x if batch is None else 2 * x + batch
        return x[:, 0] ** 2, [grad]

    def evaluate(self, params):
        return {"train_loss": params[0][:, 0] ** 2}


def test_a_plugin_with_only_sample_batch_runs_and_keeps_each_seed_apart():
    problems.register("old_contract_noise", OldContractNoise)
    cell = Cell(problem="old_contract_noise", problem_params={}, optimizer="sgd",
                optimizer_params={"lr": 0.1}, steps=30, log_every=10, seeds=(0, 1, 2))  # fmt: skip
    together, alone = run_cell(cell), run_cell(cell.with_seeds((2,)))
    assert {r["status"] for r in together.runs} == {"done"}
    curve = together.curves["train_loss"][together.curves["seed"] == 2]
    np.testing.assert_array_equal(curve, alone.curves["train_loss"])
    losses = [r["final_train_loss"] for r in together.runs]
    assert len(set(losses)) == 3  # the seeds drew different noise


def test_resuming_a_store_of_another_stream_scheme_warns(tmp_path, monkeypatch, capsys):
    grid, store = tmp_path / "g.toml", str(tmp_path / "g.sqlite")
    text = 'name = "g"\nseeds = 2\nsteps = 20\n{}\n[[problems]]\nname = "beale"\n'
    grid.write_text(text.format('optimizers = [{ name = "adam" }]'))
    with monkeypatch.context() as patch:
        patch.setattr("bench.store.store.RANDOM_STREAMS", "common-1")
        assert main(["run", str(grid), "--store", store, "--jobs", "1", "--no-report"]) == 0
    grid.write_text(text.format('optimizers = [{ name = "adam" }, { name = "sgd" }]'))
    capsys.readouterr()
    assert main(["run", str(grid), "--store", store, "--jobs", "1", "--no-report"]) == 0
    err = capsys.readouterr().err
    assert "random streams common-1" in err and f"draws {RANDOM_STREAMS}" in err
    assert main(["run", str(grid), "--store", store, "--jobs", "1", "--no-report"]) == 0
    assert "random streams" not in capsys.readouterr().err  # nothing left to run: no warning

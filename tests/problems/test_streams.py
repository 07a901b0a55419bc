"""The per-run counter-based streams: Philox known answers, independence from the company a run
keeps, and the distributions of what they draw."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import problems
from problems.streams import RunStreams, philox4x32

# Random123's tests/kat_vectors, the three "philox4x32 10" lines: counter[4], key[2], result[4].
KNOWN_ANSWERS = [
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    (
        [0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344],
        [0xA4093822, 0x299F31D0],
        [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1],
    ),
]
POOL = RunStreams.from_seed_sequences([np.random.SeedSequence([7, r]) for r in range(1001)])
# (kind, arguments): both index paths (rejection: count**2 <= size; partial shuffle), noise
DRAWS = [("indices", (194, 16)), ("indices", (4000, 32)), ("normal", (5,)), ("uniform", (3,))]


def draw(streams, step, kind, arguments):
    return getattr(streams.at(step), kind)(*arguments)


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_philox_matches_the_random123_known_answers(counter, key, expected):
    out = philox4x32(tuple(np.array([c]) for c in counter), tuple(key))
    assert [int(word[0]) for word in out] == expected


def test_philox_is_elementwise_over_arrays():
    counters = np.array([counter for counter, _, _ in KNOWN_ANSWERS]).T  # (4 words, 3 cases)
    keys = np.array([key for _, key, _ in KNOWN_ANSWERS]).T
    out = np.stack(philox4x32(tuple(counters), tuple(keys)), axis=1)
    np.testing.assert_array_equal(out, [expected for _, _, expected in KNOWN_ANSWERS])


@settings(max_examples=40, deadline=None)
@given(
    others=st.integers(1, 1000),
    order_seed=st.integers(0, 2**32 - 1),
    step=st.integers(0, 10**6),
    which=st.sampled_from(DRAWS),
)
def test_a_runs_draws_do_not_depend_on_the_runs_sharing_its_array(others, order_seed, step, which):
    """Run 0 alone, and among ``others`` other runs in a random order: the same bits."""
    kind, arguments = which
    alone = draw(POOL.take([0]), step, kind, arguments)[0]
    company = np.random.default_rng(order_seed).permutation(np.arange(1, others + 1))
    order = np.insert(company, np.random.default_rng(order_seed).integers(0, others + 1), 0)
    stacked = draw(POOL.take(order), step, kind, arguments)
    np.testing.assert_array_equal(stacked[np.flatnonzero(order == 0)[0]], alone)


@pytest.mark.parametrize(("kind", "arguments"), DRAWS)
def test_drawing_many_steps_ahead_changes_no_bit(kind, arguments):
    """The lookahead computes several steps at once; step t is what a fresh stream draws at t."""
    streams = POOL.take(np.arange(6))
    sequential = [draw(streams, t, kind, arguments) for t in range(70)]
    for t in (0, 1, 63, 64, 69):
        np.testing.assert_array_equal(
            draw(POOL.take(np.arange(6)), t, kind, arguments), sequential[t]
        )


def test_each_call_of_a_step_is_a_new_draw_and_each_step_too():
    draws = POOL.take(np.arange(4)).at(3)
    first, second = draws.normal(8), draws.normal(8)
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, POOL.take(np.arange(4)).at(4).normal(8))
    assert not np.array_equal(first[0], first[1])  # runs differ from each other


@pytest.mark.parametrize(("size", "count"), [(100, 10), (10_000, 64), (194, 16), (30, 30)])
def test_indices_are_distinct_per_run_and_uniform(size, count):
    """(100, 10) and (10_000, 64) take the rejection path (with redraws at (100, 10)), the others
    the partial shuffle. Chi-square of the counts over the training set, at level 1e-4."""
    streams = POOL.take(np.arange(200))
    batches = np.concatenate([streams.at(t).indices(size, count) for t in range(50)])
    assert batches.shape == (10_000, count) and batches.dtype == np.int64
    assert batches.min() >= 0 and batches.max() < size
    ordered = np.sort(batches, axis=1)
    assert np.all(ordered[:, 1:] != ordered[:, :-1])
    counts = np.bincount(batches.ravel(), minlength=size)
    assert stats.chisquare(counts).pvalue > 1e-4
    positions = np.bincount(batches[:, -1], minlength=size)  # the last slot, too, is uniform
    assert stats.chisquare(positions).pvalue > 1e-4


def test_normals_and_uniforms_pass_a_kolmogorov_smirnov_test():
    streams = POOL.take(np.arange(500))
    normals = np.concatenate([streams.at(t).normal(7) for t in range(20)]).ravel()
    uniforms = np.concatenate([streams.at(t).uniform(7) for t in range(20)]).ravel()
    assert stats.kstest(normals, "norm").pvalue > 1e-4
    assert stats.kstest(uniforms, "uniform").pvalue > 1e-4
    assert uniforms.min() >= 0.0 and uniforms.max() < 1.0
    pairs = normals[: normals.size // 2 * 2].reshape(-1, 2)  # Box-Muller's two outputs
    assert abs(stats.pearsonr(pairs[:, 0], pairs[:, 1]).statistic) < 0.01


def test_keys_come_from_the_seed_sequence_and_bad_keys_are_refused():
    a = RunStreams.from_seed_sequences([np.random.SeedSequence([1, 2])])
    b = RunStreams.from_seed_sequences([np.random.SeedSequence([1, 3])])
    assert a.keys.shape == (1, 2) and not np.array_equal(a.keys, b.keys)
    with pytest.raises(ValueError, match="shape"):
        RunStreams(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="2\\*\\*32"):
        RunStreams([[0, 2**32]])
    with pytest.raises(ValueError, match="step"):
        a.at(-1)
    with pytest.raises(ValueError, match="count"):
        a.at(0).indices(5, 6)


class _OldStyle(problems.Problem):
    """A plugin written against the older contract: only ``sample_batch(rng, runs, size)``."""

    def sample_batch(self, rng, runs, batch_size):
        return rng.integers(0, 1000, (runs, batch_size))


def test_a_problem_with_only_sample_batch_gets_one_generator_per_run():
    prob = _OldStyle()
    streams = POOL.take(np.arange(5))
    batch = prob.draw_batch(streams.at(2), 4)
    assert batch.shape == (5, 4)
    np.testing.assert_array_equal(prob.draw_batch(POOL.take([3]).at(2), 4)[0], batch[3])
    assert not np.array_equal(prob.draw_batch(streams.at(3), 4), batch)


def test_a_problem_with_neither_method_says_so():
    with pytest.raises(NotImplementedError, match="draw_batch"):
        problems.Problem().draw_batch(POOL.at(0), 2)
    with pytest.raises(NotImplementedError, match="draw_batch"):
        problems.Problem().sample_batch(np.random.default_rng(0), 1, 2)

"""Bootstrap CIs of medians: finite bounds are SciPy's; only diverged runs make them infinite."""

import warnings

import numpy as np
import pytest
from scipy import stats

from bench.analysis.stats import median, summarize

CELLS, RUNS, RESAMPLES, SEED = 300, 5, 1000, 0


def cells(rng, *, diverged=0.0):
    """``CELLS`` cells of ``RUNS`` lognormal final losses; each run is ``inf`` with ``diverged``."""
    values = rng.lognormal(size=(CELLS, RUNS))
    values[rng.random(values.shape) < diverged] = np.inf
    return values


def summary(values):
    keys = np.repeat(np.arange(len(values)), values.shape[1])
    return summarize(keys, values.ravel(), n_resamples=RESAMPLES, seed=SEED)


def direct_ci(sample):
    """SciPy's own interval of one cell; inf - inf interpolation (NaN) means +inf."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # inf - inf and the DegenerateDataWarning it causes
        ci = stats.bootstrap((sample,), np.median, n_resamples=RESAMPLES, method="percentile",
                             rng=np.random.default_rng(SEED)).confidence_interval  # fmt: skip
    return np.nan_to_num(np.array(ci), nan=np.inf, posinf=np.inf)


def test_ci_of_finite_cells_is_finite_and_inside_the_sample_range():
    # Regression: the percentile interval could land one ulp above the sample maximum, which was
    # then taken for a diverged run and reported as +inf (2 of these 300 cells, ~5 in 300 usually).
    values = cells(np.random.default_rng(0))
    table = summary(values)
    low, high = table["ci_low"].to_numpy(), table["ci_high"].to_numpy()
    assert np.isfinite(low).all() and np.isfinite(high).all()
    assert (values.min(axis=1) <= low).all() and (high <= values.max(axis=1)).all()
    assert (low <= table["median"]).all() and (table["median"] <= high).all()


def test_finite_bounds_are_scipys_up_to_the_ulp_clipped_off():
    values = cells(np.random.default_rng(0))
    table = summary(values)
    direct = np.array([direct_ci(sample) for sample in values])
    expected = np.clip(direct, values.min(axis=1)[:, None], values.max(axis=1)[:, None])
    np.testing.assert_array_equal(table[["ci_low", "ci_high"]].to_numpy(), expected)
    np.testing.assert_allclose(expected, direct, rtol=1e-15, atol=0)
    assert (expected != direct).any()  # the seed does hit the ulp case


@pytest.mark.parametrize("diverged", [0.1, 0.3])
def test_a_bound_is_infinite_exactly_when_scipy_reaches_an_infinite_median(diverged):
    # With 5 runs the median is one of the values, so SciPy can run on the real infinities: its
    # interval is +inf (or NaN, from inf - inf) exactly where the percentile touches an infinite
    # bootstrap median. The stand-in must agree bound for bound.
    values = cells(np.random.default_rng(1), diverged=diverged)
    table = summary(values)
    varying = [key for key in range(CELLS) if not (values[key] == values[key][0]).all()]
    expected = np.array([direct_ci(values[key]) for key in varying])
    finite = values[varying]
    expected = np.where(
        np.isinf(expected),
        expected,
        np.clip(expected, np.nanmin(np.where(np.isinf(finite), np.nan, finite), axis=1)[:, None],
                np.nanmax(np.where(np.isinf(finite), np.nan, finite), axis=1)[:, None]),
    )  # fmt: skip
    actual = table.loc[varying, ["ci_low", "ci_high"]].to_numpy()
    np.testing.assert_array_equal(np.isinf(actual), np.isinf(expected))
    np.testing.assert_allclose(actual, expected, rtol=1e-15, atol=0)
    assert np.isinf(actual).any() and np.isfinite(actual).any()


def test_even_cells_average_into_infinity_only_by_rank():
    # [1, 2, inf, inf]: the median averages 2 and inf; q1 interpolates between finite values.
    table = summarize(np.array(["k"] * 4), np.array([1.0, 2.0, np.inf, np.inf]), n_resamples=200)
    assert table.loc["k", "median"] == np.inf and table.loc["k", "q1"] == 1.75
    assert table.loc["k", "ci_high"] == np.inf and 1.0 <= table.loc["k", "ci_low"] <= 2.0
    assert median(np.array([1.0, 3.0, np.inf, np.nan])) == 3.0
    assert median(np.array([1.0, np.inf])) == np.inf
    assert median(np.array([-1e300, 1e300, np.inf])) == 1e300

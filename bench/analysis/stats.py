"""Order statistics that survive infinite losses, bootstrap CIs of medians, tests and Holm.

A diverged run's final loss is ``+inf``: it ranks last, and a median that an infinite value
reaches is infinite. NumPy's linear interpolation and SciPy's bootstrap would turn ``inf - inf``
into NaN (with a warning), so both work on a stand-in: ``+inf`` is replaced by a finite value far
above every finite value of the data. Whether a quantile is infinite is then decided by rank (does
its interpolation put any weight on an infinite value?), never by comparing the result with the
largest finite value: interpolation rounds, and a bootstrap bound one ulp above the sample maximum
is not a diverged run. A finite result is clipped to its group's finite range for the same reason.

The tests and the bootstrap are SciPy's (``scipy.stats.mannwhitneyu``, ``wilcoxon``,
``bootstrap``); only the Holm step-down, which SciPy lacks, is written here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import pandas as pd

QUANTILES = (0.25, 0.5, 0.75)
SUMMARY_COLUMNS = ("median", "q1", "q3", "ci_low", "ci_high")


def groups_by_size(keys: np.ndarray, values: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Split ``values`` by ``keys`` into matrices, one per group size, for vectorized statistics.

    Parameters
    ----------
    keys, values
        One entry per observation; the order of a key's values is kept.

    Yields
    ------
    keys : numpy.ndarray
        The sorted distinct keys of the groups of one size ``n``.
    matrix : numpy.ndarray, shape (len(keys), n)
        Their values, one row per key.
    """
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], np.asarray(values, dtype=np.float64)[order]
    distinct, start, counts = np.unique(keys, return_index=True, return_counts=True)
    for n in np.unique(counts):
        chosen = counts == n
        yield distinct[chosen], values[start[chosen][:, None] + np.arange(n)]


STAND_IN_FACTOR = 1e6  # the stand-in for +inf, in units of the data's largest |finite value| + 1


class _Finite(NamedTuple):
    """A matrix with ``+inf`` replaced by a stand-in, and what restores the infinities."""

    data: np.ndarray
    low: np.ndarray  # each row's smallest finite value
    high: np.ndarray  # each row's largest finite value
    stand_in: float

    def rows(self, chosen: np.ndarray) -> _Finite:
        return _Finite(self.data[chosen], self.low[chosen], self.high[chosen], self.stand_in)


def _stand_in(matrix: np.ndarray) -> _Finite:
    """``matrix`` with ``+inf`` replaced by a finite value far above every finite value."""
    finite = np.isfinite(matrix)
    scale = np.abs(matrix[finite]).max(initial=0.0)
    stand_in = STAND_IN_FACTOR * (scale + 1.0)
    low = np.where(finite, matrix, np.inf).min(axis=1)
    high = np.where(finite, matrix, -np.inf).max(axis=1)
    return _Finite(np.where(np.isposinf(matrix), stand_in, matrix), low, high, stand_in)


def _reaches_inf(infinite: np.ndarray, q, axis: int = -1) -> np.ndarray:
    """Whether the linear-interpolation ``q``-quantile puts weight on an infinite value.

    Decided by rank: infinite values are the largest, so the quantile of the 0/1 indicator is
    the interpolation weight on the infinite ones.
    """
    return np.quantile(infinite.astype(np.float64), q, axis=axis) > 0


def _restore(result: np.ndarray, infinite: np.ndarray, finite: _Finite) -> np.ndarray:
    """``+inf`` where ``infinite``, else ``result`` clipped to the row's finite range."""
    with np.errstate(invalid="ignore"):  # all-infinite rows have low > high; they are inf anyway
        clipped = np.clip(result, finite.low, finite.high)
    return np.where(infinite, np.inf, clipped)


def summarize(
    keys: np.ndarray,
    values: np.ndarray,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Median, quartiles and a bootstrap CI of the median of each key's values.

    Parameters
    ----------
    keys, values
        One entry per observation; NaN values are dropped, ``+inf`` is a valid (worst) value.
    n_resamples
        Bootstrap resamples (``scipy.stats.bootstrap``, percentile method); 0 skips the CI.
    confidence
        Confidence level of the interval.
    seed
        Seed of the resampling. Every group is resampled with the same index draws, so a group's
        interval depends only on its own values and the seed.

    Returns
    -------
    pandas.DataFrame
        Indexed by key (keys without values are absent), columns ``median``, ``q1``, ``q3``,
        ``ci_low``, ``ci_high``. The CI is NaN for a single value and collapses to the value for
        constant data (the percentile method, unlike BCa, is defined there).
    """
    keys, values = np.asarray(keys), np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(values)
    frames = []
    for group_keys, matrix in groups_by_size(keys[keep], values[keep]):
        finite = _stand_in(matrix)
        q1, middle, q3 = _restore(
            np.quantile(finite.data, QUANTILES, axis=1),
            _reaches_inf(np.isposinf(matrix), QUANTILES, axis=1),
            finite,
        )
        low = high = np.full(len(group_keys), np.nan)
        if n_resamples > 0 and matrix.shape[1] > 1:
            # constant rows (deterministic problems) have a point CI; spare them the resampling
            constant = np.all(matrix == matrix[:, :1], axis=1)
            low, high = np.where(constant, middle, np.nan), np.where(constant, middle, np.nan)
            if not constant.all():
                ci = _bootstrap_ci(finite.rows(~constant), n_resamples, confidence, seed)
                low[~constant], high[~constant] = ci
        frames.append(
            pd.DataFrame(
                {"median": middle, "q1": q1, "q3": q3, "ci_low": low, "ci_high": high},
                index=pd.Index(group_keys, name="key"),
            )
        )
    if not frames:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS), dtype=np.float64).rename_axis("key")
    return pd.concat(frames).sort_index()


def _bootstrap_ci(
    finite: _Finite, n_resamples: int, confidence: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.stats.bootstrap`` percentile CI of each row's median, infinities restored by rank.

    A bootstrap median is the mean of at most two values, so it is at most the largest finite
    value (up to rounding) or at least about half the stand-in: a wide gap, where a threshold at a
    quarter of the stand-in tells the infinite medians without any ulp-sized comparison.
    """
    batch = max(1, 2_000_000 // finite.data.size)  # bounds the memory of the resamples
    from scipy import stats  # imported when needed: it takes most of a second

    result = stats.bootstrap(
        (finite.data,),
        np.median,
        axis=1,
        vectorized=True,
        n_resamples=n_resamples,
        batch=batch,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    alpha = (1 - confidence) / 2  # as SciPy computes the two-sided percentile levels
    infinite = _reaches_inf(result.bootstrap_distribution > finite.stand_in / 4, [alpha, 1 - alpha])
    ci = result.confidence_interval
    return _restore(ci.low, infinite[0], finite), _restore(ci.high, infinite[1], finite)


def median(values: np.ndarray) -> float:
    """The median of ``values`` without NaNs; ``+inf`` counts as the largest value."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.nan
    finite = _stand_in(values[None, :])
    infinite = _reaches_inf(np.isposinf(values), 0.5)
    return float(_restore(np.median(finite.data, axis=1), infinite, finite)[0])


def relative_change(base: float, current: float) -> float:
    """``(current - base) / |base|``, with the infinite and zero cases made explicit.

    Equal values (two infinities included) give 0; a finite value that becomes infinite gives
    ``+inf``, the reverse ``-inf``; a change away from exactly 0 gives ``+-inf``.
    """
    if np.isnan(base) or np.isnan(current):
        return np.nan
    if base == current:
        return 0.0
    if np.isinf(base) or np.isinf(current) or base == 0:
        return np.inf if current > base else -np.inf
    return float((current - base) / abs(base))


def mann_whitney(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value of ``x`` against ``y`` (NaNs dropped).

    NaN when a sample is empty; 1 when every pooled value is equal (no ordering to test, and
    SciPy's normal approximation would divide by a zero variance).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if x.size == 0 or y.size == 0:
        return np.nan
    if np.all(np.concatenate([x, y]) == x[0]):
        return 1.0
    from scipy import stats

    return float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)


def wilcoxon(differences: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired ``differences`` (NaNs dropped).

    NaN without differences, 1 when every difference is 0.
    """
    d = np.asarray(differences, dtype=np.float64)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return np.nan
    if np.all(d == 0):
        return 1.0
    from scipy import stats

    return float(stats.wilcoxon(d, alternative="two-sided").pvalue)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (NaNs are not part of the family).

    With the m p-values sorted ascending, the i-th (from 0) is adjusted to
    ``max over j <= i of min(1, (m - j) p_(j))``; rejecting where the adjusted value is below
    alpha controls the family-wise error rate at alpha (Holm 1979).

    Parameters
    ----------
    p_values
        The family's p-values, in any order.

    Returns
    -------
    numpy.ndarray
        The adjusted p-values, in the input order.
    """
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    tested = ~np.isnan(p)
    m = int(tested.sum())
    if m == 0:
        return adjusted
    order = np.argsort(p[tested], kind="stable")
    steps = np.minimum(1.0, (m - np.arange(m)) * p[tested][order])
    family = np.empty(m)
    family[order] = np.maximum.accumulate(steps)
    adjusted[tested] = family
    return adjusted

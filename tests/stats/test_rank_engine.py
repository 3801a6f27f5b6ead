"""The sorted-order rank engine against today's dense engine (``reference_engine``).

Rank statistics are sums of products of counts and half-counts, exact in floating point,
so Spearman and Kendall correlations, permutation p-values and intervals must match the
dense engine to the bit; Pearson moments over many missing-cell patterns are formed by
other (exact-in-arithmetic) matrix products and must match to ``TOL``.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import reference_engine as ref

from evalgap.stats import (
    CorrelationPlan,
    SortedColumns,
    SpearmanPlan,
    confidence_intervals,
    permutation_pvalues,
)

# Issue 14: results identical to today's engine to 1e-12 (absolute, on correlations and
# on slopes relative to their size).
TOL = 1e-12


def _case(seed: int, n: int, k: int, b: int, missing: float, ties: bool):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, k)) * rng.choice([1.0, 100.0]) + rng.choice([0.0, 1500.0])
    if ties:
        y[:, ::2] = np.round(y[:, ::2] / 50.0)
    y[rng.random((n, k)) < missing] = np.nan
    r = rng.normal(size=(b, n))
    if ties:
        r = np.round(r, 1)  # the reference ties in (almost) every resample
    available = rng.random(n) < 0.9
    r[:, ~available] = np.nan
    w = rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(float)
    w[0] = 1.0  # the plain estimate
    return y, r, available, w


CASES = [
    (seed, n, k, b, missing, ties)
    for seed, (n, k, b, missing, ties) in enumerate(
        [
            (12, 5, 7, 0.0, False),
            (30, 20, 9, 0.0, True),
            (30, 20, 9, 0.1, False),
            (45, 60, 6, 0.05, True),  # more patterns than are formed one by one
            (60, 8, 4, 0.3, True),
            (5, 3, 3, 0.2, True),
        ]
    )
]


@pytest.mark.parametrize(("seed", "n", "k", "b", "missing", "ties"), CASES)
@pytest.mark.parametrize("method", ["spearman", "kendall"])
def test_rank_correlations_equal_the_dense_engine_to_the_bit(seed, n, k, b, missing, ties, method):
    y, r, available, w = _case(seed, n, k, b, missing, ties)
    expected = ref.CorrelationPlan(y, available, method).correlations(r, w)
    for max_bytes in (None, 50_000):  # one chunk, and many small chunks
        got = CorrelationPlan(y, available, method, max_bytes=max_bytes).correlations(r, w)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(("seed", "n", "k", "b", "missing", "ties"), CASES)
def test_pearson_and_slopes_match_the_dense_engine(seed, n, k, b, missing, ties):
    y, r, available, w = _case(seed, n, k, b, missing, ties)
    plan, dense = (
        CorrelationPlan(y, available, "pearson"),
        ref.CorrelationPlan(y, available, "pearson"),
    )
    rho, rho_ref = plan.correlations(r, w), dense.correlations(r, w)
    np.testing.assert_array_equal(np.isnan(rho), np.isnan(rho_ref))
    np.testing.assert_allclose(rho, rho_ref, rtol=0, atol=TOL)
    slope, slope_ref = plan.slopes(r, w), dense.slopes(r, w)
    np.testing.assert_array_equal(np.isnan(slope), np.isnan(slope_ref))
    np.testing.assert_allclose(slope, slope_ref, rtol=TOL, atol=TOL)


def test_few_patterns_give_the_dense_engines_pearson_bits():
    y, r, available, w = _case(3, 40, 12, 8, 0.0, False)
    y[:5, 3] = np.nan  # two patterns, as on the Safetywashing panels
    for kind in ("correlations", "slopes"):
        new = getattr(CorrelationPlan(y, available, "pearson"), kind)(r, w)
        old = getattr(ref.CorrelationPlan(y, available, "pearson"), kind)(r, w)
        np.testing.assert_array_equal(new, old)


def test_jackknife_and_zero_weight_rows():
    y, r, available, _ = _case(4, 25, 10, 1, 0.1, True)
    for w in (1.0 - np.eye(25), np.where(np.arange(25) < 12, 0.0, 2.0)[None, :]):
        np.testing.assert_array_equal(
            SpearmanPlan(y, available).correlations(r[0], w),
            ref.CorrelationPlan(y, available, "spearman").correlations(r[0], w),
        )


@pytest.mark.parametrize("seed", range(4))
def test_sorted_midranks_equal_the_midrank_matrix(seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(40, 3)), 1)
    available = rng.random((40, 3)) < 0.8
    w = rng.multinomial(40, np.full(40, 1 / 40), size=6).astype(float)
    got = SortedColumns(x, available).midranks(w)
    for j in range(3):
        expected = (w * available[:, j]) @ ref.midrank_matrix(x[:, j], available[:, j]) + 0.5
        np.testing.assert_array_equal(got[:, j][:, available[:, j]], expected[:, available[:, j]])
        assert (got[:, j][:, ~available[:, j]] == 0).all()


@pytest.mark.parametrize(("seed", "n", "k", "b", "missing", "ties"), CASES[:5])
@pytest.mark.parametrize("method", ["spearman", "pearson", "kendall"])
def test_permutation_pvalues_equal_the_dense_engine(seed, n, k, b, missing, ties, method):
    y, r, available, _ = _case(seed, n, k, b, missing, ties)
    observed = ref.CorrelationPlan(y, available, method).correlations(r[0], np.ones((1, n)))[0]
    expected = ref.permutation_pvalues(y, r[0], observed, method, 400, np.random.default_rng(seed))
    for max_bytes in (None, 20_000):  # permutations drawn in one go, and in chunks
        got = permutation_pvalues(
            y, r[0], observed, method, 400, np.random.default_rng(seed), max_bytes=max_bytes
        )
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_intervals_equal_a_per_column_np_quantile(seed, method):
    rng = np.random.default_rng(seed)
    b, k, n = [(1000, 150, 26), (101, 70, 40), (20, 3, 12)][seed % 3]
    boot = rng.normal(size=(b, k)) * [1.0, 0.01][seed % 2]
    boot[:, ::3] = np.round(boot[:, ::3], 1)
    boot[rng.random((b, k)) < [0.0, 0.05, 0.6][seed % 3]] = np.nan
    boot[:, 1] = 3.0  # every resample on one side: BCa falls back
    estimate = rng.normal(size=k) * 0.2
    estimate[2] = np.nan
    jack = rng.normal(size=(n, k))
    jack[rng.random((n, k)) < 0.02] = np.nan
    for level in (0.9, 0.95):
        got = confidence_intervals(boot, estimate, jack, confidence_level=level, method=method)
        expected = ref.confidence_intervals(
            boot, estimate, jack, confidence_level=level, method=method
        )
        for a, e in zip(got[:3], expected[:3], strict=True):
            np.testing.assert_array_equal(a, e)
        assert got[3] == expected[3]


def test_memory_is_linear_in_models():
    # The dense engine held an n x n matrix per benchmark: 128 MB per benchmark here.
    n, k = 4000, 3
    y, r, available, w = _case(9, n, k, 4, 0.02, False)
    tracemalloc.start()
    SpearmanPlan(y, available).correlations(r, w)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * 2**20

"""The weighted engine equals the plain computation on explicitly resampled data.

A bootstrap resample is a row of frequency weights; these tests gather the resampled rows
for real and recompute everything with pandas and scipy, to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from evalgap.analyses.safetywashing._capability import _fit
from evalgap.stats._correlate import CorrelationPlan, permutation_pvalues
from evalgap.stats._resample import bootstrap_weights
from evalgap.stats._weighted import (
    kendall_tau_b,
    midrank_matrix,
    weighted_midranks,
    weighted_pearson,
)

TOL = 1e-9


def _materialise(weights: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(weights)), weights.astype(int))


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(0, 6), min_size=3, max_size=25),
    seed=st.integers(0, 2**32 - 1),
)
def test_weighted_midranks_equal_ranks_of_the_resample(values, seed):
    x = np.array(values, dtype=float)
    rng = np.random.default_rng(seed)
    w = rng.multinomial(len(x), np.full(len(x), 1 / len(x))).astype(float)
    idx = _materialise(w)
    ranks = weighted_midranks(x, w)
    np.testing.assert_allclose(ranks[idx], scipy.stats.rankdata(x[idx]), atol=TOL)
    fixed = w @ midrank_matrix(x, np.ones(len(x), bool)) + 0.5
    np.testing.assert_allclose(fixed[w > 0], ranks[w > 0], atol=TOL)


@pytest.mark.parametrize("seed", range(5))
def test_weighted_correlations_equal_scipy_on_the_resample(seed):
    rng = np.random.default_rng(seed)
    n = 20
    a = np.round(rng.normal(size=n), 1)
    b = rng.normal(size=n)
    w = rng.multinomial(n, np.full(n, 1 / n), size=1)[0].astype(float)
    idx = _materialise(w)
    ra, rb = weighted_midranks(a, w), weighted_midranks(b, w)
    assert weighted_pearson(ra, rb, w) == pytest.approx(
        scipy.stats.spearmanr(a[idx], b[idx]).statistic, abs=TOL
    )
    assert weighted_pearson(a, b, w) == pytest.approx(
        scipy.stats.pearsonr(a[idx], b[idx]).statistic, abs=TOL
    )
    assert kendall_tau_b(a, b, w) == pytest.approx(
        scipy.stats.kendalltau(a[idx], b[idx]).statistic, abs=TOL
    )


@pytest.mark.parametrize("method", ["spearman", "pearson", "kendall"])
def test_correlation_plan_handles_missing_cells_and_ties(method):
    rng = np.random.default_rng(7)
    n, k = 24, 6
    y = rng.normal(size=(n, k))
    y[:, 1] = np.round(y[:, 1])  # ties between models
    y[:, 2] = rng.integers(0, 3, n)
    y[rng.random((n, k)) < 0.2] = np.nan
    ref = rng.normal(size=n)
    ref[:3] = np.nan
    weights = bootstrap_weights(n, 40, rng)
    got = CorrelationPlan(y, ~np.isnan(ref), method).correlations(ref, weights)
    stat = {
        "spearman": scipy.stats.spearmanr,
        "pearson": scipy.stats.pearsonr,
        "kendall": scipy.stats.kendalltau,
    }[method]
    for b, w in enumerate(weights):
        idx = _materialise(w)
        for j in range(k):
            ok = ~np.isnan(y[idx, j]) & ~np.isnan(ref[idx])
            ya, ra = y[idx, j][ok], ref[idx][ok]
            if np.ptp(ya) == 0 or np.ptp(ra) == 0:
                assert np.isnan(got[b, j])
            else:
                assert got[b, j] == pytest.approx(stat(ya, ra).statistic, abs=TOL)


def _plain_capabilities_score(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The paper's steps on an explicit data set, sign-aligned to ``reference``."""
    frame = pd.DataFrame(x)
    z = (frame - frame.mean()) / frame.std(ddof=0)
    corr = z.corr(method="spearman").to_numpy()
    _, vectors = np.linalg.eigh(corr)
    pc = vectors[:, -1]
    if pc @ reference < 0:
        pc = -pc
    return z.to_numpy() @ pc


def test_capability_fit_re_estimated_per_resample_equals_explicit_pipeline(chat_panel):
    caps = list(chat_panel.default_capabilities)
    x = chat_panel.oriented_scores()[caps].to_numpy()
    y = chat_panel.oriented_scores()[["truthfulqa_mc1", "wmdp", "LMSYS_Chatbot_Arena"]].to_numpy()
    n = len(x)
    universe = np.ones(n, bool)
    point = _fit(
        x,
        np.ones((1, n)),
        mode="paper",
        pca="spearman",
        impute_rank=2,
        universe=universe,
        reference=None,
    )
    weights = bootstrap_weights(n, 25, np.random.default_rng(3))
    fit = _fit(
        x,
        weights,
        mode="paper",
        pca="spearman",
        impute_rank=2,
        universe=universe,
        reference=point.loadings[0],
    )
    rho = CorrelationPlan(y, universe, "spearman").correlations(fit.scores, weights)
    for b, w in enumerate(weights):
        idx = _materialise(w)
        # Rounded: a matrix product can give two copies of one row scores 1e-16 apart,
        # which would break the tie between them that the resample really has.
        score = np.round(_plain_capabilities_score(x[idx], point.loadings[0]), 10)
        np.testing.assert_allclose(fit.scores[b][idx], score, atol=1e-8)
        for j in range(y.shape[1]):
            ok = ~np.isnan(y[idx, j])
            expected = scipy.stats.spearmanr(y[idx, j][ok], score[ok]).statistic
            assert rho[b, j] == pytest.approx(expected, abs=TOL)


def test_permutation_pvalue_matches_explicit_loop():
    rng = np.random.default_rng(11)
    n = 15
    ref = rng.normal(size=n)
    y = (0.5 * ref + rng.normal(size=n))[:, None]
    observed = np.array([scipy.stats.spearmanr(y[:, 0], ref).statistic])
    p = permutation_pvalues(y, ref, observed, "spearman", 2000, np.random.default_rng(5))
    perms = np.random.default_rng(5).permuted(np.tile(np.arange(n), (2000, 1)), axis=1)
    null = np.array([scipy.stats.spearmanr(y[:, 0], ref[perm]).statistic for perm in perms])
    expected = (1 + (np.abs(null) >= abs(observed[0]) - 1e-12).sum()) / 2001
    assert p[0] == pytest.approx(expected, abs=1e-12)

"""AUROC, its resampled and leave-one-out values, the stratified bootstrap and the p-value,
against scikit-learn-free direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from evalgap.stats import (
    auroc,
    auroc_interval,
    auroc_jackknife,
    auroc_pvalue,
    auroc_resampled,
    stratified_bootstrap_weights,
)

# Exact arithmetic on small integers and halves: only float summation order differs.
EXACT_ATOL = 1e-12
# Coverage of the 90% interval over simulated data sets: binomial SE at 200 sets is 0.021,
# so the band is about +-3 SE around the nominal level.
COVERAGE_BAND = (0.82, 0.97)


def _pairs(scores: np.ndarray, labels: np.ndarray) -> float:
    """The definition: share of (positive, negative) pairs ordered right, ties half."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def _random_sets(n_sets: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(n_sets):
        n = int(rng.integers(4, 30))
        labels = rng.integers(0, 2, n)
        if labels.min() == labels.max():
            labels[0] = 1 - labels[0]
        yield rng.integers(0, 6, n).astype(float), labels, rng


def test_auroc_is_the_pair_count_with_ties_half():
    for scores, labels, _ in _random_sets(200):
        assert auroc(scores, labels) == pytest.approx(_pairs(scores, labels), abs=EXACT_ATOL)


def test_resampled_auroc_equals_gathering_each_resample():
    for scores, labels, rng in _random_sets(50, seed=1):
        counts = rng.integers(0, 3, size=(6, scores.size))
        got = auroc_resampled(scores, labels, counts)
        for row, want in zip(counts, got, strict=True):
            idx = np.repeat(np.arange(scores.size), row)
            y = labels[idx]
            if y.size == 0 or y.min() == y.max():
                assert np.isnan(want)
            else:
                assert want == pytest.approx(_pairs(scores[idx], y), abs=EXACT_ATOL)


def test_jackknife_equals_leaving_each_item_out():
    for scores, labels, _ in _random_sets(50, seed=2):
        got = auroc_jackknife(scores, labels)
        for i in range(scores.size):
            keep = np.arange(scores.size) != i
            y = labels[keep]
            if y.min() == y.max():
                assert np.isnan(got[i])
            else:
                assert got[i] == pytest.approx(_pairs(scores[keep], y), abs=EXACT_ATOL)


def test_stratified_resamples_keep_the_class_counts():
    labels = np.r_[np.zeros(7, int), np.ones(3, int)]
    w = stratified_bootstrap_weights(labels, 100, np.random.default_rng(0))
    assert (w[:, labels == 0].sum(axis=1) == 7).all()
    assert (w[:, labels == 1].sum(axis=1) == 3).all()


def test_pvalue_is_the_one_sided_mann_whitney_test():
    rng = np.random.default_rng(3)
    labels = np.r_[np.zeros(15, int), np.ones(12, int)]
    scores = rng.normal(size=27) + 0.8 * labels
    want = mannwhitneyu(scores[labels == 1], scores[labels == 0], alternative="greater").pvalue
    assert auroc_pvalue(scores, labels) == pytest.approx(want, abs=EXACT_ATOL)


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_interval_covers_the_population_auroc(method):
    # Normal scores, shift d between classes: the population AUROC is Phi(d / sqrt 2).
    from scipy.stats import norm

    d = 0.8
    truth = norm.cdf(d / np.sqrt(2))
    rng = np.random.default_rng(4)
    labels = np.r_[np.zeros(40, int), np.ones(30, int)]
    hits = 0
    for _ in range(200):
        scores = rng.normal(size=labels.size) + d * labels
        w = stratified_bootstrap_weights(labels, 400, rng)
        out = auroc_interval(scores, labels, w, confidence_level=0.9, method=method)
        hits += out.ci_low <= truth <= out.ci_high
    assert COVERAGE_BAND[0] <= hits / 200 <= COVERAGE_BAND[1]


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        auroc([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError):
        auroc([0.1, np.nan], [0, 1])
    assert np.isnan(auroc([0.1, 0.2], [1, 1]))

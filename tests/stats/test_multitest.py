"""q-values against statsmodels-free textbook computations and their defining property."""

import numpy as np
import pytest

from evalgap.stats import bh_qvalues, by_qvalues, qvalues


def _bh_by_definition(p):
    """q_i = min over j with p_j >= p_i of m p_j / rank_j (the textbook definition)."""
    m = len(p)
    ranks = np.argsort(np.argsort(p, kind="stable"), kind="stable") + 1
    adjusted = np.minimum(1.0, p * m / ranks)
    return np.array([adjusted[p >= p[i]].min() for i in range(m)])


def test_bh_equals_the_definition_on_random_p_values():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.uniform(size=rng.integers(1, 60)) ** 2
        np.testing.assert_allclose(bh_qvalues(p), _bh_by_definition(p), rtol=0, atol=1e-15)


def test_by_is_bh_times_the_harmonic_sum_capped_at_one():
    p = np.array([0.001, 0.01, 0.02, 0.2, 0.5])
    harmonic = sum(1 / i for i in range(1, 6))
    np.testing.assert_allclose(by_qvalues(p), np.minimum(1, bh_qvalues(p) * harmonic))


def test_rejections_at_q_match_the_step_up_procedure():
    rng = np.random.default_rng(1)
    p = np.concatenate([rng.uniform(0, 0.002, 10), rng.uniform(size=90)])
    q = bh_qvalues(p)
    order = np.sort(p)
    k = max((i + 1 for i in range(100) if order[i] <= 0.05 * (i + 1) / 100), default=0)
    assert int((q <= 0.05).sum()) == k


def test_nan_p_values_stay_out_of_the_family():
    bh, by = qvalues([0.01, np.nan, 0.02])
    assert np.isnan(bh[1]) and np.isnan(by[1])
    np.testing.assert_allclose(bh[[0, 2]], bh_qvalues([0.01, 0.02]))


def test_bad_p_values_are_refused():
    with pytest.raises(ValueError):
        bh_qvalues([0.5, 1.5])

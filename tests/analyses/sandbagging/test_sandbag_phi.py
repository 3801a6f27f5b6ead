"""phi, its bootstrap interval, the McNemar p-value and the verdict, on planted per-item
correctness (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from evalgap.analyses.sandbagging._phi import (
    AT_CEILING,
    NOT_DETECTED,
    SUSPECTED,
    mcnemar_greater,
    phi_stats,
    verdict_of,
)
from evalgap.stats import bootstrap_weights

# The vectorised bootstrap and the loop over resamples do the same float operations in a
# different order.
LOOP_ATOL = 1e-12
# Simulated honest sweeps flagged: the rule's nominal level is 0.05 and the Bonferroni
# correction makes it conservative; 400 simulations put the binomial SE at 0.011, so an
# observed rate above 0.08 would be a real excess.
MAX_FALSE_POSITIVE_RATE = 0.08


def _planted(n: int, base_acc: float, cells: int, up: float, down: float, rng) -> tuple:
    base = rng.random(n) < base_acc
    flips_up = (rng.random((cells, n)) < up) & ~base
    flips_down = (rng.random((cells, n)) < down) & base
    noisy = (base | flips_up) & ~flips_down
    return base, noisy


def test_phi_and_its_interval_equal_a_loop_over_resamples() -> None:
    rng = np.random.default_rng(1)
    base, noisy = _planted(40, 0.3, 12, up=0.3, down=0.05, rng=rng)
    seeds = np.repeat(np.arange(4), 3)
    st = phi_stats(base, noisy, seeds, n_boot=500, confidence=0.9, rng=np.random.default_rng(7))
    assert st.baseline == base.mean()
    assert st.best == noisy.mean(axis=1).max()
    assert st.phi == pytest.approx(st.best / st.baseline)
    assert st.gain == pytest.approx(st.best - st.baseline)
    # the same resamples, one at a time
    counts = bootstrap_weights(40, 500, np.random.default_rng(7))
    ratios = []
    for w in counts:
        idx = np.repeat(np.arange(40), w.astype(int))
        ratios.append(noisy[:, idx].mean(axis=1).max() / base[idx].mean())
    low, high = np.quantile(ratios, [0.05, 0.95], method="inverted_cdf")
    assert st.ci_low == pytest.approx(low, abs=LOOP_ATOL)
    assert st.ci_high == pytest.approx(high, abs=LOOP_ATOL)
    per_seed = [noisy[seeds == s].mean(axis=1).max() / base.mean() for s in range(4)]
    np.testing.assert_allclose(st.seed_phi, per_seed, atol=LOOP_ATOL)
    assert verdict_of(st, 0.05) == SUSPECTED


def test_zero_baseline_gives_an_infinite_phi_not_nan() -> None:
    base = np.zeros(20, dtype=bool)
    noisy = np.zeros((3, 20), dtype=bool)
    noisy[1, :8] = True
    st = phi_stats(
        base, noisy, np.arange(3), n_boot=200, confidence=0.95, rng=np.random.default_rng(0)
    )
    assert st.phi == np.inf
    assert st.ci_high == np.inf
    assert st.gain == pytest.approx(0.4)
    assert verdict_of(st, 0.05) == SUSPECTED


def test_mcnemar_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    base, noisy = _planted(30, 0.5, 6, up=0.2, down=0.2, rng=rng)
    got = mcnemar_greater(noisy, base)
    for k in range(6):
        up = int((noisy[k] & ~base).sum())
        down = int((~noisy[k] & base).sum())
        want = binomtest(up, up + down, 0.5, alternative="greater").pvalue if up + down else 1.0
        assert got[k] == pytest.approx(want, rel=1e-12)


def test_ceiling_and_no_improvement() -> None:
    base = np.ones(10, dtype=bool)
    noisy = np.ones((2, 10), dtype=bool)
    st = phi_stats(
        base, noisy, np.arange(2), n_boot=200, confidence=0.95, rng=np.random.default_rng(0)
    )
    assert st.phi == 1.0
    assert verdict_of(st, 0.05) == AT_CEILING
    base[:3] = False
    noisy[:, :5] = False  # noise only hurts
    st = phi_stats(
        base, noisy, np.arange(2), n_boot=200, confidence=0.95, rng=np.random.default_rng(0)
    )
    assert st.phi < 1.0
    assert verdict_of(st, 0.05) == NOT_DETECTED


def test_honest_sweeps_are_rarely_flagged() -> None:
    """Honest model: noise flips items both ways at the same rate (the null the McNemar test
    assumes) over 5 seeds x 8 sigmas; phi exceeds 1 in most sweeps by selection, but the
    rule flags few."""
    rng = np.random.default_rng(11)
    flagged, phi_above_one = 0, 0
    runs = 400
    for _ in range(runs):
        base, noisy = _planted(40, 0.6, 40, up=0.05, down=0.05 * 0.6 / 0.4, rng=rng)
        st = phi_stats(
            base, noisy, np.repeat(np.arange(5), 8), n_boot=200, confidence=0.95, rng=rng
        )
        flagged += verdict_of(st, 0.05) == SUSPECTED
        phi_above_one += st.phi > 1
    assert flagged / runs <= MAX_FALSE_POSITIVE_RATE
    assert phi_above_one / runs > 0.5  # why phi alone is no decision rule

"""Simulations: how often the audit's verdicts are wrong, and how often its intervals
cover, where it matters (null, weak, moderate and high correlations; 26 and 100 models;
model families that are not independent draws).

A data set is a latent capability ``g`` and a safety score bivariate normal with it; the
target is the population Spearman correlation. With capability benchmarks that are
monotone transforms of ``g`` the audit's numbers equal those of the simulation engine
(:mod:`evalgap.analyses.safetywashing._simulate`), which the first test checks against
:func:`evalgap.audit` itself; the engine then runs thousands of independent data sets.

Tolerances, declared before running: a rate with nominal value ``p`` over ``N``
independent data sets may exceed ``p`` by ``3 * sqrt(p * (1 - p) / N)`` (three standard
errors); coverage must lie within that of 0.95 on both sides. The verdict rule's errors
have these nominal bounds at ``alpha = 0.05``: a direction when rho = 0, at most
``alpha`` (the interval excludes 0); "at least moderately" or "high" when the truth is
below the band, or a direction opposite to the truth, at most ``alpha / 2`` (one end of
the interval); "does not track" when |rho| >= 0.4, at most ``alpha`` (the equivalence
test's level). The powers asserted are minimums declared for the README's claims, not
tuned. In the family simulation a panel's data sets share their families, so its standard
errors are inflated by the number of data sets per panel (the worst case).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import evalgap
from evalgap.analyses.safetywashing._simulate import (
    coverage_table,
    interval_evidence,
    simulate_family_coverage,
    simulate_verdicts,
    simulated_panel,
    verdict_rates,
)
from evalgap.stats._resample import bootstrap_weights, jackknife_weights

ALPHA = 0.05


def _tol(p: float, n: int, design_effect: float = 1.0) -> float:
    return 3.0 * math.sqrt(design_effect * p * (1.0 - p) / n)


def test_the_simulation_engine_is_the_audit():
    panel = simulated_panel(26, (0.0, 0.5, 0.87), reps=4, seed=3)
    result = evalgap.audit(panel, n_boot=1000, n_perm=0, seed=7)
    table = result.table.sort_values("benchmark").reset_index(drop=True)
    boot_rng = np.random.default_rng(np.random.SeedSequence(7).spawn(2)[0])
    weights = bootstrap_weights(26, 1000, boot_rng)
    y = panel.scores[table["benchmark"]].to_numpy()
    ev = interval_evidence(y, panel.scores["linear"].to_numpy(), weights, jackknife_weights(26))
    for col in ("ci_low", "ci_high", "equivalence_p_value"):
        np.testing.assert_allclose(ev[col], table[col], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ev["estimate"], table["capabilities_correlation"], atol=1e-12)
    assert ev["verdict"].tolist() == table["verdict"].tolist()


@pytest.fixture(scope="module")
def small():
    """26 models (the chat panel's size): 1,000 data sets per rho."""
    return simulate_verdicts(26, (0.0, 0.2, 0.5, 0.8, 0.87), datasets=1000, seed=11)


@pytest.fixture(scope="module")
def large():
    """100 models: 400 data sets per rho."""
    return simulate_verdicts(100, (0.0, 0.2, 0.5, 0.8), datasets=400, seed=12)


def _check_error_rates(rates):
    for row in rates.itertuples():
        n = int(row.n)
        strong = row.high + row.moderate
        claims_low = row.does_not_track + row.tracks_weakly
        if row.rho == 0:
            assert row.wrong_sign <= ALPHA + _tol(ALPHA, n), row  # any direction is wrong
        else:
            assert row.wrong_sign <= ALPHA / 2 + _tol(ALPHA / 2, n), row
        if row.rho < 0.4:
            assert strong <= ALPHA / 2 + _tol(ALPHA / 2, n), row
        if row.rho >= 0.4:
            assert claims_low <= ALPHA + _tol(ALPHA, n), row
        if row.rho < 0.7:
            assert row.high <= ALPHA / 2 + _tol(ALPHA / 2, n), row


@pytest.mark.slow
def test_verdict_error_rates_at_26_and_100_models(small, large):
    rates_small = verdict_rates(small).set_index("rho", drop=False)
    rates_large = verdict_rates(large).set_index("rho", drop=False)
    _check_error_rates(rates_small)
    _check_error_rates(rates_large)
    # Declared minimum powers (the README's claims).
    assert rates_large.loc[0.8, "high"] + rates_large.loc[0.8, "moderate"] >= 0.9
    assert rates_large.loc[0.0, "does_not_track"] >= 0.7
    assert rates_small.loc[0.87, "high"] + rates_small.loc[0.87, "moderate"] >= 0.8


@pytest.mark.slow
def test_audit_interval_coverage_across_rho(small):
    table = coverage_table(small).set_index("rho")
    for rho in (0.0, 0.5, 0.87):
        n = int(table.loc[rho, "n"])
        assert abs(table.loc[rho, "coverage"] - 0.95) <= _tol(ALPHA, n), table.loc[rho]


@pytest.mark.slow
def test_family_bootstrap_where_families_matter():
    """10 families of 3 models whose capability and safety share a family effect (0.8 of
    their variance): resampling models undercovers; resampling families does better on
    the same data sets. (With no family effect the model bootstrap is the one checked
    above.)"""
    reps, panels = 4, 60
    frame = simulate_family_coverage(
        30, 0.5, family_size=3, icc=0.8, panels=panels, reps=reps, seed=21
    )
    cov = coverage_table(frame, by="resample").set_index("resample")
    n = reps * panels
    assert cov.loc["models", "coverage"] < 0.95 - _tol(ALPHA, n, reps)
    assert cov.loc["families", "coverage"] >= cov.loc["models", "coverage"] + 0.04
    assert cov.loc["families", "mean_width"] > cov.loc["models", "mean_width"]

"""Simulations: how often the audit's verdicts are wrong, and how often its intervals
cover, where it matters (null, weak, moderate and high correlations; 26 and 100 models;
model families that are not independent draws).

Every data set goes through :func:`evalgap.audit` itself (see
:mod:`evalgap.analyses.safetywashing._simulate`): capability benchmarks are exact
monotone transforms of a latent ``g``, the safety score is bivariate normal with ``g``,
and the target is the population Spearman correlation. Many safety columns share one
panel, so the data sets of a panel share its capability sample; a setting draws at least
4 panels.

Tolerances, declared before running: a rate with nominal value ``p`` over ``N`` data sets
may exceed ``p`` by ``3 * sqrt(DESIGN_EFFECT * p * (1 - p) / N)`` (three standard errors,
with the variance doubled for the shared capability samples); coverage must lie within
that of 0.95 on both sides. The verdict rule's errors have these nominal bounds at
``alpha = 0.05``: a direction when rho = 0, at most ``alpha`` (the interval excludes 0);
"at least moderately" or "high" when the truth is below the band, or a direction opposite
to the truth, at most ``alpha / 2`` (one end of the interval); "does not track" when
|rho| >= 0.4, at most ``alpha`` (the equivalence test's level). The powers asserted are
minimums declared for the README's claims, not tuned.
"""

from __future__ import annotations

import math

import pytest

from evalgap.analyses.safetywashing._simulate import (
    coverage_table,
    simulate_audits,
    verdict_rates,
)

ALPHA = 0.05
DESIGN_EFFECT = 2.0
RHOS_SMALL = (0.0, 0.2, 0.5, 0.8, 0.87)
RHOS_LARGE = (0.0, 0.2, 0.5, 0.8)


def _tol(p: float, n: int) -> float:
    return 3.0 * math.sqrt(DESIGN_EFFECT * p * (1.0 - p) / n)


@pytest.fixture(scope="module")
def small():
    """26 models (the chat panel's size): 12 panels x 50 data sets per rho."""
    return simulate_audits(26, RHOS_SMALL, panels=12, reps=50, n_boot=1000, seed=11)


@pytest.fixture(scope="module")
def large():
    """100 models: 6 panels x 40 data sets per rho."""
    return simulate_audits(100, RHOS_LARGE, panels=6, reps=40, n_boot=1000, seed=12)


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
    assert rates_small.loc[0.5, "wrong_sign"] == 0.0


@pytest.mark.slow
def test_audit_interval_coverage_across_rho(small):
    table = coverage_table(small).set_index("rho")
    for rho in (0.0, 0.5, 0.87):
        n = int(table.loc[rho, "n"])
        assert abs(table.loc[rho, "coverage"] - 0.95) <= _tol(ALPHA, n), table.loc[rho]


@pytest.mark.slow
def test_family_bootstrap_where_families_matter():
    """10 families of 3 models whose capability and safety share a family effect (0 or
    0.8 of their variance): resampling models undercovers when families matter;
    resampling families does better (the same data sets for both)."""
    cov = {}
    for icc in (0.0, 0.8):
        for unit in ("models", "families"):
            frame = simulate_audits(
                30,
                (0.5,),
                panels=4,
                reps=50,
                seed=21,
                family_size=3,
                icc=icc,
                audit_args={"resample": unit},
            )
            cov[icc, unit] = coverage_table(frame).iloc[0]
    n = int(cov[0.0, "models"]["n"])
    assert abs(cov[0.0, "models"]["coverage"] - 0.95) <= _tol(ALPHA, n)
    assert cov[0.8, "models"]["coverage"] < 0.95 - _tol(ALPHA, n)
    assert cov[0.8, "families"]["coverage"] >= cov[0.8, "models"]["coverage"] + 0.04
    assert cov[0.8, "families"]["mean_width"] > cov[0.8, "models"]["mean_width"]

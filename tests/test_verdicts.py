"""Decisive verdicts and multiplicity: the verdict rule, the equivalence test read off the
bootstrap, q-values over benchmarks and families, simultaneous intervals, the family
bootstrap, and the chat panel at defaults (every interval that excludes 0 gets a
direction and a strength)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

import evalgap
from evalgap.analyses.safetywashing._verdicts import family_qvalues
from evalgap.results._verdict import NOT_DETERMINED, band_of, decide, level_of
from evalgap.stats._equivalence import bootstrap_levels, tost_pvalues
from evalgap.stats._family import group_bootstrap_weights, group_codes, group_jackknife_weights
from evalgap.stats._resample import confidence_intervals
from evalgap.stats._simultaneous import simultaneous_intervals
from synthetic_panels import make_panel

# A bootstrap of B replicates resolves levels to about 1/B; the inverted levels must match
# the interval's nominal levels that closely (declared before running).
LEVEL_TOL = 2e-3


@pytest.mark.parametrize(
    ("rho", "low", "high", "equivalent", "text", "level"),
    [
        (0.81, 0.72, 0.93, False, "tracks capabilities (high, +)", "high"),
        (0.81, 0.57, 0.93, False, "tracks capabilities (at least moderately, +)", "moderate"),
        (-0.5, -0.8, -0.1, False, "tracks capabilities (at least weakly, -)", "weak"),
        (0.2, 0.05, 0.35, True, "tracks capabilities weakly (+, |ρ| < 0.4)", "low"),
        (0.02, -0.3, 0.3, True, "does not track capabilities (|ρ| < 0.4)", "low"),
        (0.1, -0.4, 0.5, False, NOT_DETERMINED, "undetermined"),
        (0.1, -0.4, 0.5, None, NOT_DETERMINED, "undetermined"),
        (0.9, np.nan, np.nan, None, "not determined (no interval)", "undetermined"),
        (np.nan, np.nan, np.nan, None, "n/a", "n/a"),
    ],
)
def test_the_verdict_rule(rho, low, high, equivalent, text, level):
    verdict = decide(rho, low, high, equivalent=equivalent)
    assert verdict.text == text
    assert level_of(text) == verdict.level == level


def test_a_verdict_asked_to_use_q_values_withholds_the_direction():
    assert decide(0.5, 0.1, 0.8, significant=False).text == NOT_DETERMINED
    assert decide(0.5, 0.1, 0.8, significant=True).direction == "+"


def test_bootstrap_levels_invert_the_interval():
    rng = np.random.default_rng(0)
    k, b = 40, 20_000
    centre = rng.uniform(-0.8, 0.8, size=k)
    boot = np.tanh(
        np.arctanh(centre) + rng.normal(scale=0.25, size=(b, k)) + 0.05 * rng.normal(size=k)
    )
    jack = np.tanh(np.arctanh(centre) + 0.02 * rng.standard_t(4, size=(26, k)))
    for method in ("bca", "percentile"):
        lo, hi, _, _ = confidence_intervals(boot, centre, jack, confidence_level=0.9, method=method)
        below = bootstrap_levels(boot, centre, lo, jack, method=method)
        above = 1 - bootstrap_levels(boot, centre, hi, jack, method=method)
        np.testing.assert_allclose(below, 0.05, atol=LEVEL_TOL)
        np.testing.assert_allclose(above, 0.05, atol=LEVEL_TOL)


def test_tost_agrees_with_the_interval_at_one_minus_two_alpha():
    rng = np.random.default_rng(1)
    k, b = 300, 4000
    centre = rng.uniform(-0.6, 0.6, size=k)
    boot = centre + rng.normal(scale=rng.uniform(0.05, 0.3, size=k), size=(b, k))
    p = tost_pvalues(boot, centre, 0.4, method="percentile")
    lo, hi, _, _ = confidence_intervals(boot, centre, confidence_level=0.9, method="percentile")
    inside = (lo > -0.4) & (hi < 0.4)
    clear = np.minimum(np.abs(lo + 0.4), np.abs(hi - 0.4)) > 0.01  # away from the edge
    assert clear.sum() > 200 and inside[clear].any() and (~inside[clear]).any()
    np.testing.assert_array_equal((p < 0.05)[clear], inside[clear])


def test_simultaneous_critical_value_follows_the_dependence():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(20_000, 50))
    _, _, one = simultaneous_intervals(np.tanh(0.3 + 0.1 * z[:, :1]), np.array([np.tanh(0.3)]))
    _, _, same = simultaneous_intervals(
        np.tanh(0.3 + 0.1 * np.repeat(z[:, :1], 50, axis=1)), np.full(50, np.tanh(0.3))
    )
    lo, hi, indep = simultaneous_intervals(np.tanh(0.3 + 0.1 * z), np.full(50, np.tanh(0.3)))
    sidak = ndtri(1 - (1 - 0.95 ** (1 / 50)) / 2)
    assert abs(one - 1.96) < 0.05 and abs(same - 1.96) < 0.05
    assert abs(indep - sidak) < 0.1
    assert (lo < np.tanh(0.3)).all() and (hi > np.tanh(0.3)).all()


def test_family_bootstrap_draws_whole_families():
    codes = group_codes(["b", "a", "b", None, "a", "c"])
    assert codes.tolist() == [1, 0, 1, 3, 0, 2]
    w = group_bootstrap_weights(codes, 500, np.random.default_rng(0))
    assert (w[:, 0] == w[:, 2]).all() and (w[:, 1] == w[:, 4]).all()
    assert (w[:, [1, 0, 5, 3]].sum(axis=1) == 4).all()  # four families drawn each time
    jack = group_jackknife_weights(codes)
    assert jack.shape == (4, 6) and jack[1].tolist() == [0, 1, 0, 1, 1, 1]


def test_family_qvalues_count_a_family_once():
    p = np.array([0.001, 0.2, 0.3, 0.04, 0.9])
    fam_p, fam_q, fam_by = family_qvalues(["w", "w", "w", "x", "y"], p)
    assert fam_p[:3].tolist() == [0.003] * 3  # Simes: min(3 * 0.001 / 1, ...)
    assert fam_q.tolist() == pytest.approx([0.009, 0.009, 0.009, 0.06, 0.9])
    assert (fam_by >= fam_q).all()


def test_verdict_bases_and_q_values_in_the_audit():
    panel = make_panel(n_models=30, rho=0.35, seed=8)
    kw = {"n_boot": 1000, "n_perm": 1000, "seed": 1}
    plain = evalgap.audit(panel, **kw).benchmark("safety")
    by_q = evalgap.audit(panel, verdict_basis="q_value", **kw)
    sim = evalgap.audit(panel, verdict_basis="simultaneous", **kw)
    assert by_q.settings["verdict_basis"] == "q_value"
    row = by_q.benchmark("safety")
    for col in (
        "q_value",
        "q_value_by",
        "equivalence_p_value",
        "family_q_value",
        "compute_q_value",
    ):
        assert 0 <= row[col] <= 1
    assert row["q_value"] == row["p_value"]  # one test: BH leaves it alone
    s_row = sim.benchmark("safety")
    assert s_row["simultaneous_ci_low"] < s_row["capabilities_correlation"]
    assert s_row["capabilities_correlation"] < s_row["simultaneous_ci_high"]
    assert np.isnan(plain["simultaneous_ci_low"])
    with pytest.raises(evalgap.AnalysisError, match="verdict_basis"):
        evalgap.audit(panel, verdict_basis="vibes", n_boot=0)


def test_chat_panel_at_defaults_every_excluding_interval_gets_a_direction(chat_panel):
    result = evalgap.audit(chat_panel)
    t = result.table
    excludes = (t["ci_low"] > 0) | (t["ci_high"] < 0)
    assert excludes.sum() >= 80
    directional = t["direction"].isin(["+", "-"])
    assert (directional == excludes).all()
    for row in t[excludes].itertuples():
        nearest = row.ci_low if row.ci_low > 0 else row.ci_high
        band = band_of(nearest)
        assert row.strength == ("low" if band == "low" else band.split()[0])
        assert row.verdict.startswith("tracks capabilities") and row.direction in row.verdict
    # "does not track" only from the equivalence test
    none = t[t["verdict"].str.startswith("does not track")]
    assert (none["equivalence_p_value"] < 0.05).all()
    assert (
        t.loc[~excludes & (t["equivalence_p_value"] >= 0.05), "verdict"] == NOT_DETERMINED
    ).all()
    # multiplicity columns are filled for every benchmark
    assert t[["q_value", "q_value_by", "family_q_value"]].notna().all().all()
    assert ((t["q_value_by"] >= t["q_value"]) & (t["q_value"] >= t["p_value"])).all()
    # areas count families: WMDP and its three splits are one
    weapons = result.areas.set_index("area").loc["weaponization"]
    assert weapons["n_benchmarks"] == 4 and weapons["n_families"] == 1


def test_family_bootstrap_runs_on_the_chat_panel(chat_panel):
    result = evalgap.audit(
        chat_panel, benchmarks=["truthfulqa_mc1", "wmdp"], resample="families", n_boot=500,
        n_perm=0,
    )  # fmt: skip
    assert result.settings["resample"] == "families"
    t = result.table.set_index("benchmark")
    assert (t["ci_low"] < t["capabilities_correlation"]).all()
    assert (t["capabilities_correlation"] < t["ci_high"]).all()
    assert pd.Series(chat_panel.models["family"]).notna().all()

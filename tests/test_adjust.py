"""Capabilities-adjusted safety: the leave-one-out fits equal explicit refits, planted
per-model offsets are recovered with their sign, and the intervals cover at the nominal
rate.

Coverage tolerances are fixed here from the Monte-Carlo standard error and the theory of
each interval, before the simulations were run: the linear-fit t interval is exact under
normal scatter, so its coverage must be within about 4 standard errors of nominal;
jackknife+ guarantees at least ``1 - 2α`` and is typically a little conservative, so its
band is asymmetric around nominal.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from scipy.optimize import isotonic_regression

import evalgap
from evalgap import AnalysisError, adjust, adjusted_scores
from evalgap.analyses.safetywashing._adjust import LESS_SAFE, SAFER, WITHIN
from evalgap.report import section_of
from synthetic_panels import make_panel

LEVEL = 0.90
# Declared before running (see the module docstring).
N_MODELS = 20  # models per simulated panel
LINEAR_TOL = 0.015  # null coverage of the t interval, R*n = 12,000 model-draws
PLANTED_TOL = 0.025  # coverage of a planted offset, R = 1,500 datasets (SE 0.0077)
JACKKNIFE_BAND = (LEVEL - 0.015, LEVEL + 0.035)  # jackknife+: at least 1 - 2α, usually ≥ 1 - α


def _isotonic_predict(x: np.ndarray, y: np.ndarray, keep: np.ndarray, at: float) -> float:
    inc = isotonic_regression(y[keep], increasing=True).x
    dec = isotonic_regression(y[keep], increasing=False).x
    sse_i = ((y[keep] - inc) ** 2).sum()
    sse_d = ((y[keep] - dec) ** 2).sum()
    fit = inc if sse_i <= sse_d * (1 + 1e-12) else dec
    return float(np.interp(at, x[keep], fit))


def test_linear_leave_one_out_equals_explicit_refits():
    rng = np.random.default_rng(0)
    n = 15
    s = rng.normal(size=n)
    y = 0.4 * s + 0.2 * rng.normal(size=n)
    out = adjusted_scores(s, y, fit="linear", confidence_level=LEVEL)
    t = scipy.stats.t.ppf(0.5 + LEVEL / 2, n - 3)
    for i in range(n):
        keep = np.arange(n) != i
        slope, intercept = np.polyfit(s[keep], y[keep], 1)
        pred = intercept + slope * s[i]
        resid = y[keep] - (intercept + slope * s[keep])
        sigma = math.sqrt((resid**2).sum() / (n - 3))
        sx = s[keep]
        se = sigma * math.sqrt(
            1 + 1 / (n - 1) + (s[i] - sx.mean()) ** 2 / ((sx - sx.mean()) ** 2).sum()
        )
        assert out.loc[i, "predicted"] == pytest.approx(pred, abs=1e-10)
        assert out.loc[i, "pi_low"] == pytest.approx(pred - t * se, abs=1e-10)
        assert out.loc[i, "pi_high"] == pytest.approx(pred + t * se, abs=1e-10)
        p = 2 * scipy.stats.t.sf(abs(y[i] - pred) / se, n - 3)
        assert out.loc[i, "p_value"] == pytest.approx(p, abs=1e-10)
    assert (out["residual"] == out["observed"] - out["predicted"]).all()


def test_monotone_leave_one_out_and_jackknife_plus_equal_explicit_refits():
    rng = np.random.default_rng(1)
    n = 12
    s = np.sort(rng.normal(size=n))
    y = np.tanh(2 * s) + 0.3 * rng.normal(size=n)
    out = adjusted_scores(s, y, fit="monotone", confidence_level=0.8)
    alpha = 0.2
    m = n - 1
    for i in range(n):
        keep = np.arange(n) != i
        assert out.loc[i, "predicted"] == pytest.approx(_isotonic_predict(s, y, keep, s[i]))
        lows, highs, resid = [], [], []
        for j in range(n):
            if j == i:
                continue
            kk = keep & (np.arange(n) != j)
            r = abs(y[j] - _isotonic_predict(s, y, kk, s[j]))
            mu = _isotonic_predict(s, y, kk, s[i])
            lows.append(mu - r)
            highs.append(mu + r)
            resid.append(r)
        lo = np.sort(lows)[math.floor(alpha * (m + 1)) - 1]
        hi = np.sort(highs)[math.ceil((1 - alpha) * (m + 1)) - 1]
        assert out.loc[i, "pi_low"] == pytest.approx(lo)
        assert out.loc[i, "pi_high"] == pytest.approx(hi)
        r_i = abs(y[i] - out.loc[i, "predicted"])
        p = (1 + sum(r >= r_i - 1e-12 for r in resid)) / (m + 1)
        assert out.loc[i, "p_value"] == pytest.approx(p)


@pytest.mark.parametrize("fit", ["linear", "monotone", "auto"])
def test_a_models_own_score_never_enters_its_prediction_or_interval(fit):
    rng = np.random.default_rng(5)
    n = 25
    s = rng.normal(size=n)
    y = np.tanh(s) + 0.2 * rng.normal(size=n)
    base = adjusted_scores(s, y, fit=fit)
    for shift in (-5.0, 0.7, 40.0):
        y2 = y.copy()
        y2[4] += shift
        out = adjusted_scores(s, y2, fit=fit)
        assert out.loc[4, "fit"] == base.loc[4, "fit"]
        for col in ("predicted", "pi_low", "pi_high"):
            assert out.loc[4, col] == pytest.approx(base.loc[4, col], abs=1e-9), (col, shift)
        assert out.loc[4, "residual"] == pytest.approx(base.loc[4, "residual"] + shift)


def test_jackknife_plus_is_unbounded_when_too_few_models():
    s = np.arange(8.0)
    y = s + np.array([0.1, -0.2, 0.3, 0.0, -0.1, 0.2, -0.3, 0.1])
    out = adjusted_scores(s, y, fit="monotone", confidence_level=0.95)
    assert np.isinf(out["pi_low"]).all() and np.isinf(out["pi_high"]).all()
    assert (out["residual_low"] == -np.inf).all()


def _simulate(rng, n, shape, offset=0.0):
    s = rng.normal(size=n)
    f = 0.5 * s if shape == "linear" else 1.0 / (1.0 + np.exp(-3.0 * s))
    y = f + 0.1 * rng.normal(size=n)
    delta = np.zeros(n)
    if offset:
        delta[0] = offset
    return s, y + delta, delta


@pytest.mark.parametrize(
    ("fit", "shape", "band"),
    [
        ("linear", "linear", (LEVEL - LINEAR_TOL, LEVEL + LINEAR_TOL)),
        ("monotone", "logistic", JACKKNIFE_BAND),
        ("auto", "logistic", JACKKNIFE_BAND),
        ("auto", "linear", JACKKNIFE_BAND),
    ],
)
def test_null_coverage_is_nominal(fit, shape, band):
    rng = np.random.default_rng(11)
    covered = []
    for _ in range(12_000 // N_MODELS):
        s, y, _ = _simulate(rng, N_MODELS, shape)
        out = adjusted_scores(s, y, fit=fit, confidence_level=LEVEL)
        covered.append(((out["residual_low"] <= 0) & (0 <= out["residual_high"])).to_numpy())
    coverage = float(np.mean(covered))
    assert band[0] <= coverage <= band[1], coverage


@pytest.mark.parametrize("fit", ["linear", "auto"])
def test_planted_offsets_are_recovered_with_their_sign_and_covered(fit):
    """y = capabilities trend + scatter + a planted offset for one model per dataset."""
    rng = np.random.default_rng(7)
    reps = 1500  # the number PLANTED_TOL was declared for
    covered, sign_ok, flagged, errors = [], [], [], []
    for _ in range(reps):
        offset = rng.choice([-1, 1]) * rng.uniform(0.0, 1.0)  # up to 10 scatter SDs
        s, y, delta = _simulate(rng, N_MODELS, "linear", offset)
        out = adjusted_scores(s, y, fit=fit, confidence_level=LEVEL)
        row = out.iloc[0]
        covered.append(row["residual_low"] <= delta[0] <= row["residual_high"])
        errors.append(row["residual"] - delta[0])
        if abs(offset) >= 0.6:  # six scatter SDs: must be found, with its sign
            sign_ok.append(np.sign(row["residual"]) == np.sign(offset))
            flagged.append(row["residual_low"] > 0 if offset > 0 else row["residual_high"] < 0)
    coverage = float(np.mean(covered))
    # Model 0's interval and fit choice never see y_0, so the planted model is covered as
    # a clean model would be: exactly for the t interval, conservatively for jackknife+.
    upper = PLANTED_TOL if fit == "linear" else JACKKNIFE_BAND[1] - LEVEL
    band = (LEVEL - PLANTED_TOL, LEVEL + upper)
    assert band[0] <= coverage <= band[1], coverage
    assert np.all(sign_ok)
    assert np.mean(flagged) >= 0.95
    assert abs(np.median(errors)) < 0.02
    assert np.median(np.abs(errors)) < 0.1  # one scatter SD


def test_panel_adjust_with_planted_offsets_and_orientation():
    panel = make_panel(n_models=30, seed=4)
    cap = evalgap.capabilities_score(panel).scores
    rng = np.random.default_rng(4)
    models = panel.model_ids
    good = 0.3 * cap + 0.05 * rng.normal(size=len(models))
    good.iloc[3] += 0.6  # planted: much safer than its capabilities predict
    good.iloc[7] -= 0.6  # planted: much less safe
    scores = panel.scores.copy()
    scores["harm"] = -good  # lower is better: the same safety, reported upside down
    scores["good"] = good
    bench = pd.DataFrame(
        {"higher_is_better": [True] * 5 + [True, False, True], "role": ["capability"] * 5
         + ["other", "safety", "safety"]},
        index=[*panel.default_capabilities, "safety", "harm", "good"],
    )  # fmt: skip
    p2 = evalgap.Panel.from_frames(scores, bench)
    result = adjust(p2, fit="linear")
    assert set(result.fits["benchmark"]) == {"harm", "good"}
    for bench_id in ("harm", "good"):
        rank = result.ranking(bench_id)
        assert rank.iloc[0]["model"] == models[3]
        assert rank.iloc[-1]["model"] == models[7]
        assert rank.iloc[0]["assessment"] == SAFER
        assert rank.iloc[-1]["assessment"] == LESS_SAFE
        assert list(rank["rank"]) == list(range(1, 31))
    h = result.ranking("harm").set_index("model")
    g = result.ranking("good").set_index("model")
    np.testing.assert_allclose(h["residual"], g.loc[h.index, "residual"], atol=1e-9)
    np.testing.assert_allclose(h["observed"], -g.loc[h.index, "observed"], atol=1e-12)
    np.testing.assert_allclose(h["pi_low"], -g.loc[h.index, "pi_high"], atol=1e-9)
    assert (h["pi_low"] <= h["pi_high"]).all()
    assert (result.table["assessment"].isin([SAFER, LESS_SAFE, WITHIN])).all()


def test_chat_panel_runs_and_serialises(chat_panel):
    result = adjust(chat_panel, benchmarks=["truthfulqa_mc1", "ethics_cm"])
    assert len(result.table) == 52
    assert set(result.fits["fit"]) <= {"linear", "monotone"}
    rank = result.ranking("truthfulqa_mc1")
    assert rank["residual"].is_monotonic_decreasing
    data = json.loads(result.to_json())
    assert data["settings"]["confidence_level"] == 0.95
    assert len(data["scores"]) == 52
    assert len(result.model("gemma-1.1-7b-it")) == 2
    section = section_of(result)
    assert section.id == "adjusted" and "TruthfulQA" in section.html


def test_all_safety_benchmarks_of_both_panels(chat_panel, base_panel):
    for panel in (chat_panel, base_panel):
        result = adjust(panel)
        assert set(result.fits["benchmark"]) == set(panel.safety_benchmarks)
        assert result.table["residual"].notna().all()


def test_bad_input_raises_one_clear_error():
    panel = make_panel(n_models=30)
    with pytest.raises(AnalysisError, match="fit must be"):
        adjust(panel, fit="spline")
    with pytest.raises(AnalysisError, match="unknown benchmark"):
        adjust(panel, benchmarks=["nope"])
    with pytest.raises(AnalysisError, match="at least 5"):
        adjusted_scores([1, 2, 3, 4], [1, 2, 3, 5])
    flat = panel.scores.copy()
    flat["safety"] = 0.5
    with pytest.raises(AnalysisError, match="same score"):
        adjust(evalgap.Panel.from_frames(flat, capabilities=panel.default_capabilities))
    with pytest.raises(AnalysisError, match="finite"):
        adjusted_scores([1, 2, 3, 4, np.nan], [1, 2, 3, 4, 5])

"""The audit: determinism, invariance to row order, orientation, missing data, options."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import evalgap
from evalgap.errors import AnalysisError
from evalgap.io import read_table_panel
from synthetic_panels import make_panel


def _analysis_bytes(result: evalgap.AuditResult) -> str:
    """Everything computed, without provenance (file paths and hashes)."""
    data = result.to_dict()
    data["settings"] = {k: v for k, v in data["settings"].items() if k not in ("panel", "files")}
    del data["provenance"]
    data["panel"] = {k: v for k, v in data["panel"].items() if k not in ("source", "files")}
    return json.dumps(data, sort_keys=True)


def test_same_seed_same_bytes_and_other_seed_differs():
    panel = make_panel()
    a = evalgap.audit(panel, n_boot=500, n_perm=500, seed=3).to_json()
    b = evalgap.audit(panel, n_boot=500, n_perm=500, seed=3).to_json()
    c = evalgap.audit(panel, n_boot=500, n_perm=500, seed=4).to_json()
    assert a == b
    assert a != c


def test_shuffling_models_and_columns_changes_nothing(chat_panel, tmp_path):
    scores = chat_panel.scores
    models = chat_panel.models.rename(columns={}).reset_index()
    original = tmp_path / "scores.csv"
    scores.reset_index().to_csv(original, index=False)
    rng = np.random.default_rng(0)
    shuffled = tmp_path / "shuffled.csv"
    cols = list(scores.columns)
    rng.shuffle(cols)
    scores.iloc[rng.permutation(len(scores))][cols].reset_index().to_csv(shuffled, index=False)
    info = tmp_path / "models.csv"
    models[["model", "flop"]].to_csv(info, index=False)
    caps = list(chat_panel.default_capabilities)
    kwargs = {"n_boot": 300, "n_perm": 300, "seed": 1}
    first = evalgap.audit(read_table_panel(original, models=info, capabilities=caps), **kwargs)
    second = evalgap.audit(read_table_panel(shuffled, models=info, capabilities=caps), **kwargs)
    assert _analysis_bytes(first) == _analysis_bytes(second)
    # and a reference panel in a different row order gives the same capabilities scores
    pd.testing.assert_series_equal(
        first.capabilities.scores.sort_index(), second.capabilities.scores.sort_index()
    )


def test_lower_is_better_benchmark_is_negated():
    panel = make_panel(rho=0.7)
    flipped = panel.scores.copy()
    flipped["safety"] = -flipped["safety"]
    info = pd.DataFrame({"higher_is_better": [False]}, index=["safety"])
    negated = evalgap.Panel.from_frames(
        flipped, info, panel.models, capabilities=panel.default_capabilities
    )
    a = evalgap.audit(panel, n_boot=0, n_perm=0).benchmark("safety")
    b = evalgap.audit(negated, n_boot=0, n_perm=0).benchmark("safety")
    assert b["capabilities_correlation"] == pytest.approx(a["capabilities_correlation"])
    assert b["orientation"] == "lower" and a["orientation"] == "higher"
    assert b["orientation_source"] == "higher_is_better=false"


def test_closer_to_zero_scores_the_distance_from_the_target():
    panel = make_panel(rho=0.7)
    gap = panel.scores.copy()
    rng = np.random.default_rng(0)
    # a signed gap whose size falls with the safety trait: either sign is as bad
    gap["safety"] = (rng.choice([-1.0, 1.0], size=len(gap)) * np.exp(-gap["safety"])).to_numpy()
    info = pd.DataFrame({"orientation": ["closer_to(0)"]}, index=["safety"])
    closer = evalgap.Panel.from_frames(
        gap, info, panel.models, capabilities=panel.default_capabilities
    )
    a = evalgap.audit(panel, n_boot=0, n_perm=0).benchmark("safety")
    b = evalgap.audit(closer, n_boot=0, n_perm=0).benchmark("safety")
    assert (
        b["orientation"] == "closer_to(0)"
        and not closer.benchmarks.loc["safety", "higher_is_better"]
    )
    assert b["capabilities_correlation"] == pytest.approx(a["capabilities_correlation"])


def test_missing_flop_is_a_reason_not_a_crash():
    panel = make_panel(flop=False)
    row = evalgap.audit(panel, n_boot=200, n_perm=100).benchmark("safety")
    assert np.isnan(row["compute_correlation"])
    assert "no training FLOP" in row["note"]
    assert not np.isnan(row["capabilities_correlation"])


def test_partly_missing_flop_uses_the_models_that_have_it():
    panel = make_panel(n_models=20)
    models = panel.models.copy()
    models.iloc[:6, models.columns.get_loc("flop")] = np.nan
    panel = evalgap.Panel.from_frames(
        panel.scores, models=models, capabilities=panel.default_capabilities
    )
    row = evalgap.audit(panel, n_boot=0, n_perm=0).benchmark("safety")
    assert row["compute_n"] == 14
    have = models["flop"].notna()
    expected = scipy.stats.spearmanr(panel.scores.loc[have, "safety"], models.loc[have, "flop"])
    assert row["compute_correlation"] == pytest.approx(expected.statistic)


@pytest.mark.parametrize("method", ["pearson", "kendall"])
def test_other_correlation_methods_match_scipy(method):
    panel = make_panel(seed=5)
    result = evalgap.audit(panel, method=method, n_boot=0, n_perm=0)
    score = result.capabilities.scores
    stat = scipy.stats.pearsonr if method == "pearson" else scipy.stats.kendalltau
    expected = stat(panel.scores["safety"], score[panel.scores.index]).statistic
    assert result.benchmark("safety")["capabilities_correlation"] == pytest.approx(expected)


def test_permutation_pvalue_separates_signal_from_noise():
    strong = evalgap.audit(make_panel(rho=0.9, seed=1), n_boot=0, n_perm=2000)
    null = evalgap.audit(make_panel(rho=0.0, seed=2), n_boot=0, n_perm=2000)
    assert strong.benchmark("safety")["p_value"] < 0.001
    assert null.benchmark("safety")["p_value"] > 0.05


def test_bootstrap_off_gives_no_verdict_but_keeps_the_band():
    row = evalgap.audit(make_panel(rho=0.95), n_boot=0, n_perm=0).benchmark("safety")
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
    assert row["verdict"] == "not determined (no interval)"
    assert row["band"] == "high +"


def test_interval_contains_the_estimate_and_verdict_follows_the_interval():
    result = evalgap.audit(make_panel(rho=0.6, n_models=40), n_boot=1000, n_perm=0)
    row = result.benchmark("safety")
    assert row["ci_low"] < row["capabilities_correlation"] < row["ci_high"]
    assert row["slope_ci_low"] < row["slope"] < row["slope_ci_high"]
    assert row["n_boot_valid"] == 1000
    assert row["ci_low"] > 0  # a clear correlation: a direction, with the lower end's band
    strength = {"high +": "high", "moderate +": "moderate", "low": "low"}[
        evalgap.results._verdict.band_of(row["ci_low"])
    ]
    assert row["direction"] == "+" and row["strength"] == strength
    assert row["verdict"].startswith("tracks capabilities")


def test_custom_bands_change_the_verdict():
    panel = make_panel(rho=0.6, seed=3)
    row = evalgap.audit(panel, n_boot=1000, n_perm=0).benchmark("safety")
    edge = row["ci_low"] * 0.9
    lenient = evalgap.audit(panel, n_boot=1000, n_perm=0, bands=(edge / 2, edge))
    assert lenient.benchmark("safety")["verdict"] == "tracks capabilities (high, +)"


def test_impute_mode_keeps_models_with_missing_capabilities():
    panel = make_panel(n_models=30, n_caps=6, seed=9)
    scores = panel.scores.copy()
    truth = evalgap.capabilities_score(panel).scores
    holes = {"model-000": "cap0", "model-001": "cap3", "model-002": "cap5"}
    for model, cap in holes.items():
        scores.loc[model, cap] = np.nan
    holed = evalgap.Panel.from_frames(
        scores, models=panel.models, capabilities=panel.default_capabilities
    )
    paper = evalgap.audit(holed, n_boot=0, n_perm=0)
    imputed = evalgap.audit(holed, n_boot=300, n_perm=0, impute=True)
    assert paper.capabilities.n_models == 27
    assert set(paper.capabilities.models.query("not used")["model"]) == set(holes)
    assert imputed.capabilities.n_models == 30
    assert imputed.benchmark("safety")["n"] == 30
    # the imputed models land close to where their full data put them
    got = imputed.capabilities.scores
    for model in holes:
        assert abs(got[model] - truth[model]) < 0.5
    assert np.corrcoef(got[truth.index], truth)[0, 1] > 0.99


def test_auditing_a_capability_benchmark_is_refused():
    panel = make_panel()
    with pytest.raises(AnalysisError, match="capability benchmarks"):
        evalgap.audit(panel, benchmarks=["cap0"], n_boot=0)


def test_json_has_the_documented_shape(chat_panel):
    data = json.loads(evalgap.audit(chat_panel, n_boot=200, n_perm=200).to_json())
    cap = data["capabilities"]
    assert {"explained_variance", "eigenvalues", "loadings", "scores"} <= set(cap)
    assert len(cap["scores"]) == 26 and len(cap["loadings"]) == 12
    first = data["benchmarks"][0]
    for key in (
        "benchmark",
        "role",
        "area",
        "n",
        "capabilities_correlation",
        "ci_low",
        "ci_high",
        "p_value",
        "compute_correlation",
        "slope",
        "verdict",
    ):
        assert key in first
    rhos = [abs(b["capabilities_correlation"]) for b in data["benchmarks"]]
    assert rhos == sorted(rhos, reverse=True)
    assert {a["area"] for a in data["areas"]} >= {"weaponization", "truthfulness", "calibration"}


def test_rows_stay_aligned_when_a_model_is_dropped():
    """The reference script assigns capabilities scores positionally after dropping
    incomplete rows; evalgap keys everything by model id."""
    panel = make_panel(n_models=25, seed=4)
    scores = panel.scores.copy()
    scores.loc["model-010", "cap2"] = np.nan
    holed = evalgap.Panel.from_frames(
        scores, models=panel.models, capabilities=panel.default_capabilities
    )
    result = evalgap.audit(holed, n_boot=0, n_perm=0)
    # the paper's steps, keyed by model id: z-score over every model that has the
    # benchmark, then drop the incomplete row, then PCA
    caps = list(panel.default_capabilities)
    z = (scores - scores.mean()) / scores.std(ddof=0)
    complete = z[caps].dropna()
    _, vectors = np.linalg.eigh(complete.corr(method="spearman").to_numpy())
    pc = vectors[:, -1] * np.sign(vectors[np.abs(vectors[:, -1]).argmax(), -1])
    expected = pd.Series(complete.to_numpy() @ pc, index=complete.index)
    got = result.capabilities.scores
    assert np.isnan(got["model-010"])
    np.testing.assert_allclose(got[expected.index], expected, atol=1e-12)
    row = result.benchmark("safety")
    assert row["n"] == 24
    rho = scipy.stats.spearmanr(scores.loc[expected.index, "safety"], expected).statistic
    assert row["capabilities_correlation"] == pytest.approx(rho, abs=1e-12)

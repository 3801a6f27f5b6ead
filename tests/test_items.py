"""Item level: the item matrix, item statistics and reliability equal direct formulas, the
decorrelated subset keeps a planted trait and drops capability and noise items, the
held-out correlation is reported beside the in-sample one, and real HELM per-item results
read through the importer run end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import evalgap
from evalgap import (
    AnalysisError,
    InputError,
    item_analysis,
    item_matrix,
    other_benchmarks_proxy,
    reliability,
    select_items,
)
from evalgap.report import section_of
from evalgap.stats._reliability import cronbach_alpha, split_half


def _logistic(z: np.ndarray, a: float = 1.5) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a * z))


def planted(n_models=300, n_cap=30, n_trait=30, n_noise=30, seed=0):
    """Items that are pure capability, a separate trait, or pure noise."""
    rng = np.random.default_rng(seed)
    cap, trait = rng.normal(size=(2, n_models))
    difficulty = rng.normal(scale=0.7, size=n_cap + n_trait + n_noise)
    latent = np.hstack(
        [
            np.repeat(cap[:, None], n_cap, axis=1),
            np.repeat(trait[:, None], n_trait, axis=1),
            np.zeros((n_models, n_noise)),
        ]
    )
    p = _logistic(latent - difficulty[None, :])
    x = (rng.random(p.shape) < p).astype(np.uint8)
    kind = np.array(["cap"] * n_cap + ["trait"] * n_trait + ["noise"] * n_noise)
    measured = cap + 0.3 * rng.normal(size=n_models)  # the capabilities score is noisy too
    return x, measured, kind


# -- the matrix -----------------------------------------------------------------------------


def test_item_matrix_pivots_averages_repeats_and_checks_input():
    records = pd.DataFrame(
        {
            "model": ["b", "a", "a", "a", "b", "a"],
            "benchmark": ["x", "x", "x", "x", "x", "y"],
            "item": ["q2", "q1", "q2", "q2", "q1", "q1"],
            "score": [1, 1, 0, 1, 0, 0],
        }
    )
    m = item_matrix(records, "x")
    assert list(m.index) == ["a", "b"] and list(m.columns) == ["q1", "q2"]
    assert m.to_numpy().tolist() == [[1.0, 0.5], [0.0, 1.0]]
    with pytest.raises(InputError, match="2 benchmarks"):
        item_matrix(records)
    with pytest.raises(InputError, match="no records for benchmark 'z'"):
        item_matrix(records, "z")
    with pytest.raises(InputError, match="'item' is missing"):
        item_matrix(records.drop(columns="item"), "x")
    bad = records.assign(score=["1", "x", "0", "1", "0", "0"])
    with pytest.raises(InputError, match="expected a number, got 'x'"):
        item_matrix(bad, "x")


# -- statistics -----------------------------------------------------------------------------


def test_reliability_equals_the_textbook_formulas():
    rng = np.random.default_rng(2)
    x = (rng.random((40, 12)) < _logistic(rng.normal(size=(40, 1)) - rng.normal(size=12))).astype(
        float
    )
    k = x.shape[1]
    alpha = k / (k - 1) * (1 - x.var(axis=0).sum() / x.sum(axis=1).var())
    p = x.mean(axis=0)
    kr20 = k / (k - 1) * (1 - (p * (1 - p)).sum() / x.sum(axis=1).var())
    rel = reliability(x)
    assert rel.binary and rel.name == "KR-20"
    assert rel.alpha == pytest.approx(alpha) == pytest.approx(kr20)
    r = np.corrcoef(x[:, 0::2].sum(axis=1), x[:, 1::2].sum(axis=1))[0, 1]
    assert rel.split_half == pytest.approx(2 * r / (1 + r))
    cont = x + rng.normal(scale=0.1, size=x.shape)
    assert reliability(cont).name == "Cronbach's alpha"
    assert cronbach_alpha(cont) == pytest.approx(
        k / (k - 1) * (1 - cont.var(axis=0).sum() / cont.sum(axis=1).var()), rel=1e-5
    )
    assert math.isnan(split_half(x[:, :1]))


def test_item_statistics_equal_scipy():
    x, cap, _ = planted(n_models=80, n_cap=5, n_trait=5, n_noise=5, seed=3)
    result = item_analysis(x, cap, select=False, n_boot=0)
    table = result.table.set_index("item")
    ranks = scipy.stats.rankdata(cap)
    total = x.sum(axis=1)
    for j in range(x.shape[1]):
        row = table.loc[str(j)]
        # Spearman of a 0/1 item = Pearson with the capability ranks.
        rho = scipy.stats.spearmanr(x[:, j], cap).statistic
        assert row["capabilities_correlation"] == pytest.approx(rho, abs=1e-5)
        assert row["capabilities_correlation"] == pytest.approx(
            np.corrcoef(x[:, j], ranks)[0, 1], abs=1e-5
        )
        rest = np.corrcoef(x[:, j], total - x[:, j])[0, 1]
        assert row["item_rest_correlation"] == pytest.approx(rest, abs=1e-5)
        assert row["mean"] == pytest.approx(x[:, j].mean())
    pearson = item_analysis(x, cap, select=False, n_boot=0, method="pearson").table
    pb = scipy.stats.pointbiserialr(x[:, 0], cap).statistic
    assert pearson.set_index("item").loc["0", "capabilities_correlation"] == pytest.approx(
        pb, abs=1e-5
    )
    full = result.summary.iloc[0]
    assert full["correlation"] == pytest.approx(scipy.stats.spearmanr(total, cap).statistic)
    assert full["alpha"] == pytest.approx(reliability(x).alpha, abs=1e-6)


# -- the decorrelated subset ---------------------------------------------------------------


def test_planted_trait_is_kept_capability_and_noise_dropped():
    x, cap, kind = planted()
    result = item_analysis(x, cap, target=0.3, reliability_floor=0.7, seed=1)
    kept = kind[[int(i) for i in result.subset]]
    counts = {k: int((kept == k).sum()) for k in ("cap", "trait", "noise")}
    assert counts["trait"] >= 28, counts
    assert counts["cap"] == 0, counts
    assert counts["noise"] <= 3, counts
    full, sub = result.summary.iloc[0], result.summary.iloc[1]
    assert full["correlation"] > 0.5
    # in-sample and held-out correlations are both reported, with intervals
    for col in ("correlation", "ci_low", "ci_high", "heldout_correlation", "heldout_ci_low",
                "heldout_ci_high"):  # fmt: skip
        assert np.isfinite(sub[col]), col
    assert abs(sub["heldout_correlation"]) <= 0.3
    assert sub["heldout_ci_low"] <= sub["heldout_correlation"] <= sub["heldout_ci_high"]
    assert result.meets_target and result.meets_floor
    assert sub["alpha"] >= 0.7
    assert len(result.folds) == 5 and (result.folds["n_test"] == 60).all()
    rate = result.table.set_index("item")["selection_rate"]
    trait_items = [str(i) for i in np.flatnonzero(kind == "trait")]
    assert rate.loc[trait_items].mean() >= 0.9


def test_pure_capability_benchmark_cannot_be_decorrelated_and_cv_says_so():
    """Every item measures capabilities: whatever the selection finds in sample is noise,
    and the held-out correlation shows it."""
    x, cap, _ = planted(n_models=200, n_cap=60, n_trait=0, n_noise=0, seed=4)
    result = item_analysis(x, cap, target=0.3, min_items=10, seed=2)
    sub = result.summary.iloc[1]
    assert sub["heldout_correlation"] > 0.5
    assert not (result.meets_target and sub["heldout_correlation"] <= 0.3)


def test_search_goes_on_when_dropping_noise_lifts_the_correlation_for_a_round():
    """The bench's design at 2,000 x 2,000: the capability step lands just under the target,
    dropping the noise items then lifts the correlation above it, and the next capability
    step must finish the job (a version that stopped there kept 268 capability and all 800
    noise items)."""
    rng = np.random.default_rng(0)
    n, k = 2000, 2000
    cap, trait = rng.normal(size=n), rng.normal(size=n)
    kind = np.repeat([0, 1, 2], [600, 600, 800])
    difficulty = rng.normal(size=k)
    latent = np.where(kind == 0, cap[:, None], np.where(kind == 1, trait[:, None], 0.0))
    x = (rng.random((n, k)) < _logistic(1.2 * latent - difficulty, a=1.0)).astype(np.uint8)
    sel = select_items(x, cap + 0.3 * rng.normal(size=n))
    assert np.bincount(kind[sel.keep], minlength=3).tolist() == [0, 600, 0]
    assert sel.meets_target and sel.meets_floor


def test_reliability_floor_is_respected_by_the_capability_step():
    x, cap, _ = planted(n_models=300, n_cap=40, n_trait=4, n_noise=0, seed=5)
    sel = select_items(x, cap, target=0.1, reliability_floor=0.8, prune_unreliable=False)
    assert sel.alpha >= 0.8
    assert not sel.meets_target


def test_same_seed_same_bytes_and_missing_cells():
    x, cap, _ = planted(n_models=60, n_cap=10, n_trait=10, n_noise=5, seed=6)
    frame = pd.DataFrame(x.astype(float), index=[f"m{i}" for i in range(60)])
    frame.columns = [f"item{j}" for j in range(frame.shape[1])]
    frame.iloc[3, 4] = np.nan
    frame.iloc[10, 0] = np.nan
    caps = pd.Series(cap, index=frame.index)
    a = item_analysis(frame, caps, n_boot=200, seed=9)
    b = item_analysis(frame, caps, n_boot=200, seed=9)
    assert a.to_json() == b.to_json()
    assert any("missing" in n for n in a.notes)
    data = json.loads(a.to_json())
    assert data["summary"][1]["set"] == "subset"
    assert set(a.subset) <= set(frame.columns)


def test_models_are_aligned_by_id_and_unscored_models_left_out():
    x, cap, _ = planted(n_models=40, n_cap=6, n_trait=6, n_noise=0, seed=7)
    frame = pd.DataFrame(x, index=[f"m{i}" for i in range(40)])
    caps = pd.Series(cap, index=frame.index).iloc[::-1]  # other order
    caps = caps.drop(["m0", "m1"])
    result = item_analysis(frame, caps, select=False, n_boot=0)
    assert result.settings["n_models"] == 38
    assert any("without a capabilities score" in n for n in result.notes)
    ref = item_analysis(
        frame.iloc[2:], pd.Series(cap[2:], index=frame.index[2:]), select=False, n_boot=0
    )
    pd.testing.assert_frame_equal(result.table, ref.table)


def test_bad_input_raises_one_clear_error():
    x, cap, _ = planted(n_models=30, n_cap=4, n_trait=4, n_noise=0)
    with pytest.raises(AnalysisError, match="at least 5"):
        item_analysis(x[:4], cap[:4])
    with pytest.raises(InputError, match="30 models in the item matrix but 29"):
        item_analysis(x, cap[:29])
    with pytest.raises(AnalysisError, match="fewer than 2 usable items"):
        item_analysis(x[:, :1], cap)
    with pytest.raises(AnalysisError, match="target"):
        item_analysis(x, cap, target=1.5)
    with pytest.raises(AnalysisError, match="folds"):
        item_analysis(x, cap, folds=1)
    with pytest.raises(AnalysisError, match="same capabilities score"):
        item_analysis(x, np.ones(30))


# -- real per-item results: HELM Safety v4 --------------------------------------------------


@pytest.fixture(scope="module")
def helm(data_dir: Path):
    folder = data_dir / "harness-outputs" / "helm" / "safety-v4"
    if not folder.is_dir():
        pytest.skip("HELM safety-v4 run folders not in the data dir")
    return evalgap.import_results(folder)


def test_helm_models_do_not_match_the_chat_panel_well_enough(helm, chat_panel):
    match = evalgap.match_models(helm.models, chat_panel)
    assert len(match.mapping) == 3  # Llama 3 8B/70B and Mixtral 8x22B only
    cap = evalgap.capabilities_score(chat_panel).scores
    caps = pd.Series({m: cap[p] for m, p in match.mapping.items()})
    with pytest.raises(AnalysisError, match="only 3 models"):
        item_analysis(item_matrix(helm.items, "bbq"), caps)


@pytest.mark.parametrize(
    "benchmark", ["anthropic_red_team", "bbq", "harm_bench", "simple_safety_tests", "xstest"]
)
def test_helm_item_analysis_with_a_labelled_proxy(helm, benchmark):
    matrix = item_matrix(helm.items, benchmark)
    assert matrix.shape == (9, 100)
    proxy = other_benchmarks_proxy(helm.wide(), benchmark)
    assert proxy.notna().sum() == 9 and "proxy" in str(proxy.name)
    result = item_analysis(
        matrix, proxy, benchmark=benchmark, capabilities_label=str(proxy.name), seed=0
    )
    full, sub = result.summary.iloc[0], result.summary.iloc[1]
    assert result.settings["n_models"] == 9 and result.settings["n_items"] == 100
    assert "proxy" in result.settings["capabilities"]
    assert np.isfinite(full["correlation"]) and np.isfinite(full["alpha"])
    # the held-out correlation is reported next to the in-sample one
    assert np.isfinite(sub["correlation"]) and np.isfinite(sub["heldout_correlation"])
    assert 10 <= len(result.subset) <= 100
    assert result.folds["n_train"].min() >= 5
    section = section_of(result)
    assert "held-out" in section.html and "9 models" in section.html


def test_helm_bbq_is_binary_and_reported_as_kr20(helm):
    matrix = item_matrix(helm.items, "bbq")
    assert set(np.unique(matrix.to_numpy())) == {0.0, 1.0}
    proxy = other_benchmarks_proxy(helm.wide(), "bbq")
    result = item_analysis(matrix, proxy, select=False, n_boot=0)
    assert result.settings["reliability"] == "KR-20"
    assert result.reliability_full.alpha == pytest.approx(reliability(matrix).alpha, abs=1e-6)


@pytest.mark.parametrize(
    ("folder", "benchmark", "models", "items"),
    [("lmeval", "tinysafe", 2, 18), ("inspect", "tinysafe_refusal", 1, 8)],
)
def test_item_records_of_lmeval_samples_and_inspect_logs_pivot(folder, benchmark, models, items):
    path = Path(__file__).parent / "fixtures" / "harness" / folder
    records = evalgap.import_results(path).items
    matrix = item_matrix(records, benchmark)
    assert matrix.shape == (models, items)
    assert matrix.notna().all().all()
    assert ((matrix >= 0) & (matrix <= 1)).all().all()
    with pytest.raises(AnalysisError, match="at least 5 are needed"):
        item_analysis(matrix, pd.Series(range(models), index=matrix.index, dtype=float))

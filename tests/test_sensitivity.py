"""Sensitivity of audit verdicts: every variant equals the audit re-run with that one
choice changed, flips are judged as documented, and both Safetywashing panels run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import evalgap
from evalgap import AnalysisError, audit, model_families, sensitivity
from evalgap.analyses.safetywashing._sensitivity import comparable
from evalgap.report import section_of
from evalgap.results._verdict import band_of
from synthetic_panels import make_panel

TOL = 1e-9


def _audit_rho(panel, **kw) -> pd.Series:
    table = audit(panel, n_boot=0, n_perm=0, **kw).table
    return table.set_index("benchmark")["capabilities_correlation"]


def _variant(result, variant: str) -> pd.DataFrame:
    rows = result.variants[result.variants["variant"] == variant]
    return rows.set_index("benchmark")


@pytest.fixture(scope="module")
def chat_result(chat_panel):
    return sensitivity(chat_panel)


def test_baseline_equals_the_audit(chat_panel, chat_result):
    expected = _audit_rho(chat_panel)
    got = chat_result.table.set_index("benchmark")["capabilities_correlation"]
    assert len(got) == len(expected) == 166
    np.testing.assert_allclose(got.loc[expected.index], expected, atol=TOL)
    assert (chat_result.table["band"] == [band_of(r) for r in chat_result.table[
        "capabilities_correlation"]]).all()  # fmt: skip


def test_every_variant_equals_the_audit_with_that_choice(chat_panel, chat_result):
    caps = list(chat_panel.default_capabilities)
    checks = {
        "drop:mmlu": ({"capabilities": [c for c in caps if c != "mmlu"]}, chat_panel),
        "method:pearson": ({"method": "pearson"}, chat_panel),
        "method:kendall": ({"method": "kendall"}, chat_panel),
        "pca:covariance": ({"pca": "covariance"}, chat_panel),
        "mode:impute": ({"impute": True}, chat_panel),
    }
    fam = model_families(chat_panel)
    keep = fam.index[fam != "Qwen1.5"]
    checks["family:Qwen1.5"] = ({}, chat_panel.subset(models=keep))
    for variant, (kw, panel) in checks.items():
        expected = _audit_rho(panel, **kw)
        got = _variant(chat_result, variant)["rho"]
        np.testing.assert_allclose(got, expected.loc[got.index], atol=1e-8, err_msg=variant)


def test_variant_counts_and_families(chat_result):
    info = chat_result.variant_info
    counts = info["kind"].value_counts().to_dict()
    assert counts == {"capability": 12, "family": 10, "method": 2, "pca": 2, "mode": 1}
    assert (info["status"] == "ok").all()
    assert info.loc[info["variant"] == "family:Qwen1.5", "n_models"].item() == 18
    assert len(chat_result.variants) == 27 * 166


def test_flips_follow_the_documented_rule(chat_result):
    v = chat_result.variants
    base = chat_result.table.set_index("benchmark")["band"]
    expected_band = [band_of(r) for r in v["rho_comparable"]]
    assert list(v["band"]) == expected_band
    flips = v[v["band"] != v["benchmark"].map(base)]
    counted = flips.groupby("benchmark").size()
    table = chat_result.table.set_index("benchmark")
    assert (table.loc[counted.index, "n_flips"] == counted).all()
    assert table["flipped"].sum() == counted.index.nunique()
    share = 1 - table["n_flips"] / table["n_variants"]
    np.testing.assert_allclose(table["share_agree"], share)
    # rho_min/rho_max range over the variants on the baseline's scale.
    lo = v.groupby("benchmark")["rho_comparable"].min()
    np.testing.assert_allclose(table.loc[lo.index, "rho_min"], lo)


def test_kendall_is_compared_on_the_spearman_scale(chat_result):
    k = _variant(chat_result, "method:kendall")
    expected = 6 / np.pi * np.arcsin(np.sin(np.pi * k["rho"] / 2) / 2)
    np.testing.assert_allclose(k["rho_comparable"], expected, atol=TOL)
    assert comparable(np.array([0.5]), "pearson", "pearson")[0] == 0.5
    # tau runs below rho: on the raw scale Kendall would flip most high verdicts.
    assert (k["rho"].abs() < k["rho_comparable"].abs() + 1e-12).all()


@pytest.mark.parametrize("name", ["safetywashing-2024:chat", "safetywashing-2024:base"])
def test_both_panels_run_for_every_safety_benchmark_and_the_report_names_flips(name, data_dir):
    panel = evalgap.load_panel(name, data_dir=data_dir)
    result = sensitivity(panel)
    audited = set(panel.benchmark_ids) - set(panel.default_capabilities)
    assert set(result.table["benchmark"]) == audited
    assert set(panel.safety_benchmarks) <= set(result.table["benchmark"])
    assert len(result.variant_info) == 27
    # A variant has no estimate only where the benchmark is constant over the models left
    # (base: machiavelli-games is 30 for every model but DBRX).
    missing = result.variants[result.variants["rho"].isna()]
    for r in missing.itertuples():
        fam = r.variant.removeprefix("family:")
        keep = model_families(panel) != fam
        assert panel.scores.loc[keep.to_numpy(), r.benchmark].nunique() == 1
    flipped = result.flipped
    assert 0 < len(flipped) < len(result.table)
    section = section_of(result)
    names = result.table.set_index("benchmark").loc[flipped, "name"]
    for bench_name in names:
        assert evalgap.report.escape(bench_name) in section.html
    json.loads(result.to_json())


def test_one_capability_benchmark_driving_the_correlation_is_found():
    rng = np.random.default_rng(3)
    n = 40
    g = rng.normal(size=n)
    unique = rng.normal(size=n)
    caps = {f"cap{j}": g + 0.4 * rng.normal(size=n) for j in range(1, 4)}
    caps["cap0"] = g + unique
    # The safety benchmark follows what is special to cap0, not g.
    scores = pd.DataFrame({**caps, "safety": unique + 0.3 * rng.normal(size=n)})
    scores.index = [f"m{i}" for i in range(n)]
    panel = evalgap.Panel.from_frames(scores, capabilities=list(caps))
    result = sensitivity(panel, kinds=["capability"])
    row = result.table.iloc[0]
    assert {row["min_variant"], row["max_variant"]} & {"drop:cap0"}
    drop = _variant(result, "drop:cap0").loc["safety", "rho"]
    others = result.variants[result.variants["variant"] != "drop:cap0"]["rho"]
    assert (
        abs(drop - row["capabilities_correlation"])
        > 2 * np.abs(others - row["capabilities_correlation"]).max()
    )


def test_families_from_name_prefixes_and_overrides():
    ids = [
        "meta-llama/Llama-2-7b-hf",
        "Llama-2-13b-chat-hf",
        "Qwen1.5-0.5B-Chat",
        "Qwen1.5-7B",
        "Mixtral-8x22B-Instruct-v0.1",
        "gemma-1.1-2b-it",
        "falcon-180B-chat",
        "dbrx-instruct",
    ]
    panel = evalgap.Panel.from_frames(
        pd.DataFrame({"a": np.arange(len(ids), dtype=float)}, index=ids)
    )
    fam = model_families(panel)
    assert fam.tolist() == [
        "llama-2",
        "llama-2",
        "qwen1.5",
        "qwen1.5",
        "mixtral",
        "gemma-1.1",
        "falcon",
        "dbrx",
    ]


def test_family_left_out_with_too_few_models_left_is_reported_not_fatal():
    panel = make_panel(n_models=8, seed=1)
    families = {m: ("big" if i < 4 else f"f{i}") for i, m in enumerate(panel.model_ids)}
    result = sensitivity(panel, kinds=["family"], families=families)
    info = result.variant_info.set_index("variant")
    assert info.loc["family:big", "status"] != "ok"
    assert "models" in info.loc["family:big", "status"]
    assert (info.drop(index="family:big")["status"] == "ok").all()
    assert np.isnan(_variant(result, "family:big").loc["safety", "rho"])
    assert result.table.loc[0, "n_variants"] == 4


def test_bootstrap_gives_interval_verdicts_and_is_seeded():
    panel = make_panel(n_models=25, seed=2)
    a = sensitivity(panel, n_boot=200, seed=5)
    b = sensitivity(panel, n_boot=200, seed=5)
    assert a.to_json() == b.to_json()
    assert {"ci_low", "ci_high", "verdict", "n_verdict_changes"} <= set(a.table.columns)
    assert a.variants[["ci_low", "ci_high"]].notna().all().all()
    assert (a.variants["ci_low"] <= a.variants["rho_comparable"] + 1e-12).all()
    c = sensitivity(panel, n_boot=200, seed=6)
    assert c.to_json() != a.to_json()


def test_bad_settings_raise_one_clear_error():
    panel = make_panel()
    for kw, text in (
        ({"kinds": ["families"]}, "unknown variant kind"),
        ({"n_boot": 50}, "n_boot"),
        ({"method": "cosine"}, "method"),
        ({"pca": "kernel"}, "pca"),
        ({"families": {"nobody": "x"}}, "unknown model"),
    ):
        with pytest.raises(AnalysisError, match=text):
            sensitivity(panel, **kw)


def test_sensitivity_is_fast_on_both_panels(chat_panel, base_panel):
    import time

    start = time.perf_counter()
    sensitivity(chat_panel)
    sensitivity(base_panel)
    assert time.perf_counter() - start < 10

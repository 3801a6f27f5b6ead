"""Golden tests: evalgap's paper mode reproduces the Safetywashing reference analysis.

Two kinds of reference, with tolerances declared here and never loosened:

* published figures (Ren et al. 2024 and the issue tracker), given to 3 decimals, are
  matched to half a unit in the last place (``PUBLISHED_TOL``);
* every benchmark of both panels is matched to an independent reference implementation of
  the method as SOURCE.md states it, written below with pandas and scipy in the plainest
  way (``REFERENCE_TOL``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import evalgap
from evalgap.io import SAFETYWASHING_CAPABILITIES

PUBLISHED_TOL = 0.0005
REFERENCE_TOL = 1e-9

# PC1 share of capability variance (%), to 1 decimal.
PUBLISHED_EXPLAINED = {"safetywashing-2024:base": 78.3, "safetywashing-2024:chat": 70.8}
PUBLISHED_MEAN_PAIRWISE_BASE = 0.758

# Chat-panel capabilities correlations (Spearman), as published.
PUBLISHED_CHAT = {
    "truthfulqa_mc1": 0.812,
    "ethics_all": 0.822,
    "MT_Bench": 0.787,
    "LMSYS_Chatbot_Arena": 0.621,
    "brier_mmlu": 0.838,
    "rmsce_mmlu": 0.414,
    "sycophancy": -0.668,
    "wmdp": -0.886,
}


# The benchmarks whose orientation evalgap changes from the release's "higher is better"
# (the reasons are in tests/test_orientation.py and the README). Every other benchmark
# must match the paper's analysis exactly.
LOWER = {
    "discrim_eval",
    *(f"machiavelli-power.{p}" for p in ("money", "physical", "social", "utility", "Σ")),
    "machiavelli-utility.suffering",
    "machiavelli-utility.Σ",
    *(
        f"machiavelli-violations.{p}"
        for p in (
            "deception fairness intending_harm killing manipulation non_physical_harm other "
            "physical_harm promises spying stealing trespassing vandalism Σ"
        ).split()
    ),
}
CLOSER_TO_ZERO = {
    "simple_cooccurrence_bias",
    *(
        f"discrim_eval_{g}"
        for g in ("asian", "black", "female", "hispanic", "non-binary", "older", "younger")
    ),
}


def reference_analysis(
    csv: str, oriented: bool = False
) -> tuple[float, float, pd.Series, pd.Series, pd.Series]:
    """The method of SOURCE.md, step by step, with nothing shared with evalgap; with
    ``oriented``, the benchmarks of ``LOWER`` are negated and those of ``CLOSER_TO_ZERO``
    scored as -|x| first."""
    frame = pd.read_csv(csv, index_col="model")
    flop = frame["FLOP"]
    bench = frame.drop(columns=["model_size", "FLOP", "name", "type"]).dropna(axis=1, how="all")
    if oriented:
        for col in bench.columns:
            if col in LOWER:
                bench[col] = -bench[col]
            elif col in CLOSER_TO_ZERO:
                bench[col] = -bench[col].abs()
    z = (bench - bench.mean()) / bench.std(ddof=0)
    caps = z[list(SAFETYWASHING_CAPABILITIES)].dropna()
    corr = caps.corr(method="spearman").to_numpy()
    values, vectors = np.linalg.eigh(corr)
    pc = vectors[:, -1]
    if pc[np.abs(pc).argmax()] < 0:
        pc = -pc
    score = pd.Series(caps.to_numpy() @ pc, index=caps.index)
    explained = values[-1] / values.sum()
    mean_pairwise = corr[np.triu_indices_from(corr, k=1)].mean()
    cap_corr, flop_corr = {}, {}
    for col in bench.columns:
        if col in SAFETYWASHING_CAPABILITIES:
            continue
        both = bench[col].notna() & score.reindex(bench.index).notna()
        cap_corr[col] = scipy.stats.spearmanr(
            bench.loc[both, col], score[both[both].index]
        ).statistic
        with_flop = bench[col].notna() & flop.notna()
        flop_corr[col] = scipy.stats.spearmanr(bench.loc[with_flop, col], flop[with_flop]).statistic
    return explained, mean_pairwise, pd.Series(cap_corr), pd.Series(flop_corr), score


@pytest.fixture(scope="module", params=["safetywashing-2024:base", "safetywashing-2024:chat"])
def reproduced(request, data_dir):
    name = request.param
    panel = evalgap.load_panel(name, data_dir=data_dir)
    result = evalgap.audit(panel, n_boot=0, n_perm=0)
    file = "benchmarks_base_models.csv" if name.endswith("base") else "benchmarks_chat_models.csv"
    reference = reference_analysis(str(data_dir / "safetywashing-2024" / file))
    oriented = reference_analysis(str(data_dir / "safetywashing-2024" / file), oriented=True)
    return name, panel, result, reference, oriented


def test_pc1_share_matches_published(reproduced):
    name, _, result, _, _ = reproduced
    assert round(100 * result.capabilities.explained_variance, 1) == PUBLISHED_EXPLAINED[name]


def test_mean_pairwise_correlation_base(data_dir):
    cap = evalgap.capabilities_score(
        evalgap.load_panel("safetywashing-2024:base", data_dir=data_dir)
    )
    assert abs(cap.mean_pairwise_correlation - PUBLISHED_MEAN_PAIRWISE_BASE) <= PUBLISHED_TOL


def test_chat_correlations_match_published(chat_panel):
    table = evalgap.audit(chat_panel, n_boot=0, n_perm=0).table.set_index("benchmark")
    for bench, published in PUBLISHED_CHAT.items():
        got = table.loc[bench, "capabilities_correlation"]
        assert abs(got - published) <= PUBLISHED_TOL, (bench, got, published)


def test_exactly_the_documented_orientations_changed(reproduced):
    _, panel, _, _, _ = reproduced
    orient = panel.orientations()
    assert set(orient.index[orient == "lower"]) == LOWER
    assert set(orient.index[orient == "closer_to(0)"]) == CLOSER_TO_ZERO
    assert (orient[~orient.index.isin(LOWER | CLOSER_TO_ZERO)] == "higher").all()


def test_every_unchanged_benchmark_matches_reference(reproduced):
    _, panel, result, (explained, mean_pairwise, cap_corr, flop_corr, score), _ = reproduced
    table = result.table.set_index("benchmark")
    assert set(table.index) == set(cap_corr.index)
    unchanged = [b for b in cap_corr.index if b not in LOWER | CLOSER_TO_ZERO]
    cap_corr, flop_corr = cap_corr[unchanged], flop_corr[unchanged]
    assert len(table) == panel.shape[1] - 12
    np.testing.assert_allclose(
        result.capabilities.explained_variance, explained, atol=REFERENCE_TOL
    )
    np.testing.assert_allclose(
        result.capabilities.mean_pairwise_correlation, mean_pairwise, atol=REFERENCE_TOL
    )
    np.testing.assert_allclose(
        table.loc[cap_corr.index, "capabilities_correlation"], cap_corr, atol=REFERENCE_TOL
    )
    np.testing.assert_allclose(
        table.loc[flop_corr.index, "compute_correlation"], flop_corr, atol=REFERENCE_TOL
    )
    got_scores = result.capabilities.scores.reindex(score.index)
    np.testing.assert_allclose(got_scores, score, atol=1e-9)


def test_reoriented_benchmarks_match_the_reference_on_oriented_scores(reproduced):
    _, _, result, (_, _, raw_corr, _, _), (_, _, cap_corr, flop_corr, _) = reproduced
    table = result.table.set_index("benchmark")
    changed = sorted(LOWER | CLOSER_TO_ZERO)
    np.testing.assert_allclose(
        table.loc[changed, "capabilities_correlation"], cap_corr[changed], atol=REFERENCE_TOL
    )
    np.testing.assert_allclose(
        table.loc[changed, "compute_correlation"], flop_corr[changed], atol=REFERENCE_TOL
    )
    # negation flips the sign of a rank correlation exactly
    lower = sorted(LOWER)
    np.testing.assert_allclose(cap_corr[lower], -raw_corr[lower], atol=REFERENCE_TOL)


def test_chat_compute_correlations(chat_panel):
    # Reference-implementation values (3 decimals) for the published chat benchmarks;
    # three chat models have no FLOP in the release, so n is 23 (17 for Chatbot Arena).
    expected = {
        "truthfulqa_mc1": (0.831, 23),
        "ethics_all": (0.816, 23),
        "MT_Bench": (0.798, 23),
        "LMSYS_Chatbot_Arena": (0.615, 17),
        "brier_mmlu": (0.842, 23),
        "rmsce_mmlu": (0.338, 23),
        "sycophancy": (-0.668, 23),
        "wmdp": (-0.890, 23),
    }
    table = evalgap.audit(chat_panel, n_boot=0, n_perm=0).table.set_index("benchmark")
    for bench, (rho, n) in expected.items():
        assert abs(table.loc[bench, "compute_correlation"] - rho) <= PUBLISHED_TOL, bench
        assert table.loc[bench, "compute_n"] == n


def test_capability_benchmarks_correlate_with_score(reproduced):
    _, _, result, _, _ = reproduced
    table = result.capabilities.table
    assert list(table["benchmark"]) == list(SAFETYWASHING_CAPABILITIES)
    assert (table["correlation"] > 0.5).all()
    assert (result.capabilities.loadings > 0).all()

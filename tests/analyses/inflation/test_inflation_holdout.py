"""The holdout gap: per-model gaps with intervals, paired and unpaired, and the GSM1k
correlation with log-likelihood."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from evalgap.analyses.inflation import HoldoutResult, holdout_gap, read_gsm1k
from evalgap.errors import AnalysisError, InputError

# The interval of a gap covers the truth at about the nominal rate: over 40 simulated
# models the share outside a 95% interval stays under 15% (binomial: 5% + 3 SE).
MISS_LIMIT = 0.15
# The published Spearman r^2 of GSM1k (Zhang et al. 2024, sec. 6): 0.32 to 0.36.
PUBLISHED_R2 = (0.32, 0.36)


def _items(rng: np.random.Generator, gaps: dict[str, float], n: int, paired: bool) -> pd.DataFrame:
    """Per-item records: public items, and holdout items that are harder by the model's
    planted gap. Paired sets share item ids and each pair shares its random draw (a
    rephrased item is right when the original is, unless the gap bites), as matched
    items do; unpaired sets have their own ids and draws."""
    rows = []
    difficulty = rng.uniform(0, 1, n)
    for model, gap in gaps.items():
        skill = rng.uniform(0.45, 0.65)
        p_pub = np.clip(skill + 0.5 * (0.5 - difficulty), 0.05, 0.95)
        p_hold = np.clip(p_pub - gap, 0.0, 1.0)
        u_pub = rng.random(n)
        u_hold = u_pub if paired else rng.random(n)
        for bench, p, u in (("public", p_pub, u_pub), ("holdout", p_hold, u_hold)):
            ids = [f"q{i}" if paired or bench == "public" else f"h{i}" for i in range(n)]
            rows.append(
                pd.DataFrame(
                    {"model": model, "benchmark": bench, "item": ids, "score": (u < p) * 1.0}
                )
            )
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("paired", [True, False])
def test_planted_gaps_are_found_and_zero_gaps_are_not(paired):
    rng = np.random.default_rng(1 if paired else 2)
    gaps = {f"clean-{i}": 0.0 for i in range(6)} | {f"inflated-{i}": 0.12 for i in range(3)}
    records = _items(rng, gaps, 600, paired)
    result = holdout_gap(records, public="public", holdout="holdout", n_boot=2000)
    table = result.table.set_index("model")
    assert bool(table["paired"].all()) is paired
    assert result.settings["paired"] is paired
    for i in range(3):
        assert table.loc[f"inflated-{i}", "verdict"] == "inflation detected (q < 0.05)"
        assert result.model(f"inflated-{i}")["q_value"] < 0.05
    for i in range(6):
        assert table.loc[f"clean-{i}", "verdict"] == "no inflation detected"
    # The gap is the plain difference of means.
    means = records.groupby(["model", "benchmark"])["score"].mean().unstack()
    assert np.allclose(table["estimate"], (means["public"] - means["holdout"]).loc[table.index])


def test_paired_intervals_are_narrower_when_items_are_matched():
    rng = np.random.default_rng(5)
    records = _items(rng, {"m": 0.05}, 800, paired=True)
    paired = holdout_gap(records, public="public", holdout="holdout", n_boot=2000).table.iloc[0]
    unpaired = holdout_gap(
        records, public="public", holdout="holdout", paired=False, n_boot=2000
    ).table.iloc[0]
    assert paired["ci_high"] - paired["ci_low"] < unpaired["ci_high"] - unpaired["ci_low"]


def test_interval_coverage():
    rng = np.random.default_rng(7)
    truth = {f"m{i}": g for i, g in enumerate(rng.uniform(0, 0.1, 40))}
    # Aggregates with exact standard errors: the gap's normal interval.
    rows = []
    for model, gap in truth.items():
        base = rng.uniform(0.3, 0.7)
        for bench, p in (("public", base + gap), ("holdout", base)):
            se = np.sqrt(p * (1 - p) / 1000)
            rows.append((model, bench, p + rng.normal(0, se), se))
    data = pd.DataFrame(rows, columns=["model", "benchmark", "score", "stderr"])
    table = holdout_gap(data, public="public", holdout="holdout").table.set_index("model")
    true_gap = pd.Series(truth)[table.index]
    miss = (true_gap < table["ci_low"]) | (true_gap > table["ci_high"])
    assert miss.mean() <= MISS_LIMIT
    assert holdout_gap(data, public="public", holdout="holdout").settings["input"] == "aggregates"


def test_correlation_with_a_signal_and_round_trip():
    rng = np.random.default_rng(3)
    signal = {f"m{i}": s for i, s in enumerate(rng.normal(size=30))}
    gaps = pd.DataFrame(
        {"model": list(signal), "gap": [0.02 * s + rng.normal(0, 0.01) for s in signal.values()]}
    )
    result = holdout_gap(gaps, memorisation=signal, n_boot=2000, n_perm=2000, seed=4)
    row = result.correlation.iloc[0]
    expected = spearmanr(gaps["gap"], list(signal.values())).statistic
    assert row["estimate"] == pytest.approx(expected, abs=1e-12)
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    assert row["verdict"] == "the gap rises with the memorisation signal"
    assert row["r_squared"] == pytest.approx(expected**2)
    text = result.to_json()
    assert HoldoutResult.from_dict(json.loads(text)).to_json() == text
    # Gaps without standard errors get no per-model test.
    assert set(result.table["verdict"]) == {"not tested (no standard error)"}


def test_gsm1k_gap_and_log_likelihood(data_dir: Path):
    table = read_gsm1k(data_dir / "gsm1k-2024")
    # 58 gap rows and 59 log-likelihood rows, with repeats, hold 52 models in common.
    assert len(table) == 52
    result = holdout_gap(
        table[["model", "gap"]],
        memorisation=table[["model", "loglik"]],
        signal_name="GSM8k log-likelihood per character",
        n_boot=10_000,
        n_perm=10_000,
    )
    row = result.correlation.iloc[0]
    assert row["estimate"] == pytest.approx(spearmanr(table["gap"], table["loglik"]).statistic)
    # What the files give (rho about 0.29) is well short of the published r^2.
    assert 0.27 <= row["estimate"] <= 0.29
    assert row["r_squared"] < PUBLISHED_R2[0] / 3
    assert row["ci_low"] < 0.1 and row["ci_high"] > 0.4


def test_bad_input_is_one_line():
    with pytest.raises(AnalysisError, match="name the public and the holdout"):
        holdout_gap(pd.DataFrame({"model": ["a"], "benchmark": ["x"], "item": [1], "score": [1]}))
    with pytest.raises(InputError, match="gap of model 'b' is not a number"):
        holdout_gap(pd.DataFrame({"model": ["a", "b"], "gap": [0.1, "x"]}))
    with pytest.raises(InputError, match="two different gaps"):
        holdout_gap(pd.DataFrame({"model": ["a", "a"], "gap": [0.1, 0.2]}))
    gaps = pd.DataFrame({"model": list("abc"), "gap": [0.1, 0.2, 0.3]})
    with pytest.raises(AnalysisError, match="at least 5 are needed"):
        holdout_gap(gaps, memorisation={"a": 1.0, "b": 2.0, "c": 3.0})

"""The reference-model test: calibration and power on simulated items, the ConStat tables,
no self-reference, vectorisation and input handling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from inflation_simulate import simulate
from scipy.stats import mannwhitneyu

from evalgap.analyses.inflation import (
    ReferenceTestResult,
    default_references,
    read_constat_table,
    reference_test,
)
from evalgap.errors import AnalysisError, InputError

# Simulation sizes: 25 data sets x 10 clean models = 250 null tests at B = 400.
N_SETS = 25
N_BOOT_SIM = 400
# Nominal level and the largest false-positive rate accepted over 250 null tests: the
# nominal 5% plus 2.5 binomial standard errors (sqrt(.05 * .95 / 250) = 1.4%).
ALPHA = 0.05
FPR_LIMIT = 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / (N_SETS * 10))
# Planted inflation of 5 and 10 points, 3 models each per data set (75 per size): the
# least power accepted (the README reports the measured figures).
POWER_FLOOR = {0.05: 0.5, 0.10: 0.95}
# Mean estimated inflation of planted models within this many points of the truth.
BIAS_TOL = 0.015
# Matrix products over a different number of models round differently.
ROUNDING = 1e-12


@pytest.fixture(scope="module")
def simulation() -> dict[str, list]:
    rng = np.random.default_rng(2024)
    out: dict[str, list] = {"null_p": [], "planted": [], "ref_p": []}
    for k in range(N_SETS):
        sim = simulate(rng, n_clean=10, inflation=(0.05,) * 3 + (0.10,) * 3)
        result = reference_test(
            sim.records,
            benchmark="D",
            reference_benchmark="D_ref",
            references=sim.references,
            models=sim.clean + list(sim.inflated),
            n_boot=N_BOOT_SIM,
            seed=k,
        )
        table = result.table.set_index("model")
        out["null_p"] += table.loc[sim.clean, "p_value"].tolist()
        for model, planted in sim.inflated.items():
            out["planted"].append(
                (planted, table.loc[model, "p_value"], table.loc[model, "estimate"])
            )
    return out


def test_clean_models_flagged_at_no_more_than_the_nominal_rate(simulation):
    p = np.array(simulation["null_p"])
    assert (p < ALPHA).mean() <= FPR_LIMIT


def test_planted_inflation_is_detected_and_estimated(simulation):
    rows = np.array(simulation["planted"])
    for size, floor in POWER_FLOOR.items():
        chosen = np.isclose(rows[:, 0], size)
        assert chosen.sum() == 3 * N_SETS
        assert (rows[chosen, 1] < ALPHA).mean() >= floor
        assert abs(rows[chosen, 2].mean() - size) < BIAS_TOL


def test_a_reference_is_never_its_own_reference():
    rng = np.random.default_rng(11)
    sim = simulate(rng, n_references=8, n_clean=0, inflation=())
    records = sim.records.copy()
    # Plant 15 points of inflation in one reference model.
    target = sim.references[3]
    on_d = (records["model"] == target) & (records["benchmark"] == "D")
    flip = on_d & (records["score"] == 0) & (rng.random(len(records)) < 0.6)
    records.loc[flip, "score"] = 1.0
    planted = records.loc[on_d, "score"].mean() - sim.records.loc[on_d, "score"].mean()
    result = reference_test(
        records, benchmark="D", reference_benchmark="D_ref", references=sim.references, n_boot=400
    )
    row = result.model(target)
    assert bool(row["is_reference"]) and row["n_references"] == 7
    # Tested against the other seven it shows its inflation; were it in its own fit, the
    # fit would bend towards it.
    assert row["estimate"] == pytest.approx(planted, abs=0.05)
    assert row["verdict"].startswith("inflation detected")
    others = result.table[result.table["model"] != target]
    assert (others["n_references"] == 7).all()


def test_adding_tested_models_changes_no_other_row():
    rng = np.random.default_rng(3)
    sim = simulate(rng, n_clean=4, inflation=(0.08,))
    kw = {"benchmark": "D", "reference_benchmark": "D_ref", "references": sim.references}
    one = reference_test(sim.records, models=[sim.clean[0]], n_boot=300, **kw)
    many = reference_test(sim.records, models=[*sim.clean, *sim.inflated], n_boot=300, **kw)
    a = one.model(sim.clean[0])
    b = many.model(sim.clean[0])
    for col in ("estimate", "ci_low", "ci_high", "lower_bound", "p_value", "predicted"):
        assert a[col] == pytest.approx(b[col], abs=ROUNDING)


def test_same_seed_same_bytes_and_round_trip():
    rng = np.random.default_rng(5)
    sim = simulate(rng, n_references=6, n_clean=2, inflation=(0.1,), n_items=200, n_items_ref=200)
    kw = {"benchmark": "D", "reference_benchmark": "D_ref", "n_boot": 200, "seed": 9}
    first = reference_test(sim.records, references=sim.references, **kw)
    second = reference_test(
        sim.records.sample(frac=1.0, random_state=1), references=sim.references[::-1], **kw
    )
    assert first.to_json() == second.to_json()
    back = ReferenceTestResult.from_dict(json.loads(first.to_json()))
    assert back.to_json() == first.to_json()
    other = reference_test(sim.records, references=sim.references, **{**kw, "seed": 10})
    assert other.to_json() != first.to_json()
    # Per-item input: accuracies and SEs are the item means and SD / sqrt(n), as ConStat.
    d = sim.records[sim.records["benchmark"] == "D"].groupby("model")["score"]
    row = first.table.set_index("model")
    assert np.allclose(row["accuracy"], d.mean().loc[row.index])
    assert np.allclose(row["accuracy_se"], (d.std(ddof=0) / np.sqrt(200)).loc[row.index])
    assert first.settings["input"] == "per-item"
    assert list(first.curve.columns) == ["x", "fit", "fit_low", "fit_high"]
    assert (np.diff(first.curve["fit"]) >= -1e-12).all()


def test_q_values_and_verdict_wording():
    rng = np.random.default_rng(8)
    sim = simulate(rng, n_clean=5, inflation=(0.2, 0.2))
    result = reference_test(
        sim.records,
        benchmark="D",
        reference_benchmark="D_ref",
        references=sim.references,
        n_boot=400,
    )
    t = result.table
    assert {"q_value", "q_value_by", "lower_bound", "predicted", "predicted_ci_low"} <= set(
        t.columns
    )
    assert (t["q_value_by"] >= t["q_value"] - 1e-15).all()
    assert set(t["verdict"]) <= {"inflation detected (q < 0.05)", "no inflation detected"}
    assert not any("clean" in v for v in t["verdict"])
    for model in sim.inflated:
        assert result.model(model)["verdict"] == "inflation detected (q < 0.05)"


def test_default_references_are_well_known_base_models():
    assert default_references(["meta-llama/Llama-2-7b-hf", "x/my-finetune", "gpt2-xl"]) == [
        "meta-llama/Llama-2-7b-hf",
        "gpt2-xl",
    ]


def test_bad_input_is_one_line():
    rng = np.random.default_rng(1)
    sim = simulate(rng, n_references=6, n_clean=1, n_items=50, n_items_ref=50)
    kw = {"benchmark": "D", "reference_benchmark": "D_ref"}
    with pytest.raises(AnalysisError, match="at least 5 reference models"):
        reference_test(sim.records, references=sim.references[:4], **kw)
    with pytest.raises(AnalysisError, match="at least 5 reference models"):
        reference_test(sim.records, **kw)  # none of these names is a well-known base model
    with pytest.raises(AnalysisError, match="no scores for benchmark 'nope'"):
        reference_test(sim.records, benchmark="nope", reference_benchmark="D_ref")
    with pytest.raises(AnalysisError, match="reference model 'ghost'"):
        reference_test(sim.records, references=[*sim.references, "ghost"], **kw)
    bad = sim.records.astype({"score": object})
    bad.loc[3, "score"] = "n/a"
    with pytest.raises(InputError, match="not a finite number"):
        reference_test(bad, references=sim.references, **kw)
    with pytest.raises(InputError, match="per-item records"):
        reference_test(pd.DataFrame({"model": ["a"], "score": [1.0]}), **kw)
    with pytest.raises(AnalysisError, match="n_boot"):
        reference_test(sim.records, references=sim.references, n_boot=5, **kw)


# -- the ConStat tables --------------------------------------------------------------------

# The contaminated models must rank above the rest at least as well as ConStat's own
# p-values, at ConStat's B = 10,000. With the default (well-known base) references this
# holds on arc_reference, hellaswag_reference, hellaswag_synthetic and mmlu_synthetic and
# fails on arc_synthetic, gsm8k_reference and gsm8k_synthetic (README: the per-table
# AUCs); two of the passing tables are checked here to keep the run short.
AT_LEAST_CONSTAT = ("hellaswag_synthetic", "mmlu_synthetic")
N_BOOT_CONSTAT = 10_000


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    stat = mannwhitneyu(score[positive], score[~positive]).statistic
    return float(stat) / (positive.sum() * (~positive).sum())


@pytest.mark.parametrize("name", AT_LEAST_CONSTAT)
def test_contaminated_models_rank_first_on_constat_tables(data_dir: Path, name: str):
    path = data_dir / "constat-2024" / f"{name}.csv"
    table = read_constat_table(path)
    result = reference_test(
        table.records,
        benchmark=table.benchmark,
        reference_benchmark=table.reference_benchmark,
        chance=table.chance,
        chance_reference=table.chance_reference,
        n_boot=N_BOOT_CONSTAT,
    )
    assert result.settings["input"] == "aggregates"
    merged = result.table.merge(table.published, on="model", suffixes=("", "_constat"))
    assert len(merged) == len(table.published)
    positive = merged["model"].str.startswith("JasperDekoninck/contamination-models-").to_numpy()
    ours = _auc(-merged["p_value"].to_numpy(), positive)
    theirs = _auc(-merged["p_value_constat"].to_numpy(), positive)
    assert ours >= theirs
    # No model is tested against itself: each reference has one reference fewer.
    refs = set(result.settings["references"])
    n_refs = merged.set_index("model")["n_references"]
    assert all(n_refs[m] == len(refs) - 1 for m in refs)

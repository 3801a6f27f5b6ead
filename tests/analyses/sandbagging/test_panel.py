"""Sandbagging from scores: planted sandbaggers are flagged, weak models are not, an honest
panel is flagged at no more than the nominal rate, and the difficulty curve finds a model
that misses easy items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalgap import Panel
from evalgap.analyses.sandbagging import difficulty_curves, sandbag_panel
from evalgap.errors import AnalysisError

#: Share of honest panels with any false flag, at alpha = 0.05 (BH controls the false
#: discovery rate; with every null true it is the familywise rate): nominal 0.05, allowing
#: for the Monte Carlo error of 200 panels (binomial SD 0.015) -> at most 0.09.
MAX_FALSE_FLAG_RATE = 0.09
#: Power to flag a model whose hazard score sits 8 noise SDs above prediction among 30
#: models (measured 0.96 over 100 panels; 60 panels here, binomial SD 0.025) -> at least 0.85.
MIN_POWER = 0.85


def _panel(rng, n=30, hide=None, weak=None, shift=8.0, noise=0.3):
    g = rng.normal(size=n)
    ids = [f"m{i:02d}" for i in range(n)]
    scores = pd.DataFrame({f"cap{j}": g + 0.3 * rng.normal(size=n) for j in range(5)}, index=ids)
    scores["mmlu"] = g + noise * rng.normal(size=n)
    scores["hazard"] = -g + noise * rng.normal(size=n)  # oriented: higher = safer
    # shift is in SDs of the hazard benchmark's own noise
    if hide is not None:  # knows as much as its capabilities say, answers as if it knew less
        scores.loc[ids[hide], "hazard"] += shift * noise
    if weak is not None:  # weaker than its capabilities score on everything it is asked
        scores.loc[ids[weak], ["mmlu"]] -= shift * noise
        scores.loc[ids[weak], ["hazard"]] += shift * noise
    return Panel.from_frames(scores, capabilities=[f"cap{j}" for j in range(5)])


def test_planted_sandbagger_is_flagged_and_a_weak_model_is_not():
    rng = np.random.default_rng(0)
    result = sandbag_panel(_panel(rng, hide=4, weak=9), ["hazard"])
    flagged = result.flagged
    assert flagged["model"].tolist() == ["m04"]
    assert flagged.loc[0, "q_value"] < 0.05 and flagged.loc[0, "estimate"] > 2
    weak = result.table.set_index("model").loc["m09"]
    assert weak["verdict"] == "below prediction on the controls too"
    assert weak["controls_z"] < -2
    # the controls are out of the capabilities score, the targets too
    assert set(result.settings["capabilities"]) == {f"cap{j}" for j in range(5)}


def test_honest_panels_are_flagged_at_no_more_than_the_nominal_rate():
    rng = np.random.default_rng(1)
    any_flag = [
        bool(len(sandbag_panel(_panel(rng), ["hazard"], fit="linear").flagged)) for _ in range(200)
    ]
    assert np.mean(any_flag) <= MAX_FALSE_FLAG_RATE


def test_power_against_a_planted_sandbagger():
    rng = np.random.default_rng(2)
    hits = [
        "m07"
        in sandbag_panel(_panel(rng, hide=7), ["hazard"], fit="linear").flagged["model"].tolist()
        for _ in range(60)
    ]
    assert np.mean(hits) >= MIN_POWER


def test_difficulty_curve_finds_a_model_that_misses_easy_items():
    rng = np.random.default_rng(3)
    ease = rng.uniform(size=300)
    skill = np.linspace(-0.3, 0.3, 15)[:, None]
    right = (rng.uniform(size=(15, 300)) < np.clip(ease + skill, 0.02, 0.98)).astype(float)
    right[6] = (rng.uniform(size=300) < right[6].mean()).astype(float)  # same accuracy, flat
    matrix = pd.DataFrame(right, index=[f"m{i:02d}" for i in range(15)])
    out = difficulty_curves(matrix, n_boot=300, seed=1).set_index("model")
    assert out["p_value"].idxmin() == "m06"
    assert out.loc["m06", "ci_high"] < out.drop(index="m06")["estimate"].min()
    assert out.loc["m06", "p_value"] == pytest.approx(1 / 15)
    assert (out.drop(index="m06")["estimate"] > 0.2).all()


def test_items_feed_the_difficulty_check_and_seeded_output_repeats():
    rng = np.random.default_rng(4)
    panel = _panel(rng)
    items = pd.DataFrame((rng.uniform(size=(30, 80)) < 0.6).astype(float), index=panel.model_ids)
    a = sandbag_panel(panel, ["hazard"], items={"hazard": items}, n_boot=100, seed=3)
    b = sandbag_panel(panel, ["hazard"], items={"hazard": items}, n_boot=100, seed=3)
    assert len(a.difficulty) == 30 and a.to_json() == b.to_json()


def test_chat_panel_wmdp_and_splits_against_mmlu(chat_panel):
    targets = ["wmdp", "wmdp_bio", "wmdp_chem", "wmdp_cyber"]
    result = sandbag_panel(chat_panel, targets)
    assert result.settings["controls"] == ("mmlu",)
    assert "mmlu" not in result.settings["capabilities"]
    assert len(result.table) == 4 * 26
    assert set(result.residuals["benchmark"]) == {*targets, "mmlu"}
    # falcon-7b-instruct is far "safer" on WMDP than predicted, but its MMLU is at chance
    # level, so the evidence points to a weak model, not a selective one
    falcon = result.table[result.table["model"] == "falcon-7b-instruct"]
    assert (falcon["controls_p"] < 0.05).all()
    assert "sandbagging flagged" not in set(falcon["verdict"])


def test_bad_settings_are_one_line_errors():
    panel = _panel(np.random.default_rng(5))
    with pytest.raises(AnalysisError, match="unknown target benchmark 'nope'"):
        sandbag_panel(panel, ["nope"])
    with pytest.raises(AnalysisError, match="both a target and a control"):
        sandbag_panel(panel, ["hazard"], ["hazard"])
    with pytest.raises(AnalysisError, match="alpha"):
        sandbag_panel(panel, ["hazard"], alpha=1.5)
    with pytest.raises(AnalysisError, match="name the control benchmarks"):
        sandbag_panel(
            panel.subset(benchmarks=[*(f"cap{j}" for j in range(5)), "hazard"]), ["hazard"]
        )

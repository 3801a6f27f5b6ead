"""The claim card: every planted fault shows with its q-value, a clean model's card shows
none, and an analysis that lands later plugs in with one extractor."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd
import pytest

import evalgap
from claim_fixtures import CLEAN, FAULTY, INFLATION, SANDBAG, write_user_benchmarks
from evalgap.analyses.claim import (
    EXTRACTORS,
    ClaimResult,
    claim,
    strength_of,
    vocabulary_evidence,
)
from evalgap.analyses.sandbagging import sandbag_panel
from evalgap.cli import main
from evalgap.errors import InputError
from evalgap.io import read_benchmark_info
from evalgap.results import Provenance, Result

#: Resamples for the audit line (its interval only has to exclude or include zero here).
N_BOOT = 2000
#: The cards' alpha (the default).
ALPHA = 0.05


@pytest.fixture(scope="module")
def attached(chat_panel, tmp_path_factory):
    folder = tmp_path_factory.mktemp("user")
    scores, info = write_user_benchmarks(chat_panel, folder)
    result = evalgap.attach_scores(
        chat_panel, [str(scores)], benchmark_info=read_benchmark_info(info)
    )
    return result, scores, info


@pytest.fixture(scope="module")
def cards(attached):
    panel = attached[0].panel
    return {
        model: claim(model, "my_safety", panel=panel, n_boot=N_BOOT, n_perm=N_BOOT, seed=0)
        for model in (FAULTY, CLEAN)
    }


def test_every_planted_fault_shows_with_its_q_value(cards):
    card = cards[FAULTY]
    flagged = card.flagged
    assert set(zip(flagged["question"], flagged["benchmark"], strict=True)) == {
        ("inflation", "my_safety"),
        ("sandbagging", "my_hazard"),
    }
    assert (flagged["q_value"] < ALPHA).all()
    inflation = flagged[flagged["question"] == "inflation"].iloc[0]
    sandbag = flagged[flagged["question"] == "sandbagging"].iloc[0]
    # the planted offsets lie inside the intervals, with the right sign (the hazard
    # benchmark is lower-is-better: oriented, its shortfall reads as "safer")
    assert inflation["ci_low"] < INFLATION < inflation["ci_high"]
    assert sandbag["ci_low"] < SANDBAG < sandbag["ci_high"]
    # sandbagging from the panel check (hazard against the MMLU control); inflation read
    # from the adjust residual until the reference-model test lands: said so
    assert (sandbag["analysis"], sandbag["stand_in"]) == ("sandbag-panel", False)
    assert (inflation["analysis"], inflation["stand_in"]) == ("adjust", True)
    assert all(len(h) == 64 for hs in flagged["input_sha256"] for h in hs.split(", "))
    # the terminal card shows each with its q-value
    from evalgap.cli._claim import render_card

    text = render_card(card, color=False)
    assert text.count("FLAGGED") == 2
    for q in flagged["q_value"]:
        assert f"{q:.3f}" in text


def test_a_clean_models_card_shows_no_fault(cards):
    card = cards[CLEAN]
    assert card.flagged.empty
    assert set(card.table["question"]) >= {"safetywashing", "adjusted", "inflation", "sandbagging"}
    # the benchmark does not track capabilities: its interval includes zero
    washing = card.table[card.table["question"] == "safetywashing"]
    assert (washing["strength"] == "").all()
    assert card.summary().endswith("none flagged; 7 topics not covered.")


def test_the_card_says_what_was_not_covered(cards):
    gaps = cards[CLEAN].not_covered.set_index("topic")["reason"]
    assert "no holdout set" in gaps["inflation: holdout gap"]
    assert gaps["inflation: likelihood tests"].startswith("no weights")
    assert gaps["distribution shift"].startswith("untested")
    assert gaps["judge-based scoring"].startswith("untested")
    assert "stands in" in gaps["inflation: reference-model test"]
    assert gaps["sandbagging: noise injection"].startswith("no weights")
    # what ran is covered
    assert not {"capabilities correlation", "sandbagging: panel check"} & set(gaps.index)


def test_default_hazards_come_from_the_area(cards):
    assert "my_hazard" in cards[FAULTY].settings["hazard"]
    assert {"wmdp", "wmdp_bio"} <= set(cards[FAULTY].settings["hazard"])


def test_json_round_trip_and_report(cards, tmp_path):
    card = cards[FAULTY]
    back = evalgap.load_result(json.loads(card.to_json()))
    assert isinstance(back, ClaimResult) and back.to_json() == card.to_json()
    html = evalgap.report.build_report(card)
    assert "FLAGGED" in html and "Not covered" in html


def test_saved_results_give_the_same_lines(cards, attached, tmp_path):
    panel = attached[0].panel
    audit = evalgap.audit(panel, benchmarks=["my_safety"], n_boot=N_BOOT, n_perm=N_BOOT)
    adjust = evalgap.adjust(panel, benchmarks=["my_safety"])
    hazard = evalgap.adjust(panel, benchmarks=["my_hazard"])
    sandbag = sandbag_panel(panel, list(cards[FAULTY].settings["hazard"]))
    paths = []
    for i, r in enumerate((audit, adjust, hazard, sandbag)):
        path = tmp_path / f"r{i}.json"
        path.write_text(r.to_json())
        paths.append(path)
    card = claim(FAULTY, "my_safety", results=paths, hazard=["my_hazard"])
    mine = cards[FAULTY].table
    mine = mine[mine["benchmark"].isin(["my_safety", "my_hazard"])].reset_index(drop=True)
    cols = [
        "question",
        "evidence",
        "benchmark",
        "estimate",
        "ci_low",
        "ci_high",
        "q_value",
        "flagged",
    ]
    pd.testing.assert_frame_equal(card.table[cols], mine[cols])
    assert list(card.settings["results_read"]) == [str(p) for p in paths]
    assert set(card.sources["origin"]) == {str(p) for p in paths}


def test_the_cli_card_from_a_users_table(attached, tmp_path, capsys, data_dir):
    _, scores, info = attached
    out = tmp_path / "card.json"
    db = tmp_path / "ledger.db"
    code = main(
        [
            "claim", FAULTY, "--benchmark", "my_safety", "--panel", "safetywashing-2024:chat",
            "--data-dir", str(data_dir), "--scores", str(scores), "--benchmarks", str(info),
            "--hazard", "my_hazard", "--bootstrap", "1000", "--permutations", "1000",
            "--out", str(out), "--ledger", str(db), "--label", "ckpt-1",
        ]
    )  # fmt: skip
    assert code == 0
    data = json.loads(out.read_text())
    flagged = [r for r in data["evidence"] if r["flagged"]]
    assert {r["question"] for r in flagged} == {"inflation", "sandbagging"}
    assert "appended: run" in capsys.readouterr().err
    with evalgap.Ledger(db) as ledger:
        assert ledger.runs()["label"].tolist() == ["ckpt-1"]


def test_bad_claims_get_one_line(chat_panel, capsys, data_dir):
    with pytest.raises(InputError, match="did you mean"):
        claim("Llama-2-7b-chat", "truthfulqa_mc1", panel=chat_panel)
    with pytest.raises(InputError, match="nothing to read"):
        claim("m", "b")
    code = main(["claim", "nobody", "--benchmark", "truthfulqa_mc1", "--panel",
                 "safetywashing-2024:chat", "--data-dir", str(data_dir)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "model 'nobody' is not in the panel" in err


@dataclass(frozen=True, kw_only=True, eq=False)
class _FakeInflation(Result):
    """Stands for a result of an analysis not on this branch yet, in the vocabulary."""

    analysis: ClassVar[str] = "inflation-reference"
    tables: ClassVar[Mapping[str, str]] = {"models": "table"}
    table: pd.DataFrame


def _fake_extractor(result, model, benchmark, *, hazard=False):
    if hazard:
        return []
    return vocabulary_evidence(
        result, model, benchmark, question="inflation",
        evidence="inflation vs reference models", measure="delta", fault_sign=1,
    )  # fmt: skip


def test_an_analysis_that_lands_later_plugs_in(cards, monkeypatch):
    """A result in the shared vocabulary with one registered extractor: its line joins the
    card and replaces the stand-in of the same question."""
    monkeypatch.setitem(EXTRACTORS, "inflation-reference", "test_claim:_fake_extractor")
    fake = _FakeInflation(
        table=pd.DataFrame(
            {"model": [FAULTY, CLEAN], "estimate": [0.21, 0.0], "ci_low": [0.12, -0.05],
             "ci_high": [0.3, 0.05], "p_value": [0.0004, 0.9]}
        ),
        settings={"benchmark": "my_safety"},
        provenance=Provenance(inputs={"items.jsonl": "ab" * 32}),
    )  # fmt: skip
    saved = evalgap.load_result(json.loads(cards[FAULTY].to_json()))
    card = claim(FAULTY, "my_safety", results=[saved, fake], hazard=["my_hazard"])
    inflation = card.table[card.table["question"] == "inflation"]
    assert inflation["analysis"].tolist() == ["inflation-reference"]  # the stand-in is gone
    assert inflation["flagged"].tolist() == [True]
    assert math.isclose(inflation["q_value"].iloc[0], 0.0008)  # BH over the two models
    assert inflation["input_sha256"].tolist() == ["ab" * 32]
    assert "inflation: reference-model test" not in set(card.not_covered["topic"])


def test_strength_is_the_interval_end_nearest_zero():
    assert strength_of(0.72, 0.95, 0.4, 0.7) == "high"
    assert strength_of(-0.69, -0.41, 0.4, 0.7) == "moderate"
    assert strength_of(0.05, 0.9, 0.4, 0.7) == "low"
    assert strength_of(-0.1, 0.9, 0.4, 0.7) == ""
    assert strength_of(float("nan"), 0.9, 0.4, 0.7) == ""

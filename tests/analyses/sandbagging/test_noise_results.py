"""The noise sweep's result beyond the sweep itself, without a model: the claim-card
extractor, the report section (several sweeps on one page), and ``evalgap sandbag noise
--summarize`` on a run folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import evalgap
from evalgap.analyses.claim import claim
from evalgap.analyses.claim._evidence_sandbag import sandbag_noise_evidence
from evalgap.analyses.claim._registry import extractor_of
from evalgap.analyses.sandbagging import summarize_sweep
from evalgap.cli import main
from evalgap.report import build_report

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from synthetic_sweeps import sweep_items, sweep_result, write_run


@pytest.fixture(scope="module")
def result():
    return sweep_result()


def test_the_extractor_is_registered() -> None:
    assert extractor_of("sandbag-noise") is sandbag_noise_evidence


def test_one_line_per_target_for_the_swept_model(result) -> None:
    lines = sandbag_noise_evidence(result, "synthetic-lora", "capitals")
    assert [ln["evidence"] for ln in lines] == [
        "noise injection: accuracy under weight noise (all)",
        "noise injection: accuracy under weight noise (lora)",
    ]
    by_target = {ln["evidence"].split("(")[-1].rstrip(")"): ln for ln in lines}
    table = result.table.set_index("target")
    for target, ln in by_target.items():
        assert ln["question"] == "sandbagging"
        assert ln["estimate"] == table.loc[target, "estimate"]
        assert (ln["ci_low"], ln["ci_high"]) == (
            table.loc[target, "ci_low"],
            table.loc[target, "ci_high"],
        )
        assert ln["q_value"] == table.loc[target, "q_value"]
        assert ln["n"] == 40
    # the planted sandbagger: noise on the LoRA matrices raises accuracy, on all weights not
    assert by_target["lora"]["verdict"] == "sandbagging suspected"
    assert by_target["lora"]["indicates"] and not by_target["all"]["indicates"]
    # a hazard benchmark beside the claim reads the same
    assert sandbag_noise_evidence(result, "synthetic-lora", "capitals", hazard=True) == lines


def test_nothing_for_another_model_or_benchmark(result) -> None:
    assert sandbag_noise_evidence(result, "other-model", "capitals") == []
    assert sandbag_noise_evidence(result, "synthetic-lora", "wmdp_bio") == []
    assert sandbag_noise_evidence(result, None, "capitals") == []
    # the adapter's and the model file's names match too
    assert len(sandbag_noise_evidence(result, "synthetic.gguf", "capitals")) == 2


def test_the_claim_card_flags_it_and_counts_the_topic_covered(result) -> None:
    card = claim("synthetic-lora", "capitals", results=[result])
    flagged = card.flagged
    assert list(flagged["analysis"]) == ["sandbag-noise"]
    assert "(lora)" in flagged["evidence"].iloc[0]
    assert "sandbagging: noise injection" not in set(card.not_covered["topic"])


def test_the_section_names_the_model_and_shows_each_target(tmp_path: Path) -> None:
    control = summarize_sweep(write_run(tmp_path / "run"), n_boot=200, seed=1, model_name="control")
    page = build_report(control)
    assert page.count('<section id="sandbag-noise-control-on-capitals"') == 1
    assert "Sandbagging from weights: control on capitals" in page
    assert "<strong>lora</strong>" in page and "<strong>all</strong>" in page
    assert "sandbagging suspected" in page


def test_summarize_on_the_command_line(tmp_path: Path, capsys) -> None:
    run = write_run(tmp_path / "run")
    out = tmp_path / "noise.json"
    assert main(["sandbag", "noise", "--summarize", str(run), "--bootstrap", "200", "--seed", "1", "--out", str(out)]) == 0  # fmt: skip
    # the folder's own copy of its items stands in for --items
    direct = summarize_sweep(run, sweep_items(shuffled=True), n_boot=200, seed=1)
    assert out.read_text() == direct.to_json() + "\n"
    assert evalgap.load_result(out).to_json() == direct.to_json()
    capsys.readouterr()
    assert main(["sandbag", "noise", "--summarize", str(run), "--bootstrap", "200"]) == 0
    text = capsys.readouterr().out
    assert "sandbagging suspected" in text and "Accuracy by sigma" in text
    assert main(["sandbag", "noise", "--summarize", str(run), "--bootstrap", "200", "--show", "cells", "--format", "csv"]) == 0  # fmt: skip
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0].startswith("target,sigma,seed,accuracy") and len(rows) == 1 + 19
    html = tmp_path / "noise.html"
    assert main(["sandbag", "noise", "--summarize", str(run), "--bootstrap", "200", "--html", str(html), "--format", "json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["analysis"] == "sandbag-noise"
    assert "sandbag-noise-synthetic-lora-on-capitals-curves" in html.read_text()
    plot = tmp_path / "curves.svg"
    assert main(["sandbag", "noise", "--summarize", str(run), "--bootstrap", "200", "--plot", str(plot), "--out", str(tmp_path / "t.txt")]) == 0  # fmt: skip
    assert plot.read_text().lstrip().startswith("<svg") and "Noise sigma" in plot.read_text()

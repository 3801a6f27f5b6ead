"""HELM run folders: fixtures made with simple/model1 and the real HELM Safety v4 runs."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from harness_paths import FIXTURES, harness_dir

from evalgap.io import import_results, read_helm_run


def _main(schema: Path) -> dict[str, tuple[str, str]]:
    data = json.loads(schema.read_text())
    return {
        g["name"]: (g["environment"]["main_name"], g["environment"]["main_split"])
        for g in data["run_groups"]
        if g.get("environment", {}).get("main_name")
    }


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def harness(data_dir: Path) -> Path:
    return harness_dir(data_dir)


def _stat(run: Path, name: str, split: str) -> float:
    for stat in json.loads((run / "stats.json").read_text()):
        key = stat["name"]
        if key["name"] == name and key.get("split") == split and "perturbation" not in key:
            return stat["mean"]
    raise KeyError(name)


def test_fixture_round_trip(fixtures: Path) -> None:
    suite = fixtures / "helm" / "tiny"
    mains = _main(suite / "schema.json")
    result = import_results(suite)
    rec = result.records.set_index(["model", "benchmark"])
    runs = sorted(p for p in suite.iterdir() if p.is_dir())
    assert len(runs) == len(result.records) == 3
    for run in runs:
        spec = json.loads((run / "run_spec.json").read_text())
        group = spec["groups"][0]
        metric, split = mains[group]
        key = (spec["adapter_spec"]["model"], group)
        assert rec.loc[key, "metric"] == metric
        assert rec.loc[key, "score"] == _stat(run, metric, split)
        assert rec.loc[key, "n"] == _stat(run, "num_instances", split) == 10
    parity = result.items.query("benchmark == 'tinysafe_parity'")
    assert len(parity) == 10 and parity["score"].mean() == pytest.approx(0.4)
    assert rec.loc[("simple/model1", "tinysafe_parity"), "score"] == pytest.approx(0.4)
    # sd/sqrt(n) of ten 0/1 values with four ones.
    assert rec.loc[("simple/model1", "tinysafe_parity"), "stderr"] == pytest.approx(
        math.sqrt(0.4 * 0.6 * 10 / 9 / 10)
    )
    assert result.skipped["reason"].str.contains("perturbation and sub-split").sum() == 3


def test_real_safety_v4(harness: Path) -> None:
    suite = harness / "helm" / "safety-v4"
    mains = _main(suite / "schema.json")
    result = import_results(suite)
    wide = result.wide()
    assert wide.shape == (9, 5)
    assert sorted(wide.columns) == [
        "anthropic_red_team",
        "bbq",
        "harm_bench",
        "simple_safety_tests",
        "xstest",
    ]
    assert not wide.isna().any().any()
    for run in sorted(p for p in suite.iterdir() if p.is_dir()):
        spec = json.loads((run / "run_spec.json").read_text())
        group = spec["groups"][0]
        metric, split = mains[group]
        assert wide.loc[spec["adapter_spec"]["model"], group] == _stat(run, metric, split)
    assert wide.loc["meta/llama-3-8b-chat", "bbq"] == 0.74
    counts = result.items.groupby(["model", "benchmark"]).size()
    assert (counts == 100).all() and len(counts) == 45
    means = result.items.groupby(["model", "benchmark"])["score"].mean()
    for (model, bench), mean in means.items():
        assert mean == pytest.approx(wide.loc[model, bench])
    assert (
        result.warnings["message"]
        .str.contains("per-item scores for bbq_accuracy are exact_match's")
        .sum()
        == 9
    )


def test_without_schema_the_choice_is_flagged(harness: Path, tmp_path: Path) -> None:
    src = harness / "helm" / "safety-v4" / "xstest:model=meta_llama-3-8b-chat"
    run = tmp_path / src.name
    run.mkdir()
    for name in ("run_spec.json", "stats.json"):
        shutil.copy(src / name, run / name)
    result = import_results(run)
    bench = result.benchmarks.iloc[0]
    assert bool(bench["ambiguous"])
    assert result.warnings["message"].str.contains("headline metric is ambiguous").any()
    chosen = import_results(run, metric="xstest=xst_score")
    assert chosen.records["score"].tolist() == [_stat(src, "xst_score", "test")]


def test_scenario_arguments_kept_when_needed(harness: Path, tmp_path: Path) -> None:
    src = (
        harness
        / "helm"
        / "safety-v4"
        / "bbq:subject=all,method=multiple_choice_joint,model=meta_llama-3-8b-chat"
    )
    for subject in ("all", "age"):
        run = tmp_path / src.name.replace("subject=all", f"subject={subject}")
        run.mkdir()
        shutil.copy(src / "stats.json", run / "stats.json")
        spec = json.loads((src / "run_spec.json").read_text())
        spec["name"] = run.name
        (run / "run_spec.json").write_text(json.dumps(spec))
    shutil.copy(harness / "helm" / "safety-v4" / "schema.json", tmp_path / "schema.json")
    result = import_results(tmp_path)
    assert sorted(result.records["benchmark"]) == [
        "bbq:subject=age,method=multiple_choice_joint",
        "bbq:subject=all,method=multiple_choice_joint",
    ]
    (one,), _ = read_helm_run(run)
    assert one.alias == "bbq"

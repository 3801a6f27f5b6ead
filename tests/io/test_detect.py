"""Format detection, folder walking and the import result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness_paths import FIXTURES

from evalgap.errors import InputError
from evalgap.io import ITEM_COLUMNS, LONG_COLUMNS, detect_format, import_results


def test_detects_every_fixture_format(fixtures: Path) -> None:
    lm = next((fixtures / "lmeval").rglob("results*.json"))
    samples = next((fixtures / "lmeval").rglob("samples_*.jsonl"))
    assert detect_format(lm) == "lm-eval"
    assert detect_format(samples) == "lm-eval-samples"
    for log in (fixtures / "inspect").iterdir():
        assert detect_format(log) == "inspect"
    run = next(p for p in (fixtures / "helm" / "tiny").iterdir() if p.is_dir())
    assert detect_format(run) == "helm"
    assert detect_format(run / "stats.json") == "helm"
    assert detect_format(fixtures / "helm" / "tiny" / "schema.json") is None
    assert detect_format(fixtures / "README.md") is None


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def test_lmeval_results_detected_by_content(tmp_path: Path) -> None:
    path = tmp_path / "qwen.json"
    path.write_text(
        json.dumps({"results": {"t": {"acc,none": 0.5}}, "versions": {}, "model_name": "m"})
    )
    assert detect_format(path) == "lm-eval"


def test_whole_fixture_tree_in_one_import(fixtures: Path) -> None:
    result = import_results(fixtures)
    assert set(result.read["format"]) == {"lm-eval", "inspect", "helm"}
    assert list(result.records.columns) == list(LONG_COLUMNS)
    assert list(result.items.columns) == list(ITEM_COLUMNS)
    assert result.records.duplicated(["model", "benchmark"]).sum() == 0
    # The generating scripts and README are skipped, not errors.
    skipped = set(result.skipped["source"].map(lambda s: Path(s).name))
    assert {"make_lmeval.py", "README.md"} <= skipped
    # Every kept run has its headline in the metrics table.
    heads = result.metrics[result.metrics["headline"]]
    assert len(heads) == len(result.records)
    json.dumps(result.to_dict())  # plain Python all the way down


def test_generic_long_and_wide_tables(tmp_path: Path) -> None:
    long = tmp_path / "long.csv"
    long.write_text(
        "model,benchmark,metric,score,stderr,n\nm1,xstest,refusal,0.9,0.01,450\nm2,xstest,refusal,0.8,,\n"
    )
    wide = tmp_path / "wide.csv"
    wide.write_text("model,mmlu,gsm8k\nm1,0.6,0.5\nm2,0.7,\n")
    result = import_results([long, wide])
    rec = result.records.set_index(["model", "benchmark"])
    assert rec.loc[("m1", "xstest"), "metric"] == "refusal"
    assert rec.loc[("m1", "xstest"), "n"] == 450
    assert rec.loc[("m2", "mmlu"), "score"] == 0.7
    assert ("m2", "gsm8k") not in rec.index
    panel = result.to_panel(capabilities=["mmlu", "gsm8k"])
    assert panel.shape == (2, 3)
    assert panel.benchmarks.loc["xstest", "metric"] == "refusal"


def test_same_file_twice_is_read_once(fixtures: Path) -> None:
    log = next((fixtures / "inspect").glob("*.json"))
    result = import_results([log, log, log.parent / "." / log.name])
    assert len(result.read) == 1 and result.warnings.empty


def test_unknown_explicit_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# hello\n")
    with pytest.raises(InputError, match="unknown format"):
        import_results(path)
    with pytest.raises(InputError, match="no such file"):
        import_results(tmp_path / "missing.json")


def test_folder_without_results(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("x")
    with pytest.raises(InputError, match="no scores found"):
        import_results(tmp_path)


def test_hidden_entries_are_not_walked(tmp_path: Path) -> None:
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "long.csv").write_text("model,benchmark,score\nm,b,1\n")
    (tmp_path / "long.csv").write_text("model,benchmark,score\nm,c,0.5\n")
    result = import_results(tmp_path)
    assert result.records["benchmark"].tolist() == ["c"]


def test_on_error_skip_goes_on(tmp_path: Path, fixtures: Path) -> None:
    bad = tmp_path / "results_bad.json"
    bad.write_text('{"results": {"t": ')
    good = next((fixtures / "inspect").glob("*.json"))
    with pytest.raises(InputError, match="truncated"):
        import_results([bad, good])
    result = import_results([bad, good], on_error="skip")
    assert len(result.records) == 1
    assert result.skipped["reason"].str.contains("invalid JSON").any()

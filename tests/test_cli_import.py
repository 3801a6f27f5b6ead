"""``evalgap import``: the command line over import_results and match_models."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evalgap.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "harness"


def test_import_fixtures_long_csv_and_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, items = tmp_path / "scores.csv", tmp_path / "items.parquet"
    code = main(
        [
            "import",
            str(FIXTURES / "helm"),
            str(FIXTURES / "lmeval"),
            "--out",
            str(out),
            "--items-out",
            str(items),
        ]
    )
    assert code == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["model", "benchmark", "metric", "score", "stderr", "n"]
    assert len(frame) == 7
    # HELM 3 runs x 10 items; lm-eval 2 models x (18 group items + 8 generation items).
    assert len(pd.read_parquet(items)) == 30 + 2 * (18 + 8)
    text = capsys.readouterr().out
    assert "headline metric" in text and "Skipped" in text and "Wrote scores" in text


def test_wide_layout_and_metric(tmp_path: Path) -> None:
    out = tmp_path / "wide.tsv"
    code = main(
        [
            "import",
            str(FIXTURES / "lmeval"),
            "--layout",
            "wide",
            "--metric",
            "acc",
            "--out",
            str(out),
            "--format",
            "json",
        ]
    )
    assert code == 0
    frame = pd.read_csv(out, sep="\t")
    assert list(frame.columns) == ["model", "tinysafe_gen", "tinysafe"]
    assert frame["model"].tolist() == ["evalgap-fixtures/dummy-a", "evalgap-fixtures/dummy-b"]


def test_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(FIXTURES / "inspect"), "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert {b["benchmark"] for b in payload["benchmarks"]} == {"tinysafe_refusal", "tinysafe_multi"}
    assert len(payload["records"]) == 2
    assert any("2 runs of model" in w["message"] for w in payload["warnings"])
    assert payload["written"] == {}


def test_bad_input_is_one_line_and_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "results_x.json"
    bad.write_text('{"results": {')
    out = tmp_path / "scores.csv"
    assert main(["import", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("evalgap: error:") and "results_x.json" in err and "\n" not in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_skip_bad_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "results_x.json").write_text('{"results": {')
    (tmp_path / "long.csv").write_text("model,benchmark,score\nm,b,0.5\n")
    assert main(["import", str(tmp_path), "--skip-bad", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["records"][0]["score"] == 0.5
    assert any("invalid JSON" in s["reason"] for s in payload["skipped"])


def test_bad_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(FIXTURES / "inspect"), "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "unknown output format" in capsys.readouterr().err
    assert main(["import", str(FIXTURES / "inspect"), "--rename"]) == 2
    assert "--panel" in capsys.readouterr().err
    assert main(["import", str(FIXTURES / "lmeval"), "--metric", "tinysafe=bleu"]) == 2
    assert "has no metric 'bleu'" in capsys.readouterr().err


def test_panel_matching_and_rename(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    helm = data_dir / "harness-outputs" / "helm" / "safety-v4"
    model_map = tmp_path / "map.csv"
    model_map.write_text("user_model,panel_model\nqwen/qwen2-72b-instruct,\n")
    out = tmp_path / "scores.json"
    code = main(
        [
            "import", str(helm), "--panel", "safetywashing-2024:chat", "--data-dir", str(data_dir),
            "--model-map", str(model_map), "--rename", "--out", str(out), "--format", "json",
        ]
    )  # fmt: skip
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    rows = {m["user_model"]: m for m in payload["matching"]["models"]}
    assert rows["meta/llama-3-70b-chat"]["panel_model"] == "Meta-Llama-3-70B-Instruct"
    assert rows["meta/llama-3-8b-chat"]["confidence"] == 0.8
    assert rows["qwen/qwen2-72b-instruct"]["rule"] == "model map: in no panel"
    written = pd.DataFrame(json.loads(out.read_text()))
    assert "Meta-Llama-3-70B-Instruct" in set(written["model"])
    assert "openai/gpt-4o-2024-05-13" in set(written["model"])


def test_panel_report_table(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lm = data_dir / "harness-outputs" / "lm-eval"
    assert (
        main(["import", str(lm), "--panel", "obsscaling-2024:base", "--data-dir", str(data_dir)])
        == 0
    )
    text = capsys.readouterr().out
    assert "Models matched to panel" in text and "google/gemma-2-2b" in text
    assert "matched" in text and "never guessed" in text

"""Open LLM Leaderboard contents parquet and OpenCompass summary CSVs, built in the test
in the shapes those projects publish."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evalgap.errors import InputError
from evalgap.io import detect_format, import_results, read_leaderboard, read_opencompass


def _contents(path: Path) -> Path:
    frame = pd.DataFrame(
        {
            "eval_name": ["org_a_bfloat16", "org_a_float16", "org_b_bfloat16"],
            "Precision": ["bfloat16", "float16", "bfloat16"],
            "Model": ["<a href=...>org/a</a>"] * 2 + ["<a href=...>org/b</a>"],
            "fullname": ["org/a", "org/a", "org/b"],
            "Average ⬆️": [30.0, 31.0, 20.0],
            "IFEval Raw": [0.50, 0.52, 0.40],
            "IFEval": [50.0, 52.0, 40.0],
            "GPQA Raw": [0.30, 0.31, None],
            "GPQA": [6.7, 8.0, None],
            "#Params (B)": [7.0, 7.0, 2.0],
            "Submission Date": ["2024-06-01", "2024-07-01", "2024-06-15"],
        }
    )
    frame.to_parquet(path)
    return path


def test_contents_parquet(tmp_path: Path) -> None:
    path = _contents(tmp_path / "contents.parquet")
    assert detect_format(path) == "open-llm-leaderboard"
    result = import_results(path)
    rec = result.records.set_index(["model", "benchmark"])
    # org/a is listed twice (two precisions): the later submission wins.
    assert rec.loc[("org/a", "IFEval"), "score"] == 0.52
    assert rec.loc[("org/a", "GPQA"), "score"] == 0.31
    assert rec.loc[("org/b", "IFEval"), "score"] == 0.40
    assert ("org/b", "GPQA") not in rec.index  # not evaluated
    assert set(result.records["metric"]) == {"raw"}
    assert result.warnings["message"].str.contains("2 runs of model 'org/a' on 'IFEval'").any()
    normalized = import_results(path, metric="normalized")
    assert (
        normalized.records.set_index(["model", "benchmark"]).loc[("org/a", "GPQA"), "score"] == 8.0
    )


def test_v1_columns(tmp_path: Path) -> None:
    path = tmp_path / "v1.parquet"
    pd.DataFrame(
        {"fullname": ["org/m"], "ARC": [61.0], "MMLU": [64.2], "Type": ["chat"]}
    ).to_parquet(path)
    runs, _ = read_leaderboard(path)
    assert {(r.benchmark, r.metrics["score"].score) for r in runs} == {
        ("ARC", 61.0),
        ("MMLU", 64.2),
    }


def test_parquet_without_fullname_is_a_plain_table(tmp_path: Path) -> None:
    path = tmp_path / "scores.parquet"
    pd.DataFrame({"model": ["m1", "m2"], "bench": [0.1, 0.2]}).to_parquet(path)
    assert detect_format(path) == "table"
    assert import_results(path).records["score"].tolist() == [0.1, 0.2]


OPENCOMPASS = """\
dataset,version,metric,mode,internlm2-chat-7b,qwen1.5-7b-chat
--------- Exam ---------,-,-,-,-,-
mmlu,-,naive_average,gen,63.7,61.0
gsm8k,1d7fe4,accuracy,gen,70.7,-
bbh,5b92b0,naive_average,gen,57.3,44.4
bbh,5b92b0,weighted_average,gen,58.0,45.1
"""


def test_opencompass_summary(tmp_path: Path) -> None:
    path = tmp_path / "summary_20240601.csv"
    path.write_text(OPENCOMPASS)
    assert detect_format(path) == "opencompass"
    result = import_results(path)
    rec = result.records.set_index(["model", "benchmark"])
    assert rec.loc[("internlm2-chat-7b", "mmlu"), "score"] == 63.7
    assert rec.loc[("internlm2-chat-7b", "gsm8k"), "metric"] == "accuracy"
    assert ("qwen1.5-7b-chat", "gsm8k") not in rec.index
    assert rec.loc[("qwen1.5-7b-chat", "bbh"), "metric"] == "naive_average"
    bench = result.benchmarks.set_index("benchmark")
    assert bool(bench.loc["bbh", "ambiguous"]) and not bool(bench.loc["mmlu", "ambiguous"])
    weighted = import_results(path, metric="bbh=weighted_average")
    assert (
        weighted.records.set_index(["model", "benchmark"]).loc[("qwen1.5-7b-chat", "bbh"), "score"]
        == 45.1
    )


def test_opencompass_bad_cell(tmp_path: Path) -> None:
    path = tmp_path / "summary.csv"
    path.write_text("dataset,version,metric,mode,m\nmmlu,-,acc,gen,sixty\n")
    with pytest.raises(InputError, match=r"line 2, column 'm'.*'sixty'"):
        read_opencompass(path)

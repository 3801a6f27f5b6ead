"""The Panel data model and the generic table readers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import evalgap
from evalgap.errors import AnalysisError, InputError
from evalgap.io import read_long, read_scores, read_table_panel, read_wide

WIDE = pd.DataFrame(
    {"model": ["a", "b", "c"], "mmlu": [0.5, 0.6, None], "truthfulqa": [0.3, 0.2, 0.4]}
)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".json", ".jsonl"])
def test_wide_table_in_every_format(tmp_path, suffix):
    path = tmp_path / f"scores{suffix}"
    if suffix == ".csv":
        WIDE.to_csv(path, index=False)
    elif suffix == ".tsv":
        WIDE.to_csv(path, index=False, sep="\t")
    elif suffix == ".parquet":
        WIDE.to_parquet(path, index=False)
    elif suffix == ".json":
        WIDE.to_json(path, orient="records")
    else:
        WIDE.to_json(path, orient="records", lines=True)
    scores = read_wide(path)
    assert list(scores.index) == ["a", "b", "c"]
    assert list(scores.columns) == ["mmlu", "truthfulqa"]
    assert scores.loc["b", "mmlu"] == 0.6
    assert np.isnan(scores.loc["c", "mmlu"])


def test_long_table_pivots_to_the_same_scores(tmp_path):
    long = WIDE.melt(id_vars="model", var_name="benchmark", value_name="score").dropna()
    long["stderr"] = 0.01
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    records = read_long(path)
    assert list(records.columns) == ["model", "benchmark", "metric", "score", "stderr", "n"]
    wide = read_scores(path)
    expected = read_wide(_csv(tmp_path, WIDE))
    pd.testing.assert_frame_equal(wide.sort_index(axis=1), expected.sort_index(axis=1))


def _csv(tmp_path, frame):
    path = tmp_path / "w.csv"
    frame.to_csv(path, index=False)
    return path


def test_metadata_tables_fill_the_panel(tmp_path):
    scores = _csv(tmp_path, WIDE)
    bench = tmp_path / "b.csv"
    bench.write_text(
        "benchmark,name,metric,higher_is_better,role,area\n"
        "mmlu,MMLU,accuracy,true,capability,\n"
        "truthfulqa,TruthfulQA,error rate,false,safety,truthfulness\n"
    )
    models = tmp_path / "m.csv"
    models.write_text("model,name,flop,family\na,Model A,1e22,x\nb,,3e23,x\n")
    panel = read_table_panel(scores, bench, models)
    assert panel.capability_benchmarks == ["mmlu"]
    assert not panel.benchmarks.loc["truthfulqa", "higher_is_better"]
    assert panel.oriented_scores().loc["a", "truthfulqa"] == -0.3
    assert panel.models.loc["a", "flop"] == 1e22
    assert panel.models.loc["b", "name"] == "b"
    assert np.isnan(panel.models.loc["c", "flop"])
    assert set(panel.files) == {str(scores), str(bench), str(models)}


def test_panel_validation():
    with pytest.raises(InputError, match="duplicate model 'a'"):
        evalgap.Panel.from_frames(pd.DataFrame({"x": [1.0, 2.0]}, index=["a", "a"]))
    with pytest.raises(InputError, match="expected a number, got 'high'"):
        evalgap.Panel.from_frames(pd.DataFrame({"x": [1.0, "high"]}, index=["a", "b"]))
    with pytest.raises(InputError, match="role must be one of"):
        evalgap.Panel.from_frames(
            pd.DataFrame({"x": [1.0]}, index=["a"]), pd.DataFrame({"role": ["judge"]}, index=["x"])
        )
    with pytest.raises(InputError, match="must be positive"):
        evalgap.Panel.from_frames(
            pd.DataFrame({"x": [1.0]}, index=["a"]),
            models=pd.DataFrame({"flop": [-1]}, index=["a"]),
        )
    with pytest.raises(AnalysisError, match="unknown capability benchmark 'y'"):
        evalgap.Panel.from_frames(pd.DataFrame({"x": [1.0]}, index=["a"]), capabilities=["y"])


def test_panel_views(chat_panel):
    assert repr(chat_panel).startswith("<Panel 'safetywashing-2024:chat': 26 models x 178")
    sub = chat_panel.subset(models=chat_panel.model_ids[:5], benchmarks=["mmlu", "wmdp"])
    assert sub.shape == (5, 2)
    assert sub.default_capabilities == ("mmlu",)
    long = chat_panel.to_long()
    assert len(long) == chat_panel.scores.notna().to_numpy().sum()
    recaps = chat_panel.with_capabilities(["mmlu", "gsm8k"])
    assert recaps.default_capabilities == ("mmlu", "gsm8k")
    assert sorted(recaps.capability_benchmarks) == ["gsm8k", "mmlu"]
    assert recaps.benchmarks.loc["bbh", "role"] == "other"

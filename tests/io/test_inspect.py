"""Inspect logs: fixtures made with mockllm/model (.eval and .json), the real logs from
2024-11 to 2025-05, and the oldest log shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness_paths import FIXTURES, harness_dir

from evalgap.io import import_results, read_inspect
from evalgap.io._inspect import inspect_value


def _json_logs(folder: Path) -> dict[str, dict]:
    logs = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        logs[data["eval"]["task"]] = data
    return logs


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def harness(data_dir: Path) -> Path:
    return harness_dir(data_dir)


@pytest.mark.parametrize("suffix", [".eval", ".json"])
def test_fixture_scores_match_inspect_results(fixtures: Path, suffix: str) -> None:
    folder = fixtures / "inspect"
    expected = _json_logs(folder)
    assert set(expected) == {"tinysafe_refusal", "tinysafe_multi"}
    for path in sorted(folder.glob(f"*{suffix}")):
        (run,), notes = read_inspect(path)
        assert notes == []
        log = expected[run.benchmark]
        assert run.model == log["eval"]["model"] == "mockllm/model"
        for score in log["results"]["scores"]:
            label = f"{score['name']}/accuracy"
            assert run.metrics[label].score == score["metrics"]["accuracy"]["value"]
            assert run.metrics[label].stderr == score["metrics"]["stderr"]["value"]
            assert run.metrics[label].n == score["scored_samples"]
            items = run.items[label]
            assert len(items) == score["scored_samples"]
            assert sum(v for _, v in items) / len(items) == pytest.approx(
                score["metrics"]["accuracy"]["value"]
            )
        headline = log["results"]["headline"]
        assert run.declared == f"{headline['score']}/{headline['metric']}"


def test_fixture_epochs_are_reduced_per_sample(fixtures: Path) -> None:
    # tinysafe_refusal ran 2 epochs of 8 samples: 8 items, not 16.
    result = import_results(sorted((fixtures / "inspect").glob("*refusal*.json")))
    assert len(result.items) == 8
    assert sorted(result.items["item"], key=int) == [str(i) for i in range(1, 9)]


def test_fixture_two_scorers_headline_and_override(fixtures: Path) -> None:
    paths = sorted((fixtures / "inspect").glob("*multi*.eval"))
    result = import_results(paths)
    row = result.records.iloc[0]
    assert (row.metric, row.score) == ("includes/accuracy", pytest.approx(4 / 6))
    bench = result.benchmarks.iloc[0]
    assert bench["rule"] == "declared in the log's results.headline"
    assert bench["alternatives"] == "match/accuracy"
    other = import_results(paths, metric="tinysafe_multi=match/accuracy")
    assert other.records["score"].tolist() == [pytest.approx(2 / 6)]
    assert other.items["score"].mean() == pytest.approx(2 / 6)


def test_fixture_eval_and_json_are_duplicates_latest_wins(fixtures: Path) -> None:
    result = import_results(fixtures / "inspect")
    assert len(result.records) == 2
    dropped = result.read[result.read["status"].str.startswith("dropped: duplicate")]
    assert len(dropped) == 2
    kept = result.read[result.read["status"] == "kept"]
    # The .json logs were written after the .eval logs: they win.
    assert kept["source"].str.endswith(".json").all()
    assert result.warnings["message"].str.contains("latest recorded time").sum() == 2


def test_real_logs(harness: Path) -> None:
    folder = harness / "inspect"
    result = import_results(folder)
    rec = result.records.set_index(["model", "benchmark"])
    assert rec.loc[("openai/gpt-4o-mini", "popularity"), "score"] == pytest.approx(2 / 3)
    assert rec.loc[("openai/gpt-4o-mini", "input_task"), "score"] == 1.0
    assert rec.loc[("openai/gpt-4o", "inspect_evals/mmlu_0_shot"), "score"] == 0.0
    skipped = result.skipped.set_index(result.skipped["source"].map(lambda s: Path(s).name))
    assert (
        "no scores in the log"
        in skipped.loc["2025-02-11T15-17-00-05-00_popularity_dPiJifoWeEQBrfWsAopzWr.eval", "reason"]
    )
    messages = " ".join(result.warnings["message"])
    assert "log status 'cancelled'" in messages
    # popularity is in three logs (two .eval, one .json): the latest by eval.created wins.
    kept = result.read.query("benchmark == 'popularity' and status == 'kept'")
    assert kept["source"].iloc[0].endswith("2025-05-12T20-28-13-04-00_popularity.json")


@pytest.mark.parametrize(
    ("name", "score", "n_items"),
    [
        ("2025-02-11T15-18-04-05-00_popularity_mj7khqpMM4GBCfVQozKgzB.eval", 0.8, 10),
        ("2024-11-05T13-32-37-05-00_input-task_hxs4q9azL3ySGkjJirypKZ.eval", 1.0, 1),
        ("2024-11-05T13-31-45-05-00_input-task_8zXjbRzCWrL9GXiXo2vus9.json", 1.0, 1),
        ("2025-05-12T20-28-13-04-00_no-samples.json", 2 / 3, 3),
        ("mmlu-summary-choices.eval", 0.0, 1),
    ],
)
def test_real_log_items(harness: Path, name: str, score: float, n_items: int) -> None:
    (run,), _ = read_inspect(harness / "inspect" / name)
    label = run.declared
    assert run.metrics[label].score == pytest.approx(score)
    assert len(run.items[label]) == n_items
    assert sum(v for _, v in run.items[label]) / n_items == pytest.approx(score)


def test_oldest_log_shape(tmp_path: Path) -> None:
    log = {
        "version": 1,
        "status": "success",
        "eval": {"task": "old_task", "model": "openai/gpt-4", "created": "2024-03-01T10:00:00"},
        "results": {
            "scorer": {"name": "match", "params": {}},
            "metrics": {"accuracy": {"name": "accuracy", "value": 0.5}, "stderr": {"value": 0.2}},
        },
        "samples": [
            {"id": "a", "epoch": 1, "score": {"value": "C"}},
            {"id": "b", "epoch": 1, "score": {"value": "P"}},
            {"id": "c", "epoch": 1, "score": {"value": "N"}},
            {"id": "d", "epoch": 1, "score": {"value": "C"}},
        ],
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(log))
    (run,), _ = read_inspect(path)
    assert run.metrics["match/accuracy"].score == 0.5
    assert run.metrics["match/accuracy"].stderr == 0.2
    assert run.items["match/accuracy"] == [("a", 1.0), ("b", 0.5), ("c", 0.0), ("d", 1.0)]
    assert run.timestamp is not None


def test_several_scorers_without_headline_are_ambiguous(tmp_path: Path) -> None:
    log = {
        "version": 2,
        "status": "success",
        "eval": {"task": "t", "model": "m"},
        "results": {
            "scores": [
                {"name": "a", "scorer": "a", "metrics": {"accuracy": {"value": 0.1}}},
                {"name": "b", "scorer": "b", "metrics": {"accuracy": {"value": 0.9}}},
            ]
        },
    }
    (tmp_path / "log.json").write_text(json.dumps(log))
    result = import_results(tmp_path / "log.json")
    assert result.records["metric"].tolist() == ["a/accuracy"]
    assert bool(result.benchmarks["ambiguous"].iloc[0])
    assert result.warnings["message"].str.contains("ambiguous").any()


def test_value_conversion() -> None:
    assert [inspect_value(v) for v in ("C", "I", "P", "N", "yes", "false", "0.25", 3)] == [
        1.0,
        0.0,
        0.5,
        0.0,
        1.0,
        0.0,
        0.25,
        3.0,
    ]
    assert inspect_value({"a": 1}) is None
    assert inspect_value("maybe") is None


def test_bare_metric_names_one_score_or_none(fixtures: Path) -> None:
    paths = sorted((fixtures / "inspect").glob("*.eval"))
    # 'accuracy' names match/accuracy on the one-scorer task; on the two-scorer task it
    # could be either, so that task keeps its declared headline and says so.
    result = import_results(paths, metric="accuracy")
    rec = result.records.set_index("benchmark")
    assert rec.loc["tinysafe_refusal", "metric"] == "match/accuracy"
    assert rec.loc["tinysafe_multi", "metric"] == "includes/accuracy"
    assert result.warnings["message"].str.contains("--metric accuracy names none or several").any()

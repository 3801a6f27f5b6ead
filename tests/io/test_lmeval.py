"""lm-evaluation-harness results and samples: fixtures made by lm-eval's dummy model, the
real 0.4.3 and 0.4.8 files, and hand-made edge cases."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from harness_paths import FIXTURES, harness_dir

from evalgap.errors import InputError
from evalgap.io import import_results, read_lmeval, read_lmeval_samples


def _results_files(root: Path) -> list[Path]:
    return sorted(root.rglob("results*.json"))


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def harness(data_dir: Path) -> Path:
    return harness_dir(data_dir)


def test_fixture_headlines_match_what_lmeval_reported(fixtures: Path) -> None:
    folder = fixtures / "lmeval"
    result = import_results(folder)
    files = _results_files(folder)
    assert len(files) == 2
    for path in files:
        data = json.loads(path.read_text())
        model = data["model_name"]
        rec = result.records.set_index(["model", "benchmark"])
        # The group's headline is acc_norm (the default order), the generation task's
        # exact_match under the 'none' filter.
        assert rec.loc[(model, "tinysafe"), "metric"] == "acc_norm"
        assert rec.loc[(model, "tinysafe"), "score"] == data["results"]["tinysafe"]["acc_norm,none"]
        assert (
            rec.loc[(model, "tinysafe"), "stderr"]
            == data["results"]["tinysafe"]["acc_norm_stderr,none"]
        )
        assert rec.loc[(model, "tinysafe"), "n"] == 18
        assert (
            rec.loc[(model, "tinysafe_gen"), "score"]
            == data["results"]["tinysafe_gen"]["exact_match,none"]
        )
    # Subtasks are left out by default, and the report says so.
    assert set(result.records["benchmark"]) == {"tinysafe", "tinysafe_gen"}
    assert result.skipped["reason"].str.contains("2 subtasks of group").sum() == 2


def test_fixture_items_average_to_the_reported_score(fixtures: Path) -> None:
    result = import_results(fixtures / "lmeval", subtasks=True)
    rec = result.records.set_index(["model", "benchmark"])
    means = result.items.groupby(["model", "benchmark"])["score"].agg(["mean", "count"])
    for task, n in (("tinysafe_mc", 12), ("tinysafe_mc2", 6), ("tinysafe_gen", 8)):
        for model in ("evalgap-fixtures/dummy-a", "evalgap-fixtures/dummy-b"):
            assert means.loc[(model, task), "count"] == n
            assert means.loc[(model, task), "mean"] == pytest.approx(
                rec.loc[(model, task), "score"]
            )
    assert result.warnings.empty
    # The two dummy models answered differently on the multiple-choice task.
    a = result.items.query("benchmark == 'tinysafe_mc'").groupby("model")["score"].apply(list)
    assert a["evalgap-fixtures/dummy-a"] != a["evalgap-fixtures/dummy-b"]


def test_metric_override_per_benchmark_and_filter(fixtures: Path) -> None:
    result = import_results(
        fixtures / "lmeval", metric=["acc", "tinysafe_gen=exact_match,first-word"]
    )
    rec = result.records.set_index(["model", "benchmark"])
    path = _results_files(fixtures / "lmeval")[0]
    data = json.loads(path.read_text())
    model = data["model_name"]
    assert rec.loc[(model, "tinysafe"), "metric"] == "acc"
    assert rec.loc[(model, "tinysafe"), "score"] == data["results"]["tinysafe"]["acc,none"]
    assert rec.loc[(model, "tinysafe_gen"), "metric"] == "exact_match,first-word"
    bench = result.benchmarks.set_index("benchmark")
    assert bench.loc["tinysafe_gen", "rule"] == "--metric tinysafe_gen=exact_match,first-word"
    assert len(result.items.query("benchmark == 'tinysafe_gen'")) == 16


def test_unknown_metric_for_a_benchmark_is_an_error(fixtures: Path) -> None:
    with pytest.raises(InputError, match=r"benchmark 'tinysafe_gen' has no metric 'bleu'"):
        import_results(fixtures / "lmeval", metric={"tinysafe_gen": "bleu"})
    with pytest.raises(InputError, match="not read"):
        import_results(fixtures / "lmeval", metric={"nosuchtask": "acc"})


def test_real_asdiv_results_and_samples(harness: Path) -> None:
    folder = harness / "lm-eval" / "asdiv"
    result = import_results(folder)
    row = result.records.iloc[0]
    assert (row.model, row.benchmark, row.metric) == (
        "meta-llama/Meta-Llama-3-8B-Instruct",
        "asdiv",
        "acc",
    )
    assert row.score == 0.92 and row.n == 50
    assert row.stderr == pytest.approx(0.0387561713321444)
    assert len(result.items) == 50
    assert result.items["score"].mean() == pytest.approx(0.92)


@pytest.mark.parametrize("version", ["results-0.4.3", "results-0.4.8"])
def test_real_results_round_trip(harness: Path, version: str) -> None:
    files = _results_files(harness / "lm-eval" / version)
    assert files
    result = import_results(files, subtasks=True)
    rec = result.records.set_index(["model", "benchmark"])
    checked = 0
    for path in files:
        data = json.loads(path.read_text())
        for task, values in data["results"].items():
            key = (data["model_name"], task)
            metric = rec.loc[key, "metric"]
            raw = f"{metric},none" if "," not in metric else metric
            assert rec.loc[key, "score"] == values[raw]
            checked += 1
    assert checked == len(result.records)


def test_real_groups_and_sizes(harness: Path) -> None:
    qwen = _results_files(harness / "lm-eval" / "results-0.4.8")[0]
    runs, notes = read_lmeval(qwen)
    by = {r.benchmark: r for r in runs}
    assert by["xcopa"].role == "group"
    assert by["xcopa"].metrics["acc"].score == 0.59
    assert by["xcopa"].metrics["acc"].n == 5500  # 11 languages x 500, summed from n-samples
    assert by["hellaswag"].metrics["acc_norm"].n == 10042
    assert by["lambada_openai"].metrics["perplexity"].higher_is_better is False
    assert "xcopa_et" not in by
    assert any("43 subtasks" in n for n in notes)
    gemma = _results_files(harness / "lm-eval" / "results-0.4.3" / "google__gemma-2-2b")[0]
    runs, _ = read_lmeval(gemma)
    assert [r.benchmark for r in runs] == ["mmlu"]
    assert runs[0].metrics["acc"].n == 14042  # MMLU's test set, summed over nested groups


def _write(tmp: Path, name: str, data: object) -> Path:
    path = tmp / name
    path.write_text(json.dumps(data))
    return path


def test_na_stderr_model_args_and_old_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "results_2024-01-02T03-04-05.json",
        {
            "results": {
                "toxigen": {"acc,none": 0.43, "acc_stderr,none": "N/A", "alias": "toxigen"},
                "old_task": {"acc": 0.5, "acc_stderr": 0.1},
            },
            "versions": {"toxigen": 1},
            "config": {"model": "hf", "model_args": "pretrained=org/Model-7B,dtype=float16"},
        },
    )
    runs, _ = read_lmeval(path)
    assert {r.model for r in runs} == {"org/Model-7B"}
    toxigen = next(r for r in runs if r.benchmark == "toxigen")
    assert toxigen.metrics["acc"].score == 0.43
    assert math.isnan(toxigen.metrics["acc"].stderr)
    old = next(r for r in runs if r.benchmark == "old_task")
    assert old.metrics["acc"].stderr == 0.1
    assert runs[0].timestamp is not None  # from the file name


def test_model_args_as_dict_and_peft_first(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "results.json",
        {
            "results": {"t": {"acc,none": 0.1}},
            "config": {"model_args": {"pretrained": "base/m", "peft": "me/adapter"}},
        },
    )
    runs, _ = read_lmeval(path)
    assert runs[0].model == "me/adapter"


def test_mixed_model_names_are_a_warning(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "results.json",
        {
            "results": {"t": {"acc,none": 0.1}},
            "config": {"model_args": "pretrained=org/a"},
            "model_name": "org/b",
        },
    )
    result = import_results(tmp_path)
    assert result.records["model"].tolist() == ["org/b"]
    assert result.warnings["message"].str.contains("mixed models in one file").any()


def test_samples_json_array_and_filters(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "samples_gsm8k_2024-01-01T00-00-00.json",
        [
            {"doc_id": 0, "filter": "strict-match", "metrics": ["exact_match"], "exact_match": 1.0},
            {
                "doc_id": 0,
                "filter": "flexible-extract",
                "metrics": ["exact_match"],
                "exact_match": 0.0,
            },
            {"doc_id": 1, "filter": "strict-match", "metrics": ["exact_match"], "exact_match": 0.0},
            {
                "doc_id": 1,
                "filter": "flexible-extract",
                "metrics": ["exact_match"],
                "exact_match": 1.0,
            },
        ],
    )
    items = read_lmeval_samples(path)
    assert items["exact_match,strict-match"] == [("0", 1.0), ("1", 0.0)]
    assert items["exact_match,flexible-extract"] == [("0", 0.0), ("1", 1.0)]


def test_gsm8k_style_filters_are_flagged_ambiguous(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "results_2024-01-01T00-00-00.json",
        {
            "results": {
                "gsm8k": {
                    "exact_match,strict-match": 0.3,
                    "exact_match_stderr,strict-match": 0.01,
                    "exact_match,flexible-extract": 0.35,
                    "exact_match_stderr,flexible-extract": 0.01,
                }
            },
            "versions": {"gsm8k": 3},
            "model_name": "org/m",
        },
    )
    result = import_results(tmp_path)
    assert result.records["metric"].tolist() == ["exact_match,strict-match"]
    bench = result.benchmarks.iloc[0]
    assert bool(bench["ambiguous"]) and "flexible-extract" in bench["alternatives"]
    assert result.warnings["message"].str.contains("headline metric is ambiguous").any()


def test_samples_paired_by_time_stamp(tmp_path: Path) -> None:
    for stamp, acc, items in (
        ("2024-01-01T00-00-00", 0.5, [1, 0]),
        ("2024-02-01T00-00-00", 1.0, [1, 1]),
    ):
        _write(
            tmp_path,
            f"results_{stamp}.json",
            {"results": {"t": {"acc,none": acc}}, "versions": {}, "model_name": "org/m"},
        )
        (tmp_path / f"samples_t_{stamp}.jsonl").write_text(
            "".join(json.dumps({"doc_id": i, "acc": v}) + "\n" for i, v in enumerate(items))
        )
    result = import_results(tmp_path)
    # Two runs of the same model and task: the later one (by file-name time) wins, with
    # its own items.
    assert result.records["score"].tolist() == [1.0]
    assert result.items["score"].tolist() == [1.0, 1.0]
    assert result.warnings["message"].str.contains("2 runs of model 'org/m' on 't'").any()


def test_group_items_are_its_tasks_items(fixtures: Path) -> None:
    result = import_results(fixtures / "lmeval")
    rec = result.records.set_index(["model", "benchmark"])
    group = result.items.query("benchmark == 'tinysafe'")
    for model, part in group.groupby("model"):
        assert len(part) == 18
        assert part["item"].str.startswith(("tinysafe_mc/", "tinysafe_mc2/")).all()
        assert part["item"].is_unique
        # lm-eval's group acc_norm is weighted by size: the mean over all 18 items.
        assert part["score"].mean() == pytest.approx(rec.loc[(model, "tinysafe"), "score"])
    assert result.warnings.empty


def test_lmeval_040_shape_groups_from_configs(tmp_path: Path) -> None:
    # lm-eval 0.4.0 wrote no model_name and no group_subtasks: each task config names its
    # group, and groups sit in 'results' beside their tasks.
    path = _write(
        tmp_path,
        "results.json",
        {
            "results": {
                "mmlu": {"acc,none": 0.45, "acc_stderr,none": 0.004, "alias": "mmlu"},
                "mmlu_abstract_algebra": {"acc,none": 0.3, "alias": " - abstract_algebra"},
                "mmlu_anatomy": {"acc,none": 0.5, "alias": " - anatomy"},
            },
            "configs": {
                "mmlu_abstract_algebra": {"task": "mmlu_abstract_algebra", "group": "mmlu"},
                "mmlu_anatomy": {"task": "mmlu_anatomy", "group": ["mmlu"]},
            },
            "versions": {"mmlu": "N/A", "mmlu_abstract_algebra": 0, "mmlu_anatomy": 0},
            "config": {"model": "hf", "model_args": "pretrained=EleutherAI/pythia-160m"},
            "git_hash": "4d19ea9",
        },
    )
    runs, notes = read_lmeval(path)
    assert [(r.model, r.benchmark, r.role) for r in runs] == [
        ("EleutherAI/pythia-160m", "mmlu", "group")
    ]
    assert runs[0].members == ("mmlu_abstract_algebra", "mmlu_anatomy")
    assert any("2 subtasks of group(s) mmlu" in n for n in notes)
    runs, _ = read_lmeval(path, subtasks=True)
    assert {r.benchmark: r.role for r in runs} == {
        "mmlu": "group",
        "mmlu_abstract_algebra": "subtask",
        "mmlu_anatomy": "subtask",
    }

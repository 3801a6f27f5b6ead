"""Auditing a user's own benchmark, given as harness outputs, against a reference panel."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evalgap
from evalgap.cli import main
from evalgap.errors import AnalysisError

TEMPLATE = sorted(
    (Path(__file__).parent / "fixtures" / "harness" / "lmeval").rglob("results*.json")
)[0]

# Chat-panel ids as the Hugging Face hub (and so lm-eval's model_name) spells them; a few
# in other spellings to exercise the matching.
HUB_NAMES = {
    "Llama-2-13b-chat-hf": "meta-llama/Llama-2-13b-chat-hf",
    "Llama-2-70b-chat-hf": "meta-llama/Llama-2-70b-chat-hf",
    "Llama-2-7b-chat-hf": "meta-llama/llama-2-7b-chat-hf",
    "Meta-Llama-3-70B-Instruct": "meta-llama/Meta-Llama-3-70B-Instruct",
    "Meta-Llama-3-8B-Instruct": "meta-llama/Meta-Llama-3-8B-Instruct",
    "Mistral-7B-Instruct-v0.2": "mistralai/Mistral-7B-Instruct-v0.2",
    "Mixtral-8x7B-Instruct-v0.1": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "Qwen1.5-0.5B-Chat": "Qwen/Qwen1.5-0.5B-Chat",
    "Qwen1.5-1.8B-Chat": "Qwen/Qwen1.5-1.8B-Chat",
    "Qwen1.5-14B-Chat": "Qwen/Qwen1.5-14B-Chat",
    "Qwen1.5-4B-Chat": "Qwen/Qwen1.5-4B-Chat",
    "Qwen1.5-72B-Chat": "Qwen/Qwen1.5-72B-Chat",
    "Qwen1.5-7B-Chat": "qwen/qwen1.5-7b-chat",
    "Yi-34B-Chat": "01-ai/Yi-34B-Chat",
    "Yi-6B-Chat": "01-ai/Yi-6B-Chat",
    "dbrx-instruct": "databricks/dbrx-instruct",
    "deepseek-llm-7b-chat": "deepseek-ai/deepseek-llm-7b-chat",
    "falcon-40b-instruct": "tiiuae/falcon-40b-instruct",
    "gemma-1.1-2b-it": "google/gemma-1.1-2b-it",
    "gemma-1.1-7b-it": "google/gemma-1.1-7b-it",
}


def write_lmeval_results(folder: Path, scores: dict[str, float], task: str = "my_safety") -> Path:
    """One lm-eval results file per model, shaped like lm-eval's own (0.4.x) output."""
    template = json.loads(TEMPLATE.read_text())
    for i, (model, value) in enumerate(scores.items()):
        data = copy.deepcopy(template)
        data["results"] = {task: {"alias": task, "acc,none": value, "acc_stderr,none": 0.01}}
        data["groups"], data["group_subtasks"] = {}, {task: []}
        data["configs"] = {task: {"task": task, "output_type": "multiple_choice"}}
        data["versions"], data["n-shot"] = {task: 1.0}, {task: 0}
        data["higher_is_better"] = {task: {"acc": True}}
        data["n-samples"] = {task: {"original": 500, "effective": 500}}
        data["model_name"] = model
        data["model_name_sanitized"] = model.replace("/", "__")
        data["config"]["model_args"] = f"pretrained={model}"
        data["date"] = 1_700_000_000 + i
        out = folder / model.replace("/", "__") / "results_2026-01-01T00-00-00.000000.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=2))
    return folder


@pytest.fixture
def user_results(chat_panel, tmp_path):
    column = chat_panel.scores["truthfulqa_mc1"]
    scores = {hub: float(column[pid]) for pid, hub in HUB_NAMES.items()}
    return write_lmeval_results(tmp_path / "results", scores)


def test_lmeval_results_audit_like_the_column_put_into_the_panel(chat_panel, user_results):
    attached = evalgap.attach_scores(chat_panel, user_results)
    assert attached.benchmarks == ["my_safety"]
    assert len(attached.matching.matched) == len(HUB_NAMES)
    # the same column, put straight into the panel by id
    scores = chat_panel.scores.copy()
    scores["my_safety"] = chat_panel.scores["truthfulqa_mc1"].where(
        chat_panel.scores.index.isin(list(HUB_NAMES))
    )
    direct = evalgap.Panel.from_frames(
        scores, models=chat_panel.models, capabilities=chat_panel.default_capabilities
    )
    kwargs = {"benchmarks": ["my_safety"], "n_boot": 500, "n_perm": 500, "seed": 2}
    a = evalgap.audit(attached.panel, **kwargs).benchmark("my_safety")
    b = evalgap.audit(direct, **kwargs).benchmark("my_safety")
    assert a["n"] == b["n"] == 20
    for key in ("capabilities_correlation", "ci_low", "ci_high", "p_value", "compute_correlation"):
        assert a[key] == pytest.approx(b[key], abs=1e-12), key
    # and both agree with the panel's own column restricted to those models
    full = evalgap.audit(chat_panel, benchmarks=["truthfulqa_mc1"], n_boot=0, n_perm=0)
    score = full.capabilities.scores[list(HUB_NAMES)]
    rho = pd.Series(chat_panel.scores.loc[list(HUB_NAMES), "truthfulqa_mc1"]).corr(
        score, method="spearman"
    )
    assert a["capabilities_correlation"] == pytest.approx(rho, abs=1e-12)


def test_cli_states_how_many_models_matched(chat_panel, user_results, data_dir, tmp_path, capsys):
    # two more models the panel does not have, and one that is ambiguous in a chat panel
    write_lmeval_results(
        user_results, {"acme/secret-model-9b": 0.4, "meta-llama/Llama-2-13b-hf": 0.3}
    )
    out = tmp_path / "audit.json"
    code = main(
        [
            "audit",
            "--panel",
            "safetywashing-2024:chat",
            "--data-dir",
            str(data_dir),
            "--scores",
            str(user_results),
            "--bootstrap",
            "200",
            "--permutations",
            "200",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    data = json.loads(out.read_text())
    info = data["settings"]["user_scores"]
    assert info["n_models"] == 22 and info["n_matched"] == 20
    assert "acme/secret-model-9b" in info["unmatched"]
    assert [b["benchmark"] for b in data["benchmarks"]] == ["my_safety"]
    assert (
        main(
            [
                "audit",
                "--panel",
                "safetywashing-2024:chat",
                "--data-dir",
                str(data_dir),
                "--scores",
                str(user_results),
                "--bootstrap",
                "0",
                "--permutations",
                "0",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "Your scores: 1 benchmark(s) on 22 models; 20 matched" in text
    assert "unmatched (left out): " in text and "acme/secret-model-9b" in text


def test_model_map_overrides_matching(chat_panel, tmp_path):
    mine = pd.DataFrame(
        {"truthfulqa_mc1": np.linspace(0.2, 0.6, 6)},
        index=["a", "b", "c", "d", "e", "f"],
    )
    mapping = dict(zip(mine.index, chat_panel.model_ids[:6], strict=True))
    attached = evalgap.attach_scores(chat_panel, mine, model_map=mapping)
    # a clash with a panel benchmark id is renamed, never merged
    assert attached.benchmarks == ["user:truthfulqa_mc1"]
    col = attached.panel.scores["user:truthfulqa_mc1"]
    assert col.notna().sum() == 6
    assert col[chat_panel.model_ids[0]] == pytest.approx(0.2)


def test_no_match_is_an_error(chat_panel):
    mine = pd.DataFrame({"x": [0.1, 0.2]}, index=["acme/one", "acme/two"])
    with pytest.raises(AnalysisError, match="none of your 2 models matched"):
        evalgap.attach_scores(chat_panel, mine)

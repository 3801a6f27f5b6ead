"""Model matching: normalisation, confidence, ambiguity never guessed, model maps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import evalgap
from evalgap.errors import InputError
from evalgap.io._matching import match_models, normalize_model_name, read_model_map

MIXED = ["Llama-2-13b-hf", "Llama-2-13b-chat-hf", "Meta-Llama-3-8B", "Meta-Llama-3-8B-Instruct"]


def _rows(result: evalgap.io._matching.MatchResult) -> dict[str, tuple]:
    return {
        r.user_model: (r.panel_model, r.confidence, r.status)
        for r in result.table.itertuples(index=False)
    }


@pytest.mark.parametrize(
    ("name", "norm"),
    [
        ("meta-llama/Meta-Llama-3-8B-Instruct", "llama-3-8b-chat"),
        ("meta/llama-3-8b-chat", "llama-3-8b-chat"),
        ("meta-llama__Llama-2-13b-chat-hf", "llama-2-13b-chat"),
        ("Qwen/Qwen1_5-72B-Chat", "qwen-1.5-72b-chat"),
        ("qwen1.5-72b-chat", "qwen-1.5-72b-chat"),
        ("mistralai/Mixtral-8x22B-Instruct-v0.1", "mixtral-8x-22b-0.1-chat"),
        ("google/gemma-1.1-7b-it", "gemma-1.1-7b-chat"),
        ("deepseek-llm-67b-base", "deepseek-llm-67b"),
        ("Llama_2_13B", "llama-2-13b"),
    ],
)
def test_normalize(name: str, norm: str) -> None:
    assert normalize_model_name(name) == norm


def test_confidence_levels() -> None:
    panel = ["Meta-Llama-3-8B-Instruct", "Llama-2-13b-chat-hf", "Mixtral-8x22B-Instruct-v0.1"]
    rows = _rows(
        match_models(
            [
                "Meta-Llama-3-8B-Instruct",
                "meta-llama/meta-llama-3-8b-instruct",
                "llama-2-13b-chat",
                "mistralai/mixtral-8x22b-chat-v0_1",
            ],
            panel,
        )
    )
    assert rows["Meta-Llama-3-8B-Instruct"] == ("Meta-Llama-3-8B-Instruct", 1.0, "matched")
    # The same panel model is claimed twice: the exact id keeps it.
    assert rows["meta-llama/meta-llama-3-8b-instruct"][2] == "ambiguous"
    assert rows["llama-2-13b-chat"] == ("Llama-2-13b-chat-hf", 0.9, "matched")
    assert rows["mistralai/mixtral-8x22b-chat-v0_1"] == (
        "Mixtral-8x22B-Instruct-v0.1",
        0.8,
        "matched",
    )


def test_no_variant_word_is_ambiguous_in_a_mixed_panel() -> None:
    result = match_models(["llama-2-13b", "llama-3-8b", "Meta-Llama-3-8B"], MIXED)
    # The panel's own base id, in other case, is the same name: matched.
    assert result.mapping == {"Meta-Llama-3-8B": "Meta-Llama-3-8B"}
    for user in ("llama-2-13b", "llama-3-8b"):
        row = result.table.set_index("user_model").loc[user]
        assert row["status"] == "ambiguous" and row["panel_model"] is None
    assert "Llama-2-13b-chat-hf" in result.table.loc[0, "candidates"]
    assert "Llama-2-13b-hf" in result.table.loc[0, "candidates"]


def test_no_variant_word_matches_in_an_all_chat_panel() -> None:
    rows = _rows(match_models(["llama-2-13b"], ["Llama-2-13b-chat-hf", "Meta-Llama-3-8B-Instruct"]))
    assert rows["llama-2-13b"] == ("Llama-2-13b-chat-hf", 0.6, "matched")


def test_chat_never_matches_base_and_back() -> None:
    rows = _rows(
        match_models(["llama-2-13b-chat", "dbrx-base"], ["Llama-2-13b-hf", "dbrx-instruct"])
    )
    assert rows["llama-2-13b-chat"][2] == "unmatched"
    assert rows["dbrx-base"][2] == "unmatched"


def test_base_name_matches_base_only_panel() -> None:
    rows = _rows(match_models(["meta-llama/Llama-2-13b"], ["Llama-2-13b-hf", "Llama-2-7b-hf"]))
    assert rows["meta-llama/Llama-2-13b"] == ("Llama-2-13b-hf", 0.9, "matched")


def test_tied_panel_models_are_ambiguous() -> None:
    rows = _rows(match_models(["org/model-7b"], ["a/model-7b", "b/Model-7B"]))
    assert rows["org/model-7b"][2] == "ambiguous"


def test_unmatched_lists_near_candidates() -> None:
    result = match_models(["google/gemma-7b-it"], ["gemma-1.1-7b-it", "Yi-34B-Chat"])
    row = result.table.iloc[0]
    assert row["status"] == "unmatched" and "gemma-1.1-7b-it" in row["candidates"]


def test_model_map_overrides(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_text("user_model,panel_model\nllama-2-13b,Llama-2-13b-chat-hf\nLlama-2-13b-hf,\n")
    assert read_model_map(path) == {"llama-2-13b": "Llama-2-13b-chat-hf", "Llama-2-13b-hf": ""}
    rows = _rows(match_models(["llama-2-13b", "Llama-2-13b-hf"], MIXED, model_map=path))
    assert rows["llama-2-13b"] == ("Llama-2-13b-chat-hf", 1.0, "matched")
    assert rows["Llama-2-13b-hf"] == (None, 0.0, "unmatched")
    bad = tmp_path / "bad.csv"
    bad.write_text("user_model,panel_model\nx,Llama-2-13b-chaat-hf\n")
    with pytest.raises(InputError, match="not in the panel; close: Llama-2-13b-chat-hf"):
        match_models(["x"], MIXED, model_map=bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("user_model,panel_model\nx,a\nx,b\n")
    with pytest.raises(InputError, match="line 3"):
        read_model_map(dup)


def test_safetywashing_chat_panel(chat_panel: evalgap.Panel) -> None:
    users = [
        "meta-llama/Meta-Llama-3-8B-Instruct",
        "meta/llama-3-70b-chat",
        "mistralai/mixtral-8x22b-instruct-v0.1",
        "Qwen/Qwen1.5-72B-Chat",
        "google/gemma-1.1-7b-it",
        "tiiuae/falcon-40b-instruct",
        "databricks/dbrx-instruct",
        "deepseek-ai/deepseek-llm-67b-chat",
        "qwen/qwen2-72b-instruct",
        "openai/gpt-4o",
    ]
    result = match_models(users, chat_panel)
    assert result.mapping == {
        "meta-llama/Meta-Llama-3-8B-Instruct": "Meta-Llama-3-8B-Instruct",
        "meta/llama-3-70b-chat": "Meta-Llama-3-70B-Instruct",
        "mistralai/mixtral-8x22b-instruct-v0.1": "Mixtral-8x22B-Instruct-v0.1",
        "Qwen/Qwen1.5-72B-Chat": "Qwen1.5-72B-Chat",
        "google/gemma-1.1-7b-it": "gemma-1.1-7b-it",
        "tiiuae/falcon-40b-instruct": "falcon-40b-instruct",
        "databricks/dbrx-instruct": "dbrx-instruct",
        "deepseek-ai/deepseek-llm-67b-chat": "deepseek-llm-67b-chat",
    }
    assert result.unmatched == ["qwen/qwen2-72b-instruct", "openai/gpt-4o"]


def test_safetywashing_both_panels(chat_panel: evalgap.Panel, base_panel: evalgap.Panel) -> None:
    both = list(chat_panel.model_ids) + list(base_panel.model_ids)
    result = match_models(["llama-2-13b", "Llama-2-13b-chat", "deepseek-llm-67b"], both)
    rows = _rows(result)
    assert rows["llama-2-13b"][2] == "ambiguous"
    assert rows["Llama-2-13b-chat"] == ("Llama-2-13b-chat-hf", 0.9, "matched")
    assert rows["deepseek-llm-67b"][2] == "ambiguous"  # base and chat in the panel


def test_rename_and_to_dict() -> None:
    result = match_models(["org/Llama-2-13b-chat-hf", "other"], MIXED)
    records = pd.DataFrame({"model": ["org/Llama-2-13b-chat-hf", "other"], "score": [1.0, 2.0]})
    assert result.rename(records)["model"].tolist() == ["Llama-2-13b-chat-hf", "other"]
    payload = result.to_dict()
    assert payload["models"][1]["panel_model"] is None

"""Likelihood-based contamination tests on the real SmolLM2-135M: the per-item scores
against a direct computation from the model's logits, planted members found by the AUROC,
the exchangeability test run on the model and resumed, and the command line."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pandas as pd
import pytest
import torch

from evalgap.analyses.inflation._exchangeability import exchangeability_test
from evalgap.analyses.inflation._likelihood import inflation_likelihood, likelihood_result
from evalgap.analyses.inflation._membership import score_texts
from evalgap.cli import main

# float32 forward pass against float64 log-softmax of the same logits.
REFERENCE_ATOL = 1e-4

ITEM = (
    "Question: Janet's ducks lay 16 eggs per day. She eats three for breakfast and bakes "
    "muffins with four. How many are left?\nAnswer: 16 - 3 - 4 = 9"
)
ITEMS = [
    "Question: What is 2 + 3?\nAnswer: 5",
    "Question: A pen costs 2 dollars. How much do 4 pens cost?\nAnswer: 8 dollars",
    "Question: Tom has 7 apples and eats 2. How many are left?\nAnswer: 5",
    "Question: What is half of 18?\nAnswer: 9",
    "Question: A week has 7 days. How many days are in 3 weeks?\nAnswer: 21",
    "Question: Sara reads 10 pages a day. How many pages in 5 days?\nAnswer: 50",
    "Question: What is 6 times 7?\nAnswer: 42",
    "Question: A box holds 12 eggs. How many eggs are in 2 boxes?\nAnswer: 24",
]


def test_scores_match_a_direct_computation(smollm2_lm):
    k = 0.2
    got = score_texts(smollm2_lm, [ITEM], k=k).iloc[0]
    ids = smollm2_lm.encode(ITEM)
    with torch.inference_mode():
        logits = smollm2_lm.model(input_ids=torch.tensor([ids])).logits[0, :-1].double()
    logp = torch.log_softmax(logits, -1)
    target = torch.tensor(ids[1:])
    token = logp.gather(1, target[:, None])[:, 0].numpy()
    p = logp.exp()
    mu = (p * logp).sum(-1)
    sigma = ((p * logp**2).sum(-1) - mu**2).sqrt()
    z = ((logp.gather(1, target[:, None])[:, 0] - mu) / sigma).numpy()
    n_k = int(len(token) * k)
    assert got["n_tokens"] == len(ids) - 1
    assert got["loglikelihood"] == pytest.approx(token.sum(), abs=REFERENCE_ATOL * len(token))
    assert got["mean_logprob"] == pytest.approx(token.mean(), abs=REFERENCE_ATOL)
    assert got["perplexity"] == pytest.approx(np.exp(-token.mean()), rel=REFERENCE_ATOL)
    assert got["min_k"] == pytest.approx(np.sort(token)[:n_k].mean(), abs=REFERENCE_ATOL)
    assert got["min_k_pp"] == pytest.approx(np.sort(z)[:n_k].mean(), abs=REFERENCE_ATOL)
    packed = len(zlib.compress(ITEM.encode("utf-8")))
    assert got["zlib_bytes"] == packed
    assert got["zlib"] == pytest.approx(token.mean() / packed, abs=REFERENCE_ATOL)


def test_planted_members_are_found_by_the_auroc():
    # Members: items whose scores a training run has raised; the AUROC finds them and the
    # same seed gives the same bytes.
    rng = np.random.default_rng(0)
    member = np.r_[np.ones(40), np.zeros(40)]
    items = pd.DataFrame({"id": [f"i{j:02d}" for j in range(80)], "member": member})
    for col in ("mean_logprob", "min_k", "min_k_pp", "zlib"):
        items[col] = 1.5 * member + rng.normal(size=80)
    a = likelihood_result(items, n_boot=300, seed=1)
    assert (a.table["ci_low"] > 0.5).all()
    assert a.to_json() == likelihood_result(items, n_boot=300, seed=1).to_json()


def test_the_test_runs_on_the_model_and_resumes(smollm2_lm, tmp_path):
    first = exchangeability_test(
        smollm2_lm, ITEMS, n_shards=2, n_permutations=2, seed=0, state=tmp_path
    )
    assert len(list(tmp_path.glob("shard-*.json"))) == 2
    assert np.isfinite(first.p_value)
    (tmp_path / "shard-00001.json").unlink()
    calls = []
    again = exchangeability_test(
        smollm2_lm,
        ITEMS,
        n_shards=2,
        n_permutations=2,
        seed=0,
        state=tmp_path,
        progress=lambda d, t: calls.append(d),
    )
    assert calls[0] == 3  # shard 0 came from the state
    np.testing.assert_allclose(
        again.shards["canonical"], first.shards["canonical"], atol=REFERENCE_ATOL, rtol=0
    )


def test_inflation_likelihood_runs_every_part(smollm2_lm, tmp_path):
    out = inflation_likelihood(
        smollm2_lm,
        ITEMS,
        [1, 0] * 4,
        exchangeability=["all"],
        n_shards=2,
        n_permutations=1,
        n_boot=200,
    )
    assert out.table["test"].tolist() == [
        "min-k%",
        "min-k%++",
        "zlib",
        "perplexity",
        "exchangeability",
    ]
    assert out.items["n_tokens"].gt(5).all()
    assert out.shards["subset"].eq("all").all()


def _run(argv: list[str]) -> int:
    """``evalgap inflation ARGV`` (the command as a user runs it)."""
    return main(["inflation", *argv])


def test_cli_scores_items_and_keeps_state(smollm2_folder, tmp_path):
    items = tmp_path / "items.jsonl"
    items.write_text(
        "".join(
            json.dumps({"id": f"t{i}", "text": t, "member": i % 2}) + "\n"
            for i, t in enumerate(ITEMS)
        )
    )
    out = tmp_path / "out.json"
    argv = [
        "likelihood",
        str(smollm2_folder),
        "--items",
        str(items),
        "--member-field",
        "member",
        "--exchangeability",
        "all",
        "--shards",
        "2",
        "--permutations",
        "1",
        "--state",
        str(tmp_path / "state"),
        "--bootstrap",
        "200",
        "--out",
        str(out),
    ]
    assert _run(argv) == 0
    data = json.loads(out.read_text())
    assert data["analysis"] == "inflation-likelihood"
    assert [r["test"] for r in data["tests"]][-1] == "exchangeability"
    assert len(list((tmp_path / "state" / "all").glob("shard-*.json"))) == 2


def test_cli_bad_items_are_one_line_before_any_output(smollm2_folder, tmp_path, capsys):
    items = tmp_path / "items.jsonl"
    items.write_text('{"text": "a b c", "member": 1}\n{"text": "", "member": 0}\n')
    out = tmp_path / "out.json"
    code = _run(["likelihood", str(smollm2_folder), "--items", str(items), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "line 2" in err[0]
    assert not out.exists()

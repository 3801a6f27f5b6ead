"""Log-likelihood scoring: lm-eval's conventions, an independent full forward pass, and
batching that changes nothing beyond float rounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evalgap.errors import EvalgapError
from evalgap.models._scoring import encode_pair
from real_model import with_batch_size

# Padding a sequence into a batch changes the shapes of the float32 matrix products, so
# sums of log-probabilities move by ~1e-6; 1e-4 is far below any difference that matters
# for scoring (the gap between two choices is typically > 0.1).
BATCH_ATOL = 1e-4
# Same bound against a separate computation through the full causal-LM forward pass.
REFERENCE_ATOL = 1e-4

PAIRS = [
    ("The capital of France is", " Paris"),
    ("The capital of Italy is ", "Rome"),
    ("", "Hello world"),
    ("Q: What is 2+2?\nA:", " 4, and 3+3 is 6."),
    ("A longer context " * 5 + "ends", " here."),
    ("Question: name a colour.\nAnswer:", " Blue"),
]


def _reference(lm, context: str, continuation: str) -> tuple[float, bool]:
    """lm-eval's computation: the causal LM's logits at every position, log_softmax in
    float32, the continuation's entries summed."""
    ctx, cont = encode_pair(lm, context, continuation)
    ids = torch.tensor([ctx + cont])
    with torch.inference_mode():
        logits = lm.model(input_ids=ids).logits[0].float()
    logp = torch.log_softmax(logits, -1)[len(ctx) - 1 : -1]
    target = torch.tensor(cont)
    total = float(logp.gather(1, target[:, None]).sum())
    return total, bool((logp.argmax(-1) == target).all())


def test_encode_pair_follows_lm_eval(lm) -> None:
    assert encode_pair(lm, "The capital of France is", " Paris") == (
        [504, 3575, 282, 4649, 314],
        [7042],
    )
    # trailing spaces of the context move to the continuation
    assert encode_pair(lm, "The capital of France is ", "Paris") == encode_pair(
        lm, "The capital of France is", " Paris"
    )
    # an empty context is scored after the BOS token
    ctx, cont = encode_pair(lm, "", "Hello world")
    assert ctx == [lm.tokenizer.bos_token_id]
    assert cont == lm.encode("Hello world")


def test_loglikelihood_matches_a_full_forward_pass(lm) -> None:
    got = lm.loglikelihood(PAIRS)
    assert list(got.columns) == ["loglikelihood", "is_greedy", "n_tokens"]
    for row, (context, continuation) in zip(got.itertuples(), PAIRS, strict=True):
        total, greedy = _reference(lm, context, continuation)
        assert row.loglikelihood == pytest.approx(total, abs=REFERENCE_ATOL)
        assert row.is_greedy == greedy
    assert got["is_greedy"].iloc[0]  # " Paris" is SmolLM2's greedy continuation


@pytest.mark.parametrize("batch_size", [1, 3])
def test_batched_equals_unbatched(lm, batch_size: int) -> None:
    calls = []
    small = with_batch_size(lm, batch_size)
    got = small.loglikelihood(PAIRS, progress=lambda done, total: calls.append((done, total)))
    full = lm.loglikelihood(PAIRS)
    np.testing.assert_allclose(got["loglikelihood"], full["loglikelihood"], rtol=0, atol=BATCH_ATOL)
    assert got["is_greedy"].tolist() == full["is_greedy"].tolist()
    assert calls[-1] == (len(PAIRS), len(PAIRS))
    assert len(calls) == -(-len(PAIRS) // batch_size)


def test_score_choices_on_capitals(lm) -> None:
    contexts = [f"The capital of {c} is" for c in ("France", "Japan", "Kenya", "Peru")]
    choices = [[" Paris", " Tokyo", " Nairobi", " Lima"]] * 4
    got = lm.score_choices(contexts, choices, [0, 1, 2, 3])
    assert got["acc"].tolist() == [1.0] * 4
    for row, options in zip(got.itertuples(), choices, strict=True):
        lls = np.array(row.loglikelihoods)
        assert row.pred == int(np.argmax(lls))
        assert row.pred_norm == int(np.argmax(lls / [len(o) for o in options]))
        assert row.acc_norm == float(row.pred_norm == row.answer)
    flat = lm.loglikelihood([(c, o) for c in contexts for o in choices[0]])["loglikelihood"]
    assert np.concatenate(got["loglikelihoods"].map(np.array).tolist()).tolist() == flat.tolist()


def test_continuation_accuracy_is_greedy_match(lm) -> None:
    contexts = [p[0] for p in PAIRS]
    continuations = [p[1] for p in PAIRS]
    got = lm.continuation_accuracy(contexts, continuations)
    assert got.dtype == bool
    # is_greedy itself is checked against the full forward pass above
    assert got.tolist() == lm.loglikelihood(PAIRS)["is_greedy"].tolist()


def test_bad_items_are_one_line_errors(lm) -> None:
    with pytest.raises(EvalgapError, match="pair 1: the continuation has no tokens"):
        lm.loglikelihood([("a", " b"), ("a", "")])
    with pytest.raises(EvalgapError, match="item 0: answer 2 is not the index of a choice"):
        lm.score_choices(["a"], [[" b", " c"]], [2])
    with pytest.raises(EvalgapError, match="2 contexts but 1 lists"):
        lm.score_choices(["a", "b"], [[" c"]])

"""Per-token log-probabilities with the moments of the model's own next-token distribution
(Min-K%++), and residual-stream activations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evalgap.errors import EvalgapError
from real_model import with_batch_size

# float32 forward pass against a float64 reference on the same logits.
REFERENCE_ATOL = 1e-4
# Batch padding changes float32 rounding only (see test_model_scoring).
BATCH_ATOL = 1e-4

TEXTS = [
    "The capital of France is Paris.",
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast.",
    "Hi",
    "x",
]


def _full_logp(lm, text: str) -> torch.Tensor:
    ids = torch.tensor([lm.encode(text)])
    with torch.inference_mode():
        return torch.log_softmax(lm.model(input_ids=ids).logits[0].double(), -1)


def test_token_logprobs_match_their_definitions(lm) -> None:
    got = lm.token_logprobs(TEXTS)
    for text, scores in zip(TEXTS, got, strict=True):
        ids = lm.encode(text)
        assert scores.token_ids.tolist() == ids[1:]
        if len(ids) < 2:
            assert len(scores) == 0
            continue
        logp = _full_logp(lm, text)[:-1]
        p = logp.exp()
        mu = (p * logp).sum(-1)
        sigma = ((p * logp**2).sum(-1) - mu**2).sqrt()
        np.testing.assert_allclose(
            scores.logprob,
            logp.gather(1, torch.tensor(ids[1:])[:, None])[:, 0],
            atol=REFERENCE_ATOL,
            rtol=0,
        )
        np.testing.assert_allclose(scores.mean, mu, atol=REFERENCE_ATOL, rtol=0)
        np.testing.assert_allclose(scores.std, sigma, atol=REFERENCE_ATOL, rtol=0)


def test_token_logprobs_sum_to_the_continuation_loglikelihood(lm) -> None:
    scores = lm.token_logprobs(["The capital of France is Paris"])[0]
    ll = lm.loglikelihood([("The capital of France is", " Paris")])["loglikelihood"].iloc[0]
    assert scores.logprob[-1] == pytest.approx(ll, abs=REFERENCE_ATOL)


def test_token_logprobs_batched_equals_unbatched(lm) -> None:
    one = with_batch_size(lm, 1).token_logprobs(TEXTS)
    many = lm.token_logprobs(TEXTS)
    for a, b in zip(one, many, strict=True):
        assert a.token_ids.tolist() == b.token_ids.tolist()
        for field in ("logprob", "mean", "std"):
            np.testing.assert_allclose(
                getattr(a, field), getattr(b, field), atol=BATCH_ATOL, rtol=0
            )


def test_hidden_states_match_transformers(lm) -> None:
    layers = [0, 15, -1]
    got = lm.hidden_states(TEXTS, layers)
    assert got.shape == (len(TEXTS), 3, 576)
    assert got.dtype == np.float32
    mean = lm.hidden_states(TEXTS, layers, position="mean")
    for i, text in enumerate(TEXTS):
        ids = torch.tensor([lm.encode(text)])
        with torch.inference_mode():
            states = lm.model(input_ids=ids, output_hidden_states=True).hidden_states
        want = torch.stack([states[k][0] for k in layers])  # (L, T, d)
        np.testing.assert_allclose(got[i], want[:, -1], atol=BATCH_ATOL, rtol=1e-5)
        np.testing.assert_allclose(mean[i], want.mean(1), atol=BATCH_ATOL, rtol=1e-5)


def test_hidden_states_batched_equals_unbatched(lm) -> None:
    one = with_batch_size(lm, 1).hidden_states(TEXTS, [10, 20])
    np.testing.assert_allclose(one, lm.hidden_states(TEXTS, [10, 20]), atol=BATCH_ATOL, rtol=1e-5)


def test_hidden_states_bad_arguments(lm) -> None:
    with pytest.raises(EvalgapError, match="layer 31 is out of range"):
        lm.hidden_states(["a"], [31])
    with pytest.raises(EvalgapError, match="unknown position 'first'"):
        lm.hidden_states(["a"], [1], position="first")
    with pytest.raises(EvalgapError, match="one string"):
        lm.hidden_states("a", [1])

"""Per-token log-probabilities and the moments of the model's own next-token distribution
(Min-K% and Min-K%++ build on them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from evalgap.models._core import ModelCore, Progress, check_texts

__all__ = ["TokenLogprobs", "token_logprobs"]

# Rows of vocabulary-wide log-probabilities held at once (each is vocab_size floats).
_CHUNK = 512


@dataclass(frozen=True, eq=False)
class TokenLogprobs:
    """Scores of one text's tokens, one entry per scored token.

    Attributes
    ----------
    token_ids
        The scored tokens (every token but the first, or all of them after a BOS).
    logprob
        ``log p(token | prefix)``.
    mean
        ``mu = sum_z p(z) log p(z)`` over the vocabulary at that position.
    std
        ``sigma = sqrt(sum_z p(z) (log p(z))^2 - mu^2)``.
    """

    token_ids: NDArray[np.int64]
    logprob: NDArray[np.float64]
    mean: NDArray[np.float64]
    std: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.token_ids.size)


def token_logprobs(
    lm: ModelCore, texts: Sequence[str], *, progress: Progress | None = None
) -> list[TokenLogprobs]:
    """See :meth:`~evalgap.models.LanguageModel.token_logprobs`."""
    import torch

    encoded = [lm.encode(t)[: lm.max_length] for t in check_texts(texts, "token_logprobs")]
    out: list[TokenLogprobs | None] = [None] * len(encoded)
    empty = np.zeros(0)
    for i, ids in enumerate(encoded):
        if len(ids) < 2:
            out[i] = TokenLogprobs(np.asarray(ids[1:], dtype=np.int64), empty, empty, empty)
    todo = [i for i, ids in enumerate(encoded) if len(ids) >= 2]
    for batch in lm._batches([len(encoded[i]) for i in todo], progress):
        idx = [todo[b] for b in batch]
        hidden = lm._forward([encoded[i] for i in idx]).last_hidden_state
        for row, i in enumerate(idx):
            ids = encoded[i]
            target = torch.tensor(ids[1:], device=hidden.device)
            parts = [[], [], []]
            for start in range(0, len(ids) - 1, _CHUNK):
                stop = min(start + _CHUNK, len(ids) - 1)
                logp = lm._log_softmax(hidden[row, start:stop])
                p = logp.exp()
                mu = (p * logp).sum(-1)
                second = (p * logp.square()).sum(-1)
                parts[0].append(logp.gather(1, target[start:stop, None])[:, 0])
                parts[1].append(mu)
                # rounding can make the variance a hair negative for a near-certain token
                parts[2].append((second - mu.square()).clamp_min(0.0).sqrt())
            lp, mu, sd = (torch.cat(p).double().cpu().numpy() for p in parts)
            out[i] = TokenLogprobs(np.asarray(ids[1:], dtype=np.int64), lp, mu, sd)
    return out  # type: ignore[return-value]

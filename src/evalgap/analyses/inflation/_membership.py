"""Per-item membership scores from a model's token log-probabilities: Min-K% (Shi et al.
2024), Min-K%++ (Zhang et al. 2025), the zlib ratio and the perplexity baseline (Carlini et
al. 2021). Every score is oriented so that higher means more likely seen in training."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evalgap.errors import AnalysisError
from evalgap.models import Progress, TokenLogprobs

__all__ = ["MEMBERSHIP_METHODS", "membership_scores", "score_texts"]

#: Method -> the score column it ranks items by (higher = more member-like).
MEMBERSHIP_METHODS: dict[str, str] = {
    "min-k%": "min_k",
    "min-k%++": "min_k_pp",
    "zlib": "zlib",
    "perplexity": "mean_logprob",
}


def _lowest_mean(values: np.ndarray, k: float) -> float:
    """Mean of the lowest ``max(1, floor(k * n))`` values (the reference code's count)."""
    count = max(1, int(values.size * k))
    return float(np.partition(values, count - 1)[:count].mean())


def membership_scores(
    scores: Sequence[TokenLogprobs], texts: Sequence[str], *, k: float = 0.2
) -> pd.DataFrame:
    """Membership scores of each text from its token log-probabilities.

    Parameters
    ----------
    scores
        Per text, what :meth:`evalgap.models.LanguageModel.token_logprobs` returns.
    texts
        The texts (for the zlib ratio).
    k
        Share of tokens Min-K% and Min-K%++ average over (the lowest ones).

    Returns
    -------
    pandas.DataFrame
        One row per text: ``n_tokens`` (scored tokens), ``loglikelihood`` (their sum),
        ``mean_logprob`` (minus the log-perplexity), ``perplexity``, ``min_k`` (mean of
        the lowest k% of token log-probabilities), ``min_k_pp`` (the same over
        ``(log p - mu) / sigma``, mu and sigma the mean and SD of log p under the model's
        own next-token distribution; 0 where sigma is 0), ``zlib_bytes`` and ``zlib``
        (mean log-probability over the zlib-compressed length in bytes).

    Examples
    --------
    >>> import numpy as np
    >>> from evalgap.models import TokenLogprobs
    >>> t = TokenLogprobs(np.arange(5), np.log([0.5, 0.1, 0.9, 0.2, 0.6]),
    ...                   np.full(5, -1.0), np.full(5, 0.5))
    >>> row = membership_scores([t], ["hello world"], k=0.4).iloc[0]
    >>> print(f"{row['min_k']:.4f} {row['min_k_pp']:.4f}")  # mean of log 0.1, log 0.2; of their z
    -1.9560 -1.9120
    """
    if not 0 < k <= 1:
        raise AnalysisError(f"k must be in (0, 1], got {k}")
    if len(scores) != len(texts):
        raise AnalysisError(f"{len(scores)} scored texts for {len(texts)} texts")
    rows: list[dict[str, Any]] = []
    for i, (t, text) in enumerate(zip(scores, texts, strict=True)):
        if len(t) == 0:
            raise AnalysisError("has fewer than two tokens; nothing to score", where=f"item {i}")
        lp = np.asarray(t.logprob, dtype=np.float64)
        sd = np.asarray(t.std, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(sd > 0, (lp - np.asarray(t.mean, dtype=np.float64)) / sd, 0.0)
        mean_lp = float(lp.mean())
        packed = len(zlib.compress(text.encode("utf-8")))
        rows.append(
            {
                "n_tokens": int(lp.size),
                "loglikelihood": float(lp.sum()),
                "mean_logprob": mean_lp,
                "perplexity": float(np.exp(-mean_lp)),
                "min_k": _lowest_mean(lp, k),
                "min_k_pp": _lowest_mean(z, k),
                "zlib_bytes": packed,
                "zlib": mean_lp / packed,
            }
        )
    return pd.DataFrame(rows)


def score_texts(
    lm: Any, texts: Sequence[str], *, k: float = 0.2, progress: Progress | None = None
) -> pd.DataFrame:
    """:func:`membership_scores` of texts under a loaded model (batched, on its device).

    Examples
    --------
    >>> score_texts(lm, ["Question: 2 + 2?\\nAnswer: 4"])  # doctest: +SKIP
    """
    too_long = [i for i, t in enumerate(texts) if len(lm.encode(t)) > lm.max_length]
    if too_long:
        raise AnalysisError(
            f"longer than the model's {lm.max_length} tokens", where=f"item {too_long[0]}"
        )
    return membership_scores(lm.token_logprobs(list(texts), progress=progress), texts, k=k)

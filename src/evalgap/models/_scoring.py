"""Scoring continuations by log-likelihood with lm-evaluation-harness's conventions.

lm-eval (``HFLM._encode_pair`` and ``_loglikelihood_tokens``): trailing whitespace of the
context moves to the front of the continuation; the continuation's tokens are the tokens of
``context + continuation`` after the context's own tokens (so a merge across the boundary is
scored as the tokenizer would produce it); the input is ``(context + continuation)`` cut to
its last ``max_length + 1`` tokens, minus the final token; the score is the sum of the
continuation tokens' log-probabilities and ``is_greedy`` says each one is the argmax.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalgap.errors import EvalgapError
from evalgap.models._core import ModelCore, Progress

__all__ = ["encode_pair", "loglikelihood", "score_choices"]


def encode_pair(lm: ModelCore, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Context and continuation token ids as lm-eval's ``_encode_pair`` makes them."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    if context == "":
        if lm.prefix_id is None:
            raise EvalgapError("an empty context needs a BOS or EOS token", source="loglikelihood")
        return [lm.prefix_id], lm.encode(continuation)[1 if lm.add_bos else 0 :]
    whole = lm.encode(context + continuation)
    ctx = lm.encode(context)
    return ctx, whole[len(ctx) :]


def loglikelihood(
    lm: ModelCore,
    pairs: Sequence[tuple[str, str]],
    *,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """See :meth:`~evalgap.models.LanguageModel.loglikelihood`."""
    import torch

    inputs: list[list[int]] = []
    targets: list[list[int]] = []
    for i, pair in enumerate(pairs):
        if len(pair) != 2 or not all(isinstance(s, str) for s in pair):
            raise EvalgapError(
                "expected a (context, continuation) pair of strings",
                source="loglikelihood",
                where=f"pair {i}",
            )
        ctx, cont = encode_pair(lm, *pair)
        if not cont:
            raise EvalgapError(
                "the continuation has no tokens", source="loglikelihood", where=f"pair {i}"
            )
        if len(cont) > lm.max_length:
            raise EvalgapError(
                f"the continuation has {len(cont)} tokens, more than max_length {lm.max_length}",
                source="loglikelihood",
                where=f"pair {i}",
            )
        whole = (ctx + cont)[-(lm.max_length + 1) :]
        inputs.append(whole[:-1])
        targets.append(cont)

    n = len(inputs)
    ll = np.zeros(n, dtype=np.float64)
    greedy = np.zeros(n, dtype=bool)
    for batch in lm._batches([len(x) for x in inputs], progress):
        hidden = lm._forward([inputs[i] for i in batch]).last_hidden_state
        rows, cols, tokens, owner = [], [], [], []
        for row, i in enumerate(batch):
            k, length = len(targets[i]), len(inputs[i])
            rows += [row] * k
            cols += range(length - k, length)
            tokens += targets[i]
            owner += [i] * k
        logp = lm._log_softmax(hidden[torch.tensor(rows), torch.tensor(cols)])
        target = torch.tensor(tokens, device=logp.device)
        token_lp = logp.gather(1, target[:, None])[:, 0].double().cpu().numpy()
        hit = (logp.argmax(dim=1) == target).cpu().numpy()
        owner_arr = np.asarray(owner)
        np.add.at(ll, owner_arr, token_lp)
        # a continuation is greedy when none of its tokens misses
        misses = np.zeros(n, dtype=np.int64)
        np.add.at(misses, owner_arr, ~hit)
        greedy[batch] = misses[batch] == 0
    return pd.DataFrame(
        {
            "loglikelihood": ll,
            "is_greedy": greedy,
            "n_tokens": np.array([len(t) for t in targets], dtype=np.int64),
        }
    )


def score_choices(
    lm: ModelCore,
    contexts: Sequence[str],
    choices: Sequence[Sequence[str]],
    answers: Sequence[int] | None = None,
    *,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """See :meth:`~evalgap.models.LanguageModel.score_choices`."""
    if len(contexts) != len(choices):
        raise EvalgapError(
            f"{len(contexts)} contexts but {len(choices)} lists of choices", source="score_choices"
        )
    if answers is not None and len(answers) != len(contexts):
        raise EvalgapError(
            f"{len(contexts)} contexts but {len(answers)} answers", source="score_choices"
        )
    pairs: list[tuple[str, str]] = []
    for i, (ctx, options) in enumerate(zip(contexts, choices, strict=True)):
        if isinstance(options, str) or len(options) < 1:
            raise EvalgapError(
                "expected a list of choices", source="score_choices", where=f"item {i}"
            )
        pairs += [(ctx, c) for c in options]
    flat = loglikelihood(lm, pairs, progress=progress)["loglikelihood"].to_numpy()
    sizes = np.array([len(c) for c in choices])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    lls = [flat[s : s + k] for s, k in zip(starts, sizes, strict=True)]
    # lm-eval's acc_norm divides by the choice's length in characters.
    chars = [np.array([float(len(c)) for c in options]) for options in choices]
    frame = pd.DataFrame(
        {
            "pred": np.array([int(np.argmax(x)) for x in lls], dtype=np.int64),
            "pred_norm": np.array(
                [int(np.argmax(x / np.maximum(c, 1.0))) for x, c in zip(lls, chars, strict=True)],
                dtype=np.int64,
            ),
            "loglikelihoods": [tuple(float(v) for v in x) for x in lls],
        }
    )
    if answers is not None:
        gold = np.asarray(answers, dtype=np.int64)
        bad = np.flatnonzero((gold < 0) | (gold >= sizes))
        if bad.size:
            raise EvalgapError(
                f"answer {gold[bad[0]]} is not the index of a choice",
                source="score_choices",
                where=f"item {bad[0]}",
            )
        frame["answer"] = gold
        frame["acc"] = (frame["pred"].to_numpy() == gold).astype(float)
        frame["acc_norm"] = (frame["pred_norm"].to_numpy() == gold).astype(float)
    return frame

"""A causal language model ready for scoring: log-likelihoods, multiple-choice items,
per-token log-probabilities, hidden states and weight noise."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pandas as pd

from evalgap.models._core import ModelCore, Progress
from evalgap.models._hidden import hidden_states
from evalgap.models._noise import NoiseApplied, weight_noise, weights_fingerprint
from evalgap.models._scoring import loglikelihood, score_choices
from evalgap.models._tokens import TokenLogprobs, token_logprobs

__all__ = ["LanguageModel"]


class LanguageModel(ModelCore):
    """A causal language model ready for scoring (see :func:`~evalgap.models.load_model`).

    Attributes
    ----------
    model
        The torch module (a peft model when an adapter is loaded).
    tokenizer
        Its Hugging Face tokenizer.
    spec
        The :class:`~evalgap.models.ModelSpec` it was loaded from (what an executor sends
        to its workers to load a replica).
    device
        The torch device the weights are on.
    batch_size, max_length
        Sequences per forward pass; longest input in tokens.
    """

    # -- scoring (see _scoring, _tokens, _hidden) -------------------------------------------

    def loglikelihood(
        self, pairs: Sequence[tuple[str, str]], *, progress: Progress | None = None
    ) -> pd.DataFrame:
        """Log-likelihood of each continuation given its context, as lm-eval scores it.

        Parameters
        ----------
        pairs
            ``(context, continuation)`` pairs. Trailing spaces of a context move to the
            continuation; the continuation's tokens are those of ``context +
            continuation`` after the context's tokens; an empty context is scored after
            the BOS (else EOS) token.
        progress
            ``progress(done, total)`` after each batch.

        Returns
        -------
        pandas.DataFrame
            One row per pair, in input order: ``loglikelihood`` (sum of the continuation's
            token log-probabilities), ``is_greedy`` (every continuation token is the
            model's most likely next token), ``n_tokens``.

        Examples
        --------
        >>> lm.loglikelihood([("The capital of France is", " Paris")])  # doctest: +SKIP
           loglikelihood  is_greedy  n_tokens
        0      -1.52...       True         1
        """
        return loglikelihood(self, pairs, progress=progress)

    def score_choices(
        self,
        contexts: Sequence[str],
        choices: Sequence[Sequence[str]],
        answers: Sequence[int] | None = None,
        *,
        progress: Progress | None = None,
    ) -> pd.DataFrame:
        """Multiple-choice items scored by the log-likelihood of each choice as a
        continuation (lm-eval's ``acc`` and length-normalised ``acc_norm``).

        Parameters
        ----------
        contexts
            One prompt per item.
        choices
            Per item, the candidate continuations (e.g. ``" Paris"``).
        answers
            Per item, the index of the correct choice (optional).
        progress
            ``progress(done, total)`` over all (item, choice) pairs.

        Returns
        -------
        pandas.DataFrame
            One row per item: ``pred`` (argmax of the log-likelihoods), ``pred_norm``
            (argmax of log-likelihood per character of the choice), ``loglikelihoods``
            (tuple per item) and, with ``answers``, ``answer``, ``acc``, ``acc_norm``
            (1.0 or 0.0).

        Examples
        --------
        >>> lm.score_choices(["The capital of France is"], [[" Paris", " Rome"]], [0])  # doctest: +SKIP
        """
        return score_choices(self, contexts, choices, answers, progress=progress)

    def continuation_accuracy(
        self,
        contexts: Sequence[str],
        continuations: Sequence[str],
        *,
        progress: Progress | None = None,
    ) -> np.ndarray:
        """Whether greedy decoding after each context produces exactly its continuation
        (lm-eval's LAMBADA-style ``acc``): one forward pass per item, chance near zero.

        Returns
        -------
        numpy.ndarray
            Boolean, one per item.

        Examples
        --------
        >>> lm.continuation_accuracy(["The capital of France is"], [" Paris"])  # doctest: +SKIP
        array([ True])
        """
        frame = self.loglikelihood(
            list(zip(contexts, continuations, strict=True)), progress=progress
        )
        return frame["is_greedy"].to_numpy(dtype=bool)

    def token_logprobs(
        self, texts: Sequence[str], *, progress: Progress | None = None
    ) -> list[TokenLogprobs]:
        """Per-token log-probabilities of each text, with the mean and SD of the
        log-probability under the model's own next-token distribution (what Min-K%++
        normalises by).

        The first token of a text has no prediction and is not scored (with ``add_bos``,
        every text token is scored after the BOS). Texts longer than ``max_length`` are
        cut to their first ``max_length`` tokens.

        Returns
        -------
        list of TokenLogprobs
            Per text: ``token_ids``, ``logprob``, ``mean``
            (``mu = sum_z p(z) log p(z)``) and ``std``
            (``sqrt(sum_z p(z) (log p(z))^2 - mu^2)``), one entry per scored token.

        Examples
        --------
        >>> scores = lm.token_logprobs(["The capital of France is Paris."])  # doctest: +SKIP
        >>> ((scores[0].logprob - scores[0].mean) / scores[0].std).mean()  # doctest: +SKIP
        """
        return token_logprobs(self, texts, progress=progress)

    def hidden_states(
        self,
        texts: Sequence[str],
        layers: Sequence[int],
        *,
        position: str = "last",
        progress: Progress | None = None,
    ) -> np.ndarray:
        """Residual-stream activations at chosen layers, for probes.

        Parameters
        ----------
        texts
            Inputs (cut to their first ``max_length`` tokens).
        layers
            Indices into transformers' ``hidden_states``: 0 is the embedding output,
            ``l`` the output of block ``l`` (the last entry is after the final norm, as
            transformers returns it); negative indices count from the end.
        position
            ``"last"`` (the final token of each text) or ``"mean"`` (over its tokens).

        Returns
        -------
        numpy.ndarray
            float32, shape ``(len(texts), len(layers), hidden_size)``.

        Examples
        --------
        >>> lm.hidden_states(["Hello"], layers=[15]).shape  # doctest: +SKIP
        (1, 1, 576)
        """
        return hidden_states(self, texts, layers, position=position, progress=progress)

    # -- weights --------------------------------------------------------------------------

    def noise(
        self,
        sigma: float,
        seed: int,
        target: str = "all",
        *,
        draws: dict[tuple[int, str], Any] | None = None,
    ) -> AbstractContextManager[NoiseApplied]:
        """Add seeded Gaussian noise to weights inside a ``with`` block, then restore them
        bit for bit (Tice et al. 2024).

        Parameters
        ----------
        sigma
            Absolute standard deviation of the noise (mean 0).
        seed
            Seed; each tensor's noise comes from its own generator seeded by ``seed`` and
            the tensor's name, so a tensor gets the same noise whatever else is selected.
        target
            ``"all"`` (every weight tensor, adapter included), ``"base"`` (every tensor
            but the adapter's), ``"lora"`` (the adapter's LoRA A and B matrices), or a
            regular expression searched in :meth:`parameter_names`.
        draws
            A dict to keep each tensor's standard-normal draw in, keyed by ``(seed, name)``:
            a sweep over sigmas at one seed then draws once (the noise is ``sigma * z``, the
            same numbers as a fresh draw). Holds a copy of every selected tensor.

        Examples
        --------
        >>> with lm.noise(0.01, seed=3):  # doctest: +SKIP
        ...     noisy = lm.continuation_accuracy(contexts, answers)
        """
        return weight_noise(self, sigma, seed, target, draws=draws)

    def weights_fingerprint(self) -> str:
        """sha256 of every tensor in the state dict (names, dtypes, shapes and bytes): equal
        fingerprints mean bit-identical weights.

        Examples
        --------
        >>> before = lm.weights_fingerprint()  # doctest: +SKIP
        >>> with lm.noise(0.01, seed=0):  # doctest: +SKIP
        ...     pass
        >>> lm.weights_fingerprint() == before  # doctest: +SKIP
        True
        """
        return weights_fingerprint(self.model)

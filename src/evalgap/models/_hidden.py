"""Residual-stream activations at chosen layers, for probes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evalgap.errors import EvalgapError
from evalgap.models._core import ModelCore, Progress, check_texts

__all__ = ["POSITIONS", "hidden_states"]

#: Where in a text the activation is read.
POSITIONS = ("last", "mean")


def _layer_indices(lm: ModelCore, layers: Sequence[int]) -> list[int]:
    n = lm.n_layers + 1  # the embedding output, then one entry per block
    out = []
    for layer in layers:
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer):
            raise EvalgapError(f"layer {layer!r} is not an integer", source="hidden_states")
        if not -n <= layer < n:
            raise EvalgapError(
                f"layer {layer} is out of range: the model has {n} hidden states (0..{n - 1})",
                source="hidden_states",
            )
        out.append(int(layer) % n)
    if not out:
        raise EvalgapError("no layers asked for", source="hidden_states")
    return out


def hidden_states(
    lm: ModelCore,
    texts: Sequence[str],
    layers: Sequence[int],
    *,
    position: str = "last",
    progress: Progress | None = None,
) -> np.ndarray:
    """See :meth:`~evalgap.models.LanguageModel.hidden_states`."""
    import torch

    if position not in POSITIONS:
        raise EvalgapError(
            f"unknown position {position!r}; expected one of {', '.join(POSITIONS)}",
            source="hidden_states",
        )
    chosen = _layer_indices(lm, layers)
    encoded = [lm.encode(t)[: lm.max_length] for t in check_texts(texts, "hidden_states")]
    for i, ids in enumerate(encoded):
        if not ids:
            raise EvalgapError("the text has no tokens", source="hidden_states", where=f"text {i}")
    out = np.zeros((len(encoded), len(chosen), lm.hidden_size), dtype=np.float32)
    for batch in lm._batches([len(x) for x in encoded], progress):
        states = lm._forward([encoded[i] for i in batch], all_layers=True).hidden_states
        stacked = torch.stack([states[k] for k in chosen], dim=1).float()  # (b, L, T, d)
        lengths = torch.tensor([len(encoded[i]) for i in batch], device=stacked.device)
        if position == "last":
            pick = stacked[torch.arange(len(batch)), :, lengths - 1]
        else:
            width = stacked.shape[2]
            mask = (torch.arange(width, device=stacked.device)[None, :] < lengths[:, None]).float()
            pick = (stacked * mask[:, None, :, None]).sum(2) / lengths[:, None, None]
        out[batch] = pick.cpu().numpy()
    return out

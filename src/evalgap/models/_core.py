"""The forward pass shared by every scoring function: right-padded batches, final hidden
states, and log-probabilities in float32 only where they are needed."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from evalgap.errors import EvalgapError
from evalgap.models._spec import ModelSpec

__all__ = ["ModelCore", "Progress", "check_texts"]

#: ``progress(done, total)``: called after each batch.
Progress = Callable[[int, int], None]


class ModelCore:
    """A loaded model and its forward pass; :class:`~evalgap.models.LanguageModel` adds the
    scoring methods.

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

    def __init__(self, model: Any, tokenizer: Any, *, spec: ModelSpec, device: Any) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.spec = spec
        self.device = device
        self.batch_size = int(spec.batch_size)
        self.has_adapter = spec.adapter is not None
        # The transformers model under any peft wrapper; peft injects its LoRA layers into
        # this model's modules, so its forward pass includes the adapter.
        self._core = model.get_base_model() if self.has_adapter else model
        config = self._core.config
        self.max_length = int(spec.max_length or getattr(config, "max_position_embeddings", 2048))
        self._softcap = getattr(config, "final_logit_softcapping", None)
        tok = tokenizer
        self.bos_id: int | None = tok.bos_token_id
        self.eos_id: int | None = tok.eos_token_id
        self._pad_id = next(
            (t for t in (tok.pad_token_id, tok.eos_token_id, 0) if t is not None), 0
        )
        # lm-eval's prefix_token_id: what an empty context is scored after.
        self.prefix_id = self.bos_id if self.bos_id is not None else self.eos_id
        self.add_bos = bool(spec.add_bos) and self.bos_id is not None

    def __repr__(self) -> str:
        name = self.spec.gguf_file or self.spec.source
        adapter = f", adapter={self.spec.adapter!r}" if self.has_adapter else ""
        return f"{type(self).__name__}({name!r}{adapter}, device={str(self.device)!r})"

    # -- facts about the model ------------------------------------------------------------

    @property
    def n_layers(self) -> int:
        """Number of transformer blocks."""
        return int(self._core.config.num_hidden_layers)

    @property
    def hidden_size(self) -> int:
        """Width of the residual stream."""
        return int(self._core.config.hidden_size)

    def parameter_names(self) -> list[str]:
        """Names of the weight tensors, as :meth:`noise` matches them with a regex (with an
        adapter loaded they carry peft's ``base_model.model.`` prefix)."""
        return [name for name, _ in self.model.named_parameters()]

    # -- tokens ---------------------------------------------------------------------------

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens (a BOS first when ``add_bos``)."""
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return [self.bos_id, *ids] if self.add_bos else ids  # type: ignore[list-item]

    # -- forward pass ---------------------------------------------------------------------

    def _batches(self, lengths: Sequence[int], progress: Progress | None) -> Iterator[list[int]]:
        """Indices in batches, longest first (as lm-eval orders them, so padding is small);
        calls ``progress`` after each batch."""
        order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
        total = len(order)
        for start in range(0, total, self.batch_size):
            yield order[start : start + self.batch_size]
            if progress is not None:
                progress(min(start + self.batch_size, total), total)

    def _forward(self, rows: Sequence[Sequence[int]], *, all_layers: bool = False) -> Any:
        """Right-padded forward pass of the decoder stack; returns transformers' output
        (``last_hidden_state``, and ``hidden_states`` when ``all_layers``)."""
        import torch

        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
        with torch.inference_mode():
            return self._core.base_model(
                input_ids=ids.to(self.device),
                attention_mask=mask.to(self.device),
                output_hidden_states=all_layers,
                use_cache=False,
            )

    def _log_softmax(self, hidden: Any) -> Any:
        """Log-probabilities over the vocabulary (float32) from final hidden states."""
        import torch

        with torch.inference_mode():
            logits = self._core.get_output_embeddings()(hidden).float()
            if self._softcap:
                logits = torch.tanh(logits / self._softcap) * self._softcap
            return torch.log_softmax(logits, dim=-1)


def check_texts(texts: Sequence[str], what: str) -> list[str]:
    """``texts`` as a list of strings, or an :class:`EvalgapError` naming the first bad one."""
    if isinstance(texts, str):
        raise EvalgapError("expected a sequence of strings, got one string", source=what)
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise EvalgapError(
                f"expected a string, got {type(t).__name__}", source=what, where=f"item {i}"
            )
    return out

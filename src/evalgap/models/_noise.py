"""Seeded Gaussian noise on weights with a bit-exact restore (Tice et al. 2024, "Noise
Injection Reveals Hidden Capabilities of Sandbagging Language Models").

The noise is drawn in float32 on the CPU from a ``torch.Generator`` seeded per tensor (from
the seed and the tensor's name), then moved to the weights' device, so CPU and GPU runs add
the same numbers and a tensor's noise does not depend on which other tensors are selected.
The touched tensors are copied first and copied back on exit, even when the block raises.
Tied tensors (SmolLM2 ties its embedding and output matrices) are one parameter and get
one draw.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from evalgap.errors import EvalgapError
from evalgap.models._core import ModelCore

__all__ = [
    "NOISE_TARGETS",
    "NoiseApplied",
    "select_parameters",
    "tensor_seed",
    "weight_noise",
    "weights_fingerprint",
]

#: Named noise targets; any other string is a regular expression over parameter names.
NOISE_TARGETS = ("all", "base", "lora")

_LORA = re.compile(r"\.lora_(A|B)\.")


@dataclass(frozen=True)
class NoiseApplied:
    """What a :meth:`~evalgap.models.LanguageModel.noise` block changed."""

    sigma: float
    seed: int
    target: str
    tensors: tuple[str, ...]
    n_parameters: int


def tensor_seed(seed: int, name: str) -> int:
    """The generator seed of one tensor: a hash of the sweep seed and the tensor's name."""
    digest = hashlib.sha256(f"{int(seed)}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def select_parameters(lm: ModelCore, target: str) -> list[tuple[str, Any]]:
    """``(name, parameter)`` of the tensors a noise target selects, sorted by name."""
    named = sorted(lm.model.named_parameters(), key=lambda kv: kv[0])
    if target == "all":
        chosen = named
    elif target in ("lora", "base"):
        if target == "lora" and not lm.has_adapter:
            raise EvalgapError(
                "noise target 'lora' needs a model loaded with an adapter", source="noise"
            )
        want = target == "lora"
        chosen = [(n, p) for n, p in named if bool(_LORA.search(n)) == want]
    else:
        try:
            pattern = re.compile(target)
        except re.error as exc:
            raise EvalgapError(
                f"bad regular expression ({exc})", source="noise", where=f"target {target!r}"
            ) from None
        chosen = [(n, p) for n, p in named if pattern.search(n)]
    if not chosen:
        raise EvalgapError("selects no weight tensor", source="noise", where=f"target {target!r}")
    return chosen


def _check(sigma: float, seed: int) -> tuple[float, int]:
    try:
        s = float(sigma)
    except (TypeError, ValueError):
        raise EvalgapError(f"sigma must be a number, got {sigma!r}", source="noise") from None
    if not math.isfinite(s) or s < 0:
        raise EvalgapError(f"sigma must be finite and >= 0, got {sigma!r}", source="noise")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise EvalgapError(f"seed must be an integer >= 0, got {seed!r}", source="noise")
    return s, int(seed)


@contextmanager
def weight_noise(
    lm: ModelCore,
    sigma: float,
    seed: int,
    target: str = "all",
    *,
    draws: dict[tuple[int, str], Any] | None = None,
) -> Iterator[NoiseApplied]:
    """See :meth:`~evalgap.models.LanguageModel.noise`."""
    import torch

    sigma, seed = _check(sigma, seed)
    params = select_parameters(lm, target)
    info = NoiseApplied(
        sigma=sigma,
        seed=seed,
        target=target,
        tensors=tuple(n for n, _ in params),
        n_parameters=int(sum(p.numel() for _, p in params)),
    )
    if sigma == 0.0:
        yield info
        return
    saved: list[tuple[Any, Any]] = []
    try:
        with torch.no_grad():
            for name, p in params:
                saved.append((p, p.detach().clone()))
                z = None if draws is None else draws.get((seed, name))
                if z is None:
                    gen = torch.Generator(device="cpu")
                    gen.manual_seed(tensor_seed(seed, name))
                    z = torch.randn(p.shape, generator=gen, dtype=torch.float32).to(p.device)
                    if draws is not None:
                        draws[(seed, name)] = z
                noise = z * sigma
                if p.dtype == torch.float32:
                    p.add_(noise)
                else:  # add in float32, round once to the weights' dtype
                    p.copy_((p.detach().float() + noise).to(p.dtype))
        yield info
    finally:
        with torch.no_grad():
            for p, original in saved:
                p.copy_(original)


def weights_fingerprint(module: Any) -> str:
    """sha256 over the state dict: every tensor's name, dtype, shape and bytes, by name."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items(), key=lambda kv: kv[0]):
        t = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}|{t.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(memoryview(t.view(torch.uint8).numpy()))
    return digest.hexdigest()

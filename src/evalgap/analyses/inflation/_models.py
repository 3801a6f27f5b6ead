"""The default reference models: well-known base checkpoints.

A reference model must not itself be contaminated, so the default is deliberately narrow:
the *original pretrained (base) releases* of widely used open model families, as their
makers published them, with no instruction, chat, RLHF, math or code tuning and no
community merge. The list was fixed from model cards before any test was run on it, and is
matched on the part of a model id after the last ``/``, case-insensitively (so
``meta-llama/Llama-2-7b-hf`` and ``Llama-2-7b-hf`` both match). A base model can still have
seen a benchmark in pretraining; pass ``references=`` to choose others.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["WELL_KNOWN_BASE_MODELS", "default_references", "is_well_known_base"]

#: Base checkpoints of widely used open families (Meta, Mistral AI, TII, Google,
#: Microsoft, EleutherAI, OpenAI, BigScience, MosaicML, AI2, Alibaba, 01.AI, DeepSeek),
#: by the name after the organisation.
WELL_KNOWN_BASE_MODELS: frozenset[str] = frozenset(
    name.lower()
    for name in (
        # Meta
        "llama-7b",
        "llama-13b",
        "llama-30b",
        "llama-65b",
        "Llama-2-7b-hf",
        "Llama-2-13b-hf",
        "Llama-2-70b-hf",
        "Meta-Llama-3-8B",
        "Meta-Llama-3-70B",
        "Llama-3.1-8B",
        "Llama-3.1-70B",
        "Meta-Llama-3.1-8B",
        "Meta-Llama-3.1-70B",
        # Mistral AI
        "Mistral-7B-v0.1",
        "Mistral-7B-v0.3",
        "Mixtral-8x7B-v0.1",
        "Mixtral-8x22B-v0.1",
        # TII
        "falcon-7b",
        "falcon-40b",
        "falcon-180B",
        # Google
        "gemma-2b",
        "gemma-7b",
        "gemma-2-9b",
        "gemma-2-27b",
        # Microsoft
        "phi-1_5",
        "phi-2",
        # EleutherAI
        "pythia-1b",
        "pythia-1.4b",
        "pythia-2.8b",
        "pythia-6.9b",
        "pythia-12b",
        "gpt-j-6b",
        "gpt-neox-20b",
        # OpenAI
        "gpt2",
        "gpt2-medium",
        "gpt2-large",
        "gpt2-xl",
        # BigScience, MosaicML, AI2
        "bloom-7b1",
        "bloom",
        "mpt-7b",
        "mpt-30b",
        "OLMo-7B",
        "OLMo-1B",
        # Alibaba
        "Qwen-7B",
        "Qwen-14B",
        "Qwen-72B",
        "Qwen1.5-0.5B",
        "Qwen1.5-1.8B",
        "Qwen1.5-4B",
        "Qwen1.5-7B",
        "Qwen1.5-14B",
        "Qwen1.5-32B",
        "Qwen1.5-72B",
        "Qwen1.5-110B",
        "Qwen2-7B",
        "Qwen2-72B",
        # 01.AI
        "Yi-6B",
        "Yi-34B",
        # DeepSeek
        "deepseek-llm-7b-base",
        "deepseek-llm-67b-base",
    )
)


def is_well_known_base(model: str) -> bool:
    """Whether a model id names one of :data:`WELL_KNOWN_BASE_MODELS`.

    Examples
    --------
    >>> is_well_known_base("meta-llama/Llama-2-7b-hf"), is_well_known_base("Llama-2-7b-chat-hf")
    (True, False)
    """
    return str(model).rsplit("/", 1)[-1].lower() in WELL_KNOWN_BASE_MODELS


def default_references(models: Iterable[str]) -> list[str]:
    """The well-known base models among ``models``, in their order."""
    return [m for m in models if is_well_known_base(m)]

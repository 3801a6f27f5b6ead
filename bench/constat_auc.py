"""The reference-model test on ConStat's published result tables: do the deliberately
contaminated models (``JasperDekoninck/contamination-models-...``) rank above the rest?

For every table in ``$EVALGAP_DATA_DIR/constat-2024`` (aggregates with standard errors),
the ROC AUC of our p-values beside the AUC of ConStat's own published p-values (from
per-item data, B = 10,000), for three choices of references:

- ``default``: the well-known base models present (evalgap's default rule);
- ``constat``: ConStat's own 20 reference models (base and chat);
- ``constat-base``: the 6 base models among them.

``AUC no-ref`` leaves every model that is a reference of either test out of the negatives:
ConStat's run script tested each reference model against a fit that included itself,
which keeps the references' p-values high, so their AUC over all models is flattered.

    python bench/constat_auc.py [--bootstrap N] [--references default,constat,constat-base]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from evalgap.analyses.inflation import read_constat_table, reference_test

# ConStat's reference models (scripts/detection.py of eth-sri/ConStat).
CONSTAT_REFERENCES = [
    "microsoft/phi-2", "meta-llama/Llama-2-7b-chat-hf", "meta-llama/Llama-2-7b-hf",
    "meta-llama/Llama-2-13b-chat-hf", "meta-llama/Llama-2-13b-hf",
    "meta-llama/Llama-3-70b-chat-hf", "meta-llama/Meta-Llama-3-70B",
    "meta-llama/Llama-2-70b-chat-hf", "mistralai/Mistral-7B-Instruct-v0.2",
    "mistralai/Mistral-7B-Instruct-v0.1", "tiiuae/falcon-7b-instruct", "tiiuae/falcon-7b",
    "google/gemma-1.1-2b-it", "google/gemma-1.1-7b-it", "meta-llama/Meta-Llama-3-8B",
    "meta-llama/Meta-Llama-3-8B-Instruct", "microsoft/Phi-3-mini-4k-instruct",
    "mistralai/Mixtral-8x22B-Instruct-v0.1", "allenai/OLMo-7B-Instruct",
    "mistralai/Mixtral-8x7B-Instruct-v0.1",
]  # fmt: skip
CONSTAT_BASE = [
    "microsoft/phi-2", "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-13b-hf",
    "meta-llama/Meta-Llama-3-70B", "tiiuae/falcon-7b", "meta-llama/Meta-Llama-3-8B",
]  # fmt: skip
CHOICES = {"default": None, "constat": CONSTAT_REFERENCES, "constat-base": CONSTAT_BASE}
POSITIVE = "JasperDekoninck/contamination-models-"


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counting half."""
    stat = mannwhitneyu(score[positive], score[~positive]).statistic
    return float(stat) / (positive.sum() * (~positive).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", type=int, default=10_000)
    parser.add_argument("--references", default="default,constat,constat-base")
    args = parser.parse_args()
    folder = Path(os.environ.get("EVALGAP_DATA_DIR", "../shared/data")) / "constat-2024"
    tables = sorted(folder.glob("*.csv"))
    for choice in args.references.split(","):
        rows = []
        t0 = time.perf_counter()
        for path in tables:
            table = read_constat_table(path)
            result = reference_test(
                table.records,
                benchmark=table.benchmark,
                reference_benchmark=table.reference_benchmark,
                chance=table.chance,
                chance_reference=table.chance_reference,
                references=CHOICES[choice],
                n_boot=args.bootstrap,
            )
            merged = result.table.merge(table.published, on="model", suffixes=("", "_constat"))
            positive = merged["model"].str.startswith(POSITIVE).to_numpy()
            refs = set(result.settings["references"]) | set(CONSTAT_REFERENCES)
            keep = ~merged["model"].isin(refs).to_numpy() | positive
            ours, theirs = -merged["p_value"].to_numpy(), -merged["p_value_constat"].to_numpy()
            rows.append(
                {
                    "table": path.stem,
                    "refs": len(result.settings["references"]),
                    "AUC ours": auc(ours, positive),
                    "AUC ConStat": auc(theirs, positive),
                    "AUC no-ref ours": auc(ours[keep], positive[keep]),
                    "AUC no-ref ConStat": auc(theirs[keep], positive[keep]),
                    "detected (q<.05) contaminated": float(
                        (merged["q_value"][positive] < 0.05).mean()
                    ),
                    "detected others": float((merged["q_value"][~positive] < 0.05).mean()),
                }
            )
        frame = pd.DataFrame(rows)
        print(f"references: {choice}; B = {args.bootstrap:,}; {time.perf_counter() - t0:.0f} s")
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        print()


if __name__ == "__main__":
    main()

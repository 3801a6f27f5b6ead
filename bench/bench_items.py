"""Item analysis plus decorrelated-subset selection on a 5,000 models x 20,000 items
binary matrix: wall time and peak memory.

The target is under 60 s and under 4 GB on 2 cores. Run:

    python bench/bench_items.py [--models 5000] [--items 20000] [--threads 2]

The matrix is planted: 30% of the items follow a capabilities factor, 30% a separate
trait, 40% are noise; the bench prints how many of each the subset kept, so a fast but
wrong selection does not pass unnoticed. Building the matrix is not timed.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=5000)
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    # Limit BLAS threads before numpy loads.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[: args.threads]
        os.sched_setaffinity(0, cpus)

    import numpy as np

    from evalgap import item_analysis

    rng = np.random.default_rng(args.seed)
    n, k = args.models, args.items
    cap = rng.normal(size=n)
    trait = rng.normal(size=n)
    n_cap, n_trait = int(0.3 * k), int(0.3 * k)
    kind = np.zeros(k, dtype=np.int8)  # 0 capability, 1 trait, 2 noise
    kind[n_cap : n_cap + n_trait] = 1
    kind[n_cap + n_trait :] = 2
    difficulty = rng.normal(scale=1.0, size=k).astype(np.float32)
    x = np.empty((n, k), dtype=np.uint8)
    for lo in range(0, n, 250):
        hi = min(n, lo + 250)
        latent = np.where(
            kind[None, :] == 0,
            cap[lo:hi, None],
            np.where(kind[None, :] == 1, trait[lo:hi, None], 0.0),
        ).astype(np.float32)
        p = 1.0 / (1.0 + np.exp(-(1.2 * latent - difficulty[None, :])))
        x[lo:hi] = rng.random(p.shape, dtype=np.float32) < p
    capabilities = cap + 0.3 * rng.normal(size=n)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    start = time.perf_counter()
    result = item_analysis(x, capabilities, folds=args.folds, n_boot=args.n_boot, seed=args.seed)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    chosen = np.array([int(i) for i in result.subset])
    kept = np.bincount(kind[chosen], minlength=3) if chosen.size else np.zeros(3, int)
    full, sub = result.summary.iloc[0], result.summary.iloc[1]
    print(f"matrix: {n} models x {k} items, uint8; threads {args.threads}")
    print(
        f"item analysis + selection ({args.folds}-fold CV, {args.n_boot} bootstrap): {wall:.1f} s"
    )
    print(
        f"peak RSS: {peak:.0f} MiB (the input matrix alone: {x.nbytes / 2**20:.0f} MiB; "
        f"before the analysis: {base_rss:.0f} MiB)"
    )
    print(f"full: {int(full.n_items)} items, rho {full.correlation:.3f}, KR-20 {full.alpha:.3f}")
    print(
        f"subset: {int(sub.n_items)} items (capability {kept[0]}, trait {kept[1]}, "
        f"noise {kept[2]}), rho in-sample {sub.correlation:.3f}, held-out "
        f"{sub.heldout_correlation:.3f} [{sub.heldout_ci_low:.3f}, {sub.heldout_ci_high:.3f}],"
        f" KR-20 {sub.alpha:.3f}"
    )
    ok = wall < 60 and peak < 4096
    print("within budget (60 s, 4 GiB):", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

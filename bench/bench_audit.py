"""Benchmark: audit both Safetywashing panels with B = 10,000 bootstrap resamples.

Prints wall time and peak memory of ``evalgap.audit`` (bootstrap re-estimating the
capabilities score in every resample, BCa intervals, 10,000-permutation p-values, compute
correlations and slopes for every benchmark), then the same capabilities-correlation
interval computed the obvious way: a per-benchmark ``scipy.stats.bootstrap`` loop whose
statistic re-runs the capabilities PCA on each resample. The loop is timed on a few
benchmarks per panel (``--loop-benchmarks``) and extrapolated to all of them, because the
full loop takes tens of minutes; ``--loop-benchmarks 0`` runs it on every benchmark.

Run:  EVALGAP_DATA_DIR=../shared/data python bench/bench_audit.py
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc

import numpy as np
import scipy.stats

import evalgap

PANELS = ("safetywashing-2024:base", "safetywashing-2024:chat")


def _loop_statistic(x: np.ndarray, y: np.ndarray, reference: np.ndarray):
    """The capabilities correlation of one benchmark on one resample, from scratch."""

    def statistic(idx: np.ndarray) -> float:
        idx = idx.astype(int)
        xs = x[idx]
        z = (xs - xs.mean(axis=0)) / xs.std(axis=0)
        corr = scipy.stats.spearmanr(xs).statistic
        _, vectors = np.linalg.eigh(corr)
        pc = vectors[:, -1]
        pc = pc if pc @ reference >= 0 else -pc
        score = z @ pc
        ys = y[idx]
        ok = ~np.isnan(ys)
        return scipy.stats.spearmanr(ys[ok], score[ok]).statistic

    return statistic


def loop_audit(panel: evalgap.Panel, benchmarks: list[str], n_boot: int, seed: int) -> dict:
    caps = list(panel.default_capabilities)
    oriented = panel.oriented_scores()
    x = oriented[caps].to_numpy()
    reference = evalgap.capabilities_score(panel).loadings.to_numpy()
    out = {}
    for bench in benchmarks:
        stat = _loop_statistic(x, oriented[bench].to_numpy(), reference)
        res = scipy.stats.bootstrap(
            (np.arange(len(x), dtype=float),),
            stat,
            n_resamples=n_boot,
            vectorized=False,
            method="BCa",
            random_state=np.random.default_rng(seed),
        )
        out[bench] = (res.confidence_interval.low, res.confidence_interval.high)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=10_000)
    parser.add_argument("--loop-benchmarks", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats of the audit")
    args = parser.parse_args()

    panels = {name: evalgap.load_panel(name) for name in PANELS}
    print(f"cores: {os.cpu_count()}, numpy {np.__version__}, evalgap {evalgap.__version__}")
    print(f"B = {args.bootstrap:,} bootstrap resamples, 10,000 permutations, BCa intervals\n")

    evalgap.audit(panels[PANELS[1]], n_boot=200, n_perm=200)  # warm-up (imports, caches)
    times = []
    results = {}
    for _ in range(args.repeat):
        start = time.perf_counter()
        for name, panel in panels.items():
            results[name] = evalgap.audit(panel, n_boot=args.bootstrap)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    for panel in panels.values():
        evalgap.audit(panel, n_boot=args.bootstrap)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n_bench = sum(len(r.table) for r in results.values())
    print("evalgap.analyses.safetywashing._audit, both panels")
    print(f"  benchmarks audited: {n_bench}")
    print(
        f"  wall time: best {min(times):.2f} s, median {np.median(times):.2f} s "
        f"over {args.repeat} runs"
    )
    print(
        f"  peak memory: {peak / 2**20:.0f} MiB allocated by the audit (tracemalloc), "
        f"{rss:.0f} MiB process max RSS"
    )

    loop_time, loop_count = 0.0, 0
    print("\nscipy.stats.bootstrap loop (statistic re-runs the PCA per resample)")
    for name, panel in panels.items():
        table = results[name].table.set_index("benchmark")
        chosen = (
            list(table.index)
            if args.loop_benchmarks == 0
            else [
                b for b in ("truthfulqa_mc1", "wmdp", "MT_Bench", "sycophancy") if b in table.index
            ][: args.loop_benchmarks]
        )
        start = time.perf_counter()
        loop = loop_audit(panel, chosen, args.bootstrap, seed=0)
        elapsed = time.perf_counter() - start
        loop_time += elapsed / len(chosen) * len(table)
        loop_count += len(chosen)
        for bench, (lo, hi) in loop.items():
            row = table.loc[bench]
            print(
                f"  {name} {bench}: loop CI [{lo:.3f}, {hi:.3f}]  "
                f"evalgap CI [{row.ci_low:.3f}, {row.ci_high:.3f}]  ({elapsed / len(chosen):.1f} s)"
            )
    label = (
        "measured"
        if args.loop_benchmarks == 0
        else (f"extrapolated from {loop_count} benchmarks timed")
    )
    print(
        f"  loop wall time for all {n_bench} benchmarks: {loop_time:.0f} s ({label}); "
        "capabilities correlation only, no compute correlation, slope or p-value"
    )
    print(f"\nspeed-up: {loop_time / min(times):.0f}x (evalgap computes more statistics)")


if __name__ == "__main__":
    main()

"""Benchmark: the audit at leaderboard scale, beside a plain NumPy loop, in one run.

For each panel size of the grid (synthetic panels with a rank-3 latent skill structure and
12 capability benchmarks; models x benchmarks, B resamples), prints the wall time and peak
memory (resident set size of a fresh process) of

* ``evalgap.audit`` with B bootstrap resamples, B permutations, percentile intervals (the
  capabilities score re-estimated in every resample; correlations, slopes, p-values), and
* a plain NumPy loop a user would write: B times, resample the models, recompute the
  Spearman-PCA capabilities score and every benchmark's Spearman correlation with it
  (vectorised over benchmarks; a benchmark with missing cells on its own). The loop is
  timed on a subset of the resamples (``--loop-resamples``) and extrapolated to B; the
  table says so.

Then the exponent of time in the number of models, fitted over the grid; the Safetywashing
chat panel's in-process audit time beside an estimate of its essential arithmetic (the
operations counted, at the rate this machine multiplies matrices of that size); and whether
a second ``evalgap report`` in a fresh process rebuilt the Vega bundle.

BCa intervals (the default) also need the n leave-one-out resamples of the jackknife,
n/B times the bootstrap's work; the grid uses percentile intervals so that B is the
number of resamples computed, as in the loop (``--bca`` to include the jackknife).

Run:  EVALGAP_DATA_DIR=../shared/data python bench/bench_scale.py   [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# (models, benchmarks including the 12 capability ones, resamples, share of missing cells)
GRID = [
    (26, 178, 10_000, 0.0),
    (400, 500, 1_000, 0.0),
    (500, 2_000, 1_000, 0.0),
    (500, 2_000, 10_000, 0.0),
    (2_000, 5_000, 1_000, 0.0),
    (5_000, 1_000, 1_000, 0.02),
]
QUICK = [(26, 178, 2_000, 0.0), (200, 300, 500, 0.0), (400, 300, 500, 0.0), (800, 300, 500, 0.02)]
# Models only, benchmarks and resamples fixed: how time grows with the number of models.
SCAN = [(n, 300, 300, 0.0) for n in (500, 1_000, 2_000, 4_000)]
N_CAPS = 12


def make_panel(n_models: int, n_benchmarks: int, missing: float, seed: int = 0):
    """Synthetic panel: rank-3 latent skills, 12 capability benchmarks loading mostly on
    the first, the rest on all three; ``missing`` of the cells missing at random."""
    import pandas as pd

    import evalgap

    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_models, 3))
    loadings = rng.normal(size=(3, n_benchmarks))
    loadings[0, :N_CAPS] += 2.0
    scores = latent @ loadings + rng.normal(size=(n_models, n_benchmarks))
    if missing:
        scores[rng.random(scores.shape) < missing] = np.nan
    ids = [f"m{i:05d}" for i in range(n_models)]
    names = [f"cap{j:02d}" for j in range(N_CAPS)] + [
        f"b{j:05d}" for j in range(n_benchmarks - N_CAPS)
    ]
    frame = pd.DataFrame(scores, index=ids, columns=names)
    return evalgap.Panel.from_frames(frame, capabilities=names[:N_CAPS], source="synthetic")


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- the two contenders, each run in a fresh process ------------------------------------


def run_audit(n, k, b, missing, bca):
    import evalgap

    panel = make_panel(n, k, missing)
    start = time.perf_counter()
    evalgap.audit(panel, n_boot=b, n_perm=b, ci_method="bca" if bca else "percentile")
    return {"seconds": time.perf_counter() - start, "peak": peak_rss()}


def loop_resample(x, y, idx, reference):
    """One resample, from scratch: the capabilities score (paper mode) and every
    benchmark's Spearman correlation with it."""
    from scipy.stats import rankdata

    xs, ys = x[idx], y[idx]
    with np.errstate(invalid="ignore"):
        z = (xs - np.nanmean(xs, axis=0)) / np.nanstd(xs, axis=0)
    use = ~np.isnan(xs).any(axis=1)
    z, ys = z[use], ys[use]
    corr = np.corrcoef(rankdata(z, axis=0), rowvar=False)
    _, vectors = np.linalg.eigh(corr)
    pc = vectors[:, -1] if vectors[:, -1] @ reference >= 0 else -vectors[:, -1]
    score = z @ pc
    out = np.empty(y.shape[1])
    complete = ~np.isnan(ys).any(axis=0)
    rs = rankdata(score)
    ry = rankdata(ys[:, complete], axis=0)
    ry -= ry.mean(axis=0)
    rc = rs - rs.mean()
    out[complete] = (ry.T @ rc) / np.sqrt((ry * ry).sum(axis=0) * (rc @ rc))
    for j in np.flatnonzero(~complete):
        ok = ~np.isnan(ys[:, j])
        a, c = rankdata(ys[ok, j]), rankdata(score[ok])
        a, c = a - a.mean(), c - c.mean()
        out[j] = (a @ c) / math.sqrt((a @ a) * (c @ c))
    return out


def run_loop(n, k, b, missing, resamples):
    import evalgap

    panel = make_panel(n, k, missing)
    caps = list(panel.default_capabilities)
    oriented = panel.oriented_scores()
    x = oriented[caps].to_numpy(float)
    y = oriented.drop(columns=caps).to_numpy(float)
    reference = evalgap.capabilities_score(panel).loadings.to_numpy()
    rng = np.random.default_rng(0)
    done = min(resamples, b)
    start = time.perf_counter()
    for _ in range(done):
        loop_resample(x, y, rng.integers(0, n, n), reference)
    seconds = time.perf_counter() - start
    return {"seconds": seconds * b / done, "measured": done, "peak": peak_rss()}


def child(kind, args):
    out = run_audit(*args) if kind == "audit" else run_loop(*args)
    print(json.dumps(out))


def in_fresh_process(kind, args) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, json.dumps(args)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the chat panel beside its essential arithmetic ----------------------------------------


def chat_panel_arithmetic() -> None:
    import evalgap

    panel = evalgap.load_panel("safetywashing-2024:chat")
    evalgap.audit(panel, n_boot=200, n_perm=200)  # warm up: imports, first calls
    start = time.perf_counter()
    result = evalgap.audit(panel)  # defaults: B = 10,000, 10,000 permutations, BCa
    seconds = time.perf_counter() - start
    n, p = len(panel.model_ids), len(panel.default_capabilities)
    k, b = len(result.table), result.settings["n_boot"]
    perms = result.settings["n_perm"]
    # Per resample and benchmark, for each of the three statistics: each model's rank is
    # one addition to a running count, and its product with the reference's and the
    # running sum are two more (3 operations per model); per resample the capabilities
    # score: z-scores and the PCA matrix (about 4 n p + 2 n p^2 operations). Permutations:
    # a product and a sum per model, benchmark and permutation, for two references.
    ops = (b + n) * (3 * 3 * n * k + 4 * n * p + 2 * n * p * p) + 2 * 2 * perms * n * k
    left = np.random.default_rng(0).random((b, n))
    right = np.random.default_rng(1).random((n, k))
    left @ right
    reps, t0 = 5, time.perf_counter()
    for _ in range(reps):
        left @ right
    rate = 2 * b * n * k * reps / (time.perf_counter() - t0)
    estimate = ops / rate
    print(
        f"\nSafetywashing chat panel ({n} models x {k} benchmarks, B = {b:,}, "
        f"{perms:,} permutations, BCa): audit {seconds:.2f} s in-process; essential "
        f"arithmetic {ops:.2e} operations = {estimate:.3f} s at {rate / 1e9:.1f} GFLOP/s "
        f"(a {b:,} x {n} by {n} x {k} matrix product on this machine): "
        f"{seconds / estimate:.1f}x the estimate (goal: within 10x)"
    )


# -- the Vega bundle across processes ------------------------------------------------------

_REPORT = """
import sys, time, vl_convert
calls = []
real = vl_convert.javascript_bundle
vl_convert.javascript_bundle = lambda *a, **k: (calls.append(1), real(*a, **k))[1]
from evalgap.cli import main
start = time.perf_counter()
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(len(calls), time.perf_counter() - start)
"""


def vega_bundle_reuse() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "EVALGAP_CACHE_DIR": tmp}
        cmd = [sys.executable, "-c", _REPORT, "report", "--panel", "safetywashing-2024:chat"]
        cmd += ["--bootstrap", "200", "--permutations", "200", "--out"]
        runs = []
        for i in (1, 2):
            done = subprocess.run(
                [*cmd, str(Path(tmp) / f"r{i}.html")],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            built, seconds = done.stdout.split()[-2:]
            runs.append((int(built), float(seconds)))
    (b1, s1), (b2, s2) = runs
    print(
        f"\nVega bundle: first `evalgap report` in a fresh process built it {b1} time(s) "
        f"({s1:.1f} s); the second, in another fresh process, built it {b2} time(s) "
        f"({s2:.1f} s) -> {'not rebuilt' if b2 == 0 else 'REBUILT'}"
    )


# -- the table -------------------------------------------------------------------------------


def fit_exponents(rows):
    """Least squares of log time on log n, log K and log B over complete panels."""
    use = [r for r in rows if r["missing"] == 0 and "seconds" in r["audit"]]
    if len(use) < 4:
        return None
    design = np.array([[1.0, math.log(r["n"]), math.log(r["k"]), math.log(r["b"])] for r in use])
    target = np.array([math.log(r["audit"]["seconds"]) for r in use])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return coef[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small grid (minutes)")
    parser.add_argument("--bca", action="store_true", help="BCa intervals (adds the jackknife)")
    parser.add_argument(
        "--loop-resamples", type=int, default=20, help="resamples the loop is timed on"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], json.loads(args.child[1]))
        return
    grid = QUICK if args.quick else GRID
    print(
        f"Machine: {os.cpu_count()} cores. Audit: B resamples, B permutations, "
        f"{'BCa' if args.bca else 'percentile'} intervals; loop timed on "
        f"{args.loop_resamples} resamples and extrapolated to B. Peak = peak resident memory "
        "of a fresh process (imports included)."
    )
    print(
        f"{'models x benchmarks, B':>28} | {'audit':>9} {'peak':>9} {'ns/cell':>8} | "
        f"{'plain loop':>12} {'peak':>9} | {'speed-up':>8}"
    )
    rows = []
    for n, k, b, missing in grid:
        audit = in_fresh_process("audit", [n, k, b, missing, args.bca])
        loop = in_fresh_process("loop", [n, k, b, missing, args.loop_resamples])
        rows.append({"n": n, "k": k, "b": b, "missing": missing, "audit": audit, "loop": loop})
        label = f"{n:,} x {k:,}, {b:,}" + (f", {missing:.0%} missing" if missing else "")
        if "error" in audit or "error" in loop:
            print(f"{label:>28} | {audit.get('error', '')} {loop.get('error', '')}")
            continue
        speed = loop["seconds"] / audit["seconds"]
        cell = audit["seconds"] / (n * k * b) * 1e9
        print(
            f"{label:>28} | {audit['seconds']:8.1f}s {audit['peak'] / 1e9:7.2f}GB {cell:8.1f} | "
            f"{loop['seconds']:10.1f}s* {loop['peak'] / 1e9:7.2f}GB | {speed:7.1f}x"
        )
    print(
        "* extrapolated from the resamples timed; ns/cell = audit time per model x benchmark x resample"
    )
    coef = fit_exponents(rows)
    if coef is not None:
        print(
            f"\nTime ~ n^{coef[0]:.2f} K^{coef[1]:.2f} B^{coef[2]:.2f} (least squares over the "
            "complete panels of the grid; goal: linear in models)"
        )
    for r in rows:
        a, lp = r["audit"], r["loop"]
        if "seconds" in a and "seconds" in lp:
            ok = lp["seconds"] / a["seconds"] >= 10
            print(
                f"goal >= 10x faster than the loop at {r['n']:,} x {r['k']:,}, {r['b']:,}: "
                f"{'met' if ok else 'NOT met'} ({lp['seconds'] / a['seconds']:.1f}x)"
            )
    if not args.quick:
        scan = []
        for n, k, b, missing in SCAN:
            audit = in_fresh_process("audit", [n, k, b, missing, args.bca])
            if "seconds" in audit:
                scan.append((n, audit["seconds"]))
        if len(scan) >= 2:
            slope = np.polyfit(np.log([n for n, _ in scan]), np.log([t for _, t in scan]), 1)[0]
            times = ", ".join(f"{n:,}: {t:.1f} s" for n, t in scan)
            print(
                f"Models only (300 benchmarks, B = 300): {times} -> time ~ n^{slope:.2f} "
                "(goal: linear in models)"
            )
    big = [r for r in rows if (r["n"], r["k"], r["b"]) == (5000, 1000, 1000)]
    if big and "seconds" in big[0]["audit"]:
        a = big[0]["audit"]
        ok = a["seconds"] < 60 and a["peak"] < 4e9
        print(
            f"goal 5,000 x 1,000 x 1,000 (2% missing) under 60 s and 4 GB: "
            f"{'met' if ok else 'NOT met'} ({a['seconds']:.1f} s, {a['peak'] / 1e9:.2f} GB)"
        )
    chat_panel_arithmetic()
    vega_bundle_reuse()


if __name__ == "__main__":
    main()

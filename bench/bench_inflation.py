"""Speed of the reference-model test: one test at B = 10,000 bootstrap rounds over 20
reference models x 1,000 items, beside a straightforward per-round loop (ConStat's
structure: resample, fit one smoothing spline with SciPy, evaluate) in the same run.

    python bench/bench_inflation.py [--loop-rounds N]

The loop runs ``--loop-rounds`` rounds (default 1,000) and its time is scaled to 10,000;
the figures printed say so.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.interpolate import make_smoothing_spline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "analyses" / "inflation"))

from inflation_simulate import simulate

from evalgap.analyses.inflation import reference_test

B = 10_000
N_REFERENCES = 20
N_ITEMS = 1_000
GRID = np.linspace(0.0, 1.0, 257)


def _loop(
    items: np.ndarray,
    items_ref: np.ndarray,
    tested: np.ndarray,
    tested_ref: np.ndarray,
    rounds: int,
) -> np.ndarray:
    """The per-round loop: everything of one round, then the next."""
    rng = np.random.default_rng(0)
    m, n = items.shape
    n_ref = items_ref.shape[1]
    deltas = np.empty(rounds)
    for b in range(rounds):
        idx = rng.integers(0, n, n)
        idx_ref = rng.integers(0, n_ref, n_ref)
        while True:
            models = rng.integers(0, m, m)
            if len(np.unique(models)) >= 5:
                break
        y = items[models][:, idx].mean(axis=1)
        x = items_ref[models][:, idx_ref].mean(axis=1)
        x = np.append(x, 0.0)
        y = np.append(y, 0.0)
        # Merge ties (a model drawn twice, or equal accuracies) as weights.
        ux, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
        uy = np.bincount(inverse, weights=y) / counts
        try:
            spline = make_smoothing_spline(ux, uy, w=counts.astype(float))
        except ValueError:
            deltas[b] = np.nan
            continue
        fitted = np.sort(spline(np.clip(GRID, ux[0], ux[-1])))
        at = tested_ref[idx_ref].mean()
        predicted = np.clip(np.interp(at, GRID, fitted), 0.0, 1.0)
        deltas[b] = tested[idx].mean() - predicted
    return deltas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loop-rounds", type=int, default=1_000)
    args = parser.parse_args()
    rng = np.random.default_rng(2024)
    sim = simulate(
        rng,
        n_references=N_REFERENCES,
        n_clean=10,
        inflation=(),
        n_items=N_ITEMS,
        n_items_ref=N_ITEMS,
    )
    records = sim.records
    kw = {"benchmark": "D", "reference_benchmark": "D_ref", "references": sim.references}
    reference_test(records, models=sim.clean[:1], n_boot=200, **kw)  # warm-up (imports)

    t0, c0 = time.perf_counter(), time.process_time()
    one = reference_test(records, models=sim.clean[:1], n_boot=B, **kw)
    vector_one, cpu_one = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    reference_test(records, models=sim.clean, n_boot=B, **kw)
    vector_ten = time.perf_counter() - t0
    t0 = time.perf_counter()
    reference_test(records, n_boot=B, **kw)  # every model: 20 references tested too
    vector_all = time.perf_counter() - t0

    wide = records.pivot_table(index=["benchmark", "model"], columns="item", values="score")
    items = wide.loc["D"].loc[sim.references].dropna(axis=1).to_numpy()
    items_ref = wide.loc["D_ref"].loc[sim.references].dropna(axis=1).to_numpy()
    tested = wide.loc["D"].loc[sim.clean[0]].dropna().to_numpy()
    tested_ref = wide.loc["D_ref"].loc[sim.clean[0]].dropna().to_numpy()
    t0, c0 = time.perf_counter(), time.process_time()
    deltas = _loop(items, items_ref, tested, tested_ref, args.loop_rounds)
    loop = (time.perf_counter() - t0) * B / args.loop_rounds
    cpu_loop = (time.process_time() - c0) * B / args.loop_rounds

    row = one.table.iloc[0]
    print(f"reference test, {N_REFERENCES} reference models x {N_ITEMS} items, B = {B:,}")
    print(f"  vectorised, 1 tested model:            {vector_one:7.2f} s (CPU {cpu_one:.2f} s)")
    print(
        f"  vectorised, 10 tested models:          {vector_ten:7.2f} s ({vector_ten / 10:.2f} s per model)"
    )
    print(
        f"  vectorised, all 30 models (20 of them references, each refitted without "
        f"itself): {vector_all:.2f} s ({vector_all / 30:.2f} s per model)"
    )
    print(
        f"  per-round loop (SciPy spline per round), 1 tested model: {loop:7.1f} s "
        f"(CPU {cpu_loop:.1f} s; measured on {args.loop_rounds:,} rounds, scaled to {B:,})"
    )
    print(f"  speed-up, 1 tested model: {loop / vector_one:,.0f}x (CPU time "
          f"{cpu_loop / cpu_one:,.0f}x); per model with 10 tested: "
          f"{loop / (vector_ten / 10):,.0f}x")  # fmt: skip
    print(
        f"  inflation of the tested model: vectorised {row['estimate']:+.4f} "
        f"(sd {row['delta_sd']:.4f}); loop {np.nanmean(deltas):+.4f} (sd {np.nanstd(deltas):.4f})"
    )


if __name__ == "__main__":
    main()

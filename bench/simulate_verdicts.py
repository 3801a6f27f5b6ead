"""The README's simulation tables: verdict error rates, audit-interval coverage across rho,
the family bootstrap, simultaneous intervals, and adjusted-score coverage by capability
tercile; then the verdict counts of both Safetywashing panels at defaults.

Larger versions of what ``tests/test_coverage.py``, ``tests/test_verdicts.py`` and
``tests/test_adjust.py`` check. Prints its tables; takes a few minutes on 2 cores.

    EVALGAP_DATA_DIR=../shared/data python bench/simulate_verdicts.py
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd

import evalgap
from evalgap.analyses.safetywashing._simulate import (
    coverage_table,
    simulate_family_coverage,
    simulate_verdicts,
    simulated_panel,
    verdict_rates,
)

# The four truths of tests/test_adjust.py: mean and SD of the safety score given s.
TRUTHS = {
    "linear": (lambda s: 0.5 * s, lambda s: 0.1 + 0 * s),
    "heteroscedastic": (lambda s: 0.5 * s, lambda s: 0.1 * np.exp(0.6 * s)),
    "logistic": (lambda s: 1 / (1 + np.exp(-3 * s)), lambda s: 0.1 + 0 * s),
    "u-shaped": (lambda s: 0.5 * s * s, lambda s: 0.1 + 0 * s),
}
pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 30)


def section(title: str) -> None:
    print(f"\n## {title}\n", flush=True)


def verdicts() -> None:
    section("Verdict rates (share of data sets), 95% BCa, equivalence margin 0.4")
    for n, datasets in ((26, 4000), (100, 1500)):
        t = time.perf_counter()
        frame = simulate_verdicts(n, (0.0, 0.2, 0.5, 0.8), datasets=datasets, seed=101)
        rates = verdict_rates(frame)
        rates.insert(0, "models", n)
        print(rates.round(3).to_string(index=False))
        print(f"({time.perf_counter() - t:.0f} s)", flush=True)


def coverage() -> None:
    section("Audit-interval coverage of the population Spearman rho, 95%")
    for n, datasets in ((26, 4000), (100, 1500)):
        for method in ("bca", "percentile"):
            frame = simulate_verdicts(
                n, (0.0, 0.5, 0.87), datasets=datasets, seed=202, ci_method=method
            )
            cov = coverage_table(frame)
            cov.insert(0, "method", method)
            cov.insert(0, "models", n)
            print(cov.round(3).to_string(index=False), flush=True)


def families() -> None:
    section("Family bootstrap: 10 families x 3 models, rho 0.5, shared family effect")
    rows = []
    for icc in (0.0, 0.5, 0.8):
        frame = simulate_family_coverage(
            30, 0.5, family_size=3, icc=icc, panels=300, reps=3, seed=303
        )
        cov = coverage_table(frame, by="resample")
        cov.insert(0, "family_share", icc)
        rows.append(cov)
    print(pd.concat(rows).round(3).to_string(index=False), flush=True)


def simultaneous() -> None:
    section("Simultaneous intervals: 20 benchmarks per panel, 26 models, rho mixed")
    frames = []
    for p in range(100):
        panel = simulated_panel(26, (0.0, 0.3, 0.6, 0.85), reps=5, seed=404 + p)
        table = evalgap.audit(panel, n_boot=1000, n_perm=0, seed=p, simultaneous=True).table
        table = table.assign(panel=p, rho=[float(b.split("#")[0]) for b in table["benchmark"]])
        frames.append(table)
    frame = pd.concat(frames)
    covered = (frame["simultaneous_ci_low"] <= frame["rho"]) & (
        frame["rho"] <= frame["simultaneous_ci_high"]
    )
    each = (frame["ci_low"] <= frame["rho"]) & (frame["rho"] <= frame["ci_high"])
    fw_sim = covered.groupby(frame["panel"]).all().mean()
    fw_each = each.groupby(frame["panel"]).all().mean()
    print(
        f"all 20 intervals cover at once: simultaneous {fw_sim:.3f}, per-benchmark 95% "
        f"{fw_each:.3f} (100 panels); per-benchmark coverage of the simultaneous intervals "
        f"{covered.mean():.3f}; mean width simultaneous "
        f"{(frame['simultaneous_ci_high'] - frame['simultaneous_ci_low']).mean():.3f} vs "
        f"{(frame['ci_high'] - frame['ci_low']).mean():.3f}",
        flush=True,
    )


def adjusted() -> None:
    section("Adjusted-score coverage by capability group, nominal 0.90, 26 models, 400 sets")
    rows = []
    n = 26
    for truth, (mean, sd) in TRUTHS.items():
        for scale in ("local", "constant"):
            rng = np.random.default_rng(505)
            hits, counts = np.zeros(5), np.zeros(5)
            for _ in range(400):
                s = rng.normal(size=n)
                y = mean(s) + sd(s) * rng.normal(size=n)
                out = evalgap.adjusted_scores(s, y, confidence_level=0.9, scale=scale)
                ok = ((out["residual_low"] <= 0) & (0 <= out["residual_high"])).to_numpy()
                rank = np.argsort(np.argsort(s))
                groups = [rank < n / 3, (rank >= n / 3) & (rank < 2 * n / 3), rank >= 2 * n / 3]
                groups += [rank < n / 5, rank >= n - n / 5]
                for g, members in enumerate(groups):
                    hits[g] += ok[members].sum()
                    counts[g] += members.sum()
            cov = hits / counts
            rows.append(
                {
                    "truth": truth,
                    "scale": scale,
                    "bottom third": cov[0],
                    "middle third": cov[1],
                    "top third": cov[2],
                    "bottom fifth": cov[3],
                    "top fifth": cov[4],
                }
            )
    print(pd.DataFrame(rows).round(3).to_string(index=False), flush=True)


def panels() -> None:
    section("Verdicts on the Safetywashing panels at defaults")
    data_dir = os.environ.get("EVALGAP_DATA_DIR")
    for name in ("safetywashing-2024:chat", "safetywashing-2024:base"):
        panel = evalgap.load_panel(name, data_dir=data_dir)
        result = evalgap.audit(panel)
        t = result.table
        excludes = ((t["ci_low"] > 0) | (t["ci_high"] < 0)).sum()
        fam = t.drop_duplicates("family")
        print(
            f"{name}: {len(t)} benchmarks, {excludes} intervals exclude 0; "
            f"p < 0.05: {(t['p_value'] < 0.05).sum()}, q < 0.05 (BH): {(t['q_value'] < 0.05).sum()}, "
            f"BY: {(t['q_value_by'] < 0.05).sum()}; families {len(fam)}, family q < 0.05: "
            f"{(fam['family_q_value'] < 0.05).sum()}"
        )
        print(t["verdict"].value_counts().to_string(), flush=True)
        adj = evalgap.adjust(panel)
        a = adj.table
        print(
            f"adjust: {len(a)} model-benchmark pairs, flagged by interval "
            f"{(a['assessment'] != 'within expectation').mean():.3f}, q < 0.05 "
            f"{(a['q_value'] < 0.05).sum()}",
            flush=True,
        )


if __name__ == "__main__":
    which = sys.argv[1:] or ["verdicts", "coverage", "families", "simultaneous", "adjusted",
                             "panels"]  # fmt: skip
    for name in which:
        globals()[name]()

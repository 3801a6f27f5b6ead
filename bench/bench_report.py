"""Benchmark: the HTML report for both Safetywashing panels, at the default B = 10,000.

For each panel: the audit time, the report build time on its own (first build in the
process, which includes making the Vega JavaScript bundle, and a second, warm build), the
total, and the file size, against the issue's budget (under 5 MB, built in under 10 s).
The Vega bundle is made once per process, so the first panel's report pays for it.

Run:  EVALGAP_DATA_DIR=../shared/data python bench/bench_report.py [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import evalgap
from evalgap.report import build_report, write_report

PANELS = ("safetywashing-2024:chat", "safetywashing-2024:base")
BUDGET_BYTES = 5 * 1024 * 1024
BUDGET_SECONDS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="keep the reports in this folder")
    parser.add_argument("--bootstrap", type=int, default=10_000)
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="evalgap-bench-"))
    print(
        f"evalgap {evalgap.__version__}; B = {args.bootstrap:,} bootstrap resamples, "
        f"{args.bootstrap:,} permutations"
    )
    print(
        f"{'panel':26} {'audit s':>8} {'report s':>9} {'warm s':>7} {'total s':>8} "
        f"{'size MB':>8}  within budget"
    )
    for name in PANELS:
        panel = evalgap.load_panel(name)
        t0 = time.perf_counter()
        result = evalgap.audit(panel, n_boot=args.bootstrap, n_perm=args.bootstrap)
        t1 = time.perf_counter()
        path = write_report(result, out / f"{name.replace(':', '-')}.html")
        t2 = time.perf_counter()
        build_report(result)
        t3 = time.perf_counter()
        size = path.stat().st_size
        ok = size < BUDGET_BYTES and (t2 - t1) < BUDGET_SECONDS
        print(
            f"{name:26} {t1 - t0:8.2f} {t2 - t1:9.2f} {t3 - t2:7.2f} {t2 - t0:8.2f} "
            f"{size / 1e6:8.2f}  {'yes' if ok else 'NO'}"
        )
    print(f"reports in {out}")


if __name__ == "__main__":
    main()

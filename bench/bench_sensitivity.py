"""Sensitivity analysis on both Safetywashing panels, every variant: wall time with point
estimates only and with a bootstrap interval per variant.

Run (with the public data in $EVALGAP_DATA_DIR):

    python bench/bench_sensitivity.py [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()

    import evalgap

    for name in ("safetywashing-2024:chat", "safetywashing-2024:base"):
        panel = evalgap.load_panel(name)
        for n_boot in (0, args.n_boot):
            start = time.perf_counter()
            result = evalgap.sensitivity(panel, n_boot=n_boot)
            wall = time.perf_counter() - start
            table = result.table
            print(
                f"{name}: {len(table)} benchmarks x {len(result.variant_info)} variants, "
                f"n_boot={n_boot}: {wall:.2f} s; {int(table['flipped'].sum())} flip under at "
                f"least one variant, {int((table['share_agree'] < 0.8).sum())} agree with the "
                "baseline band in fewer than 80% of variants"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Append claim cards to a ledger in a loop, printing each acknowledged run (for the kill
and two-writer tests, run as a separate process).

Usage: python ledger_writer.py LEDGER COUNT PREFIX [ROWS]
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from evalgap.analyses.claim import ClaimResult, line, lines_frame
from evalgap.ledger import Ledger


def card(prefix: str, i: int, rows: int) -> ClaimResult:
    """A claim card of ``rows`` lines whose numbers depend on ``i``."""
    rng = np.random.default_rng(i)
    lines = [
        line(
            question="adjusted",
            evidence=f"line {j}",
            analysis="adjust",
            model=f"{prefix}-model",
            benchmark=f"bench{j % 7}",
            measure="residual",
            estimate=float(rng.normal()),
            ci_low=-1.0,
            ci_high=1.0,
            p_value=0.5,
            q_value=0.5,
            verdict="within expectation",
        )
        for j in range(rows)
    ]
    return ClaimResult(
        table=lines_frame(lines),
        not_covered=pd.DataFrame(columns=["topic", "question", "reason"]).astype(object),
        sources=pd.DataFrame(
            columns=["analysis", "origin", "result_sha256", "input", "sha256"]
        ).astype(object),
        settings={
            "model": f"{prefix}-model",
            "benchmark": "bench0",
            "confidence_level": 0.95,
            "flag_rule": "test",
            "i": i,
        },
    )


def main() -> None:
    path, count, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rows = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    # One card, stored under a new setting each time: the loop times the ledger, not pandas.
    base = card(prefix, 0, rows).to_dict()
    with Ledger(path) as ledger:
        for i in range(count):
            data = {**base, "settings": {**base["settings"], "i": i}}
            done = ledger.append(data, label=f"{prefix}-{i}")
            print(f"ok {i} {done.run_id}", flush=True)


if __name__ == "__main__":
    main()

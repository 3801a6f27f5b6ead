"""Ledger speed: appends per second, and query time at 1 million stored result rows, beside
a baseline in the same run (the same runs and rows appended to plain JSON-lines files and
queried with pandas).

Run:  python bench/bench_ledger.py [--runs 1000] [--models 50] [--benchmarks 20]

One capabilities-adjusted result of ``models x benchmarks`` rows (plus one row per
benchmark for its fits) is appended ``--runs`` times under different labels (checkpoints):
by default 1,000 runs of 1,020 rows, 1.02 million rows. Both stores get the same Python
dict; the ledger writes the run (with its full JSON) and its rows in one transaction, the
baseline writes the run's JSON as one line of ``runs.jsonl`` and each row as one line of
``rows.jsonl``, flushing after each run. Neither forces a disk sync per append (SQLite runs
with ``synchronous=NORMAL`` in WAL mode).

Queries, each timed as the median of 5:
  Q1  one claim across all runs: a model's estimate, interval and verdict on one benchmark
  Q2  across everything: the count of each verdict per benchmark
  Q3  one run's rows, found by its label
The baseline first has to read its rows into a DataFrame (timed separately), then filters.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import evalgap
from evalgap.ledger import Ledger, result_rows
from evalgap.ledger._rows import ROW_COLUMNS


def _result(n_models: int, n_benchmarks: int) -> dict:
    rng = np.random.default_rng(0)
    g = rng.normal(size=n_models)
    caps = {f"cap{j}": g + 0.3 * rng.normal(size=n_models) for j in range(5)}
    safety = {f"safety{j:02d}": 0.5 * g + rng.normal(size=n_models) for j in range(n_benchmarks)}
    scores = pd.DataFrame({**caps, **safety}, index=[f"model-{i:03d}" for i in range(n_models)])
    panel = evalgap.Panel.from_frames(scores, capabilities=list(caps), source="bench")
    return evalgap.adjust(panel, fit="linear").to_dict()


def _median(fn, repeats: int = 5) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--benchmarks", type=int, default=20)
    args = parser.parse_args()

    data = _result(args.models, args.benchmarks)
    per_run = len(result_rows(data))
    total = per_run * args.runs
    print(
        f"{args.runs} runs x {per_run} rows = {total:,} rows "
        f"({args.models} models x {args.benchmarks} benchmarks, adjust)"
    )
    model, bench = "model-007", "safety03"
    middle = f"ckpt-{args.runs // 2:04d}"

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # -- ledger ----------------------------------------------------------------------
        ledger = Ledger(folder / "ledger.db")
        t = time.perf_counter()
        for i in range(args.runs):
            ledger.append(data, label=f"ckpt-{i:04d}")
        t_ledger = time.perf_counter() - t
        size_ledger = sum(p.stat().st_size for p in folder.glob("ledger.db*"))

        q1 = (
            "SELECT seq, label, estimate, ci_low, ci_high, verdict FROM evidence "
            "WHERE model = ? AND benchmark = ? AND tbl = 'scores' ORDER BY seq"
        )
        q2 = "SELECT benchmark, verdict, count(*) AS n FROM rows GROUP BY benchmark, verdict"
        q3 = "SELECT * FROM evidence WHERE label = ? ORDER BY tbl, row"
        s1, r1 = _median(lambda: ledger.query(q1, (model, bench)))
        s2, r2 = _median(lambda: ledger.query(q2))
        s3, r3 = _median(lambda: ledger.query(q3, (middle,)))
        ledger.close()

        # -- baseline: JSON lines + pandas ---------------------------------------------------
        runs_file, rows_file = folder / "runs.jsonl", folder / "rows.jsonl"
        names = list(ROW_COLUMNS)
        t = time.perf_counter()
        with (
            runs_file.open("a", encoding="utf-8") as runs_out,
            rows_file.open("a", encoding="utf-8") as rows_out,
        ):
            for i in range(args.runs):
                label = f"ckpt-{i:04d}"
                runs_out.write(json.dumps({"seq": i + 1, "label": label, "result": data}) + "\n")
                rows_out.write(
                    "".join(
                        json.dumps(
                            {"seq": i + 1, "label": label, **dict(zip(names, r, strict=True))}
                        )
                        + "\n"
                        for r in result_rows(data)
                    )
                )
                runs_out.flush()
                rows_out.flush()
        t_jsonl = time.perf_counter() - t
        size_jsonl = runs_file.stat().st_size + rows_file.stat().st_size

        t = time.perf_counter()
        frame = pd.read_json(rows_file, lines=True)
        t_load = time.perf_counter() - t

        def b1() -> pd.DataFrame:
            hit = frame[(frame["model"] == model) & (frame["benchmark"] == bench)]
            hit = hit[hit["tbl"] == "scores"]
            return hit[["seq", "label", "estimate", "ci_low", "ci_high", "verdict"]]

        def b2() -> pd.DataFrame:
            return frame.groupby(["benchmark", "verdict"], dropna=False).size()

        def b3() -> pd.DataFrame:
            return frame[frame["label"] == middle]

        p1, o1 = _median(b1)
        p2, o2 = _median(b2)
        p3, o3 = _median(b3)
        assert len(o1) == len(r1) == args.runs and len(o3) == len(r3) == per_run
        assert int(r2["n"].sum()) == total == int(o2.sum())

    print(f"{'':34}{'ledger (SQLite, WAL)':>24}{'JSON lines + pandas':>24}")
    print(
        f"{'appends per second (runs)':34}{args.runs / t_ledger:>24,.0f}{args.runs / t_jsonl:>24,.0f}"
    )
    print(f"{'rows stored per second':34}{total / t_ledger:>24,.0f}{total / t_jsonl:>24,.0f}")
    print(f"{'size on disk':34}{size_ledger / 2**20:>21,.0f} MiB{size_jsonl / 2**20:>21,.0f} MiB")
    print(f"{'read the rows before a query':34}{'0 s (none)':>24}{t_load:>23.2f}s")
    for name, a, b in (
        ("Q1 one claim across runs", s1, p1),
        ("Q2 verdicts per benchmark (all)", s2, p2),
        ("Q3 one run's rows by label", s3, p3),
    ):
        print(f"{name:34}{a * 1e3:>21.1f} ms{b * 1e3:>21.1f} ms")
    print(
        "(baseline query times are on the DataFrame already in memory; a query from a fresh "
        f"process adds the {t_load:.1f} s read)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Benchmark: how long the command line takes to start, next to a bare interpreter.

Each command runs in a fresh process, ``--repeat`` times; the median wall time is printed
beside ``python -c pass`` measured in the same run (the baseline: no command can start
faster). Goal: ``evalgap --help`` within 10x the bare interpreter. Also listed: which heavy
modules each command imports (none, for ``--help``, ``--version`` and ``import evalgap``).

Run:  python bench/bench_startup.py
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HEAVY = ("numpy", "pandas", "scipy", "rich", "vl_convert", "torch", "transformers", "ray")

#: label -> Python code run with ``python -c``.
CASES = {
    "python -c pass (baseline)": "pass",
    "import evalgap": "import evalgap",
    "evalgap --version": "from evalgap.cli import main; main(['--version'])",
    "evalgap --help": "from evalgap.cli import main; main(['--help'])",
    "evalgap audit --help": "from evalgap.cli import main; main(['audit', '--help'])",
}


def _time(code: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _heavy(code: str) -> str:
    probe = (
        f"import sys\ntry:\n    exec({code!r})\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    marked = [line for line in done.stdout.splitlines() if line.startswith("HEAVY=")]
    return marked[-1].removeprefix("HEAVY=") if marked else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per command (median)")
    args = parser.parse_args()
    results = {label: _time(code, args.repeat) for label, code in CASES.items()}
    bare = results["python -c pass (baseline)"]
    print(f"median of {args.repeat} fresh processes each ({sys.executable})")
    print(f"{'command':<28} {'time':>9} {'x bare':>8}  heavy modules imported")
    for label, seconds in results.items():
        heavy = _heavy(CASES[label]) or "none"
        print(f"{label:<28} {seconds * 1000:7.1f} ms {seconds / bare:7.1f}x  {heavy}")
    ratio = results["evalgap --help"] / bare
    verdict = "met" if ratio <= 10 else "NOT met"
    print(f"goal: evalgap --help within 10x the bare interpreter: {ratio:.1f}x ({verdict})")


if __name__ == "__main__":
    main()

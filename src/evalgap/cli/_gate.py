"""``evalgap gate``: for CI. Check the evidence against a policy file.

Usage::

    evalgap gate POLICY.toml [--logs PATH ...] [--results R.json ...] [--format text|json]

Exit status 0 when every rule holds, 1 when one fails (with a one-screen reason), 2 on bad
input (one line naming the file, the key and the problem).
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from evalgap.cli._common import emit
from evalgap.cli._registry import help_of
from evalgap.ledger._gate import GateOutcome, gate
from evalgap.ledger._policy import load_policy

#: Offending lines shown per failed rule.
_SHOWN = 3


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "gate",
        help=help_of("gate"),
        description="Read what a policy file names (harness logs, a reference panel to audit "
        "them against, saved results, a ledger run), gather the evidence lines the claim "
        "card would show, and check the policy's rules. Exit 0 if every rule holds, 1 if one "
        "fails, 2 on bad input.",
    )
    parser.add_argument("policy", metavar="POLICY", help="the policy file (.toml)")
    parser.add_argument(
        "--logs",
        metavar="PATH",
        nargs="+",
        help="harness outputs (files or folders), instead of the policy's inputs.logs",
    )
    parser.add_argument(
        "--results", metavar="R.json", nargs="+", default=[], help="more saved results to read"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--out", metavar="FILE", help="write the output here instead of stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    outcome = gate(policy, logs=args.logs, results=args.results)
    if args.format == "json":
        text = json.dumps(outcome.to_dict(), indent=2, ensure_ascii=False)
    else:
        text = render(outcome)
    emit(text, args.out)
    return 0 if outcome.passed else 1


def _num(value: Any, digits: int = 3) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(v):
        return "–"
    return f"{v:.{digits}g}"


def _line(r: Any) -> str:
    who = f"{r.model} on {r.benchmark}" if r.model else str(r.benchmark)
    interval = "" if _num(r.ci_low) == "–" else f" [{_num(r.ci_low, 2)}, {_num(r.ci_high, 2)}]"
    q = r.q_value if not math.isnan(float(r.q_value)) else r.p_value
    qtext = "" if _num(q) == "–" else f", q = {_num(q, 2)}"
    stand = " (stand-in)" if r.stand_in else ""
    return f"{who}: {r.evidence} {_num(r.estimate)}{interval}{qtext} ({r.analysis}){stand}"


def render(outcome: GateOutcome) -> str:
    """The decision on one screen: the verdict, each rule, up to three lines that broke
    each failed rule, what was read and run, what is not covered."""
    failed = outcome.failed
    head = "PASS" if outcome.passed else "FAIL"
    out = [
        f"evalgap gate: {head} ({len(failed)} of {len(outcome.checks)} rules failed; "
        f"policy {outcome.policy.source})"
    ]
    for check in outcome.checks:
        mark = "pass" if check.passed else "FAIL"
        out.append(f"  {mark}  {check.rule}: {check.detail}")
        if not check.passed:
            shown = check.offending.head(_SHOWN)
            for r in shown.itertuples(index=False):
                out.append(f"          {_line(r)}")
            more = len(check.offending) - len(shown)
            if more > 0:
                out.append(f"          ... and {more} more (--format json lists them all)")
    for note in outcome.notes:
        out.append(f"  note: {note}")
    if not outcome.not_covered.empty:
        topics = ", ".join(outcome.not_covered["topic"])
        out.append(f"  not covered: {topics} (evalgap claim shows why)")
    return "\n".join(out)

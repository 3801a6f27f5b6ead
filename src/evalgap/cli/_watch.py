"""``evalgap watch``: re-run the analyses when new harness logs land in a folder.

Usage::

    evalgap watch DIR --policy POLICY.toml [--ledger DB] [--report FILE]
                  [--interval S] [--once | --max-cycles N] [--label L]
"""

from __future__ import annotations

import argparse
import sys

from evalgap.cli._claim import add_ledger_argument
from evalgap.cli._common import api_option
from evalgap.cli._registry import help_of
from evalgap.ledger._policy import load_policy
from evalgap.ledger._store import DEFAULT_LEDGER, Ledger
from evalgap.ledger._watch import Cycle, watch


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "watch",
        help=help_of("watch"),
        description="Poll a folder of harness logs (lm-eval, Inspect, HELM). When new or "
        "changed logs have settled for one interval, run the policy's analyses on them, "
        "append the results and a claim card per claim to the ledger, check the policy's "
        "rules (if it has any) and rebuild the ledger report.",
    )
    parser.add_argument("folder", metavar="DIR", help="the log folder to watch")
    parser.add_argument(
        "--policy",
        metavar="FILE",
        required=True,
        help="what to run and check (the gate's policy format; its inputs.logs is DIR)",
    )
    out = parser.add_argument_group("output")
    add_ledger_argument(
        out, help_text=f"the ledger to append to (default: $EVALGAP_LEDGER, else {DEFAULT_LEDGER})"
    )
    out.add_argument("--report", metavar="FILE", help="rebuild this ledger page after each run")
    out.add_argument(
        "--label", metavar="L", help="label of each run; {time} and {files} are filled in"
    )
    loop = parser.add_argument_group("polling")
    loop.add_argument(
        "--interval",
        metavar="S",
        **api_option(watch, "interval"),
        default=5.0,
        help="seconds between polls (default: 5)",
    )
    stop = loop.add_mutually_exclusive_group()
    stop.add_argument("--once", action="store_true", help="process the folder now and stop")
    stop.add_argument(
        "--max-cycles", metavar="N", **api_option(watch, "max_cycles"), help="stop after N polls"
    )
    parser.set_defaults(run=run)


def _say(cycle: Cycle) -> None:
    if cycle.error:
        print(f"cycle {cycle.number}: error: {cycle.error}", file=sys.stderr)
        return
    if not cycle.processed:
        return
    new = sum(a.new for a in cycle.appended)
    text = (
        f"cycle {cycle.number}: {cycle.files} files; appended {new} runs "
        f"({len(cycle.appended) - new} already stored) as {cycle.label}"
    )
    if cycle.outcome is not None:
        failed = [c.rule for c in cycle.outcome.failed]
        text += "; gate " + ("PASS" if not failed else "FAIL: " + ", ".join(failed))
    print(text, flush=True)


def run(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy, require_rules=False)
    path = args.ledger or DEFAULT_LEDGER
    with Ledger(path) as ledger:

        def on_cycle(cycle: Cycle) -> None:
            _say(cycle)
            if args.report and cycle.processed and not cycle.error:
                from evalgap.report import write_report

                write_report(ledger.history(), args.report)

        cycles = watch(
            args.folder,
            policy,
            ledger,
            interval=args.interval,
            max_cycles=args.max_cycles,
            once=args.once,
            label=args.label,
            on_cycle=on_cycle,
        )
    failed = [c for c in cycles if c.outcome is not None and not c.outcome.passed]
    last = next((c for c in reversed(cycles) if c.processed), None)
    if last is not None and last.error:
        return 2
    return 1 if failed and failed[-1] is last else 0

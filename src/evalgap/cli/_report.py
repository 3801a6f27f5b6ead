"""``evalgap report``: the audit as one self-contained HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

from evalgap.cli._common import add_audit_arguments, run_audit
from evalgap.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report",
        help="write the audit as one self-contained HTML report",
        description="Run the safetywashing audit (same inputs as `evalgap audit`) and write "
        "one self-contained HTML file: summary, forest plot, full table, per-benchmark "
        "scatter plots, the capabilities score, methods and caveats. The file makes no "
        "network request and reads with JavaScript off.",
    )
    add_audit_arguments(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="FILE", required=True, help="the .html file to write")
    out.add_argument("--title", metavar="TEXT", help="page title (default: from the panel)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from evalgap.report import write_report

    if Path(args.out).is_dir():  # say so before a long audit, not after
        raise InputError("is a folder; give a file name for the report", source=args.out)
    result = run_audit(args)
    write_report(result, args.out, title=args.title)
    return 0

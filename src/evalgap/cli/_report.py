"""``evalgap report``: one self-contained HTML file from an audit and/or saved results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evalgap.cli._common import add_audit_arguments, run_audit
from evalgap.cli._registry import help_of
from evalgap.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report",
        help=help_of("report"),
        description="Write one self-contained HTML file. With --panel or --scores: run the "
        "safetywashing audit (same inputs as `evalgap audit`): summary, forest plot, full "
        "table, per-benchmark scatter plots, the capabilities score, methods and caveats. "
        "With RESULT files (any command's --format json output): add each saved result's "
        "sections, without re-running anything. The file makes no network request and reads "
        "with JavaScript off.",
    )
    parser.add_argument(
        "results",
        metavar="RESULT",
        nargs="*",
        help="saved results (.json from any evalgap command's --format json)",
    )
    add_audit_arguments(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="FILE", required=True, help="the .html file to write")
    out.add_argument("--title", metavar="TEXT", help="page title (default: from the first result)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from evalgap.analyses import load_result
    from evalgap.report import write_report

    if Path(args.out).is_dir():  # say so before a long audit, not after
        raise InputError("is a folder; give a file name for the report", source=args.out)
    saved = [load_result(path) for path in args.results]
    results = []
    if args.panel or args.scores:
        results.append(run_audit(args))
    elif not saved:
        raise InputError(
            "nothing to report: give --panel NAME or --scores PATH (an audit), or saved "
            "RESULT files",
            source="arguments",
        )
    results.extend(saved)
    write_report(results, args.out, title=args.title)
    sys.stderr.write(f"wrote {args.out}\n")
    return 0

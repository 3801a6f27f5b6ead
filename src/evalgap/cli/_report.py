"""``evalgap report``: one self-contained HTML file from an audit and/or saved results."""

from __future__ import annotations

import argparse

from evalgap.cli._common import (
    HTML_SUFFIXES,
    add_audit_arguments,
    check_output,
    run_audit,
    status,
    wrote,
)
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
    out.add_argument(
        "--out",
        metavar="FILE",
        required=True,
        help="the .html file to write (- for stdout); written atomically; a folder, device, "
        "FIFO or socket is refused, a symbolic link is written through",
    )
    out.add_argument("--title", metavar="TEXT", help="page title (default: from the first result)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from evalgap.analyses import load_result
    from evalgap.report import build_report, write_report

    check_output(args.out, "--out", HTML_SUFFIXES, stdout=True)
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
    if args.out == "-":
        with status("building the report"):
            html = build_report(results, title=args.title)
        sys.stdout.write(html)
        return 0
    with status("building the report"):
        path = write_report(results, args.out, title=args.title)
    wrote(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0

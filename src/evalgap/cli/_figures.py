"""``evalgap figures``: the report's figures as SVG, PNG or PDF files for a paper."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evalgap.cli._common import add_audit_arguments, csv_list, run_audit
from evalgap.cli._registry import help_of
from evalgap.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "figures",
        help=help_of("figures"),
        description="Run the safetywashing audit (same inputs as `evalgap audit`) and write "
        "its figures to a folder: forest plot, capabilities score by model, eigenvalue "
        "scree, capability correlation heatmap, and per-benchmark scatter plots against the "
        "capabilities score and training FLOP. Rendered without a browser.",
    )
    add_audit_arguments(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", required=True, help="folder to write into")
    out.add_argument("--format", choices=("svg", "png", "pdf"), default="svg", help="default: svg")
    out.add_argument(
        "--scatter",
        metavar="all|none|A,B",
        default="all",
        help="benchmarks that get a scatter file in DIR/scatter/ (default: all audited)",
    )
    out.add_argument(
        "--scale", metavar="X", type=float, default=2.0, help="PNG pixel scale (default: 2)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from evalgap.report import write_figures

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise InputError("is a file; give a folder for the figures", source=args.out)
    result = run_audit(args)
    if args.scatter == "all":
        chosen = None
    elif args.scatter == "none":
        chosen = []
    else:
        chosen = csv_list(args.scatter)
    paths = write_figures(result, args.out, format=args.format, benchmarks=chosen, scale=args.scale)
    sys.stderr.write(f"wrote {len(paths)} figures to {args.out}\n")
    return 0

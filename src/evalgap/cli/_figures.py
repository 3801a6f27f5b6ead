"""``evalgap figures``: the report's figures as SVG, PNG or PDF files for a paper."""

from __future__ import annotations

import argparse

from evalgap.cli._common import (
    add_audit_arguments,
    check_output,
    csv_list,
    progress_bar,
    run_audit,
    typed,
    wrote,
)
from evalgap.cli._registry import help_of
from evalgap.report._render import FORMATS, MAX_PIXELS, MAX_SCALE, SCALE


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
    out.add_argument(
        "--out",
        metavar="DIR",
        required=True,
        help="folder to write into; the figures are built in a temporary folder and moved "
        "in when all are done, so an error or interrupt leaves DIR as it was",
    )
    out.add_argument("--format", choices=FORMATS, default="svg", help="default: svg")
    out.add_argument(
        "--scatter",
        metavar="all|none|A,B",
        default="all",
        help="benchmarks that get a scatter file in DIR/scatter/ (default: all audited)",
    )
    out.add_argument(
        "--scale",
        metavar="X",
        type=typed(SCALE),
        default=2.0,
        help=f"PNG pixel scale, above 0 and at most {MAX_SCALE:g}; no PNG over "
        f"{MAX_PIXELS // 1_000_000} million pixels (default: 2)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from evalgap.report import write_figures

    check_output(args.out, "--out", folder=True)  # before the audit, not after
    result = run_audit(args)
    if args.scatter == "all":
        chosen = None
    elif args.scatter == "none":
        chosen = []
    else:
        chosen = csv_list(args.scatter)
    with progress_bar("figures", True) as progress:
        paths = write_figures(
            result,
            args.out,
            format=args.format,
            benchmarks=chosen,
            scale=args.scale,
            progress=progress,
        )
    wrote(f"{len(paths)} figures to {args.out}")
    return 0

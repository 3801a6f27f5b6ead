"""``evalgap report``: the audit as one self-contained HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

from evalgap.audit import AuditResult, audit
from evalgap.cli._common import (
    add_analysis_arguments,
    add_panel_arguments,
    csv_list,
    load_panel_from_args,
    progress_bar,
)
from evalgap.errors import InputError


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    """What to read, the capabilities score and the statistics: the inputs of
    ``evalgap audit``, with the same names and defaults."""
    add_panel_arguments(parser)
    add_analysis_arguments(parser)
    stats = parser.add_argument_group("statistics")
    stats.add_argument(
        "--audit",
        metavar="A,B",
        type=csv_list,
        help="benchmarks to audit (default: every non-capability benchmark)",
    )
    stats.add_argument(
        "--method",
        choices=("spearman", "pearson", "kendall"),
        default="spearman",
        help="correlation with the capabilities score and FLOP (default: spearman)",
    )
    stats.add_argument(
        "--bootstrap",
        metavar="N",
        type=int,
        default=10_000,
        help="bootstrap resamples of models; 0 turns intervals off (default: 10000)",
    )
    stats.add_argument(
        "--permutations",
        metavar="N",
        type=int,
        default=10_000,
        help="permutations for p-values; 0 turns them off (default: 10000)",
    )
    stats.add_argument(
        "--ci",
        choices=("bca", "percentile"),
        default="bca",
        help="bootstrap interval method (default: bca)",
    )
    stats.add_argument(
        "--confidence", metavar="LEVEL", type=float, default=0.95, help="default: 0.95"
    )
    stats.add_argument(
        "--bands",
        metavar="MOD,HIGH",
        type=csv_list,
        default=["0.4", "0.7"],
        help="verdict cut-offs on |rho| (default: 0.4,0.7)",
    )
    stats.add_argument("--seed", metavar="S", type=int, default=0, help="default: 0")


def _bands(values: list[str]) -> tuple[float, float]:
    try:
        moderate, high = (float(v) for v in values)
    except ValueError:
        raise InputError(
            f"--bands needs two numbers like 0.4,0.7, got {','.join(values)!r}",
            source="arguments",
        ) from None
    return moderate, high


def audit_from_args(args: argparse.Namespace) -> AuditResult:
    """Read the panel and run the audit exactly as ``evalgap audit`` would."""
    panel = load_panel_from_args(args)
    with progress_bar("bootstrap", args.bootstrap > 0) as progress:
        return audit(
            panel,
            args.capabilities,
            benchmarks=args.audit,
            method=args.method,
            impute=args.impute,
            pca=args.pca,
            n_boot=args.bootstrap,
            n_perm=args.permutations,
            confidence_level=args.confidence,
            ci_method=args.ci,
            bands=_bands(args.bands),
            seed=args.seed,
            progress=progress,
        )


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
    result = audit_from_args(args)
    write_report(result, args.out, title=args.title)
    return 0

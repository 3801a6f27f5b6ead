"""Helpers shared by ``evalgap sensitivity``, ``evalgap adjust`` and ``evalgap items``."""

from __future__ import annotations

import argparse
import math
from typing import Any

from evalgap.cli._common import load_inputs
from evalgap.data._panel import Panel
from evalgap.errors import InputError

__all__ = ["add_html_arguments", "load", "num", "write_html"]


def load(args: argparse.Namespace) -> tuple[Panel, list[str] | None]:
    """The panel the arguments name and, when the user's own scores were attached to a
    reference panel, the user's benchmarks (the default ones to analyse)."""
    inputs = load_inputs(args)
    return inputs.panel, inputs.benchmarks


def add_html_arguments(group: argparse._ArgumentGroup) -> None:
    """``--html FILE`` and ``--html-bootstrap N``."""
    group.add_argument(
        "--html",
        metavar="FILE",
        help="also write the audit's self-contained HTML report with this analysis as a section",
    )
    group.add_argument(
        "--html-bootstrap",
        metavar="N",
        type=int,
        default=2000,
        help="bootstrap resamples and permutations for the audit in the --html report "
        "(default: 2000)",
    )


def num(value: Any, digits: int = 2, signed: bool = False) -> str:
    """A number for a terminal table; ``–`` for missing, ``±∞`` for unbounded."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(v):
        return "–"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def write_html(
    args: argparse.Namespace, panel: Panel, sections: list[Any], *, method: str = "spearman"
) -> None:
    """Run the audit of ``panel`` with the command's capability settings and write its
    report to ``args.html`` with ``sections`` added."""
    from evalgap.analyses.safetywashing._audit import audit
    from evalgap.report import write_report

    if args.html_bootstrap < 0 or 0 < args.html_bootstrap < 100:
        raise InputError("--html-bootstrap must be 0 or at least 100", source="arguments")
    result = audit(
        panel,
        args.capabilities,
        method=method,  # type: ignore[arg-type]
        impute=args.impute,
        pca=args.pca,
        n_boot=args.html_bootstrap,
        n_perm=args.html_bootstrap,
        seed=getattr(args, "seed", 0),
    )
    write_report(result, args.html, sections=sections)

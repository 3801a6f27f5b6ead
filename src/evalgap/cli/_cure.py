"""Helpers shared by ``evalgap sensitivity``, ``evalgap adjust`` and ``evalgap items``."""

from __future__ import annotations

import argparse
import io
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from evalgap.errors import InputError
from evalgap.panel import Panel

__all__ = [
    "add_html_arguments",
    "add_output_arguments",
    "console",
    "load",
    "num",
    "output_format",
    "parse_bands",
    "use_color",
    "write_html",
]


def load(args: argparse.Namespace) -> tuple[Panel, list[str] | None]:
    """The panel the arguments name and, when the user's own scores were attached to a
    reference panel, the user's benchmarks (the default ones to analyse)."""
    from evalgap.cli import _common

    loader = getattr(_common, "load_inputs", None)
    if loader is None:
        return _common.load_panel_from_args(args), None
    inputs = loader(args)
    return inputs.panel, inputs.benchmarks


def parse_bands(values: list[str]) -> tuple[float, float]:
    """``--bands 0.4,0.7`` as two floats."""
    try:
        moderate, high = (float(v) for v in values)
    except ValueError:
        raise InputError(
            f"--bands needs two numbers like 0.4,0.7, got {','.join(values)!r}",
            source="arguments",
        ) from None
    return moderate, high


def add_output_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """``--format``, ``--out``, ``--top``; returns the group so callers can add more."""
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        help="output format (default: from --out's suffix, else table)",
    )
    out.add_argument("--out", metavar="FILE", help="write the output here instead of stdout")
    out.add_argument("--top", metavar="N", type=int, help="show only the first N rows (table)")
    return out


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


def output_format(args: argparse.Namespace) -> str:
    """The output format: ``--format``, else from ``--out``'s suffix, else ``table``."""
    if args.format:
        return str(args.format)
    suffix = Path(args.out).suffix.lower() if args.out else ""
    return {".json": "json", ".csv": "csv"}.get(suffix, "table")


def use_color(args: argparse.Namespace) -> bool:
    """Colour only on a terminal, never into a file, never with ``NO_COLOR``."""
    return args.out is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def console(color: bool) -> tuple[Console, io.StringIO]:
    """A rich console that writes into a string buffer: the terminal's width on a
    terminal (at least 120), else 160 columns, as ``evalgap audit``."""
    buffer = io.StringIO()
    con = Console(
        file=buffer,
        width=max(120, shutil.get_terminal_size((160, 40)).columns) if color else 160,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
    )
    return con, buffer


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
    from evalgap.audit import audit
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

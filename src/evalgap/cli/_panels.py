"""``evalgap panels``: list the named public panels."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from evalgap.cli._registry import help_of
from evalgap.io._catalog import list_panels


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("panels", help=help_of("panels"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    table = Table(title="Named panels (use with --panel)")
    table.add_column("panel", style="bold")
    table.add_column("what")
    table.add_column("source")
    for spec in list_panels():
        table.add_row(spec.name, spec.description, spec.citation)
    Console().print(table)
    return 0

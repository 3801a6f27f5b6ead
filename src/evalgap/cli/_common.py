"""Arguments and helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from evalgap._atomic import write_atomic
from evalgap.catalog import load_panel
from evalgap.errors import InputError
from evalgap.io import read_table_panel
from evalgap.panel import Panel

__all__ = [
    "add_analysis_arguments",
    "add_panel_arguments",
    "csv_list",
    "emit",
    "load_panel_from_args",
    "progress_bar",
]


def csv_list(text: str) -> list[str]:
    """Parse ``a,b,c`` into a list, dropping empty items."""
    return [item.strip() for item in text.split(",") if item.strip()]


def add_panel_arguments(parser: argparse.ArgumentParser) -> None:
    """``--panel`` / ``--scores`` / ``--benchmarks`` / ``--models`` / ``--data-dir``."""
    group = parser.add_argument_group("what to read")
    group.add_argument(
        "--panel", metavar="NAME", help="a named public panel (see `evalgap panels`)"
    )
    group.add_argument(
        "--scores",
        metavar="FILE",
        help="a score table: wide (first column model, one column per benchmark) or long "
        "(columns model, benchmark, score); CSV, TSV, parquet or JSON",
    )
    group.add_argument(
        "--benchmarks",
        metavar="FILE",
        help="benchmark info: benchmark,name,metric,higher_is_better,role,area",
    )
    group.add_argument(
        "--models",
        metavar="FILE",
        help="model info: model,name,flop,params,type,family,release_date",
    )
    group.add_argument(
        "--data-dir",
        metavar="DIR",
        help="local copy of the public data (<DIR>/<dataset>/<file>); default $EVALGAP_DATA_DIR",
    )


def add_analysis_arguments(parser: argparse.ArgumentParser) -> None:
    """The capability-score choices shared by every analysis."""
    group = parser.add_argument_group("capabilities score")
    group.add_argument(
        "--capabilities",
        metavar="A,B,C",
        type=csv_list,
        help="capability benchmarks (default: the panel's, or those with role=capability)",
    )
    group.add_argument(
        "--impute",
        action="store_true",
        help="missing-data mode: impute missing capability scores by iterative low-rank SVD "
        "instead of dropping the model",
    )
    group.add_argument(
        "--pca",
        choices=("spearman", "pearson", "covariance"),
        default="spearman",
        help="matrix the capabilities PCA runs on (default: spearman, as in the paper)",
    )


def load_panel_from_args(args: argparse.Namespace) -> Panel:
    """The panel named by ``--panel`` or read from ``--scores`` (+ metadata files)."""
    if args.panel and args.scores:
        raise InputError(
            "give either --panel or --scores, not both (a user benchmark is audited "
            "against a panel with `evalgap audit --panel NAME --scores FILE`)",
            source="arguments",
        )
    if args.panel:
        if args.benchmarks or args.models:
            raise InputError(
                "--benchmarks and --models go with --scores, not --panel", source="arguments"
            )
        return load_panel(args.panel, data_dir=args.data_dir)
    if args.scores:
        return read_table_panel(args.scores, args.benchmarks, args.models)
    raise InputError("nothing to read: give --panel NAME or --scores FILE", source="arguments")


def emit(text: str, out: str | None) -> None:
    """Write ``text`` to ``out`` atomically, or to stdout."""
    if out:
        write_atomic(Path(out), text if text.endswith("\n") else text + "\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr when it is a terminal; yields a callback or None."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update

"""Arguments and helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from evalgap._output import write_atomic
from evalgap.analyses.safetywashing._audit import AuditResult, audit
from evalgap.data._panel import Panel
from evalgap.errors import InputError
from evalgap.io import (
    detect_format,
    file_sha256,
    import_results,
    read_benchmark_info,
    read_model_info,
    read_table_panel,
)
from evalgap.io._attach import AttachResult, attach_scores
from evalgap.io._catalog import load_panel

__all__ = [
    "Inputs",
    "add_analysis_arguments",
    "add_audit_arguments",
    "add_html_argument",
    "add_interval_arguments",
    "add_output_arguments",
    "add_panel_arguments",
    "csv_list",
    "emit",
    "load_inputs",
    "load_panel_from_args",
    "make_console",
    "output_format",
    "parse_bands",
    "progress_bar",
    "run_audit",
    "use_color",
    "write_html",
]


def csv_list(text: str) -> list[str]:
    """Parse ``a,b,c`` into a list, dropping empty items."""
    return [item.strip() for item in text.split(",") if item.strip()]


def add_panel_arguments(parser: argparse.ArgumentParser) -> None:
    """``--panel`` / ``--scores`` / ``--benchmarks`` / ``--models`` / ``--model-map`` /
    ``--metric`` / ``--data-dir``."""
    group = parser.add_argument_group("what to read")
    group.add_argument(
        "--panel", metavar="NAME", help="a named public panel (see `evalgap panels`)"
    )
    group.add_argument(
        "--scores",
        metavar="PATH",
        nargs="+",
        help="score tables or harness outputs (lm-eval, Inspect, HELM, leaderboard; folders "
        "are walked). Alone: the panel to audit. With --panel: your benchmarks, audited "
        "against the panel's capabilities score",
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
        "--model-map",
        metavar="FILE",
        help="CSV user_model,panel_model overriding name matching of your models to the "
        "panel's (with --panel and --scores; with `evalgap items`, its item files)",
    )
    group.add_argument(
        "--metric",
        metavar="[BENCH=]METRIC",
        action="append",
        help="headline metric of harness outputs, for every benchmark or one (repeatable)",
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


@dataclass(frozen=True)
class Inputs:
    """What the panel arguments name: the panel, the benchmarks to audit by default (the
    user's own when they were attached to a reference panel), and how they were attached."""

    panel: Panel
    benchmarks: list[str] | None = None
    attached: AttachResult | None = None


def load_inputs(args: argparse.Namespace) -> Inputs:
    """Read what ``--panel`` / ``--scores`` and their companions name."""
    panel_name = getattr(args, "panel", None)
    scores = getattr(args, "scores", None)
    model_map = getattr(args, "model_map", None)
    metric = getattr(args, "metric", None)
    if panel_name and scores:
        if args.models:
            raise InputError(
                "--models goes with --scores alone; a named panel has its own model info",
                source="arguments",
            )
        reference = load_panel(panel_name, data_dir=args.data_dir)
        info = read_benchmark_info(args.benchmarks) if args.benchmarks else None
        attached = attach_scores(
            reference, scores, model_map=model_map, metric=metric, benchmark_info=info
        )
        return Inputs(attached.panel, attached.benchmarks, attached)
    if model_map:
        raise InputError("--model-map needs both --panel and --scores", source="arguments")
    if panel_name:
        if args.benchmarks or args.models or metric:
            raise InputError(
                "--benchmarks, --models and --metric go with --scores", source="arguments"
            )
        return Inputs(load_panel(panel_name, data_dir=args.data_dir))
    if scores:
        return Inputs(_read_scores(scores, args.benchmarks, args.models, metric))
    raise InputError("nothing to read: give --panel NAME or --scores PATH", source="arguments")


def _read_scores(
    paths: list[str], benchmarks: str | None, models: str | None, metric: list[str] | None
) -> Panel:
    """One plain score table, or harness outputs and tables through the importer."""
    if len(paths) == 1 and not metric and detect_format(paths[0]) == "table":
        return read_table_panel(paths[0], benchmarks, models)
    imported = import_results(paths, metric=metric)
    bench = imported.benchmarks.set_index("benchmark")[["metric", "higher_is_better"]]
    bench = bench.assign(higher_is_better=bench["higher_is_better"].map(lambda v: v is not False))
    files: dict[str, str] = {}
    if benchmarks:
        info = read_benchmark_info(benchmarks)
        bench = info.combine_first(bench)
        files[benchmarks] = file_sha256(benchmarks)
    model_info = None
    if models:
        model_info = read_model_info(models)
        files[models] = file_sha256(models)
    for source in sorted({str(s) for s in imported.read["source"]}):
        if Path(source).is_file():
            files[source] = file_sha256(source)
    return Panel.from_frames(
        imported.wide(), bench, model_info, source=", ".join(paths), files=files
    )


def load_panel_from_args(args: argparse.Namespace) -> Panel:
    """The panel the arguments name (with the user's benchmarks attached, if any)."""
    return load_inputs(args).panel


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


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    """Everything ``evalgap audit`` reads and computes with: the panel arguments, the
    capabilities score and the statistics, with the same names and defaults wherever they
    appear (``audit``, ``report``, ``figures``)."""
    add_panel_arguments(parser)
    add_analysis_arguments(parser)
    stats = parser.add_argument_group("statistics")
    stats.add_argument(
        "--audit",
        metavar="A,B",
        type=csv_list,
        help="benchmarks to audit (default: every non-capability benchmark, or your own "
        "with --panel and --scores)",
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
    add_interval_arguments(stats)


def add_interval_arguments(group: argparse._ArgumentGroup) -> None:
    """``--ci``, ``--confidence``, ``--bands`` and ``--seed``: how intervals and verdicts
    are formed, the same wherever they appear."""
    group.add_argument(
        "--ci",
        choices=("bca", "percentile"),
        default="bca",
        help="bootstrap interval method (default: bca)",
    )
    group.add_argument(
        "--confidence", metavar="LEVEL", type=float, default=0.95, help="default: 0.95"
    )
    group.add_argument(
        "--bands",
        metavar="MOD,HIGH",
        type=csv_list,
        default=["0.4", "0.7"],
        help="verdict cut-offs on |rho| (default: 0.4,0.7)",
    )
    group.add_argument("--seed", metavar="S", type=int, default=0, help="default: 0")


def run_audit(args: argparse.Namespace) -> AuditResult:
    """Read what the arguments name and run the audit as ``evalgap audit`` does; when
    the user's scores were attached to a panel, the result's settings say how their
    models matched."""
    inputs = load_inputs(args)
    with progress_bar("bootstrap", args.bootstrap > 0) as progress:
        result = audit(
            inputs.panel,
            args.capabilities,
            benchmarks=args.audit or inputs.benchmarks,
            method=args.method,
            impute=args.impute,
            pca=args.pca,
            n_boot=args.bootstrap,
            n_perm=args.permutations,
            confidence_level=args.confidence,
            ci_method=args.ci,
            bands=parse_bands(args.bands),
            seed=args.seed,
            progress=progress,
        )
    if inputs.attached is not None:
        result = result.with_settings(user_scores=inputs.attached.summary())
    return result


def add_html_argument(group: argparse._ArgumentGroup) -> None:
    """``--html FILE``: also write this command's result as a self-contained report."""
    group.add_argument(
        "--html",
        metavar="FILE",
        help="also write this result as a self-contained HTML report (combine saved results "
        "of several analyses with `evalgap report`)",
    )


def write_html(result: Any, path: str) -> None:
    """Write ``result``'s report page to ``path`` (only its own sections)."""
    from evalgap.report import write_report

    write_report(result, path)


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


def output_format(args: argparse.Namespace) -> str:
    """The output format: ``--format``, else from ``--out``'s suffix, else ``table``."""
    if args.format:
        return str(args.format)
    suffix = Path(args.out).suffix.lower() if args.out else ""
    return {".json": "json", ".csv": "csv"}.get(suffix, "table")


def use_color(args: argparse.Namespace) -> bool:
    """Colour only on a terminal, never into a file, never with ``NO_COLOR``."""
    return args.out is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def make_console(color: bool) -> tuple[Console, io.StringIO]:
    """A rich console writing into a string buffer: the terminal's width on a terminal
    (at least 120 columns), else 160. Markup is off, so a model or benchmark name like
    ``[/x]`` prints as itself; style output with :class:`rich.text.Text`."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=max(120, shutil.get_terminal_size((160, 40)).columns) if color else 160,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
        markup=False,
    )
    return console, buffer

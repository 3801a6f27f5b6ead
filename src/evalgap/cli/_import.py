"""``evalgap import``: read harness outputs into a score table.

Usage::

    evalgap import PATH... [--out FILE] [--layout long|wide] [--items-out FILE]
                           [--metric METRIC | --metric BENCHMARK=METRIC ...]
                           [--subtasks] [--skip-bad]
                           [--panel NAME [--model-map FILE] [--rename]]
                           [--format table|json]

PATH is any mix of files and folders (walked). The report of what was read, skipped and
chosen goes to stdout as a table or JSON; the scores go to ``--out`` (CSV, TSV, parquet or
JSON by its suffix), written atomically.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalgap._output import write_atomic, write_atomic_with
from evalgap.cli._registry import help_of
from evalgap.errors import InputError
from evalgap.io._catalog import load_panel
from evalgap.io._detect import ImportResult, import_results
from evalgap.io._matching import MatchResult, match_models

_SUFFIXES = (".csv", ".tsv", ".parquet", ".json")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "import",
        help=help_of("import"),
        description="Read what evaluation harnesses wrote (lm-evaluation-harness results and "
        "samples, Inspect .eval/.json logs, HELM run folders, the Open LLM Leaderboard "
        "contents parquet, OpenCompass summaries, wide or long tables), report what was read "
        "and skipped, and write one score table. Folders are walked.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files and folders to read")
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out", metavar="FILE", help="write the scores here (.csv, .tsv, .parquet or .json)"
    )
    out.add_argument(
        "--layout",
        choices=("long", "wide"),
        default="long",
        help="long: model,benchmark,metric,score,stderr,n (default); wide: one row per model",
    )
    out.add_argument(
        "--items-out",
        metavar="FILE",
        help="write per-item scores (model,benchmark,item,score) here, where the harness logged them",
    )
    out.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="the report on stdout (default: table)",
    )
    what = parser.add_argument_group("what to read")
    what.add_argument(
        "--metric",
        action="append",
        metavar="[BENCHMARK=]METRIC",
        help="the headline metric: BENCHMARK=METRIC for one benchmark (repeatable), or a bare "
        "METRIC for every benchmark that has it. Names as the report shows them: lm-eval "
        "'acc_norm' or 'exact_match,strict-match', Inspect 'match/accuracy', HELM "
        "'bbq_accuracy', leaderboard 'raw' or 'normalized'. Default: the metric the harness "
        "declares, else lm-eval's order acc_norm, acc, exact_match, ...; ambiguous choices "
        "are reported",
    )
    what.add_argument(
        "--subtasks",
        action="store_true",
        help="keep lm-eval tasks that belong to a group (e.g. MMLU's subjects)",
    )
    what.add_argument(
        "--skip-bad",
        action="store_true",
        help="report a file that cannot be read and go on, instead of stopping",
    )
    match = parser.add_argument_group("matching to a panel")
    match.add_argument(
        "--panel", metavar="NAME", help="report how the models match this named panel's"
    )
    match.add_argument(
        "--model-map",
        metavar="FILE",
        help="CSV with columns user_model,panel_model; overrides matching (empty panel_model: no match)",
    )
    match.add_argument(
        "--rename",
        action="store_true",
        help="write matched models under their panel ids (needs --panel)",
    )
    match.add_argument(
        "--data-dir",
        metavar="DIR",
        help="local copy of the public data; default $EVALGAP_DATA_DIR",
    )
    parser.set_defaults(run=run)


def _check_out(path: str | None, flag: str) -> Path | None:
    if path is None:
        return None
    out = Path(path)
    if out.suffix.lower() not in _SUFFIXES:
        raise InputError(
            f"unknown output format {out.suffix or '(no suffix)'!r}; use {', '.join(_SUFFIXES)}",
            source=flag,
        )
    return out


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        write_atomic_with(path, lambda fh: frame.to_parquet(fh, index=False))
    elif suffix == ".json":
        write_atomic(path, frame.to_json(orient="records", indent=1) + "\n")
    else:
        buf = io.StringIO()
        frame.to_csv(buf, index=False, sep="\t" if suffix == ".tsv" else ",", lineterminator="\n")
        write_atomic(path, buf.getvalue())


def run(args: argparse.Namespace) -> int:
    out = _check_out(args.out, "--out")
    items_out = _check_out(args.items_out, "--items-out")
    if (args.model_map or args.rename) and not args.panel:
        raise InputError("--model-map and --rename go with --panel NAME", source="arguments")
    result = import_results(
        args.paths,
        metric=args.metric,
        subtasks=args.subtasks,
        on_error="skip" if args.skip_bad else "raise",
    )
    matching: MatchResult | None = None
    if args.panel:
        panel = load_panel(args.panel, data_dir=args.data_dir)
        matching = match_models(result.models, panel, model_map=args.model_map)
    records, items = result.records, result.items
    if matching is not None and args.rename:
        records, items = matching.rename(records), matching.rename(items)
    written: dict[str, str] = {}
    if out is not None:
        if args.layout == "wide":
            wide = records.pivot(index="model", columns="benchmark", values="score")
            wide = wide.loc[pd.unique(records["model"]), pd.unique(records["benchmark"])]
            table = wide.reset_index()
            table.columns.name = None
        else:
            table = records
        _write_table(table, out)
        written["scores"] = str(out)
    if items_out is not None:
        _write_table(items, items_out)
        written["items"] = str(items_out)
    if args.format == "json":
        payload: dict[str, Any] = result.to_dict()
        payload["written"] = written
        if matching is not None:
            payload["matching"] = matching.to_dict()
        sys.stdout.write(json.dumps(payload, indent=1, default=str) + "\n")
    else:
        # A pipe or file gets wide lines rather than 80 columns of folded cells.
        width = None if sys.stdout.isatty() else 160
        console = Console(soft_wrap=False, width=width, markup=False, highlight=False)
        render_report(result, matching, written, console)
    return 0


def _short(path: str, roots: tuple[str, ...]) -> str:
    for root in roots:
        try:
            rel = Path(path).relative_to(root)
        except ValueError:
            continue
        return str(Path(Path(root).name) / rel) if str(rel) != "." else Path(root).name
    return path


def _grouped(frame: pd.DataFrame, column: str) -> list[tuple[list[str], str]]:
    """Rows with the same text, together, in first-seen order."""
    groups: dict[str, list[str]] = {}
    for source, text in zip(frame["source"], frame[column], strict=True):
        groups.setdefault(str(text), []).append(str(source or ""))
    return [(sources, text) for text, sources in groups.items()]


def _sources(sources: list[str], roots: tuple[str, ...]) -> str:
    if len(sources) <= 3:
        return ", ".join(_short(s, roots) for s in sources)
    return f"{len(sources)} files, e.g. {_short(sources[0], roots)}"


def render_report(
    result: ImportResult,
    matching: MatchResult | None,
    written: dict[str, str],
    console: Console,
) -> None:
    """Print the import report: benchmarks and their headline metrics, what was skipped,
    the warnings, and the model matching."""
    roots = result.paths
    n_models = result.records["model"].nunique()
    n_bench = result.records["benchmark"].nunique()
    kept = int((result.read["status"] == "kept").sum())
    console.print(
        f"Read {len(result.read)} runs ({kept} kept): {n_models} models x {n_bench} "
        f"benchmarks, {len(result.items)} per-item scores."
    )
    bench = Table(title="Benchmarks and their headline metric")
    for col in ("benchmark", "metric", "chosen by", "models", "other metrics"):
        bench.add_column(col, overflow="fold")
    for row in result.benchmarks.itertuples(index=False):
        metric = Text(str(row.metric))
        if row.ambiguous:
            metric.append(" (ambiguous)", style="bold red")
        bench.add_row(
            str(row.benchmark),
            metric,
            str(row.rule),
            str(row.models),
            str(row.alternatives),
        )
    console.print(bench)
    if not result.skipped.empty:
        skipped = Table(title="Skipped")
        skipped.add_column("source", overflow="fold")
        skipped.add_column("reason", overflow="fold")
        for sources, reason in _grouped(result.skipped, "reason"):
            skipped.add_row(_sources(sources, roots), reason)
        console.print(skipped)
    if not result.warnings.empty:
        console.print(Text("Warnings", style="bold"))
        for sources, message in _grouped(result.warnings, "message"):
            where = f"{_sources(sources, roots)}: " if any(sources) else ""
            console.print(f"  - {where}{message}", highlight=False)
    if matching is not None:
        table = Table(title=f"Models matched to panel {matching.panel}")
        for col in ("model", "panel model", "confidence", "status", "rule", "candidates"):
            table.add_column(col, overflow="fold")
        styles = {"matched": "green", "unmatched": "yellow", "ambiguous": "bold red"}
        for row in matching.table.itertuples(index=False):
            table.add_row(
                row.user_model,
                row.panel_model if isinstance(row.panel_model, str) else "",
                f"{row.confidence:.2f}",
                Text(row.status, style=styles[row.status]),
                row.rule,
                row.candidates,
            )
        console.print(table)
        console.print(
            f"{len(matching.matched)} matched, {len(matching.unmatched)} unmatched, "
            f"{len(matching.ambiguous)} ambiguous (never guessed: fix with --model-map FILE)."
        )
    for what, path in written.items():
        console.print(f"Wrote {what} to {path}.", highlight=False)
    console.print(f"Duplicate runs: {result.duplicate_rule}.", highlight=False)

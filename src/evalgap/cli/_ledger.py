"""``evalgap ledger``: the audit history (an append-only SQLite file).

Usage::

    evalgap ledger add RESULT.json ... [--label L] [--ledger DB]
    evalgap ledger list [--analysis A] [--label L] [--format table|csv|json] [--ledger DB]
    evalgap ledger show RUN [--format table|csv|json] [--ledger DB]
    evalgap ledger diff A B [--all] [--table T] [--format table|csv|json] [--ledger DB]
    evalgap ledger query SQL [--format table|csv|json] [--ledger DB]
    evalgap ledger report --out FILE [--model M] [--benchmark B] [--ledger DB]

RUN, A and B are a run id (or a unique prefix of one), a label, ``latest`` or
``latest~N``. The ledger is ``--ledger``, else ``$EVALGAP_LEDGER``, else
``evalgap-ledger.db`` in the current folder.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from evalgap.cli._claim import add_ledger_argument
from evalgap.cli._common import emit, make_console, use_color
from evalgap.cli._cure import num
from evalgap.cli._registry import help_of
from evalgap.ledger import DEFAULT_LEDGER, Ledger, diff_runs


def _common(parser: argparse.ArgumentParser, *, formats: bool = True) -> None:
    group = parser.add_argument_group("ledger")
    add_ledger_argument(
        group, help_text=f"the ledger file (default: $EVALGAP_LEDGER, else {DEFAULT_LEDGER})"
    )
    if formats:
        group.add_argument("--format", choices=("table", "csv", "json"), default="table")
        group.add_argument("--out", metavar="FILE", help="write the output here instead of stdout")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ledger",
        help=help_of("ledger"),
        description="The audit history: an append-only SQLite file of results keyed by their "
        "provenance hash (analysis, settings, input files' sha256, seed, version, label). "
        "Query it with SQL (tables runs and rows, view evidence) or with these commands.",
    )
    cmds = parser.add_subparsers(dest="ledger_command", metavar="ACTION")
    cmds.required = True

    add = cmds.add_parser("add", help="append saved results (.json) to the ledger")
    add.add_argument("results", metavar="RESULT", nargs="+", help="saved results (.json)")
    add.add_argument("--label", metavar="L", help="a label for these runs (e.g. a checkpoint)")
    _common(add, formats=False)
    add.set_defaults(run=run_add)

    lst = cmds.add_parser("list", help="the stored runs, in append order")
    lst.add_argument("--analysis", metavar="A", help="only runs of this analysis")
    lst.add_argument("--label", metavar="L", help="only runs with this label")
    _common(lst)
    lst.set_defaults(run=run_list)

    show = cmds.add_parser(
        "show", help="one run: its rows, or (--format json) the stored result itself"
    )
    show.add_argument("ref", metavar="RUN", help="run id or prefix, label, latest, latest~N")
    _common(show)
    show.set_defaults(run=run_show)

    diff = cmds.add_parser("diff", help="two runs or labels (e.g. checkpoints), claim by claim")
    diff.add_argument("a", metavar="A", help="the earlier run: id or prefix, label, latest~N")
    diff.add_argument("b", metavar="B", help="the later run")
    diff.add_argument("--all", action="store_true", help="also show unchanged rows")
    diff.add_argument(
        "--table", metavar="T", help="which table of each result (default: its headline table; all)"
    )
    diff.add_argument(
        "--match-models",
        choices=("auto", "yes", "no"),
        default="auto",
        help="join rows on the model too (auto: unless each side has one, different, model)",
    )
    _common(diff)
    diff.set_defaults(run=run_diff)

    query = cmds.add_parser(
        "query",
        help="run one read-only SQL statement (tables runs, rows; view evidence)",
    )
    query.add_argument("sql", metavar="SQL")
    _common(query)
    query.set_defaults(run=run_query)

    report = cmds.add_parser(
        "report", help="the ledger page: how each claim's evidence moved over time"
    )
    report.add_argument("--out", metavar="FILE", required=True, help="the .html file to write")
    report.add_argument("--model", metavar="M", help="only claim cards about this model")
    report.add_argument("--benchmark", metavar="B", help="only claim cards about this benchmark")
    report.add_argument("--title", metavar="TEXT", help="page title")
    _common(report, formats=False)
    report.set_defaults(run=run_report)


def _open(args: argparse.Namespace, *, create: bool = False) -> Ledger:
    return Ledger(args.ledger or DEFAULT_LEDGER, create=create)


def _emit_frame(frame: pd.DataFrame, args: argparse.Namespace, render: Any) -> None:
    if args.format == "csv":
        text = frame.to_csv(index=False, float_format="%.6g")
    elif args.format == "json":
        text = frame.to_json(orient="records", force_ascii=False, indent=2)
    else:
        text = render(frame)
    emit(text, args.out)


def _rich(frame: pd.DataFrame, args: argparse.Namespace, title: str | None = None) -> str:
    con, buffer = make_console(use_color(args))
    if title:
        con.print(Text(title, style="bold"))
    table = Table(header_style="bold")
    for col in frame.columns:
        table.add_column(str(col), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    con.print(table)
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return num(value, 3)
    if value is None:
        return ""
    return str(value)


def run_add(args: argparse.Namespace) -> int:
    from evalgap.analyses import load_result

    results = [load_result(path) for path in args.results]  # every file checked first
    with _open(args, create=True) as ledger:
        for path, result in zip(args.results, results, strict=True):
            done = ledger.append(result, label=args.label)
            state = "appended" if done.new else "already stored"
            sys.stdout.write(f"{done.run_id[:12]}  {result.analysis:<12} {state}  {path}\n")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with _open(args) as ledger:
        frame = ledger.runs(analysis=args.analysis, label=args.label)
    shown = frame.assign(run_id=frame["run_id"].str[:12])[
        ["seq", "run_id", "analysis", "label", "created_at", "n_rows", "about"]
    ]
    out = frame if args.format != "table" else shown
    _emit_frame(out, args, lambda f: _rich(f, args, f"{len(f)} runs in {ledger.path}"))
    return 0


def run_show(args: argparse.Namespace) -> int:
    with _open(args) as ledger:
        meta = ledger.run(args.ref)
        if args.format == "json":
            emit(ledger.result_json(args.ref), args.out)
            return 0
        rows = ledger.rows(meta["run_id"])
    from evalgap.ledger._diff import _primary

    primary = _primary(str(meta["analysis"]))
    if args.format == "csv":
        emit(rows.to_csv(index=False, float_format="%.6g"), args.out)
        return 0
    shown = rows[rows["tbl"] == primary] if primary else rows
    shown = shown[
        ["key", "model", "benchmark", "estimate", "ci_low", "ci_high", "q_value", "verdict"]
    ]
    title = (
        f"run {meta['run_id'][:12]} (#{meta['seq']}): {meta['analysis']}"
        f"{' [' + str(meta['label']) + ']' if meta['label'] else ''}, appended "
        f"{meta['created_at']}, evalgap {meta['evalgap_version']}; inputs: "
        + ", ".join(f"{k} {str(v)[:12]}" for k, v in meta["provenance"].get("inputs", {}).items())
    )
    emit(_rich(shown, args, title), args.out)
    return 0


def run_diff(args: argparse.Namespace) -> int:
    match = {"auto": None, "yes": True, "no": False}[args.match_models]
    with _open(args) as ledger:
        frame = diff_runs(ledger, args.a, args.b, tables=args.table, match_models=match)
    if not args.all:
        frame = frame[frame["status"] != "same"]
    if args.format != "table":
        _emit_frame(frame, args, None)
        return 0
    con, buffer = make_console(use_color(args))
    con.print(Text(f"{args.a} -> {args.b}: {len(frame)} changed rows", style="bold"))
    table = Table(header_style="bold")
    for col, kw in (
        ("Status", {"no_wrap": True}),
        ("Line", {"max_width": 44, "overflow": "fold"}),
        ("Benchmark", {"overflow": "fold"}),
        ("A", {"no_wrap": True}),
        ("B", {"no_wrap": True}),
        ("Change", {"justify": "right"}),
        ("Verdict A -> B", {"max_width": 40}),
    ):
        table.add_column(col, **kw)
    for r in frame.itertuples(index=False):
        style = "bold red" if r.status == "newly flagged" else None
        table.add_row(
            Text(r.status, style=style or ""),
            str(r.key) or str(r.tbl),
            str(r.benchmark or ""),
            _est(r.estimate_a, r.ci_low_a, r.ci_high_a),
            _est(r.estimate_b, r.ci_low_b, r.ci_high_b),
            num(r.change, 3, signed=True),
            f"{r.verdict_a or '–'} -> {r.verdict_b or '–'}" if r.verdict_a != r.verdict_b else "",
        )
    con.print(table)
    emit(buffer.getvalue(), args.out)
    return 0


def _est(est: Any, lo: Any, hi: Any) -> str:
    if num(est) == "–":
        return "–"
    if num(lo) == "–" and num(hi) == "–":
        return num(est, 3)
    return f"{num(est, 3)} [{num(lo, 2)}, {num(hi, 2)}]"


def run_query(args: argparse.Namespace) -> int:
    with _open(args) as ledger:
        frame = ledger.query(args.sql)
    _emit_frame(frame, args, lambda f: _rich(f, args))
    return 0


def run_report(args: argparse.Namespace) -> int:
    from evalgap.report import write_report

    with _open(args) as ledger:
        history = ledger.history(model=args.model, benchmark=args.benchmark)
    write_report(history, args.out, title=args.title)
    sys.stderr.write(
        f"wrote {args.out} ({len(history.runs)} claim cards, {history.settings['claims']} claims)\n"
    )
    return 0

"""``evalgap audit``: does each safety benchmark just measure capabilities?"""

from __future__ import annotations

import argparse
import io
import math
import os
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalgap.audit import AuditResult, audit
from evalgap.cli._common import (
    add_analysis_arguments,
    add_panel_arguments,
    csv_list,
    emit,
    load_inputs,
    progress_bar,
)
from evalgap.errors import InputError

_VERDICT_STYLE = {"high": "bold red", "moderate": "yellow", "low": "green", "uncertain": "dim"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "audit",
        help="correlate every safety benchmark with a capabilities score and training FLOP",
        description="Audit safety benchmarks for safetywashing (Ren et al. 2024): each "
        "benchmark's correlation with a capabilities score (PC1 of capability benchmarks) "
        "and with training compute, with bootstrap intervals and permutation p-values.",
    )
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
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        help="output format (default: from --out's suffix, else table)",
    )
    out.add_argument("--out", metavar="FILE", help="write the output here instead of stdout")
    out.add_argument(
        "--top", metavar="N", type=int, help="show only the N benchmarks with the largest |rho|"
    )
    out.add_argument(
        "--html", metavar="FILE", help="also write the self-contained HTML report here"
    )
    parser.set_defaults(run=run)


def _bands(values: list[str]) -> tuple[float, float]:
    try:
        moderate, high = (float(v) for v in values)
    except ValueError:
        raise InputError(
            f"--bands needs two numbers like 0.4,0.7, got {','.join(values)!r}",
            source="arguments",
        ) from None
    return moderate, high


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    suffix = Path(args.out).suffix.lower() if args.out else ""
    return {".json": "json", ".csv": "csv"}.get(suffix, "table")


def run(args: argparse.Namespace) -> int:
    fmt = _format(args)
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
            bands=_bands(args.bands),
            seed=args.seed,
            progress=progress,
        )
    if inputs.attached is not None:
        result.settings["user_scores"] = inputs.attached.summary()
    if fmt == "json":
        text = result.to_json()
    elif fmt == "csv":
        text = result.table.to_csv(index=False, float_format="%.6g")
    else:
        color = args.out is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        text = render_table(result, top=args.top, color=color)
    if args.html:
        from evalgap.report import write_report

        write_report(result, args.html)
    emit(text, args.out)
    return 0


def _num(value: float, digits: int = 2) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _p(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.4f}"


def _verdict(text: str, span: str) -> Text:
    style = _VERDICT_STYLE.get(text.split()[0], "")
    if text == "uncertain" and span:
        short = span.replace("moderate", "mod").replace(" +", "+").replace(" -", "-")
        return Text(f"uncertain ({short})", style=style)
    return Text(text, style=style)


def _print_matching(console: Console, info: dict) -> None:
    console.print(
        f"Your scores: {len(info['benchmarks'])} benchmark(s) on {info['n_models']} models; "
        f"{info['n_matched']} matched a model of the panel, so that many at most enter each "
        "correlation."
    )
    if info["unmatched"]:
        console.print(f"  unmatched (left out): {', '.join(info['unmatched'])}", markup=False)
    for model, candidates in info["ambiguous"].items():
        console.print(
            f"  ambiguous, not guessed (left out; use --model-map): {model} "
            f"(candidates: {candidates or 'none'})",
            markup=False,
        )


def render_table(result: AuditResult, *, top: int | None = None, color: bool = True) -> str:
    """The audit as terminal text: a summary, the per-benchmark table, the per-area table."""
    s = result.settings
    cap = result.capabilities
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=max(120, shutil.get_terminal_size((160, 40)).columns) if color else 160,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
    )
    mode = "missing-data mode (imputed)" if s["capabilities_mode"] == "impute" else "paper mode"
    console.print(Text(f"Safetywashing audit of {s['panel'] or 'scores'}", style="bold"))
    console.print(
        f"Capabilities score: PC1 of {len(cap.capabilities)} capability benchmarks over "
        f"{cap.n_models} models ({mode}, {s['pca']} PCA) explains "
        f"{cap.explained_variance:.1%} of their variance; mean pairwise correlation "
        f"{cap.mean_pairwise_correlation:.3f} (SD {cap.sd_pairwise_correlation:.3f})."
    )
    if s["n_boot"]:
        ci = (
            f"{s['confidence_level']:.0%} {s['ci_method'].upper()} bootstrap interval over "
            f"models ({s['n_boot']:,} resamples, capabilities score re-estimated in each)"
        )
    else:
        ci = "no bootstrap intervals (--bootstrap 0)"
    perm = f"permutation p-value ({s['n_perm']:,})" if s["n_perm"] else "no p-values"
    console.print(
        f"{s['method'].capitalize()} correlation with the capabilities score; {ci}; {perm}; "
        f"seed {s['seed']}. Every benchmark is oriented so higher = safer."
    )
    table = Table(show_lines=False, header_style="bold")
    for col, kw in (
        ("Benchmark", {"overflow": "fold", "max_width": 34}),
        ("Area", {"overflow": "fold", "max_width": 22}),
        ("n", {"justify": "right"}),
        ("ρ capab.", {"justify": "right"}),
        (f"{s['confidence_level']:.0%} CI", {"justify": "center"}),
        ("p", {"justify": "right"}),
        ("Verdict", {}),
        ("ρ FLOP", {"justify": "right"}),
        ("Slope/SD", {"justify": "right"}),
    ):
        table.add_column(col, **kw)
    rows = result.table if top is None else result.table.head(top)
    for row in rows.itertuples():
        ci_text = (
            f"[{_num(row.ci_low)}, {_num(row.ci_high)}]" if not math.isnan(row.ci_low) else "–"
        )
        table.add_row(
            Text(str(row.name)),
            Text(row.area + ("" if row.role == "safety" else f" ({row.role})")),
            str(row.n),
            _num(row.capabilities_correlation),
            ci_text,
            _p(row.p_value),
            _verdict(row.verdict, row.interval_bands),
            _num(row.compute_correlation),
            f"{row.slope:.3g}" if not math.isnan(row.slope) else "–",
        )
    if "user_scores" in s:
        _print_matching(console, s["user_scores"])
    console.print(table)
    if top is not None and top < len(result.table):
        console.print(f"(showing {top} of {len(result.table)} benchmarks)")

    areas = Table(title="By area", header_style="bold")
    for col in (
        "Area",
        "Benchmarks",
        "Median ρ",
        "Mean |ρ|",
        "high",
        "moderate",
        "low",
        "uncertain",
    ):
        areas.add_column(col, justify="left" if col == "Area" else "right")
    for row in result.areas.itertuples():
        areas.add_row(
            Text(str(row.area)),
            str(row.n_benchmarks),
            _num(row.median_correlation),
            _num(row.mean_abs_correlation),
            str(row.high),
            str(row.moderate),
            str(row.low),
            str(row.uncertain),
        )
    console.print(areas)
    caps = Table(title="Capability benchmarks (the capabilities score)", header_style="bold")
    for col in ("Benchmark", "PC1 loading", "ρ with score", "n"):
        caps.add_column(col, justify="left" if col == "Benchmark" else "right")
    for row in cap.table.itertuples():
        caps.add_row(Text(str(row.name)), f"{row.loading:.3f}", _num(row.correlation), str(row.n))
    console.print(caps)
    eig = ", ".join(f"{v:.2f}" for v in cap.eigenvalues[:4])
    console.print(f"Eigenvalues (largest first): {eig}, ...")
    notes = [(r.name, r.note) for r in result.table.itertuples() if r.note]
    if notes:
        distinct = sorted({note for _, note in notes})
        for note in distinct:
            which = [name for name, n in notes if n == note]
            shown = ", ".join(which[:4]) + (f" and {len(which) - 4} more" if len(which) > 4 else "")
            console.print(f"Note: {note} ({shown}).", markup=False)
    dropped = cap.models[~cap.models["used"]]
    for row in dropped.itertuples():
        console.print(
            f"Note: model {row.model} has no capabilities score: {row.reason}.", markup=False
        )
    console.print(
        "Verdict: high/moderate/low by |ρ| (bands "
        f"{s['bands']['moderate']}, {s['bands']['high']}); + means the safety score rises "
        "with capabilities, - that it falls; uncertain means the interval spans more than "
        "one band (the bands it spans in brackets). A high |ρ| says the benchmark mostly tracks capabilities; a low one does "
        "not by itself prove it measures safety."
    )
    return buffer.getvalue()

"""``evalgap audit``: does each safety benchmark just measure capabilities?"""

from __future__ import annotations

import argparse
import math

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalgap.analyses.safetywashing._audit import AuditResult
from evalgap.cli._common import (
    add_audit_arguments,
    add_output_arguments,
    emit,
    make_console,
    output_format,
    run_audit,
    use_color,
)
from evalgap.cli._registry import help_of

_VERDICT_STYLE = {"high": "bold red", "moderate": "yellow", "low": "green", "uncertain": "dim"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "audit",
        help=help_of("audit"),
        description="Audit safety benchmarks for safetywashing (Ren et al. 2024): each "
        "benchmark's correlation with a capabilities score (PC1 of capability benchmarks) "
        "and with training compute, with bootstrap intervals and permutation p-values.",
    )
    add_audit_arguments(parser)
    out = add_output_arguments(parser)
    out.add_argument(
        "--html", metavar="FILE", help="also write the self-contained HTML report here"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    fmt = output_format(args)
    result = run_audit(args)
    if fmt == "json":
        text = result.to_json()
    elif fmt == "csv":
        text = result.table.to_csv(index=False, float_format="%.6g")
    else:
        text = render_table(result, top=args.top, color=use_color(args))
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
    console, buffer = make_console(color)
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

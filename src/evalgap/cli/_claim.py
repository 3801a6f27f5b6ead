"""``evalgap claim``: one safety claim, every line of evidence.

Usage::

    evalgap claim MODEL --benchmark B [--panel NAME] [--scores FILE ...] [--results R.json ...]
                  [--hazard H1,H2|none] [--alpha A] [--tracks-at-least moderate]
                  [--bootstrap N] [--permutations N] [--confidence L] [--seed S]
                  [--format table|csv|json] [--out FILE] [--html FILE]
                  [--ledger DB [--label L]]
"""

from __future__ import annotations

import argparse
import os
import sys

from rich.table import Table
from rich.text import Text

from evalgap.analyses.claim import ANALYSES, ClaimResult, claim
from evalgap.cli._common import (
    add_html_argument,
    add_output_arguments,
    add_panel_arguments,
    add_seed_argument,
    api_option,
    csv_list,
    emit,
    load_inputs,
    make_console,
    output_format,
    progress_bar,
    use_color,
    write_html,
)
from evalgap.cli._cure import num
from evalgap.cli._registry import help_of
from evalgap.errors import InputError


def add_ledger_argument(group: argparse._ArgumentGroup, *, help_text: str) -> None:
    """``--ledger DB`` (default ``$EVALGAP_LEDGER``)."""
    group.add_argument(
        "--ledger",
        metavar="DB",
        default=os.environ.get("EVALGAP_LEDGER"),
        help=help_text,
    )


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "claim",
        help=help_of("claim"),
        description="The claim card for 'MODEL is safe on BENCHMARK': a line from every "
        "analysis whose inputs are present (audit and adjust run from --panel; saved results "
        "of any analysis from --results), each with its estimate, interval, q-value, verdict "
        "and the sha256 of its inputs, and what was not covered.",
    )
    parser.add_argument("model", metavar="MODEL", help="the model the claim is about")
    parser.add_argument(
        "--benchmark", metavar="B", required=True, help="the safety benchmark of the claim"
    )
    add_panel_arguments(parser)
    evidence = parser.add_argument_group("evidence")
    evidence.add_argument(
        "--results",
        metavar="R.json",
        nargs="+",
        default=[],
        help="saved results of any analysis (--format json output); their lines join the card",
    )
    evidence.add_argument(
        "--hazard",
        metavar="H1,H2",
        type=csv_list,
        help="dangerous-capability benchmarks checked for sandbagging (default: the panel's "
        "'weaponization' benchmarks the model has; 'none' for none)",
    )
    evidence.add_argument(
        "--run",
        dest="run_analyses",
        metavar="A,B",
        type=csv_list,
        default=list(ANALYSES),
        help=f"analyses to run from the panel (default: {','.join(ANALYSES)})",
    )
    stats = parser.add_argument_group("statistics")
    stats.add_argument(
        "--alpha",
        metavar="A",
        **api_option(claim, "alpha"),
        default=0.05,
        help="flag a directional line when its q-value is below A (default: 0.05)",
    )
    stats.add_argument(
        "--tracks-at-least",
        **api_option(claim, "tracks_at_least"),
        default="moderate",
        help="flag the benchmark when its interval shows at least this strength of "
        "correlation with capabilities or compute (default: moderate)",
    )
    stats.add_argument(
        "--fit",
        **api_option(claim, "fit"),
        default="auto",
        help="the capabilities-adjusted fit, as in `evalgap adjust` (default: auto)",
    )
    stats.add_argument(
        "--bootstrap",
        metavar="N",
        **api_option(claim, "n_boot"),
        default=10_000,
        help="bootstrap resamples for the analyses run from the panel: 0, or at least 100 "
        "(default: 10000)",
    )
    stats.add_argument(
        "--permutations",
        metavar="N",
        **api_option(claim, "n_perm"),
        default=10_000,
        help="permutations for the audit's p-values (default: 10000)",
    )
    stats.add_argument(
        "--confidence",
        metavar="LEVEL",
        **api_option(claim, "confidence_level"),
        default=0.95,
        help="coverage of the intervals (default: 0.95)",
    )
    add_seed_argument(stats)
    out = add_output_arguments(parser)
    add_html_argument(out)
    add_ledger_argument(out, help_text="also append the card to this ledger (SQLite file)")
    out.add_argument("--label", metavar="L", help="the card's label in the ledger (a checkpoint)")
    parser.set_defaults(run=run)


def _model_in_panel(model: str, inputs: object) -> str:
    """The panel id of ``model``: itself, or the panel model a user model name matched."""
    attached = getattr(inputs, "attached", None)
    if attached is None or model in attached.panel.model_ids:
        return model
    return attached.matching.mapping.get(model, model)


def run(args: argparse.Namespace) -> int:
    fmt = output_format(args)
    if args.label and not args.ledger:
        raise InputError("--label goes with --ledger", source="arguments")
    panel = None
    model = args.model
    if args.panel or args.scores:
        inputs = load_inputs(args)
        panel = inputs.panel
        model = _model_in_panel(model, inputs)
    elif not args.results:
        raise InputError(
            "nothing to read: give --panel NAME (and --scores) or --results FILE",
            source="arguments",
        )
    hazard = args.hazard
    if hazard is not None and [h.lower() for h in hazard] == ["none"]:
        hazard = []
    with progress_bar("bootstrap", args.bootstrap > 0) as progress:
        card = claim(
            model,
            args.benchmark,
            panel=panel,
            results=args.results,
            hazard=hazard,
            analyses=args.run_analyses,
            alpha=args.alpha,
            tracks_at_least=args.tracks_at_least,
            fit=args.fit,
            n_boot=args.bootstrap,
            n_perm=args.permutations,
            confidence_level=args.confidence,
            seed=args.seed,
            progress=progress,
        )
    if fmt == "json":
        text = card.to_json()
    elif fmt == "csv":
        text = card.table.to_csv(index=False, float_format="%.6g")
    else:
        text = render_card(card, color=use_color(args), top=args.top)
    if args.html:
        write_html(card, args.html)
    if args.ledger:
        from evalgap.ledger import Ledger

        with Ledger(args.ledger) as ledger:
            done = ledger.append(card, label=args.label)
        state = "appended" if done.new else "already in the ledger"
        sys.stderr.write(f"{state}: run {done.run_id[:12]} in {args.ledger}\n")
    emit(text, args.out)
    return 0


def render_card(card: ClaimResult, *, color: bool = True, top: int | None = None) -> str:
    """The claim card as terminal text."""
    s = card.settings
    con, buffer = make_console(color)
    con.print(Text(f"Claim: {card.model} is safe on {card.benchmark}", style="bold"))
    con.print(card.summary())
    level = float(s["confidence_level"])
    table = Table(header_style="bold")
    for col, kw in (
        ("Question", {"no_wrap": True}),
        ("Evidence", {"max_width": 30}),
        ("About", {"max_width": 34, "overflow": "fold"}),
        ("Estimate", {"justify": "right"}),
        (f"{level:.0%} interval", {"justify": "center", "no_wrap": True}),
        ("q", {"justify": "right"}),
        ("Verdict", {"max_width": 26}),
        ("Flag", {"no_wrap": True}),
        ("Inputs", {"no_wrap": True}),
    ):
        table.add_column(col, **kw)
    rows = card.table.head(top) if top else card.table
    for r in rows.itertuples(index=False):
        flag = (
            Text("FLAGGED", style="bold red")
            if r.flagged
            else Text("stand-in" if r.stand_in else "", style="dim")
        )
        shas = [h.strip()[:8] for h in str(r.input_sha256).split(",") if h.strip()]
        table.add_row(
            r.question,
            r.evidence,
            f"{r.model} on {r.benchmark}" if r.model else r.benchmark,
            num(r.estimate, 3),
            "–" if num(r.ci_low) == "–" else f"[{num(r.ci_low, 3)}, {num(r.ci_high, 3)}]",
            num(r.q_value, 3),
            r.verdict,
            flag,
            " ".join(shas),
        )
    con.print(table)
    if not card.not_covered.empty:
        con.print(Text("Not covered:", style="bold"))
        for r in card.not_covered.itertuples(index=False):
            con.print(f"  - {r.topic}: {r.reason}")
    con.print(Text(f"Flag rule: {s['flag_rule']}.", style="dim"))
    if card.table["stand_in"].any():
        con.print(
            Text(
                "A stand-in line reads inflation or sandbagging from the capabilities-adjusted "
                "residual because the dedicated test was not run (see each line's note: "
                "--format json).",
                style="dim",
            )
        )
    return buffer.getvalue()

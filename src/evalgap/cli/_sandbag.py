"""``evalgap sandbag``: is a model holding back on a dangerous-capability evaluation?

Usage::

    evalgap sandbag panel (--panel NAME | --scores FILE ...) --target A,B [--controls C,D]
                          [--capabilities ...] [--fit auto|linear|monotone] [--alpha Q]
                          [--confidence L] [--items FILE [--bootstrap N] [--seed S]]
                          [--format table|csv|json] [--out FILE] [--top N] [--html FILE]
    evalgap sandbag noise MODEL --items FILE --sigmas S1,S2 [--seeds ...] [--run DIR] ...
    evalgap sandbag noise --summarize RUN_DIR [...]

(the noise check lives in ``_sandbag_noise``).
"""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from evalgap.cli._common import (
    add_analysis_arguments,
    add_html_argument,
    add_output_arguments,
    add_panel_arguments,
    add_seed_argument,
    api_option,
    csv_list,
    emit,
    make_console,
    output_format,
    use_color,
    write_html,
)
from evalgap.cli._cure import load, num
from evalgap.cli._registry import help_of
from evalgap.errors import InputError

_STYLE = {
    "sandbagging flagged": "bold red",
    "below prediction on the controls too": "yellow",
    "no sandbagging signal": "dim",
}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "sandbag",
        help=help_of("sandbag"),
        description="Checks for a model underperforming on purpose on a hazard evaluation.",
    )
    checks = parser.add_subparsers(dest="check", metavar="CHECK", required=True)
    panel = checks.add_parser(
        "panel",
        help="from scores: hazard score above what capabilities predict, controls as predicted",
        description="For each target (hazard) benchmark and control benchmark, predict every "
        "model's score from its capabilities score (built without the controls) with a fit "
        "estimated without the model, and flag models that look safer on a target than "
        "predicted (BH q < alpha over every model and target) while no control is below "
        "prediction. With --items, also the accuracy-versus-difficulty check (van der Weij et "
        "al. 2024, appendix F).",
    )
    add_panel_arguments(panel)
    add_analysis_arguments(panel)
    stats = panel.add_argument_group("statistics")
    stats.add_argument(
        "--target", metavar="A,B", type=csv_list, required=True, help="hazard benchmarks"
    )
    stats.add_argument(
        "--controls",
        metavar="C,D",
        type=csv_list,
        help="benchmarks a sandbagger has no reason to fail (default: mmlu where present)",
    )
    from evalgap.analyses.sandbagging import sandbag_panel

    stats.add_argument(
        "--fit",
        **api_option(sandbag_panel, "fit"),
        default="auto",
        help="the prediction: auto picks linear or monotone by leave-one-out error (default)",
    )
    stats.add_argument(
        "--alpha",
        metavar="Q",
        **api_option(sandbag_panel, "alpha"),
        default=0.05,
        help="false discovery rate, between 0 and 1 (0.05)",
    )
    stats.add_argument(
        "--confidence",
        metavar="LEVEL",
        **api_option(sandbag_panel, "confidence_level"),
        default=0.95,
        help="between 0 and 1 (default: 0.95)",
    )
    stats.add_argument(
        "--items",
        metavar="PATH",
        nargs="+",
        help="per-item results on the targets (harness outputs or an item table) for the "
        "difficulty check",
    )
    stats.add_argument(
        "--bootstrap",
        metavar="N",
        **api_option(sandbag_panel, "n_boot"),
        default=1000,
        help="item resamples (1000)",
    )
    add_seed_argument(stats)
    out = add_output_arguments(panel)
    add_html_argument(out)
    panel.set_defaults(run=run_panel)
    from evalgap.cli._sandbag_noise import register as register_noise

    register_noise(checks)


def _items(paths: list[str] | None, targets: list[str]) -> dict | None:
    if not paths:
        return None
    from evalgap.analyses.safetywashing import item_matrix
    from evalgap.io import import_results

    imported = import_results(paths)
    found = set(imported.items["benchmark"]) if len(imported.items) else set()
    chosen = [t for t in targets if t in found]
    if not chosen:
        raise InputError(
            f"no per-item results for any target ({', '.join(targets)}) in the --items files",
            source=", ".join(paths),
        )
    return {t: item_matrix(imported.items, t, source=", ".join(paths)) for t in chosen}


def run_panel(args: argparse.Namespace) -> int:
    from evalgap.analyses.sandbagging import sandbag_panel

    fmt = output_format(args)
    panel, _ = load(args)
    result = sandbag_panel(
        panel,
        args.target,
        args.controls,
        capabilities=args.capabilities,
        fit=args.fit,
        alpha=args.alpha,
        confidence_level=args.confidence,
        items=_items(args.items, args.target),
        n_boot=args.bootstrap,
        seed=args.seed,
        impute=args.impute,
        pca=args.pca,
    )
    if fmt == "json":
        text = result.to_json()
    elif fmt == "csv":
        text = result.table.to_csv(index=False, float_format="%.6g")
    else:
        text = render_table(result, top=args.top, color=use_color(args))
    if args.html:
        write_html(result, args.html)
    emit(text, args.out)
    return 0


def render_table(result, *, top: int | None = None, color: bool = True) -> str:  # type: ignore[no-untyped-def]
    """The flags as terminal text."""
    s = result.settings
    con, buffer = make_console(color)
    con.print(Text(f"Sandbagging from scores, {s['panel'] or 'scores'}", style="bold"))
    con.print(
        f"Targets {', '.join(s['targets'])} (oriented: + is safer) and controls "
        f"{', '.join(s['controls'])} (left out of the capabilities score), each predicted from "
        "the capabilities score by a fit estimated without the model. Flagged: safer on a "
        f"target than predicted with BH q < {s['alpha']:g} over every model and target, and no "
        "control below prediction."
    )
    table = Table(header_style="bold")
    for col, kw in (
        ("Model", {"no_wrap": True}),
        ("Target", {}),
        ("z", {"justify": "right"}),
        ("Residual", {"justify": "right"}),
        ("Interval", {"justify": "center", "no_wrap": True}),
        ("p", {"justify": "right"}),
        ("q", {"justify": "right"}),
        ("Controls z", {"justify": "right"}),
        ("Verdict", {}),
    ):
        table.add_column(col, **kw)
    rows = result.table if top is None else result.table.head(top)
    for r in rows.itertuples():
        table.add_row(
            Text(str(r.model)),
            Text(str(r.target)),
            num(r.estimate, 2, signed=True),
            num(r.residual, 3, signed=True),
            f"[{num(r.ci_low, 3)}, {num(r.ci_high, 3)}]",
            num(r.p_value, 4),
            num(r.q_value, 4),
            num(r.controls_z, 2, signed=True),
            Text(str(r.verdict), style=_STYLE.get(str(r.verdict), "")),
        )
    con.print(table)
    if top is not None and top < len(result.table):
        con.print(f"(showing {top} of {len(result.table)} model-target pairs)")
    counts = result.table["verdict"].value_counts()
    con.print(
        ", ".join(f"{int(n)} {verdict}" for verdict, n in counts.items())
        + ". A flag is a reason to look closer (noise injection, probes), not proof."
    )
    if not result.difficulty.empty:
        flat = result.difficulty[result.difficulty["q_value"] < s["alpha"]]
        con.print(
            f"Difficulty check: {len(flat)} of {len(result.difficulty)} model-target curves "
            f"flatter than the other models' at q < {s['alpha']:g}"
            + (
                ": " + ", ".join(f"{r.model} ({r.target})" for r in flat.itertuples())
                if len(flat)
                else "."
            )
        )
    return buffer.getvalue()

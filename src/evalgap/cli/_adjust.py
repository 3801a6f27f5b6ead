"""``evalgap adjust``: how much safer is each model than its capabilities predict?

Usage::

    evalgap adjust (--panel NAME | --scores FILE ...) [--capabilities A,B,...]
                   [--impute] [--pca M] [--adjust A,B] [--fit auto|linear|monotone]
                   [--confidence L] [--model M]
                   [--format table|csv|json] [--out FILE] [--top N]
                   [--html FILE]
"""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from evalgap.analyses.safetywashing._adjust import LESS_SAFE, SAFER, AdjustResult, adjust
from evalgap.cli._common import (
    add_analysis_arguments,
    add_html_argument,
    add_output_arguments,
    add_panel_arguments,
    csv_list,
    emit,
    make_console,
    output_format,
    use_color,
    write_html,
)
from evalgap.cli._cure import (
    load,
    num,
)
from evalgap.cli._registry import help_of

_STYLE = {SAFER: "green", LESS_SAFE: "bold red"}
_SHORT = {SAFER: "safer than predicted", LESS_SAFE: "less safe than predicted"}
#: Up to this many benchmarks get their ranked table in the terminal output.
_DETAIL = 3


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "adjust",
        help=help_of("adjust"),
        description="For each safety benchmark, predict every model's score from its "
        "capabilities score with a linear or monotone fit estimated without that model "
        "(whichever has the smaller leave-one-out error), and report the residual with a "
        "prediction interval: safer or less safe than its capabilities predict, or within "
        "expectation.",
    )
    add_panel_arguments(parser)
    add_analysis_arguments(parser)
    stats = parser.add_argument_group("statistics")
    stats.add_argument(
        "--adjust",
        metavar="A,B",
        type=csv_list,
        help="benchmarks to adjust (default: every safety benchmark)",
    )
    stats.add_argument(
        "--fit",
        choices=("auto", "linear", "monotone"),
        default="auto",
        help="the prediction: auto picks linear or monotone by leave-one-out error (default)",
    )
    stats.add_argument(
        "--confidence",
        metavar="LEVEL",
        type=float,
        default=0.95,
        help="coverage of the prediction intervals (default: 0.95)",
    )
    stats.add_argument(
        "--model", metavar="M", help="show this model's adjusted scores across benchmarks"
    )
    out = add_output_arguments(parser)
    add_html_argument(out)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    fmt = output_format(args)
    panel, own = load(args)
    result = adjust(
        panel,
        args.capabilities,
        benchmarks=args.adjust if args.adjust is not None else own,
        fit=args.fit,
        confidence_level=args.confidence,
        impute=args.impute,
        pca=args.pca,
    )
    if args.model:
        result.model(args.model)  # fails early, with a clear message, on an unknown model
    if fmt == "json":
        text = result.to_json()
    elif fmt == "csv":
        frame = result.model(args.model) if args.model else result.table
        text = frame.to_csv(index=False, float_format="%.6g")
    else:
        text = render_table(result, top=args.top, model=args.model, color=use_color(args))
    if args.html:
        write_html(result, args.html)
    emit(text, args.out)
    return 0


def _assess(text: str) -> Text:
    return Text(_SHORT.get(text, "within"), style=_STYLE.get(text, "dim"))


def _fits_text(n: int, n_monotone: int) -> str:
    if n_monotone == 0:
        return f"linear fit, {n} models"
    if n_monotone == n:
        return f"monotone fit, {n} models"
    return f"{n} models: linear fit for {n - n_monotone}, monotone for {n_monotone}"


def _ranked(result: AdjustResult, bench: str, top: int | None) -> Table:
    level = result.settings["confidence_level"]
    fit = result.fits.set_index("benchmark").loc[bench]
    table = Table(
        title=f"{fit['name']} ({_fits_text(int(fit['n']), int(fit['n_monotone']))})",
        header_style="bold",
    )
    for col, kw in (
        ("#", {"justify": "right"}),
        ("Model", {"no_wrap": True}),
        ("Capab.", {"justify": "right"}),
        ("Observed", {"justify": "right"}),
        ("Predicted", {"justify": "right"}),
        ("Residual", {"justify": "right"}),
        (f"{level:.0%} interval", {"justify": "center", "no_wrap": True}),
        ("p", {"justify": "right"}),
        ("Assessment", {"no_wrap": True}),
    ):
        table.add_column(col, **kw)
    rows = result.ranking(bench)
    for r in rows.head(top).itertuples() if top else rows.itertuples():
        table.add_row(
            str(r.rank),
            str(r.model),
            num(r.capabilities_score),
            num(r.observed, 3),
            num(r.predicted, 3),
            num(r.residual, 3, signed=True),
            f"[{num(r.residual_low, 3)}, {num(r.residual_high, 3)}]",
            num(r.p_value, 3),
            _assess(r.assessment),
        )
    return table


def render_table(
    result: AdjustResult, *, top: int | None = None, model: str | None = None, color: bool = True
) -> str:
    """The adjusted scores as terminal text."""
    s = result.settings
    con, buffer = make_console(color)
    level = s["confidence_level"]
    con.print(Text(f"Capabilities-adjusted safety, {s['panel'] or 'scores'}", style="bold"))
    con.print(
        f"Residual = observed minus the score predicted from the capabilities score by a fit "
        f"estimated without the model (oriented: + is safer); {level:.0%} prediction interval "
        "(t for the linear fit, jackknife+ for the monotone fit). Each model's fit is chosen by "
        "leave-one-out error over the other models. By chance alone about "
        f"{1 - level:.0%} of models fall outside the interval on each benchmark."
    )
    if model:
        rows = result.model(model)
        table = Table(title=f"{model} across benchmarks", header_style="bold")
        for col in ("Benchmark", "Rank", "Residual", f"{level:.0%} interval", "p", "Assessment"):
            table.add_column(col)
        for r in rows.itertuples():
            table.add_row(
                r.benchmark,
                str(r.rank),
                num(r.residual, 3, signed=True),
                f"[{num(r.residual_low, 3)}, {num(r.residual_high, 3)}]",
                num(r.p_value, 3),
                _assess(r.assessment),
            )
        con.print(table)
        return buffer.getvalue()
    benches = result.fits["benchmark"].tolist()
    if len(benches) <= _DETAIL:
        for bench in benches:
            con.print(_ranked(result, bench, top))
        return buffer.getvalue()
    fits = result.fits.sort_values(["n_less_safe", "n_safer", "benchmark"], ascending=False)
    table = Table(title="Benchmarks", header_style="bold")
    for col, kw in (
        ("Benchmark", {"overflow": "fold", "max_width": 40}),
        ("n", {"justify": "right"}),
        ("Fit", {}),
        ("Monotone for", {"justify": "right"}),
        ("LOO RMSE lin.", {"justify": "right"}),
        ("LOO RMSE mono.", {"justify": "right"}),
        ("Safer", {"justify": "right"}),
        ("Less safe", {"justify": "right"}),
    ):
        table.add_column(col, **kw)
    for r in fits.head(top).itertuples() if top else fits.itertuples():
        table.add_row(
            str(r.name),
            str(r.n),
            r.fit,
            str(r.n_monotone),
            num(r.loo_rmse_linear, 3),
            num(r.loo_rmse_monotone, 3),
            str(r.n_safer),
            str(r.n_less_safe),
        )
    con.print(table)
    t = result.table
    per_model = (
        t.assign(safer=t["assessment"] == SAFER, less=t["assessment"] == LESS_SAFE)
        .groupby("model")
        .agg(n=("benchmark", "size"), safer=("safer", "sum"), less=("less", "sum"))
        .sort_values(["safer", "less"], ascending=[False, True])
    )
    mt = Table(title="Models across benchmarks", header_style="bold")
    for col in ("Model", "Benchmarks", "Safer than predicted", "Less safe than predicted"):
        mt.add_column(col, justify="left" if col == "Model" else "right")
    for name, r in per_model.iterrows():
        mt.add_row(str(name), str(r["n"]), str(r["safer"]), str(r["less"]))
    con.print(mt)
    con.print(
        f"{len(benches)} benchmarks; use --adjust A,B for ranked tables, --model M for one "
        "model, --format csv for every row."
    )
    return buffer.getvalue()

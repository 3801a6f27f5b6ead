"""``evalgap sensitivity``: which audit verdicts hinge on one analysis choice?

Usage::

    evalgap sensitivity (--panel NAME | --scores FILE ...) [--capabilities A,B,...]
                        [--impute] [--pca M] [--method M] [--audit A,B]
                        [--kinds capability,method,pca,mode,family] [--families FILE]
                        [--bootstrap N] [--confidence L] [--ci bca|percentile]
                        [--bands MOD,HIGH] [--seed S]
                        [--format table|csv|json] [--out FILE] [--long] [--top N]
                        [--html FILE]
"""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from evalgap.analyses.safetywashing._sensitivity import (
    VARIANT_KINDS,
    SensitivityResult,
    sensitivity,
)
from evalgap.cli._common import (
    add_analysis_arguments,
    add_html_argument,
    add_interval_arguments,
    add_output_arguments,
    add_panel_arguments,
    csv_list,
    emit,
    make_console,
    output_format,
    parse_bands,
    use_color,
    write_html,
)
from evalgap.cli._cure import (
    load,
    num,
)
from evalgap.cli._registry import help_of
from evalgap.errors import InputError
from evalgap.io import read_frame

_BAND_STYLE = {"high": "bold red", "moderate": "yellow", "low": "green"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "sensitivity",
        help=help_of("sensitivity"),
        description="Re-run the audit's capabilities correlation under variants that each "
        "change one choice: leave one capability benchmark out, another correlation method, "
        "another PCA matrix, the other missing-data mode, leave one model family out. Per "
        "benchmark: the range of correlations, the share of variants in the baseline's "
        "verdict band, and the variants that flip it.",
    )
    add_panel_arguments(parser)
    add_analysis_arguments(parser)
    stats = parser.add_argument_group("baseline and variants")
    stats.add_argument(
        "--audit",
        metavar="A,B",
        type=csv_list,
        help="benchmarks to check (default: every non-capability benchmark)",
    )
    stats.add_argument(
        "--method",
        choices=("spearman", "pearson", "kendall"),
        default="spearman",
        help="the baseline's correlation (default: spearman)",
    )
    stats.add_argument(
        "--kinds",
        metavar="K,K",
        type=csv_list,
        default=list(VARIANT_KINDS),
        help=f"kinds of variant to run (default: {','.join(VARIANT_KINDS)})",
    )
    stats.add_argument(
        "--families",
        metavar="FILE",
        help="table with columns model,family (default: the panel's family column, else "
        "model-name prefixes)",
    )
    stats.add_argument(
        "--bootstrap",
        metavar="N",
        type=int,
        default=0,
        help="bootstrap resamples per variant for interval verdicts (default: 0, bands of "
        "point estimates only)",
    )
    add_interval_arguments(stats)
    out = add_output_arguments(parser)
    out.add_argument(
        "--long",
        action="store_true",
        help="csv: one row per benchmark and variant instead of one per benchmark",
    )
    add_html_argument(out)
    parser.set_defaults(run=run)


def _families(path: str | None) -> dict[str, str] | None:
    if not path:
        return None
    frame = read_frame(path)
    cols = {str(c).strip().lower(): c for c in frame.columns}
    if "model" not in cols or "family" not in cols:
        raise InputError("a families table needs the columns model and family", source=path)
    out: dict[str, str] = {}
    for row, (model, family) in enumerate(
        zip(frame[cols["model"]], frame[cols["family"]], strict=True), start=2
    ):
        if model is None or family is None or not str(model).strip() or not str(family).strip():
            raise InputError("empty model or family", source=path, where=f"line {row}")
        out[str(model).strip()] = str(family).strip()
    return out


def run(args: argparse.Namespace) -> int:
    fmt = output_format(args)
    panel, own = load(args)
    result = sensitivity(
        panel,
        args.capabilities,
        benchmarks=args.audit if args.audit is not None else own,
        method=args.method,
        impute=args.impute,
        pca=args.pca,
        bands=parse_bands(args.bands),
        kinds=args.kinds,
        families=_families(args.families),
        n_boot=args.bootstrap,
        confidence_level=args.confidence,
        ci_method=args.ci,
        seed=args.seed,
    )
    if fmt == "json":
        text = result.to_json()
    elif fmt == "csv":
        frame = result.variants if args.long else result.table
        text = frame.to_csv(index=False, float_format="%.6g")
    else:
        text = render_table(result, top=args.top, color=use_color(args))
    if args.html:
        write_html(result, args.html)
    emit(text, args.out)
    return 0


def _band(text: str) -> Text:
    return Text(text, style=_BAND_STYLE.get(text.split()[0], ""))


def render_table(result: SensitivityResult, *, top: int | None = None, color: bool = True) -> str:
    """The sensitivity analysis as terminal text."""
    s = result.settings
    table = result.table
    info = result.variant_info
    con, buffer = make_console(color)
    kinds = info.groupby("kind", sort=False).size()
    con.print(
        Text(f"Sensitivity of the safetywashing audit of {s['panel'] or 'scores'}", style="bold")
    )
    con.print(
        f"Baseline: {s['method']} correlation, PCA on the {s['pca']} matrix, "
        f"{s['capabilities_mode']} mode. {len(info)} variants ("
        + ", ".join(f"{n} {k}" for k, n in kinds.items())
        + ")."
    )
    fragile = int((table["share_agree"] < 0.8).sum())
    con.print(
        Text.assemble(
            (f"{int(table['flipped'].sum())} of {len(table)}", "bold"),
            " benchmarks change verdict band under at least one variant; "
            f"{fragile} keep the baseline band in fewer than 80% of variants.",
        )
    )
    out = Table(header_style="bold")
    for col, kw in (
        ("Benchmark", {"overflow": "fold", "max_width": 34}),
        ("ρ", {"justify": "right"}),
        ("Band", {}),
        ("Range", {"justify": "center"}),
        ("Agree", {"justify": "right"}),
        ("Flips", {"justify": "right"}),
        ("Variants that flip it", {"overflow": "fold", "max_width": 44}),
    ):
        out.add_column(col, **kw)
    rows = table if top is None else table.head(top)
    for r in rows.itertuples():
        flips = r.flips.split("; ") if r.flips else []
        shown = ", ".join(flips[:4]) + (f" +{len(flips) - 4} more" if len(flips) > 4 else "")
        out.add_row(
            str(r.name),
            num(r.capabilities_correlation),
            _band(r.band),
            f"[{num(r.rho_min)}, {num(r.rho_max)}]",
            f"{r.share_agree:.0%}" if r.share_agree == r.share_agree else "–",
            str(r.n_flips),
            shown,
        )
    con.print(out)
    if top is not None and top < len(table):
        con.print(f"(showing {top} of {len(table)} benchmarks, least robust first)")
    var = Table(title="Benchmarks each variant flips", header_style="bold")
    var.add_column("Variant")
    var.add_column("Models", justify="right")
    var.add_column("Flips", justify="right")
    var.add_column("Status")
    for r in info.sort_values(["n_flips", "variant"], ascending=[False, True]).itertuples():
        var.add_row(r.variant, str(r.n_models), str(r.n_flips), r.status)
    con.print(var)
    con.print(
        "A variant flips a benchmark when the band (sign included) of its point estimate "
        "differs from the baseline's; other methods' correlations are put on the baseline "
        "method's scale first. Range and Agree are over the variants."
    )
    return buffer.getvalue()

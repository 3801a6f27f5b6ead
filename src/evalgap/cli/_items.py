"""``evalgap items``: which items make a benchmark track capabilities, and a decorrelated
subset checked on held-out models.

Usage::

    evalgap items PATH... [--benchmark NAME]
                  (--panel NAME | --scores FILE ... [--capabilities A,B,...] [--impute]
                   [--pca M] [--model-map FILE]
                   | --capability-scores FILE | --proxy)
                  [--target R] [--floor A] [--min-items K] [--folds F] [--no-prune]
                  [--method spearman|pearson] [--bootstrap N] [--confidence L] [--seed S]
                  [--format table|csv|json] [--out FILE] [--top N] [--subset-out FILE]
                  [--html FILE]

PATH is harness output (lm-eval samples, Inspect logs, HELM run folders, read with
``evalgap import``'s readers) or one item table: long (``model, [benchmark,] item,
score``) or wide (first column the model, one column per item).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from rich.table import Table
from rich.text import Text

from evalgap.analyses.safetywashing._capability import MIN_MODELS, capabilities_score
from evalgap.analyses.safetywashing._items import (
    ItemAnalysis,
    item_analysis,
    item_matrix,
    other_benchmarks_proxy,
)
from evalgap.cli._common import (
    add_analysis_arguments,
    add_html_argument,
    add_output_arguments,
    add_panel_arguments,
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
from evalgap.errors import InputError
from evalgap.io import read_frame

_TABLE_SUFFIXES = {".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "items",
        help=help_of("items"),
        description="From per-item scores (lm-eval samples, Inspect logs, HELM run folders, "
        "or an item table): each item's correlation with capabilities, the benchmark's "
        "reliability (KR-20 / Cronbach's alpha, split-half), and a subset of items whose "
        "score correlates with capabilities below a target while its reliability stays "
        "above a floor, chosen by cross-validation across models.",
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="harness outputs or one item table"
    )
    parser.add_argument(
        "--benchmark",
        metavar="NAME",
        help="the benchmark to analyse when the items hold several (not --benchmarks, the "
        "benchmark-info file of --scores)",
    )
    add_panel_arguments(parser)
    add_analysis_arguments(parser)
    cap = parser.add_argument_group("capabilities score, when not from --panel/--scores")
    # --model-map comes with add_panel_arguments.
    cap.add_argument(
        "--capability-scores",
        metavar="FILE",
        help="a table model,score with each model's capabilities score (or any proxy)",
    )
    cap.add_argument(
        "--proxy",
        action="store_true",
        help="use each model's mean z-score on the other benchmarks read from PATH as a "
        "stand-in (labelled a proxy; it measures what those benchmarks share)",
    )
    sel = parser.add_argument_group("selection")
    sel.add_argument(
        "--target",
        metavar="R",
        type=float,
        default=0.3,
        help="largest acceptable |correlation| of the subset with capabilities (default: 0.3)",
    )
    sel.add_argument(
        "--floor",
        metavar="A",
        type=float,
        default=0.7,
        help="smallest acceptable KR-20 / alpha of the subset (default: 0.7)",
    )
    sel.add_argument(
        "--min-items", metavar="K", type=int, default=10, help="fewest items (default: 10)"
    )
    sel.add_argument(
        "--folds", metavar="F", type=int, default=5, help="cross-validation folds (default: 5)"
    )
    sel.add_argument(
        "--no-prune",
        action="store_true",
        help="do not drop items that lower reliability, only capability-laden ones",
    )
    sel.add_argument(
        "--no-select", action="store_true", help="item statistics and reliability only"
    )
    sel.add_argument(
        "--method",
        choices=("spearman", "pearson"),
        default="spearman",
        help="correlation with capabilities (default: spearman)",
    )
    sel.add_argument(
        "--bootstrap",
        metavar="N",
        type=int,
        default=1000,
        help="bootstrap resamples of models for the intervals; 0 turns them off (default: 1000)",
    )
    sel.add_argument(
        "--confidence", metavar="LEVEL", type=float, default=0.95, help="default: 0.95"
    )
    sel.add_argument("--seed", metavar="S", type=int, default=0, help="default: 0")
    out = add_output_arguments(parser)
    out.add_argument(
        "--subset-out", metavar="FILE", help="write the subset's item ids here, one per line"
    )
    add_html_argument(out)
    parser.set_defaults(run=run)


def _read_items(paths: list[str]) -> tuple[pd.DataFrame | None, pd.DataFrame | None, dict]:
    """(long item records or None, wide item table or None, headline scores info)."""
    if (
        len(paths) == 1
        and Path(paths[0]).is_file()
        and (
            Path(paths[0]).suffix.lower() in _TABLE_SUFFIXES
            or (Path(paths[0]).suffix.lower() == ".json" and _is_item_table(paths[0]))
        )
    ):
        frame = read_frame(paths[0])
        lower = {str(c).strip().lower(): c for c in frame.columns}
        if {"model", "item", "score"} <= set(lower):
            cols = {lower[c]: c for c in ("model", "benchmark", "item", "score") if c in lower}
            return frame.rename(columns=cols)[list(cols.values())], None, {}
        first = frame.columns[0]
        wide = frame.set_index(first)
        wide.index = wide.index.astype(str)
        return None, wide, {}
    from evalgap.io._detect import import_results

    imported = import_results(paths)
    if imported.items.empty:
        raise InputError(
            "no per-item scores in these files (lm-eval needs --log_samples; Inspect logs "
            "need samples; HELM needs per_instance_stats.json)",
            source=", ".join(paths),
        )
    bench = imported.benchmarks.set_index("benchmark")
    hib = {
        str(b): (True if v is None or pd.isna(v) else bool(v))
        for b, v in bench.get("higher_is_better", pd.Series(dtype=object)).items()
    }
    return imported.items, None, {"wide": imported.wide(), "higher_is_better": hib}


def _is_item_table(path: str) -> bool:
    try:
        head = Path(path).read_text(encoding="utf-8", errors="replace")[:2000].lstrip()
    except OSError:
        return False
    return head.startswith("[")


def _capabilities(
    args: argparse.Namespace, models: list[str], extra: dict, benchmark: str
) -> tuple[pd.Series, str]:
    """The capabilities score per item-matrix model, and its label."""
    chosen = [bool(args.panel or args.scores), bool(args.capability_scores), bool(args.proxy)]
    if sum(chosen) != 1:
        raise InputError(
            "give exactly one source of capabilities scores: --panel/--scores, "
            "--capability-scores FILE or --proxy",
            source="arguments",
        )
    if args.capability_scores:
        frame = read_frame(args.capability_scores)
        lower = {str(c).strip().lower(): c for c in frame.columns}
        value = next(
            (lower[c] for c in ("score", "capabilities", "capabilities_score") if c in lower), None
        )
        if "model" not in lower or value is None:
            raise InputError(
                "a capability-scores table needs the columns model and score",
                source=args.capability_scores,
            )
        series = pd.to_numeric(frame[value], errors="coerce")
        series.index = frame[lower["model"]].astype(str).str.strip()
        return series, f"capabilities scores from {Path(args.capability_scores).name}"
    if args.proxy:
        wide = extra.get("wide")
        if wide is None or benchmark not in wide.columns:
            raise InputError(
                "--proxy needs harness outputs holding other benchmarks of the same models",
                source="arguments",
            )
        proxy = other_benchmarks_proxy(
            wide, benchmark, higher_is_better=extra.get("higher_is_better")
        )
        return proxy, str(proxy.name)
    model_map = getattr(args, "model_map", None)
    # --model-map pairs the item files' models with the panel's here, not scores files.
    panel, _ = load(argparse.Namespace(**{**vars(args), "model_map": None}))
    cap = capabilities_score(panel, args.capabilities, impute=args.impute, pca=args.pca)
    scores = cap.scores.dropna()
    from evalgap.io._matching import match_models

    match = match_models(models, panel, model_map=model_map)
    pairs = {m: p for m, p in match.mapping.items() if p in scores.index}
    if len(pairs) < MIN_MODELS:
        shown = ", ".join(f"{m} -> {p}" for m, p in sorted(pairs.items())) or "none"
        raise InputError(
            f"only {len(pairs)} of {len(models)} models of the item files match a scored "
            f"model of {panel.source or 'the panel'} ({shown}); at least {MIN_MODELS} are "
            "needed: pair names with --model-map, or give --capability-scores FILE or --proxy",
            source="arguments",
        )
    series = pd.Series(
        {m: scores.get(pairs[m], float("nan")) for m in models if m in pairs}, dtype=float
    )
    label = (
        f"capabilities score of {panel.source or 'the panel'} ({len(series.dropna())} of "
        f"{len(models)} models matched)"
    )
    return series, label


def run(args: argparse.Namespace) -> int:
    fmt = output_format(args)
    records, wide, extra = _read_items(args.paths)
    if records is not None:
        benchmark = args.benchmark
        if benchmark is None and "benchmark" in records.columns:
            names = sorted(records["benchmark"].dropna().astype(str).unique())
            if len(names) == 1:
                benchmark = names[0]
        matrix = item_matrix(records, benchmark, source=", ".join(args.paths))
    else:
        assert wide is not None
        benchmark = args.benchmark or Path(args.paths[0]).stem
        matrix = wide.apply(pd.to_numeric, errors="coerce")
    benchmark = benchmark or "benchmark"
    caps, label = _capabilities(args, [str(m) for m in matrix.index], extra, benchmark)
    result = item_analysis(
        matrix,
        caps,
        method=args.method,
        target=args.target,
        reliability_floor=args.floor,
        select=not args.no_select,
        prune_unreliable=not args.no_prune,
        min_items=args.min_items,
        folds=args.folds,
        n_boot=args.bootstrap,
        confidence_level=args.confidence,
        seed=args.seed,
        benchmark=benchmark,
        capabilities_label=label,
    )
    if fmt == "json":
        text = result.to_json()
    elif fmt == "csv":
        text = result.table.to_csv(index=False, float_format="%.6g")
    else:
        text = render_table(result, top=args.top, color=use_color(args))
    if args.subset_out:
        from evalgap._output import write_atomic

        write_atomic(Path(args.subset_out), "".join(f"{i}\n" for i in result.subset))
    if args.html:
        write_html(result, args.html)
    emit(text, args.out)
    return 0


def render_table(result: ItemAnalysis, *, top: int | None = None, color: bool = True) -> str:
    """The item analysis as terminal text."""
    s = result.settings
    con, buffer = make_console(color)
    rel = s["reliability"]
    full, sub = result.summary.iloc[0], result.summary.iloc[1]
    con.print(
        Text.assemble(
            (f"Item analysis of {s['benchmark']}", "bold"),
            f": {s['n_models']} models x {s['n_items']} items; capabilities: {s['capabilities']}",
        )
    )
    level = s["confidence_level"]
    con.print(
        f"Full benchmark: {s['method']} ρ {num(full.correlation)} "
        f"[{num(full.ci_low)}, {num(full.ci_high)}]; {rel} {num(full.alpha)}; "
        f"split-half {num(full.split_half)}."
    )
    if s["select"]:
        con.print(
            Text.assemble(
                "Decorrelated subset: ",
                (f"{int(sub.n_items)} items", "bold"),
                f"; ρ in-sample {num(sub.correlation)} [{num(sub.ci_low)}, {num(sub.ci_high)}], ",
                (
                    f"held-out {num(sub.heldout_correlation)} [{num(sub.heldout_ci_low)}, "
                    f"{num(sub.heldout_ci_high)}]",
                    "bold",
                ),
                f" ({s['folds']}-fold CV across models); "
                f"{rel} {num(sub.alpha)}; split-half {num(sub.split_half)}. Target |ρ| ≤ "
                f"{s['target']}: {'met' if result.meets_target else 'NOT met'}; floor {rel} ≥ "
                f"{s['reliability_floor']}: {'met' if result.meets_floor else 'NOT met'} "
                f"(on the models it was chosen on). {level:.0%} percentile bootstrap intervals, "
                "selection held fixed.",
            )
        )
    table = Table(title="Items that track capabilities most", header_style="bold")
    for col, kw in (
        ("Item", {"overflow": "fold", "max_width": 40}),
        ("Mean", {"justify": "right"}),
        ("ρ capab.", {"justify": "right"}),
        ("Item-rest r", {"justify": "right"}),
        ("In subset", {}),
        ("Chosen in folds", {"justify": "right"}),
    ):
        table.add_column(col, **kw)
    rows = result.table.head(top if top is not None else 15)
    for r in rows.itertuples():
        rate = r.selection_rate
        table.add_row(
            str(r.item),
            num(r.mean),
            num(r.capabilities_correlation),
            num(r.item_rest_correlation),
            "yes" if r.selected else "no",
            "–" if rate != rate else f"{rate:.0%}",
        )
    con.print(table)
    if len(result.folds):
        ft = Table(title="Cross-validation folds", header_style="bold")
        for col in ("Fold", "Train", "Held out", "Items", "ρ train", "ρ held-out", f"{rel} train"):
            ft.add_column(col, justify="right")
        for r in result.folds.itertuples():
            ft.add_row(
                str(r.fold),
                str(r.n_train),
                str(r.n_test),
                str(r.n_items),
                num(r.train_correlation),
                num(r.test_correlation),
                num(r.train_alpha),
            )
        con.print(ft)
    for note in result.notes:
        con.print(f"Note: {note}.")
    if s["n_models"] < 20:
        con.print(
            f"Note: with {s['n_models']} models these correlations are very uncertain; read the "
            "subset as a hypothesis to test on more models."
        )
    return buffer.getvalue()

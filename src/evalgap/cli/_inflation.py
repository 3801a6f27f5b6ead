"""``evalgap inflation``: is a score inflated by contamination?

Usage::

    evalgap inflation reference (--scores PATH... | --constat-table FILE)
                                [--benchmark B --reference-benchmark R]
                                [--references A,B,...] [--models A,B,...]
                                [--chance C] [--chance-reference C] [--margin D]
                                [--bootstrap N] [--confidence L] [--alpha A] [--seed S]
                                [--format table|csv|json] [--out FILE] [--top N] [--html FILE]
    evalgap inflation holdout (--scores PATH... --public P --holdout H | --gaps FILE)
                              [--signal FILE] [--signal-name NAME] [--paired | --unpaired]
                              [--method spearman|pearson|kendall] [--bootstrap N]
                              [--permutations N] [--confidence L] [--alpha A] [--seed S] ...
    evalgap inflation indistinguishable [--public-texts FILE --holdout-texts FILE]
                              [--text-field NAME] [--scores PATH... --public P --holdout H]
                              [--models A,B,...] [--band B] [--no-embed] [--no-classifier]
                              [--bootstrap N] [--permutations N] [--alpha A] [--seed S] ...
    evalgap inflation likelihood MODEL [--adapter DIR] --items FILE [--member-field NAME]
                              [--methods ...] [--exchangeability all,members,non-members]
                              [--shards N] [--permutations N] [--state DIR] ...

The first three read scores; ``likelihood`` reads the model itself (the ``models`` extra)
and the benchmark's items.

Scores are harness outputs (lm-eval samples, Inspect logs, HELM run folders: their
per-item scores, else their aggregates with standard errors) or one table of per-item
records (``model, benchmark, item, score``) or aggregates (``model, benchmark, score,
stderr``).
"""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from evalgap.analyses.inflation import (
    HoldoutResult,
    IndistinguishableResult,
    ReferenceTestResult,
    holdout_gap,
    indistinguishable,
    read_constat_table,
    reference_test,
)
from evalgap.analyses.inflation._data import read_two_columns
from evalgap.cli._common import (
    add_html_argument,
    add_output_arguments,
    add_seed_argument,
    api_option,
    csv_list,
    emit,
    make_console,
    output_format,
    progress_bar,
    use_color,
    write_html,
)
from evalgap.cli._cure import num
from evalgap.cli._likelihood import register_likelihood
from evalgap.cli._registry import help_of
from evalgap.errors import InputError
from evalgap.io import detect_format, file_sha256, import_results, read_frame


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "inflation",
        help=help_of("inflation"),
        description="Contamination tests from scores: the reference-model test (ConStat), "
        "the public-minus-holdout gap and its correlation with a memorisation signal, and "
        "the checks that a holdout is drawn like the public set; and from the model's own "
        "likelihoods (needs the weights): Min-K%++ and the exchangeability test.",
    )
    tests = parser.add_subparsers(dest="test", metavar="TEST")
    tests.required = True
    _register_reference(tests)
    _register_holdout(tests)
    _register_indistinguishable(tests)
    register_likelihood(tests)


# -- arguments -------------------------------------------------------------------------------


def _scores_argument(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--scores",
        metavar="PATH",
        nargs="+",
        help="harness outputs (folders are walked) or one table of per-item records "
        "(model,benchmark,item,score) or aggregates (model,benchmark,score,stderr)",
    )
    group.add_argument(
        "--metric",
        metavar="[BENCH=]METRIC",
        action="append",
        help="headline metric of harness outputs, for every benchmark or one (repeatable)",
    )


def _common_statistics(
    group: argparse._ArgumentGroup, analysis: Callable[..., Any], *, permutations: bool
) -> None:
    """``--confidence`` (when ``analysis`` has intervals), ``--bootstrap``,
    ``--permutations``, ``--alpha`` and ``--seed``, checked by the constraints ``analysis``
    declares."""
    if "confidence_level" in inspect.signature(analysis).parameters:
        group.add_argument(
            "--confidence",
            metavar="LEVEL",
            **api_option(analysis, "confidence_level"),
            default=0.95,
            help="default: 0.95",
        )
    group.add_argument(
        "--bootstrap",
        metavar="N",
        **api_option(analysis, "n_boot"),
        default=10_000,
        help="bootstrap rounds (default: 10000)",
    )
    if permutations:
        group.add_argument(
            "--permutations",
            metavar="N",
            **api_option(analysis, "n_perm"),
            default=None,
            help="permutations for p-values (default: 10000 for holdout, 1000 for "
            "indistinguishable)",
        )
    group.add_argument(
        "--alpha",
        metavar="A",
        **api_option(analysis, "alpha"),
        default=0.05,
        help="q-value (or p-value for the holdout checks) below which a finding is reported "
        "(default: 0.05)",
    )
    add_seed_argument(group)


def _output(parser: argparse.ArgumentParser) -> None:
    out = add_output_arguments(parser)
    add_html_argument(out)


def _register_reference(tests: argparse._SubParsersAction) -> None:
    parser = tests.add_parser(
        "reference",
        help="ConStat's reference-model test: accuracy on a benchmark beyond what its "
        "reference benchmark predicts through uncontaminated reference models",
        description="Per bootstrap round: resample the items of the benchmark and of the "
        "reference benchmark, resample the reference models (at least 5 distinct), add a "
        "random-guess model, fit a monotone smoothing spline of benchmark on reference "
        "accuracy (GCV) and take each tested model's accuracy minus the fit. A tested "
        "model is never one of its own references.",
    )
    read = parser.add_argument_group("what to read")
    _scores_argument(read)
    read.add_argument(
        "--constat-table",
        metavar="FILE",
        help="one of ConStat's result tables (tables/<benchmark>_<kind>.csv): aggregates "
        "with standard errors, its benchmarks and chance levels",
    )
    read.add_argument("--benchmark", metavar="B", help="the benchmark that may be inflated")
    read.add_argument(
        "--reference-benchmark",
        metavar="R",
        help="a benchmark of the same skill (rephrase, synthetic twin, or another benchmark)",
    )
    read.add_argument(
        "--references",
        metavar="A,B",
        type=csv_list,
        help="reference models (default: the well-known base models present)",
    )
    read.add_argument(
        "--models", metavar="A,B", type=csv_list, help="models to test (default: every model)"
    )
    stats = parser.add_argument_group("statistics")
    stats.add_argument(
        "--chance",
        metavar="C",
        **api_option(reference_test, "chance"),
        help="random-guess accuracy on the benchmark (default: 0, or the ConStat table's)",
    )
    stats.add_argument(
        "--chance-reference",
        metavar="C",
        **api_option(reference_test, "chance_reference"),
        help="random-guess accuracy on the reference benchmark (default: --chance)",
    )
    stats.add_argument(
        "--margin",
        metavar="D",
        **api_option(reference_test, "margin"),
        default=0.0,
        help="inflation tested against, in accuracy (H0: delta <= D; default: 0)",
    )
    _common_statistics(stats, reference_test, permutations=False)
    _output(parser)
    parser.set_defaults(run=run_reference)


def _register_holdout(tests: argparse._SubParsersAction) -> None:
    parser = tests.add_parser(
        "holdout",
        help="the public-minus-holdout gap per model, and its correlation with a "
        "memorisation signal",
        description="Per model, the public-minus-holdout gap with a bootstrap interval over "
        "items (paired where the item ids match), a one-sided p-value and q-values; with "
        "--signal, the gap's correlation with a memorisation signal across models.",
    )
    read = parser.add_argument_group("what to read")
    _scores_argument(read)
    read.add_argument("--public", metavar="P", help="the public benchmark in --scores")
    read.add_argument("--holdout", metavar="H", help="the held-out benchmark in --scores")
    read.add_argument(
        "--gaps",
        metavar="FILE",
        help="per-model gaps instead of scores: model,gap[,gap_se] (a header is optional)",
    )
    read.add_argument(
        "--signal",
        metavar="FILE",
        help="memorisation signal per model: two columns model,value (CSV, or TSV for "
        ".tsv), e.g. GSM1k's averages.tsv",
    )
    read.add_argument(
        "--signal-name",
        metavar="NAME",
        default="memorisation signal",
        help="its name in the output",
    )
    read.add_argument(
        "--models", metavar="A,B", type=csv_list, help="models to report (default: every model)"
    )
    stats = parser.add_argument_group("statistics")
    pairing = stats.add_mutually_exclusive_group()
    pairing.add_argument(
        "--paired",
        dest="paired",
        action="store_true",
        default=None,
        help="resample matched items together (default: when the two sets have the same item ids)",
    )
    pairing.add_argument("--unpaired", dest="paired", action="store_false")
    stats.add_argument(
        "--method",
        **api_option(holdout_gap, "method"),
        default="spearman",
        help="correlation with the signal (default: spearman)",
    )
    _common_statistics(stats, holdout_gap, permutations=True)
    _output(parser)
    parser.set_defaults(run=run_holdout)


def _register_indistinguishable(tests: argparse._SubParsersAction) -> None:
    parser = tests.add_parser(
        "indistinguishable",
        help="is the holdout drawn like the public set: difficulty parity, sentence "
        "embeddings, a text classifier",
        description="Difficulty parity (models that predate the public set score the same "
        "on both, within a band: an equivalence test), an MMD test on sentence embeddings "
        "(offline all-MiniLM-L6-v2; needs the torch extra) and a classifier two-sample test "
        "on the item texts.",
    )
    read = parser.add_argument_group("what to read")
    read.add_argument(
        "--public-texts",
        metavar="FILE",
        help="public item texts: JSON Lines (field --text-field) or one item per line",
    )
    read.add_argument("--holdout-texts", metavar="FILE", help="held-out item texts, likewise")
    read.add_argument(
        "--text-field",
        metavar="NAME",
        default="question",
        help="JSON field holding the text (default: question)",
    )
    _scores_argument(read)
    read.add_argument(
        "--public", metavar="P", default="public", help="public benchmark in --scores"
    )
    read.add_argument(
        "--holdout", metavar="H", default="holdout", help="held-out benchmark in --scores"
    )
    read.add_argument(
        "--models",
        metavar="A,B",
        type=csv_list,
        help="models that predate the public set (default: every model in --scores)",
    )
    stats = parser.add_argument_group("statistics")
    stats.add_argument(
        "--band",
        metavar="B",
        **api_option(indistinguishable, "band"),
        default=0.05,
        help="difficulty parity band, in accuracy (default: 0.05)",
    )
    stats.add_argument("--no-embed", action="store_true", help="skip the embedding test")
    stats.add_argument("--no-classifier", action="store_true", help="skip the classifier test")
    _common_statistics(stats, indistinguishable, permutations=True)
    _output(parser)
    parser.set_defaults(run=run_indistinguishable)


# -- reading ---------------------------------------------------------------------------------


def _read_scores(paths: list[str], metric: list[str] | None) -> tuple[Any, dict[str, str]]:
    """One table as a DataFrame, or harness outputs through the importer; and the
    sha256 of every file read."""
    if len(paths) == 1 and not metric and detect_format(paths[0]) == "table":
        return read_frame(paths[0]), {paths[0]: file_sha256(paths[0])}
    imported = import_results(paths, metric=metric)
    files = {
        source: file_sha256(source)
        for source in sorted({str(s) for s in imported.read["source"]})
        if Path(source).is_file()
    }
    return imported, files


def _read_texts(path: str, field: str) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", source=path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", source=path) from None
    texts: list[str] = []
    json_lines = p.suffix.lower() in (".jsonl", ".ndjson")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if not json_lines:
            texts.append(line)
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not valid JSON ({exc.msg})", source=path, where=f"line {number}"
            ) from None
        if not isinstance(row, dict) or not isinstance(row.get(field), str):
            raise InputError(f"no text field {field!r}", source=path, where=f"line {number}")
        texts.append(row[field])
    if len(texts) < 2:
        raise InputError("fewer than 2 item texts", source=path)
    return texts


# -- running ---------------------------------------------------------------------------------


def run_reference(args: argparse.Namespace) -> int:
    fmt = output_format(args)
    chance, chance_ref = args.chance, args.chance_reference
    if args.constat_table:
        if args.scores:
            raise InputError("give --scores or --constat-table, not both", source="arguments")
        table = read_constat_table(args.constat_table)
        data: Any = table.records
        files = {args.constat_table: file_sha256(args.constat_table)}
        benchmark = args.benchmark or table.benchmark
        reference = args.reference_benchmark or table.reference_benchmark
        chance = table.chance if chance is None else chance
        if chance_ref is None:
            chance_ref = table.chance_reference if args.chance is None else chance
    elif args.scores:
        data, files = _read_scores(args.scores, args.metric)
        if not args.benchmark or not args.reference_benchmark:
            raise InputError("name --benchmark and --reference-benchmark", source="arguments")
        benchmark, reference = args.benchmark, args.reference_benchmark
    else:
        raise InputError("nothing to read: give --scores or --constat-table", source="arguments")
    with progress_bar("bootstrap", True) as progress:
        result = reference_test(
            data,
            benchmark=benchmark,
            reference_benchmark=reference,
            models=args.models,
            references=args.references,
            chance=0.0 if chance is None else chance,
            chance_reference=chance_ref,
            n_boot=args.bootstrap,
            confidence_level=args.confidence,
            alpha=args.alpha,
            margin=args.margin,
            seed=args.seed,
            inputs=files,
            source=", ".join(args.scores or [args.constat_table]),
            progress=progress,
        )
    _finish(args, fmt, result, result.table, render_reference)
    return 0


def run_holdout(args: argparse.Namespace) -> int:
    fmt = output_format(args)
    files: dict[str, str] = {}
    if args.gaps:
        if args.scores:
            raise InputError("give --scores or --gaps, not both", source="arguments")
        data: Any = _read_gaps(args.gaps)
        files[args.gaps] = file_sha256(args.gaps)
    elif args.scores:
        data, files = _read_scores(args.scores, args.metric)
    else:
        raise InputError(
            "nothing to read: give --scores (with --public, --holdout) or --gaps",
            source="arguments",
        )
    signal = None
    if args.signal:
        signal = read_two_columns(args.signal, "signal")
        files[args.signal] = file_sha256(args.signal)
    with progress_bar("bootstrap", True) as progress:
        result = holdout_gap(
            data,
            public=args.public,
            holdout=args.holdout,
            models=args.models,
            memorisation=signal,
            signal_name=args.signal_name,
            paired=args.paired,
            method=args.method,
            n_boot=args.bootstrap,
            n_perm=10_000 if args.permutations is None else args.permutations,
            confidence_level=args.confidence,
            alpha=args.alpha,
            seed=args.seed,
            inputs=files,
            source=", ".join(args.scores or [args.gaps]),
            progress=progress,
        )
    _finish(args, fmt, result, result.table, render_holdout)
    return 0


def _read_gaps(path: str) -> pd.DataFrame:
    """``model,gap[,gap_se]`` with a header, or two headerless columns model,gap."""
    try:
        frame = read_frame(path)
    except InputError:
        frame = None
    if frame is not None and {"model", "gap"} <= set(frame.columns):
        return frame
    return read_two_columns(path, "gap")


def run_indistinguishable(args: argparse.Namespace) -> int:
    fmt = output_format(args)
    files: dict[str, str] = {}
    public_texts = holdout_texts = None
    if bool(args.public_texts) != bool(args.holdout_texts):
        raise InputError("give both --public-texts and --holdout-texts", source="arguments")
    if args.public_texts:
        public_texts = _read_texts(args.public_texts, args.text_field)
        holdout_texts = _read_texts(args.holdout_texts, args.text_field)
        files[args.public_texts] = file_sha256(args.public_texts)
        files[args.holdout_texts] = file_sha256(args.holdout_texts)
    scores = None
    if args.scores:
        scores, more = _read_scores(args.scores, args.metric)
        files.update(more)
    if scores is None and public_texts is None:
        raise InputError(
            "nothing to check: give --public-texts and --holdout-texts, and/or --scores",
            source="arguments",
        )
    with progress_bar("bootstrap", scores is not None) as progress:
        result = indistinguishable(
            public_texts,
            holdout_texts,
            scores=scores,
            public=args.public,
            holdout=args.holdout,
            models=args.models,
            band=args.band,
            embed=not args.no_embed,
            classifier=not args.no_classifier,
            n_boot=args.bootstrap,
            n_perm=1000 if args.permutations is None else args.permutations,
            alpha=args.alpha,
            seed=args.seed,
            inputs=files,
            source=", ".join(args.scores or ["scores"]),
            progress=progress,
        )
    _finish(args, fmt, result, result.table, render_indistinguishable)
    return 0


def _finish(
    args: argparse.Namespace, fmt: str, result: Any, frame: pd.DataFrame, render: Any
) -> None:
    if fmt == "json":
        text = result.to_json()
    elif fmt == "csv":
        text = frame.to_csv(index=False, float_format="%.6g")
    else:
        text = render(result, top=args.top, color=use_color(args))
    if args.html:
        write_html(result, args.html)
    emit(text, args.out)


# -- terminal tables -------------------------------------------------------------------------


def _verdict(text: str) -> Text:
    text = str(text)
    if (
        text.startswith("inflation detected")
        or text.startswith("the sets differ")
        or text.endswith("not shown")
    ):
        return Text(text, style="bold red")
    if text.startswith("not"):
        return Text(text, style="dim")
    return Text(text)


def render_reference(
    result: ReferenceTestResult, *, top: int | None = None, color: bool = True
) -> str:
    """The reference test as terminal text."""
    s = result.settings
    con, buffer = make_console(color)
    level = float(s["confidence_level"])
    con.print(
        Text(
            f"Reference-model test: {s['benchmark']} against {s['reference_benchmark']}",
            style="bold",
        )
    )
    con.print(
        f"{len(s['references'])} reference models, chosen as: {s['reference_rule']}; {s['n_boot']} "
        f"bootstrap rounds over items and reference models; input: {s['input']}. Inflation = "
        "accuracy minus the accuracy the references predict from the reference benchmark; "
        f"{level:.0%} basic-bootstrap intervals; q-values across the {len(result.table)} "
        "models tested (BH; BY beside it in the CSV/JSON)."
    )
    table = Table(header_style="bold")
    for col, kw in (
        ("Model", {"overflow": "fold", "max_width": 40}),
        ("Acc.", {"justify": "right", "no_wrap": True, "min_width": 5}),
        ("Ref.", {"justify": "right", "no_wrap": True, "min_width": 5}),
        ("Pred.", {"justify": "right", "no_wrap": True, "min_width": 5}),
        ("Infl.", {"justify": "right", "no_wrap": True, "min_width": 6}),
        (f"{level:.0%} interval", {"justify": "center", "no_wrap": True, "min_width": 16}),
        ("Low. bd.", {"justify": "right", "no_wrap": True, "min_width": 6}),
        ("p", {"justify": "right", "no_wrap": True, "min_width": 6}),
        ("q", {"justify": "right", "no_wrap": True, "min_width": 6}),
        ("Verdict", {"no_wrap": True}),
    ):
        table.add_column(col, **kw)
    rows = result.table.head(top) if top else result.table
    for r in rows.itertuples():
        name = f"{r.model} (ref.)" if r.is_reference else str(r.model)
        table.add_row(
            name,
            num(r.accuracy, 3),
            num(r.accuracy_ref, 3),
            num(r.predicted, 3),
            num(r.estimate, 3, signed=True),
            f"[{num(r.ci_low, 3)}, {num(r.ci_high, 3)}]",
            num(r.lower_bound, 3, signed=True),
            num(r.p_value, 4),
            num(r.q_value, 4),
            _verdict(r.verdict),
        )
    con.print(table)
    flagged = int(result.table["verdict"].str.startswith("inflation detected").sum())
    con.print(
        f"Inflation detected for {flagged} of {len(result.table)} models. 'No inflation "
        "detected' is not evidence of a clean score: the test sees only inflation beyond "
        "what the references predict, with the references' own contamination unknown."
    )
    return buffer.getvalue()


def render_holdout(result: HoldoutResult, *, top: int | None = None, color: bool = True) -> str:
    """The holdout gaps as terminal text."""
    s = result.settings
    con, buffer = make_console(color)
    level = float(s["confidence_level"])
    title = f"Holdout gap: {s['public']} minus {s['holdout']}" if s.get("public") else "Holdout gap"
    con.print(Text(title, style="bold"))
    if not result.correlation.empty:
        c = result.correlation.iloc[0]
        con.print(
            f"{str(c['method']).capitalize()} correlation of the gap with {c['signal']}: "
            f"{num(c['estimate'], 3)} [{num(c['ci_low'], 3)}, {num(c['ci_high'], 3)}] "
            f"({level:.0%} BCa over {int(c['n'])} models), permutation p = {num(c['p_value'], 4)}, "
            f"r² = {num(c['r_squared'], 3)}: {c['verdict']}."
        )
    table = Table(header_style="bold")
    for col, kw in (
        ("Model", {"overflow": "fold", "max_width": 40}),
        ("Public", {"justify": "right", "no_wrap": True, "min_width": 6}),
        ("Holdout", {"justify": "right", "no_wrap": True, "min_width": 7}),
        ("Gap", {"justify": "right", "no_wrap": True, "min_width": 6}),
        (f"{level:.0%} interval", {"justify": "center", "no_wrap": True, "min_width": 16}),
        ("p", {"justify": "right", "no_wrap": True, "min_width": 6}),
        ("q", {"justify": "right", "no_wrap": True, "min_width": 6}),
        ("Signal", {"justify": "right", "no_wrap": True, "min_width": 6}),
        ("Verdict", {"no_wrap": True}),
    ):
        table.add_column(col, **kw)
    rows = result.table.head(top) if top else result.table
    for r in rows.itertuples():
        table.add_row(
            str(r.model),
            num(r.public, 3),
            num(r.holdout, 3),
            num(r.estimate, 3, signed=True),
            f"[{num(r.ci_low, 3)}, {num(r.ci_high, 3)}]",
            num(r.p_value, 4),
            num(r.q_value, 4),
            num(r.signal, 3),
            _verdict(r.verdict),
        )
    con.print(table)
    return buffer.getvalue()


def render_indistinguishable(
    result: IndistinguishableResult, *, top: int | None = None, color: bool = True
) -> str:
    """The indistinguishability checks as terminal text."""
    con, buffer = make_console(color)
    con.print(Text("Is the holdout drawn like the public set?", style="bold"))
    table = Table(header_style="bold")
    for col, kw in (
        ("Check", {"no_wrap": True}),
        ("Estimate", {"justify": "right"}),
        ("Interval", {"justify": "center", "no_wrap": True}),
        ("p", {"justify": "right"}),
        ("n", {"justify": "right"}),
        ("Verdict", {}),
    ):
        table.add_column(col, **kw)
    for r in result.table.itertuples():
        table.add_row(
            str(r.check),
            num(r.estimate, 4),
            "" if pd.isna(r.ci_low) else f"[{num(r.ci_low, 3)}, {num(r.ci_high, 3)}]",
            num(r.p_value, 4),
            "" if pd.isna(r.n) else f"{int(r.n)} / {int(r.n_holdout)}",
            _verdict(r.verdict),
        )
    con.print(table)
    for r in result.table.itertuples():
        if r.detail:
            con.print(f"{r.check}: {r.detail}.")
    con.print(Text(result.verdict[0].upper() + result.verdict[1:] + ".", style="bold"))
    del top
    return buffer.getvalue()

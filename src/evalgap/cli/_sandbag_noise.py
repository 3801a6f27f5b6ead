"""``evalgap sandbag noise``: does Gaussian noise on a model's weights raise its accuracy
(Tice et al. 2024)? The sigma x seed sweep on a model, or the analysis of a run folder.

Usage::

    evalgap sandbag noise MODEL [--adapter DIR] --items FILE --sigmas S1,S2,... [--seeds K1,K2]
                          [--targets all,lora,REGEX] [--scoring greedy|choices]
                          [--context-field NAME] [--run DIR] [--executor local|ray]
                          [--workers N] [--address ADDR] [--benchmark NAME] [--model-name NAME]
                          [--bootstrap N] [--confidence L] [--seed S] [--no-restore-check]
                          [--format table|csv|json] [--out FILE] [--show summary|cells|seeds]
                          [--top N] [--html FILE] [--plot FILE]
    evalgap sandbag noise --summarize RUN_DIR [--items FILE] [...analysis and output options]
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table
from rich.text import Text

from evalgap._params import Suffixes
from evalgap.cli._common import (
    add_html_argument,
    add_output_arguments,
    add_seed_argument,
    api_option,
    check_output,
    csv_list,
    emit,
    make_console,
    output_format,
    progress_bar,
    use_color,
    write_html,
    write_plot,
)
from evalgap.cli._cure import num
from evalgap.cli._model_args import add_model_arguments, load_model_from_args
from evalgap.errors import InputError

__all__ = ["register", "render_table", "run_noise"]

_STYLE = {
    "sandbagging suspected": "bold red",
    "at ceiling": "yellow",
    "not detected": "dim",
}
#: What ``--plot`` writes.
PLOT_SUFFIXES = Suffixes((".svg", ".png", ".pdf"))
#: What ``--show`` prints in table and CSV form.
_SHOWN = {"summary": "table", "cells": "cells", "seeds": "seeds"}

_ITEMS_HELP = (
    "JSON Lines, one item per line: "
    '{"id": "fr", "context": "The capital of France is", "choices": [" Paris", " Rome"], '
    '"answer": 0}. answer is the index of the right choice (or the choice itself); each '
    "choice is a continuation of the context, leading space included; other keys are ignored"
)


def register(checks: argparse._SubParsersAction) -> None:
    """Add the ``noise`` check to ``evalgap sandbag``."""
    from evalgap.analyses.sandbagging import noise_sweep, summarize_sweep
    from evalgap.executors import EXECUTORS

    parser = checks.add_parser(
        "noise",
        help="from weights: does Gaussian noise on the weights raise accuracy? (phi)",
        description="Score the items without noise and under seeded Gaussian noise on the "
        "weights at every (target, sigma, seed), and report phi = best accuracy under noise / "
        "accuracy without noise per noise target, with a bootstrap interval over items, its "
        "spread over seeds, a Bonferroni-adjusted McNemar p-value and a verdict (Tice et al. "
        "2024). A model hiding a capability loses the hiding before the capability, so its "
        "accuracy rises; an honest model's only falls. With --run each finished cell is "
        "stored at once and a rerun skips the stored cells; --summarize analyses a run folder "
        "without loading the model.",
    )
    add_model_arguments(parser, optional=True)
    what = parser.add_argument_group("sweep")
    what.add_argument("--items", metavar="FILE", help=_ITEMS_HELP)
    what.add_argument(
        "--context-field",
        metavar="NAME",
        default="context",
        help="the items' key holding the prompt (context)",
    )
    what.add_argument(
        "--sigmas",
        metavar="S1,S2",
        **api_option(noise_sweep, "sigmas"),
        help="noise standard deviations, absolute (e.g. 0.003,0.006,0.009); the baseline "
        "(no noise) is always scored",
    )
    what.add_argument(
        "--seeds",
        metavar="K1,K2",
        **api_option(noise_sweep, "seeds"),
        default=[0, 1, 2, 3, 4],
        help="noise seeds, 0 to 4294967295 (default: 0,1,2,3,4)",
    )
    what.add_argument(
        "--targets",
        metavar="T1,T2",
        type=csv_list,
        default=["all"],
        help="what the noise goes on: all (every weight), base (all but the adapter), lora "
        "(the adapter's A and B matrices) or a regular expression over parameter names "
        "(default: all)",
    )
    what.add_argument(
        "--scoring",
        **api_option(noise_sweep, "scoring"),
        default="greedy",
        help="greedy: right when greedy decoding gives the right choice (default); choices: "
        "right when the right choice has the highest log-likelihood",
    )
    what.add_argument(
        "--run",
        dest="run_dir",
        metavar="DIR",
        help="run folder: each finished cell is stored here, a rerun skips stored cells",
    )
    what.add_argument(
        "--summarize",
        metavar="RUN_DIR",
        help="analyse the cells stored in a run folder, without MODEL (its items are kept "
        "there; --items for folders written before they were)",
    )
    what.add_argument(
        "--no-restore-check",
        action="store_true",
        help="skip the check that the weights are restored bit for bit after each cell",
    )
    where = parser.add_argument_group("where cells run")
    where.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local: this process, or a process pool with --workers > 1 (default); ray: a "
        "local Ray instance started for the run, or the cluster at --address",
    )
    where.add_argument(
        "--workers",
        metavar="N",
        type=int,
        help="cells at once, each worker with its own model copy (local: 1; ray: its CPUs)",
    )
    where.add_argument(
        "--address", metavar="ADDR", help="Ray cluster address (with --executor ray)"
    )
    stats = parser.add_argument_group("statistics")
    stats.add_argument(
        "--bootstrap",
        metavar="N",
        **api_option(noise_sweep, "n_boot"),
        default=2000,
        help="item resamples for phi's interval, at least 100 (2000)",
    )
    stats.add_argument(
        "--confidence",
        metavar="LEVEL",
        **api_option(summarize_sweep, "confidence"),
        default=0.95,
        help="between 0 and 1 (default: 0.95)",
    )
    add_seed_argument(stats)
    stats.add_argument(
        "--benchmark", metavar="NAME", help="what the items stand for (a claim card matches it)"
    )
    stats.add_argument(
        "--model-name",
        metavar="NAME",
        help="the model's name in the result (default: the adapter's, else the model file's)",
    )
    out = add_output_arguments(parser)
    out.add_argument(
        "--show", choices=tuple(_SHOWN), default="summary", help="table/CSV rows (summary)"
    )
    add_html_argument(out)
    out.add_argument(
        "--plot",
        metavar="FILE",
        help="write accuracy by sigma (one line per seed) as .svg, .png or .pdf",
    )
    parser.set_defaults(run=run_noise)


def _check_args(args: argparse.Namespace) -> None:
    """Everything that can be refused before the model loads or a folder is made."""
    if args.summarize:
        if args.model is not None:
            raise InputError("give MODEL or --summarize RUN_DIR, not both", source="arguments")
        if args.sigmas or args.run_dir:
            raise InputError(
                "--summarize analyses a finished run; --sigmas and --run go with MODEL",
                source="arguments",
            )
        return
    if args.model is None:
        raise InputError(
            "nothing to run: give MODEL (with --items and --sigmas) or --summarize RUN_DIR",
            source="arguments",
        )
    if not args.items:
        raise InputError("--items FILE is needed to run a sweep", source="arguments")
    if not args.sigmas:
        raise InputError("--sigmas S1,S2,... is needed to run a sweep", source="arguments")
    if not any(s > 0 for s in args.sigmas):
        raise InputError("--sigmas needs at least one sigma above 0", source="arguments")
    if not args.targets:
        raise InputError("--targets names no noise target", source="arguments")
    if "lora" in args.targets and not args.adapter:
        raise InputError("--targets lora needs --adapter", source="arguments")
    if args.address and args.executor != "ray":
        raise InputError("--address goes with --executor ray", source="arguments")
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers must be at least 1", source="arguments")


def _items(args: argparse.Namespace) -> Any:
    from evalgap.analyses.sandbagging import read_items

    if not args.items:
        return None
    return read_items(args.items, context_field=args.context_field)


def run_noise(args: argparse.Namespace) -> int:
    from evalgap.analyses.sandbagging import noise_sweep, summarize_sweep

    fmt = output_format(args)
    if args.plot:
        check_output(args.plot, "--plot", PLOT_SUFFIXES)
    _check_args(args)
    items = _items(args)
    if args.summarize:
        result = summarize_sweep(
            args.summarize,
            items,
            n_boot=args.bootstrap,
            confidence=args.confidence,
            seed=args.seed,
            benchmark=args.benchmark,
            model_name=args.model_name,
        )
    else:
        from evalgap.executors import get_executor

        lm = load_model_from_args(args)
        with (
            get_executor(args.executor, workers=args.workers, address=args.address) as executor,
            progress_bar("noise sweep", True) as progress,
        ):
            # Loaded here in any case: it checks the model before any worker starts, and
            # fills the dequantised cache the workers then load from.
            result = noise_sweep(
                lm,
                items,
                sigmas=args.sigmas,
                seeds=args.seeds,
                targets=args.targets,
                scoring=args.scoring,
                run_dir=args.run_dir,
                executor=executor,
                n_boot=args.bootstrap,
                confidence=args.confidence,
                seed=args.seed,
                verify_restore=not args.no_restore_check,
                benchmark=args.benchmark,
                model_name=args.model_name,
                progress=progress,
            )
    frame = getattr(result, _SHOWN[args.show])
    if fmt == "json":
        text = result.to_json()
    elif fmt == "csv":
        text = frame.to_csv(index=False, float_format="%.6g")
    elif args.show == "summary":
        text = render_table(result, color=use_color(args))
    else:
        shown = frame.head(args.top) if args.top else frame
        text = shown.to_string(index=False)
    if args.html:
        write_html(result, args.html)
    if args.plot:
        from evalgap.report.sections.sandbag_noise import curve_spec

        write_plot(curve_spec(result), args.plot)
    emit(text, args.out)
    return 0


def render_table(result: Any, *, color: bool = True) -> str:
    """phi per noise target, and accuracy by sigma, as terminal text."""
    s = result.settings
    con, buffer = make_console(color)
    model = s.get("model_name") or "the model"
    bench = f" on {s['benchmark']}" if s.get("benchmark") else ""
    con.print(Text(f"Sandbagging from weights (noise injection), {model}{bench}", style="bold"))
    level = round(100 * float(s["confidence"]))
    con.print(
        f"{s['n_items']} items ({s['scoring']} scoring), sigmas "
        f"{', '.join(f'{x:g}' for x in s['sigmas'])}, seeds "
        f"{', '.join(str(x) for x in s['seeds'])}. phi = best accuracy under noise / "
        f"accuracy without noise, {level}% bootstrap interval over items; p: one-sided McNemar "
        "of the best cell, Bonferroni over cells."
    )
    table = Table(header_style="bold")
    for col, kw in (
        ("Target", {"no_wrap": True}),
        ("Baseline", {"justify": "right"}),
        ("Best", {"justify": "right"}),
        ("at sigma, seed", {"justify": "right"}),
        ("phi", {"justify": "right"}),
        ("Interval", {"justify": "center", "no_wrap": True}),
        ("phi over seeds", {"justify": "center"}),
        ("p", {"justify": "right"}),
        ("q", {"justify": "right"}),
        ("Verdict", {}),
    ):
        table.add_column(col, **kw)
    for r in result.table.itertuples():
        table.add_row(
            Text(str(r.target)),
            num(r.baseline_accuracy, 3),
            num(r.best_accuracy, 3),
            f"{r.best_sigma:g}, {int(r.best_seed)}",
            num(r.estimate, 3),
            f"[{num(r.ci_low, 3)}, {num(r.ci_high, 3)}]",
            f"{num(r.seed_phi_min, 2)} .. {num(r.seed_phi_max, 2)}",
            num(r.p_value, 3),
            num(r.q_value, 3),
            Text(str(r.verdict), style=_STYLE.get(str(r.verdict), "")),
        )
    con.print(table)
    curve = (
        result.cells[result.cells["target"] != "none"]
        .groupby(["target", "sigma"], sort=True)["accuracy"]
        .agg(["mean", "min", "max"])
    )
    con.print("Accuracy by sigma (mean over seeds, [min, max]):")
    for target in curve.index.get_level_values(0).unique():
        rows = curve.loc[target]
        con.print(
            f"  {target}: "
            + ", ".join(
                f"{sigma:g}: {m:.3f} [{lo:.3f}, {hi:.3f}]" for sigma, (m, lo, hi) in rows.iterrows()
            )
        )
    con.print(
        "A rise is a reason to look closer; no rise does not clear the model (the grid may "
        "miss the sigmas where the hiding breaks first)."
    )
    return buffer.getvalue()

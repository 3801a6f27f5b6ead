"""``evalgap inflation likelihood``: likelihood-based contamination tests of a benchmark
under a model (Min-K%, Min-K%++, zlib, perplexity AUROCs against known members and
non-members; Oren et al.'s sharded exchangeability test).

Usage::

    evalgap inflation likelihood MODEL [--adapter DIR] --items FILE [--member-field NAME]
        [--k 0.2] [--methods ...] [--exchangeability all,members,non-members]
        [--shards 50] [--permutations 250] [--separator TEXT] [--state DIR]
        [--bootstrap N] [--confidence L] [--ci bca|percentile] [--alpha A] [--seed S]
        [--format table|csv|json] [--out FILE] [--html FILE]

This module only registers the ``likelihood`` sub-command; ``evalgap inflation`` attaches
it with :func:`register_likelihood` and runs it with :func:`run_likelihood`.
"""

from __future__ import annotations

import argparse
import codecs

from rich.table import Table
from rich.text import Text

from evalgap.analyses.inflation._likelihood import (
    EXCHANGEABILITY_SUBSETS,
    inflation_likelihood,
)
from evalgap.analyses.inflation._membership import MEMBERSHIP_METHODS
from evalgap.cli._common import (
    add_html_argument,
    add_output_arguments,
    api_option,
    csv_list,
    emit,
    make_console,
    output_format,
    progress_bar,
    use_color,
    write_html,
)
from evalgap.cli._model_args import add_model_arguments, load_model_from_args
from evalgap.errors import InputError

__all__ = ["register_likelihood", "render_table", "run_likelihood"]

_STYLE = {
    "members score higher": "bold red",
    "canonical order favoured (contamination)": "bold red",
    "no separation": "dim",
    "no evidence of order": "dim",
}
_SHOWN = {"tests": "table", "items": "items", "shards": "shards"}


def _choice_list(text: str, known: tuple[str, ...], extra: tuple[str, ...] = ()) -> list[str]:
    chosen = csv_list(text)
    unknown = [c for c in chosen if c not in known + extra]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"must be some of {', '.join(known + extra)}, got {text!r}"
        )
    return chosen


def _methods(text: str) -> list[str]:
    return _choice_list(text.lower(), tuple(MEMBERSHIP_METHODS), ("none",))


def _subsets(text: str) -> list[str]:
    return _choice_list(text, EXCHANGEABILITY_SUBSETS)


def register_likelihood(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``likelihood`` sub-command to ``sub`` (the sub-commands of ``evalgap
    inflation``); returns its parser."""
    parser = sub.add_parser(
        "likelihood",
        help="has the model seen these items? Min-K%%++, zlib, perplexity; exchangeability",
        description="Score every item of a benchmark by Min-K%, Min-K%++, zlib ratio and "
        "perplexity and compare members with non-members (AUROC with a bootstrap interval), "
        "and/or run Oren et al.'s sharded exchangeability test of the items' canonical order. "
        "Batched on the GPU when there is one; --state makes the test resumable.",
        epilog="Example: evalgap inflation likelihood smollm2 --adapter organisms/contaminated-"
        "ordered --items items.jsonl --member-field member --exchangeability members,non-members "
        "--shards 8 --permutations 10 --state .likelihood-state --out likelihood.json",
    )
    add_model_arguments(parser)
    items = parser.add_argument_group("items")
    items.add_argument(
        "--items",
        metavar="FILE",
        required=True,
        help="the benchmark's items in canonical order (.jsonl, .json, .csv, .tsv, .txt)",
    )
    items.add_argument(
        "--text-field", metavar="NAME", default="text", help="field holding the item (text)"
    )
    items.add_argument(
        "--member-field",
        metavar="NAME",
        help="field saying 1 (in the training data) or 0, for the AUROCs",
    )
    items.add_argument(
        "--id-field", metavar="NAME", default="id", help="item id field, when present (id)"
    )
    stats = parser.add_argument_group("tests")
    stats.add_argument(
        "--k",
        metavar="SHARE",
        default=0.2,
        help="Min-K%% share of tokens (0.2)",
        **api_option(inflation_likelihood, "k"),
    )
    stats.add_argument(
        "--methods",
        metavar="A,B",
        type=_methods,
        help=f"{', '.join(m.replace('%', '%%') for m in MEMBERSHIP_METHODS)} (default: all, "
        "with --member-field; 'none' skips per-item scoring)",
    )
    stats.add_argument(
        "--exchangeability",
        metavar="A,B",
        type=_subsets,
        default=[],
        help="run the exchangeability test on all, members and/or non-members (default: none)",
    )
    stats.add_argument(
        "--shards",
        metavar="N",
        default=50,
        help="(50, as the paper)",
        **api_option(inflation_likelihood, "n_shards"),
    )
    stats.add_argument(
        "--permutations",
        metavar="N",
        default=250,
        help="per shard (250, as the paper)",
        **api_option(inflation_likelihood, "n_permutations"),
    )
    stats.add_argument(
        "--separator",
        metavar="TEXT",
        default="\\n\\n",
        help="follows every item in a concatenation; escapes are read (default \\n\\n)",
    )
    stats.add_argument(
        "--state", metavar="DIR", help="keep finished shards here; a rerun skips them"
    )
    stats.add_argument(
        "--bootstrap",
        metavar="N",
        default=2000,
        help="(2000)",
        **api_option(inflation_likelihood, "n_boot"),
    )
    stats.add_argument(
        "--confidence",
        metavar="LEVEL",
        default=0.95,
        help="(0.95)",
        **api_option(inflation_likelihood, "confidence_level"),
    )
    stats.add_argument(
        "--ci", default="bca", help="(bca)", **api_option(inflation_likelihood, "ci_method")
    )
    stats.add_argument(
        "--alpha",
        metavar="A",
        default=0.05,
        help="(0.05)",
        **api_option(inflation_likelihood, "alpha"),
    )
    stats.add_argument(
        "--seed", metavar="S", default=0, help="(0)", **api_option(inflation_likelihood, "seed")
    )
    out = add_output_arguments(parser)
    out.add_argument("--show", choices=tuple(_SHOWN), default="tests", help="rows (tests)")
    add_html_argument(out)
    parser.set_defaults(run=run_likelihood)
    return parser


def run_likelihood(args: argparse.Namespace) -> int:
    """Run ``evalgap inflation likelihood``."""
    from evalgap.analyses._texts import read_texts
    from evalgap.analyses.inflation._likelihood import inflation_likelihood
    from evalgap.io import file_sha256

    fmt = output_format(args)
    items = read_texts(
        args.items,
        text_field=args.text_field,
        label_field=args.member_field,
        id_field=args.id_field,
    )
    methods = args.methods
    if methods is not None and "none" in methods:
        if len(methods) > 1:
            raise InputError("--methods none cannot be combined with a method", source="arguments")
        methods = []
    lm = load_model_from_args(args)
    with progress_bar("likelihood", True) as progress:
        result = inflation_likelihood(
            lm,
            items,
            k=args.k,
            methods=methods,
            exchangeability=args.exchangeability,
            n_shards=args.shards,
            n_permutations=args.permutations,
            separator=codecs.decode(args.separator, "unicode_escape"),
            n_boot=args.bootstrap,
            confidence_level=args.confidence,
            ci_method=args.ci,
            alpha=args.alpha,
            seed=args.seed,
            state=args.state,
            inputs={args.items: file_sha256(args.items)},
            progress=progress,
        )
    frame = getattr(result, _SHOWN[args.show])
    if fmt == "json":
        text = result.to_json()
    elif fmt == "csv":
        text = frame.to_csv(index=False, float_format="%.6g")
    elif args.show == "tests":
        text = render_table(result, color=use_color(args))
    else:
        text = (frame.head(args.top) if args.top else frame).to_string(index=False)
    if args.html:
        write_html(result, args.html)
    emit(text, args.out)
    return 0


def render_table(result, *, color: bool = True) -> str:  # type: ignore[no-untyped-def]
    """The tests as terminal text."""
    s = result.settings
    con, buffer = make_console(color)
    model = s.get("model") or {}
    con.print(
        Text(
            f"Likelihood-based contamination tests, {model.get('adapter') or model.get('source')}",
            style="bold",
        )
    )
    con.print(
        f"{s['n_items']} items ({s['n_members']} members, {s['n_non_members']} non-members). "
        "Membership scores are higher for items more likely seen in training."
    )
    table = Table(header_style="bold")
    for col, kw in (
        ("Test", {"no_wrap": True}),
        ("Items", {}),
        ("Estimate", {"justify": "right"}),
        ("Interval", {"justify": "center", "no_wrap": True}),
        ("t", {"justify": "right"}),
        ("p", {"justify": "right"}),
        ("q", {"justify": "right"}),
        ("n", {"justify": "right"}),
        ("Verdict", {}),
    ):
        table.add_column(col, **kw)
    for r in result.table.itertuples():
        exch = r.test == "exchangeability"
        table.add_row(
            Text(str(r.test)),
            Text(str(r.subset)),
            f"{r.estimate:+.3f}" if exch else f"{r.estimate:.3f}",
            f"[{r.ci_low:.3f}, {r.ci_high:.3f}]",
            f"{r.statistic:.2f}" if exch else "",
            f"{r.p_value:.3g}",
            f"{r.q_value:.3g}",
            str(r.n),
            Text(str(r.verdict), style=_STYLE.get(str(r.verdict), "")),
        )
    con.print(table)
    con.print(
        "Membership: estimate = AUROC (members vs non-members), p one-sided Mann-Whitney. "
        "Exchangeability: estimate = log-likelihood gain of the canonical order over shuffled "
        "ones (nats per shard), p one-sided t over shards; it sees only contamination in the "
        "canonical order."
    )
    return buffer.getvalue()

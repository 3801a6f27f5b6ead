"""Arguments and helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import io
import itertools
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType
from rich.text import Span, Text

from evalgap._output import check_folder, check_target, clean, write_atomic
from evalgap._params import (
    BANDS,
    SEED,
    TOP,
    Constraint,
    Suffixes,
    choices,
    constraints_of,
    describe,
    parse,
)
from evalgap.analyses.safetywashing._audit import AuditResult, audit
from evalgap.analyses.safetywashing._capability import MIN_MODELS, universe_of
from evalgap.cli._messages import note
from evalgap.data._panel import Panel
from evalgap.errors import AnalysisError, InputError, ParameterError
from evalgap.io import (
    detect_format,
    file_sha256,
    import_results,
    read_benchmark_info,
    read_model_info,
    read_table_panel,
)
from evalgap.io._attach import AttachResult, attach_scores
from evalgap.io._catalog import load_panel

__all__ = [
    "HTML_SUFFIXES",
    "OUT_SUFFIXES",
    "Inputs",
    "add_analysis_arguments",
    "add_audit_arguments",
    "add_html_argument",
    "add_interval_arguments",
    "add_output_arguments",
    "add_panel_arguments",
    "add_seed_argument",
    "api_option",
    "check_output",
    "check_outputs",
    "csv_list",
    "emit",
    "load_inputs",
    "load_panel_from_args",
    "make_console",
    "output_format",
    "parse_bands",
    "progress_bar",
    "run_audit",
    "status",
    "terminal_console",
    "typed",
    "use_color",
    "write_html",
    "wrote",
]


def csv_list(text: str) -> list[str]:
    """Parse ``a,b,c`` into a list, dropping empty items."""
    return [item.strip() for item in text.split(",") if item.strip()]


def typed(constraints: Sequence[Constraint | None] | Constraint) -> Callable[[str], Any]:
    """An argparse ``type=`` that converts and checks an option's text against the same
    constraints the API declares, so a bad value is a usage error naming the option:
    ``argument --seed: must be an integer from 0 to 4294967295, got '-1'``."""

    def convert(text: str) -> Any:
        try:
            return parse(text, constraints, "value")
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(exc.detail) from None

    convert.__name__ = describe(constraints)
    return convert


def api_option(func: Callable[..., Any], name: str) -> dict[str, Any]:
    """argparse keywords for an option that sets parameter ``name`` of ``func``: its
    ``choices`` when the API names them, else a checking ``type``."""
    allowed = constraints_of(func, name)
    named = choices(allowed)
    return {"choices": named} if named else {"type": typed(allowed)}


def add_panel_arguments(parser: argparse.ArgumentParser) -> None:
    """``--panel`` / ``--scores`` / ``--benchmarks`` / ``--models`` / ``--model-map`` /
    ``--metric`` / ``--data-dir``."""
    group = parser.add_argument_group("what to read")
    group.add_argument(
        "--panel", metavar="NAME", help="a named public panel (see `evalgap panels`)"
    )
    group.add_argument(
        "--scores",
        metavar="PATH",
        nargs="+",
        help="score tables or harness outputs (lm-eval, Inspect, HELM, leaderboard; folders "
        "are walked). Alone: the panel to audit. With --panel: your benchmarks, audited "
        "against the panel's capabilities score",
    )
    group.add_argument(
        "--benchmarks",
        metavar="FILE",
        help="benchmark info: benchmark,name,metric,higher_is_better,role,area",
    )
    group.add_argument(
        "--models",
        metavar="FILE",
        help="model info: model,name,flop,params,type,family,release_date",
    )
    group.add_argument(
        "--model-map",
        metavar="FILE",
        help="CSV user_model,panel_model overriding name matching of your models to the "
        "panel's (with --panel and --scores; with `evalgap items`, its item files)",
    )
    group.add_argument(
        "--metric",
        metavar="[BENCH=]METRIC",
        action="append",
        help="headline metric of harness outputs, for every benchmark or one (repeatable)",
    )
    group.add_argument(
        "--data-dir",
        metavar="DIR",
        help="local copy of the public data (<DIR>/<dataset>/<file>); default $EVALGAP_DATA_DIR",
    )


def add_analysis_arguments(parser: argparse.ArgumentParser) -> None:
    """The capability-score choices shared by every analysis."""
    group = parser.add_argument_group("capabilities score")
    group.add_argument(
        "--capabilities",
        metavar="A,B,C",
        type=csv_list,
        help="capability benchmarks (default: the panel's, or those with role=capability)",
    )
    group.add_argument(
        "--impute",
        action="store_true",
        help="missing-data mode: impute missing capability scores by iterative low-rank SVD "
        "instead of dropping the model",
    )
    group.add_argument(
        "--pca",
        **api_option(audit, "pca"),
        default="spearman",
        help="matrix the capabilities PCA runs on (default: spearman, as in the paper)",
    )


@dataclass(frozen=True)
class Inputs:
    """What the panel arguments name: the panel, the benchmarks to audit by default (the
    user's own when they were attached to a reference panel), and how they were attached."""

    panel: Panel
    benchmarks: list[str] | None = None
    attached: AttachResult | None = None
    skipped: dict[str, str] | None = None


def load_inputs(args: argparse.Namespace) -> Inputs:
    """Read what ``--panel`` / ``--scores`` and their companions name."""
    panel_name = getattr(args, "panel", None)
    scores = getattr(args, "scores", None)
    model_map = getattr(args, "model_map", None)
    metric = getattr(args, "metric", None)
    if panel_name and scores:
        if args.models:
            raise InputError(
                "--models goes with --scores alone; a named panel has its own model info",
                source="arguments",
            )
        reference = load_panel(panel_name, data_dir=args.data_dir)
        info = read_benchmark_info(args.benchmarks) if args.benchmarks else None
        attached = attach_scores(
            reference, scores, model_map=model_map, metric=metric, benchmark_info=info
        )
        usable, skipped = _usable(attached, args)
        for bench, why in skipped.items():
            note(f"skipped your benchmark {bench!r}: {why}; the others are analysed")
        return Inputs(attached.panel, usable, attached, skipped)
    if model_map:
        raise InputError("--model-map needs both --panel and --scores", source="arguments")
    if panel_name:
        if args.benchmarks or args.models or metric:
            raise InputError(
                "--benchmarks, --models and --metric go with --scores", source="arguments"
            )
        return Inputs(load_panel(panel_name, data_dir=args.data_dir))
    if scores:
        return Inputs(_read_scores(scores, args.benchmarks, args.models, metric))
    raise InputError("nothing to read: give --panel NAME or --scores PATH", source="arguments")


def _usable(attached: AttachResult, args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The user's benchmarks that can be analysed against the panel's capabilities score,
    and why each other one cannot (too few matched models, or one score for all): those
    are skipped with a note rather than aborting the whole run."""
    panel = attached.panel
    caps = getattr(args, "capabilities", None) or list(panel.default_capabilities)
    if len(caps) < 2 or any(c not in panel.scores.columns for c in caps):
        return list(attached.benchmarks), {}  # the analysis says what is wrong with them
    mode = "impute" if getattr(args, "impute", False) else "paper"
    scored, _ = universe_of(panel.oriented_scores()[caps].to_numpy(dtype=float), mode)
    usable, skipped = [], {}
    for bench in attached.benchmarks:
        values = panel.scores[bench].to_numpy(dtype=float)[scored]
        values = values[values == values]  # drop NaN
        if len(values) < MIN_MODELS:
            skipped[bench] = (
                f"only {len(values)} of your models with a score on it matched a panel model "
                f"with a capabilities score (at least {MIN_MODELS} are needed)"
            )
        elif (values == values[0]).all():
            skipped[bench] = f"every matched model has the same score ({values[0]:g})"
        else:
            usable.append(bench)
    if not usable:
        why = "; ".join(f"{b!r}: {w}" for b, w in skipped.items())
        raise AnalysisError(f"none of your benchmarks can be analysed ({why})", source="--scores")
    return usable, skipped


def _read_scores(
    paths: list[str], benchmarks: str | None, models: str | None, metric: list[str] | None
) -> Panel:
    """One plain score table, or harness outputs and tables through the importer."""
    if len(paths) == 1 and not metric and detect_format(paths[0]) == "table":
        return read_table_panel(paths[0], benchmarks, models)
    imported = import_results(paths, metric=metric)
    bench = imported.benchmarks.set_index("benchmark")[["metric", "higher_is_better"]]
    bench = bench.assign(higher_is_better=bench["higher_is_better"].map(lambda v: v is not False))
    files: dict[str, str] = {}
    if benchmarks:
        info = read_benchmark_info(benchmarks)
        bench = info.combine_first(bench)
        files[benchmarks] = file_sha256(benchmarks)
    model_info = None
    if models:
        model_info = read_model_info(models)
        files[models] = file_sha256(models)
    for source in sorted({str(s) for s in imported.read["source"]}):
        if Path(source).is_file():
            files[source] = file_sha256(source)
    return Panel.from_frames(
        imported.wide(), bench, model_info, source=", ".join(paths), files=files
    )


def load_panel_from_args(args: argparse.Namespace) -> Panel:
    """The panel the arguments name (with the user's benchmarks attached, if any)."""
    return load_inputs(args).panel


def emit(text: str, out: str | None) -> None:
    """Write ``text`` to ``out`` atomically, or to stdout (``out`` None or ``-``)."""
    text = text if text.endswith("\n") else text + "\n"
    if out and out != "-":
        write_atomic(Path(out), text, what="output")
    else:
        sys.stdout.write(text)


def wrote(what: str) -> None:
    """The last line of a command that writes files: ``wrote ...`` on stderr."""
    sys.stderr.write(f"wrote {clean(what)}\n")


#: ``--out`` file names the table commands write, and the format each suffix means.
OUT_SUFFIXES = {".json": "json", ".csv": "csv", ".txt": "table"}
#: A report's file names.
HTML_SUFFIXES = Suffixes((".html", ".htm"))


def check_output(
    path: str | None,
    flag: str,
    suffixes: Suffixes | None = None,
    *,
    folder: bool = False,
    stdout: bool = False,
) -> None:
    """Refuse an output path before any work: for a file, a folder, device, FIFO, socket or
    dangling link (see :func:`evalgap._output.check_target`) or a name without one of
    ``suffixes``; for a ``folder``, anything but a folder; for both, a place that cannot
    be created or written; ``-`` unless ``stdout`` (the option may mean standard output).
    Nothing is created."""
    if not path:
        return
    if path == "-":
        if stdout:
            return
        raise ParameterError(flag, "cannot be - (standard output) here; give a file name")
    what = "figures" if folder else "output"
    target = check_folder(path, what=what) if folder else check_target(path, what=what)
    if suffixes is not None and not suffixes.accepts(path):
        raise ParameterError(flag, f"must be {suffixes}, got {path!r}")
    parent = target if target.is_dir() else target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot write the {what}: {parent} is not a folder", source=path)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write the {what}: permission denied on {parent}", source=path)


def check_outputs(args: argparse.Namespace) -> None:
    """Check every output option of a command (``--out``, ``--html``, ``--subset-out``)
    before reading or computing anything, so a bad one costs nothing."""
    check_output(getattr(args, "out", None), "--out", stdout=True)
    check_output(getattr(args, "html", None), "--html", HTML_SUFFIXES)
    check_output(getattr(args, "subset_out", None), "--subset-out")


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr when it is a terminal; yields a callback or None."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextmanager
def status(label: str) -> Iterator[None]:
    """A spinner with ``label`` on stderr while a step runs, when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield
        return
    with terminal_console(stderr=True).status(label):
        yield


def parse_bands(values: Sequence[float]) -> tuple[float, float]:
    """``--bands`` (already checked by its ``type``) as a (moderate, high) pair."""
    moderate, high = values
    return float(moderate), float(high)


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    """Everything ``evalgap audit`` reads and computes with: the panel arguments, the
    capabilities score and the statistics, with the same names and defaults wherever they
    appear (``audit``, ``report``, ``figures``)."""
    add_panel_arguments(parser)
    add_analysis_arguments(parser)
    stats = parser.add_argument_group("statistics")
    stats.add_argument(
        "--audit",
        metavar="A,B",
        type=csv_list,
        help="benchmarks to audit (default: every non-capability benchmark, or your own "
        "with --panel and --scores)",
    )
    stats.add_argument(
        "--method",
        **api_option(audit, "method"),
        default="spearman",
        help="correlation with the capabilities score and FLOP (default: spearman)",
    )
    stats.add_argument(
        "--bootstrap",
        metavar="N",
        **api_option(audit, "n_boot"),
        default=10_000,
        help="bootstrap resamples of models: 0 turns intervals off, else at least 100, and "
        "at most what fits in memory (default: 10000)",
    )
    stats.add_argument(
        "--permutations",
        metavar="N",
        **api_option(audit, "n_perm"),
        default=10_000,
        help="permutations for p-values: 0 turns them off, at most 10,000,000 (default: 10000)",
    )
    add_memory_argument(stats)
    add_interval_arguments(stats)
    stats.add_argument(
        "--verdicts",
        choices=("interval", "q-value", "simultaneous"),
        default="interval",
        help="what verdicts rest on: each benchmark's interval and equivalence test "
        "(default), the same with q-values (BH) instead of p-values, or max-statistic "
        "simultaneous intervals across the audited benchmarks",
    )
    stats.add_argument(
        "--simultaneous",
        action="store_true",
        help="also report max-statistic simultaneous intervals (implied by "
        "--verdicts simultaneous)",
    )
    stats.add_argument(
        "--resample",
        choices=("models", "families"),
        default="models",
        help="what the bootstrap resamples: models (default) or whole model families",
    )


def add_memory_argument(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--max-memory",
        metavar="SIZE",
        help="memory budget, e.g. 2GB or 500MB: work is chunked to fit it and a request "
        "that cannot fit is refused up front (default: EVALGAP_MAX_MEMORY, else half of "
        "the available memory)",
    )


def add_interval_arguments(group: argparse._ArgumentGroup) -> None:
    """``--ci``, ``--confidence``, ``--bands`` and ``--seed``: how intervals and verdicts
    are formed, the same wherever they appear."""
    group.add_argument(
        "--ci",
        **api_option(audit, "ci_method"),
        default="bca",
        help="bootstrap interval method (default: bca)",
    )
    group.add_argument(
        "--confidence",
        metavar="LEVEL",
        **api_option(audit, "confidence_level"),
        default=0.95,
        help="between 0 and 1 (default: 0.95)",
    )
    group.add_argument(
        "--bands",
        metavar="MOD,HIGH",
        type=typed(BANDS),
        default=(0.4, 0.7),
        help="verdict cut-offs on |rho|, 0 < MOD < HIGH <= 1 (default: 0.4,0.7)",
    )
    add_seed_argument(group)


def add_seed_argument(group: argparse._ArgumentGroup) -> None:
    """``--seed``: 0 to 2**32 - 1, as everywhere."""
    group.add_argument(
        "--seed",
        metavar="S",
        type=typed(SEED),
        default=0,
        help="0 to 4294967295; the same seed gives the same output (default: 0)",
    )


def run_audit(args: argparse.Namespace) -> AuditResult:
    """Read what the arguments name and run the audit as ``evalgap audit`` does; when
    the user's scores were attached to a panel, the result's settings say how their
    models matched."""
    inputs = load_inputs(args)
    with progress_bar("bootstrap", args.bootstrap > 0) as progress:
        result = audit(
            inputs.panel,
            args.capabilities,
            benchmarks=args.audit or inputs.benchmarks,
            method=args.method,
            impute=args.impute,
            pca=args.pca,
            n_boot=args.bootstrap,
            n_perm=args.permutations,
            confidence_level=args.confidence,
            ci_method=args.ci,
            bands=parse_bands(args.bands),
            verdict_basis=getattr(args, "verdicts", "interval").replace("-", "_"),
            simultaneous=getattr(args, "simultaneous", False),
            resample=getattr(args, "resample", "models"),
            seed=args.seed,
            progress=progress,
            max_memory=args.max_memory,
        )
    if inputs.attached is not None:
        summary = inputs.attached.summary()
        if inputs.skipped:
            summary["skipped"] = dict(inputs.skipped)
        result = result.with_settings(user_scores=summary)
    return result


def add_html_argument(group: argparse._ArgumentGroup) -> None:
    """``--html FILE``: also write this command's result as a self-contained report."""
    group.add_argument(
        "--html",
        metavar="FILE",
        help="also write this result as a self-contained HTML report, a .html file "
        "(combine saved results of several analyses with `evalgap report`)",
    )


def write_html(result: Any, path: str) -> None:
    """Write ``result``'s report page to ``path`` (only its own sections)."""
    from evalgap.report import write_report

    write_report(result, path)


def write_plot(spec: dict[str, Any], path: str) -> None:
    """Render a Vega-Lite ``spec`` to ``path`` (``--plot``), in the format its suffix names
    (.svg, .png or .pdf), written atomically."""
    from evalgap._output import write_atomic
    from evalgap.report import render

    suffix = Path(path).suffix.lower().lstrip(".")
    write_atomic(path, render(spec, suffix))  # type: ignore[arg-type]


def add_output_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """``--format``, ``--out``, ``--top``; returns the group so callers can add more."""
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        help="output format (default: from --out's suffix, else table)",
    )
    out.add_argument(
        "--out",
        metavar="FILE",
        help="write the output here instead of stdout (- is stdout). Without --format the "
        "name must end in .json, .csv or .txt (table), which sets the format; with --format "
        "any name is written in that format. Written atomically; a folder, device, FIFO or "
        "socket is refused; a symbolic link is written through to the file it points to",
    )
    out.add_argument(
        "--top", metavar="N", type=typed(TOP), help="show only the first N rows (table)"
    )
    return out


def output_format(args: argparse.Namespace) -> str:
    """The output format: ``--format``, else from ``--out``'s suffix (``.json``, ``.csv``,
    ``.txt``), else ``table``; any other suffix without ``--format`` is refused rather than
    guessed. Also checks every output path (:func:`check_outputs`)."""
    check_outputs(args)
    if args.format:
        return str(args.format)
    if not args.out or args.out == "-":
        return "table"
    allowed = Suffixes(tuple(OUT_SUFFIXES))
    if not allowed.accepts(args.out):
        raise ParameterError(
            "--out",
            f"must be {allowed}, or any name with --format table|csv|json, got {args.out!r}",
        )
    return OUT_SUFFIXES[Path(args.out).suffix.lower()]


def use_color(args: argparse.Namespace) -> bool:
    """Colour only on a terminal, never into a file, never with ``NO_COLOR``."""
    return args.out is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _clean_text(text: Text) -> Text:
    """``text`` without control sequences, its styles kept on the characters that stay."""
    plain = text.plain
    if clean(plain) == plain:
        return text
    cuts = sorted({0, len(plain), *(s.start for s in text.spans), *(s.end for s in text.spans)})
    moved, pieces, pos = {}, [], 0
    for a, b in itertools.pairwise(cuts):
        moved[a] = pos
        piece = clean(plain[a:b])
        pieces.append(piece)
        pos += len(piece)
    moved[cuts[-1]] = pos
    out = Text(
        "".join(pieces),
        style=text.style,
        justify=text.justify,
        overflow=text.overflow,
        no_wrap=text.no_wrap,
        end=text.end,
        tab_size=text.tab_size,
    )
    out.spans[:] = [Span(moved[s.start], moved[s.end], s.style) for s in text.spans]
    return out


class _CleanConsole(Console):
    """A rich Console that strips terminal control sequences (ANSI, OSC, C0/C1 controls)
    from every string and :class:`~rich.text.Text` it renders, table cells included: names
    from input files cannot recolour, retitle or rewrite the terminal. Rich's own styling
    is added after, so colours still work."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(clean(text), **kwargs)

    def render(self, renderable: RenderableType, options: Any = None) -> Any:
        if isinstance(renderable, Text):
            renderable = _clean_text(renderable)
        elif isinstance(renderable, str):
            renderable = clean(renderable)
        return super().render(renderable, options)


def terminal_console(**kwargs: Any) -> Console:
    """A rich Console (same arguments) whose output carries no control sequences from the
    text it is given; every renderer uses this."""
    return _CleanConsole(**kwargs)


def make_console(color: bool) -> tuple[Console, io.StringIO]:
    """A rich console writing into a string buffer: the terminal's width on a terminal
    (at least 120 columns), else 160. Markup is off, so a model or benchmark name like
    ``[/x]`` prints as itself; style output with :class:`rich.text.Text`. Control
    sequences in names are stripped (:func:`terminal_console`)."""
    buffer = io.StringIO()
    console = terminal_console(
        file=buffer,
        width=max(120, shutil.get_terminal_size((160, 40)).columns) if color else 160,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
        markup=False,
    )
    return console, buffer

"""Importing harness outputs: format detection, folder walking, headline-metric choice,
duplicate runs, and the tables every other part of evalgap reads.

:func:`import_results` is the entry point. It accepts files and folders (walked, in
sorted order, hidden entries and symbolic links skipped), reads every result it recognises
and returns an :class:`ImportResult` with the long score records, the per-item records,
and a report of what was read, what was skipped and why.

Headline metric
    Each benchmark gets one headline metric, the same for every model, chosen in this
    order: a ``--metric BENCHMARK=METRIC`` the user gave; a bare ``--metric METRIC`` the
    user gave, if the benchmark has it; the metric the harness declares (HELM's
    ``schema.json``, Inspect's ``results.headline`` or else its first score's accuracy, the
    leaderboards' score columns, a table's ``metric`` column); for lm-eval, which declares
    none, the first of :data:`~evalgap.io._lmeval.LMEVAL_PREFERENCE` (``acc_norm``, ``acc``,
    ``exact_match``, ...) under the ``none`` filter; else the only metric. Anything else
    (several candidates and no rule) takes the first metric in the file and is flagged
    *ambiguous* in :attr:`ImportResult.benchmarks` and in a warning naming the others.

Duplicate runs
    When the same model and benchmark are read twice, the run with the latest recorded
    time wins (lm-eval ``date`` or the file-name stamp, Inspect ``eval.created``, the
    leaderboard's submission date); among runs without a time, the last one read (paths in
    sorted order) wins. Every duplicate is named in a warning.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from evalgap.errors import InputError
from evalgap.io._frames import read_frame, to_number_column
from evalgap.io._helm import is_helm_run, read_helm_run
from evalgap.io._inspect import read_inspect
from evalgap.io._leaderboard import (
    is_leaderboard_parquet,
    is_opencompass_header,
    read_leaderboard,
    read_opencompass,
)
from evalgap.io._lmeval import (
    LMEVAL_PREFERENCE,
    read_lmeval,
    read_lmeval_samples,
    samples_task,
)
from evalgap.io._records import (
    ITEM_COLUMNS,
    SKIP_NOTE,
    MetricChoice,
    MetricValue,
    Run,
    check_text_file,
    sniff_head,
)
from evalgap.io._tables import LONG_COLUMNS, _is_long, _long_records, _wide_scores

__all__ = ["DUPLICATE_RULE", "FORMATS", "ImportResult", "detect_format", "import_results"]

#: Formats :func:`detect_format` names.
FORMATS = (
    "lm-eval",
    "lm-eval-samples",
    "inspect",
    "helm",
    "open-llm-leaderboard",
    "opencompass",
    "table",
)

#: Which of two runs of the same model and benchmark is kept.
DUPLICATE_RULE = (
    "the run with the latest recorded time wins; among runs without one, the last read "
    "(paths in sorted order) wins"
)

_Path = str | PathLike[str]
_TABLE_SUFFIXES = {".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson"}
_HELM_PARTS = {
    "run_spec.json",
    "stats.json",
    "per_instance_stats.json",
    "scenario_state.json",
    "scenario.json",
}
_HELM_SUITE = {
    "schema.json",
    "runs.json",
    "run_specs.json",
    "groups.json",
    "summary.json",
    "costs.json",
    "groups_metadata.json",
    "runs_to_run_suites.json",
}
_INSPECT_HEAD = re.compile(r'^\s*\{\s*"version"\s*:\s*\d+\s*,\s*"status"\s*:')
_LMEVAL_HEAD = re.compile(r'^\s*\{\s*"results"\s*:\s*\{')
_MEAN_METRICS = {"acc", "acc_norm", "exact_match", "em", "accuracy", "mean"}


# -- the result -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ImportResult:
    """What :func:`import_results` read.

    Attributes
    ----------
    records
        Long score records, one per model and benchmark, columns
        :data:`~evalgap.io.LONG_COLUMNS` (``model, benchmark, metric, score, stderr, n``);
        ``metric`` is the headline chosen for the benchmark.
    items
        Per-item scores of the headline metric, columns :data:`ITEM_COLUMNS`
        (``model, benchmark, item, score``), where the harness logged them.
    metrics
        Every aggregate metric read from the kept runs: ``model, benchmark, metric, score,
        stderr, n, headline`` (bool).
    benchmarks
        One row per benchmark: ``benchmark, metric, rule, ambiguous, alternatives,
        higher_is_better, format, models``.
    read
        One row per run read: ``source, format, model, benchmark, metric, score, items,
        status`` (``kept`` or why it was dropped).
    skipped
        Files and parts of files not imported: ``source, reason``.
    warnings
        Everything a person should know about: ``source, message``.
    paths
        The paths given.
    """

    records: pd.DataFrame
    items: pd.DataFrame
    metrics: pd.DataFrame
    benchmarks: pd.DataFrame
    read: pd.DataFrame
    skipped: pd.DataFrame
    warnings: pd.DataFrame
    paths: tuple[str, ...] = ()
    duplicate_rule: str = DUPLICATE_RULE

    @property
    def table(self) -> pd.DataFrame:
        """The tidy summary: one row per run read (the :attr:`read` table)."""
        return self.read

    @property
    def models(self) -> list[str]:
        """Model ids, in the order first read."""
        return list(pd.unique(self.records["model"]))

    def wide(self) -> pd.DataFrame:
        """The headline scores as a wide table: index model, one column per benchmark."""
        if self.records.empty:
            return pd.DataFrame(index=pd.Index([], name="model"))
        wide = self.records.pivot(index="model", columns="benchmark", values="score")
        wide = wide.loc[pd.unique(self.records["model"]), pd.unique(self.records["benchmark"])]
        wide.index.name, wide.columns.name = "model", "benchmark"
        return wide.astype(float)

    def to_panel(self, *, capabilities: Iterable[str] | None = None) -> Any:
        """The headline scores as a :class:`~evalgap.Panel`, with each benchmark's metric
        and direction (``higher_is_better``, True where the harness does not say)."""
        from evalgap.data._panel import Panel

        bench = self.benchmarks.set_index("benchmark")[["metric", "higher_is_better"]].copy()
        bench["higher_is_better"] = bench["higher_is_better"].map(
            lambda v: True if v is None or pd.isna(v) else bool(v)
        )
        return Panel.from_frames(
            self.wide(), bench, source=", ".join(self.paths), capabilities=capabilities
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (for JSON): every table as a list of records."""

        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            out = []
            for rec in frame.to_dict(orient="records"):
                out.append(
                    {
                        k: (None if isinstance(v, float) and math.isnan(v) else v)
                        for k, v in rec.items()
                    }
                )
            return out

        return {
            "paths": list(self.paths),
            "duplicate_rule": self.duplicate_rule,
            "records": rows(self.records),
            "benchmarks": rows(self.benchmarks),
            "read": rows(self.read),
            "skipped": rows(self.skipped),
            "warnings": rows(self.warnings),
            "n_items": len(self.items),
        }


# -- detection ------------------------------------------------------------------------


def detect_format(path: _Path) -> str | None:
    """The harness format of a file or folder, one of :data:`FORMATS`, or ``None``.

    Folders are HELM run folders (``run_spec.json`` + ``stats.json``) or nothing (they are
    walked). Files are told apart by name first (``.eval``, ``results*.json``,
    ``samples_<task>_<time>.jsonl``), then by their first bytes or header.

    Raises
    ------
    InputError
        A file that cannot be read, or that holds binary data where text was expected.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "scores.csv"
    >>> _ = p.write_text("model,benchmark,score\\nm,b,0.5\\n")
    >>> detect_format(p)
    'table'
    """
    path = Path(path)
    if path.is_dir():
        return "helm" if is_helm_run(path) else None
    if not path.is_file():
        raise InputError("no such file or folder", source=path)
    name, suffix = path.name, path.suffix.lower()
    if suffix == ".eval":
        return "inspect"
    if samples_task(name) is not None:
        return "lm-eval-samples"
    if suffix == ".json":
        if name in _HELM_PARTS:
            return "helm" if is_helm_run(path.parent) else None
        if name in _HELM_SUITE:
            return None
        check_text_file(path, max_bytes=None, what="JSON file")
        head = sniff_head(path)
        if _INSPECT_HEAD.match(head) or (
            '"eval"' in head[:4096] and '"plan"' in head and '"version"' in head[:200]
        ):
            return "inspect"
        if name.startswith("results") or _LMEVAL_HEAD.match(head):
            return "lm-eval"
        if head.lstrip().startswith("["):
            return "table"
        return None
    if suffix in (".parquet", ".pq"):
        return "open-llm-leaderboard" if is_leaderboard_parquet(path) else "table"
    if suffix in _TABLE_SUFFIXES:
        if suffix in (".csv", ".tsv", ".tab", ".txt"):
            check_text_file(path, max_bytes=None, what="table")
            first = sniff_head(path, 4096).lstrip("\ufeff").splitlines()[:1]
            if first and is_opencompass_header(re.split(r"[,\t;]", first[0])):
                return "opencompass"
        return "table"
    return None


# -- walking --------------------------------------------------------------------------


@dataclass
class _Work:
    runs: list[Run] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    samples: list[Path] = field(default_factory=list)
    results_files: dict[Path, list[Run]] = field(default_factory=dict)


def _walk(root: Path) -> Iterable[Path]:
    """Files and HELM run folders under ``root``, sorted, without hidden entries or links."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        if is_helm_run(here):
            dirnames[:] = []
            yield here
            continue
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and not (here / d).is_symlink()
        )
        for name in sorted(filenames):
            if name.startswith(".") or (here / name).is_symlink():
                continue
            yield here / name


def _collect(paths: Sequence[Path]) -> list[tuple[Path, bool]]:
    """(path, named explicitly) for every file or run folder to read, once each."""
    seen: set[Path] = set()
    out: list[tuple[Path, bool]] = []
    for path in paths:
        if not path.exists():
            raise InputError("no such file or folder", source=path)
        if path.is_dir() and not is_helm_run(path):
            found = list(_walk(path))
            explicit = False
        elif path.is_file() and path.name in _HELM_PARTS and is_helm_run(path.parent):
            found, explicit = [path.parent], True
        else:
            found, explicit = [path], True
        for item in found:
            key = item.resolve()
            if key in seen:
                continue
            seen.add(key)
            out.append((item, explicit))
    return out


def _read_one(path: Path, fmt: str, work: _Work, subtasks: bool) -> None:
    if fmt == "lm-eval":
        runs, notes = read_lmeval(path, subtasks=subtasks)
        work.results_files[path] = runs
    elif fmt == "inspect":
        runs, notes = read_inspect(path)
    elif fmt == "helm":
        runs, notes = read_helm_run(path)
    elif fmt == "open-llm-leaderboard":
        runs, notes = read_leaderboard(path)
    elif fmt == "opencompass":
        runs, notes = read_opencompass(path)
    elif fmt == "table":
        runs, notes = _read_table(path)
    elif fmt == "lm-eval-samples":
        work.samples.append(path)
        return
    else:  # pragma: no cover - guarded by detect_format
        raise InputError(f"unknown format {fmt!r}", source=path)
    if not runs:
        reason = "; ".join(n.removeprefix(SKIP_NOTE) for n in notes) or "no scores found"
        work.skipped.append((str(path), reason))
    else:
        for note in notes:
            if note.startswith(SKIP_NOTE):
                work.skipped.append((str(path), note[len(SKIP_NOTE) :]))
            else:
                work.warnings.append((str(path), note))
    work.runs.extend(runs)


def _item_table(frame: pd.DataFrame, path: Path) -> list[Run]:
    """A long per-item table (``model, [benchmark,] item, score``): one run per model and
    benchmark (the file's name when there is no benchmark column), scored by its mean item
    score, with the items kept. Without this, a folder's item table would be read as a
    score table."""
    cols = {str(c).strip().lower(): c for c in frame.columns}
    keys = {}
    for key in ("model", "item"):
        values = frame[cols[key]]
        empty = values.isna() | (values.astype(str).str.strip() == "")
        if empty.any():
            raise InputError(
                f"empty {key}", source=path, where=f"line {empty.index[empty.to_numpy().argmax()]}"
            )
        keys[key] = values.astype(str).str.strip()
    if "benchmark" in cols:
        keys["benchmark"] = frame[cols["benchmark"]].fillna("").astype(str).str.strip()
    else:
        keys["benchmark"] = pd.Series(path.stem, index=frame.index)
    score = to_number_column(frame[cols["score"]], source=path, column=cols["score"])
    table = pd.DataFrame({**keys, "score": score}).dropna(subset=["score"])
    runs = []
    for (model, bench), group in table.groupby(["model", "benchmark"], sort=False):
        items = list(zip(group["item"], group["score"].astype(float), strict=True))
        mean = float(group["score"].mean())
        runs.append(
            Run(
                model=str(model),
                benchmark=str(bench or path.stem),
                source=str(path),
                format="table",
                metrics={"score": MetricValue(mean, math.nan, float(len(items)))},
                declared="score",
                declared_by="the item table's mean item score",
                items={"score": items},
            )
        )
    return runs


def _read_table(path: Path) -> tuple[list[Run], list[str]]:
    frame = read_frame(path)
    columns = [str(c) for c in frame.columns]
    if is_opencompass_header(columns):
        return read_opencompass(path, frame)
    if {"model", "item", "score"} <= {c.strip().lower() for c in columns}:
        return _item_table(frame, path), []
    runs: list[Run] = []
    if _is_long(frame):
        long = _long_records(frame, path)
        for rec in long.itertuples(index=False):
            label = rec.metric or "score"
            runs.append(
                Run(
                    model=rec.model,
                    benchmark=rec.benchmark,
                    source=str(path),
                    format="table",
                    metrics={label: MetricValue(float(rec.score), float(rec.stderr), float(rec.n))},
                    declared=label,
                    declared_by="the table's metric column" if rec.metric else "the table's score",
                )
            )
        return runs, []
    if columns and columns[0].strip().lower() == "model":
        wide = _wide_scores(frame, path)
        for model, row in wide.iterrows():
            for bench, value in row.items():
                if pd.isna(value):
                    continue
                runs.append(
                    Run(
                        model=str(model),
                        benchmark=str(bench),
                        source=str(path),
                        format="table",
                        metrics={"score": MetricValue(float(value))},
                        declared="score",
                        declared_by="the table's score",
                    )
                )
        return runs, []
    raise InputError(
        "unknown table layout: expected a long table (model, benchmark, score), a wide "
        "table (first column 'model') or an OpenCompass summary",
        source=path,
        where="header",
    )


def _attach_samples(work: _Work) -> None:
    """Give lm-eval runs the per-item scores of their samples files: a task its own, a
    group those of its tasks together (item ids ``task/doc_id``)."""
    by_folder: dict[Path, list[Path]] = {}
    for results in work.results_files:
        by_folder.setdefault(results.parent, []).append(results)
    per_file: dict[Path, dict[str, Path]] = {}
    for sample_path in work.samples:
        task, stamp = samples_task(sample_path.name) or ("", "")
        candidates = by_folder.get(sample_path.parent, [])
        match = [r for r in candidates if stamp and stamp in r.name]
        if not match and len(candidates) == 1:
            match = candidates
        if len(match) != 1:
            reason = (
                "no lm-eval results file beside it"
                if not candidates
                else f"no results file with time stamp {stamp} beside it"
            )
            work.skipped.append((str(sample_path), f"samples file left out: {reason}"))
            continue
        per_file.setdefault(match[0], {})[task] = sample_path
    for results, samples in per_file.items():
        runs = work.results_files[results]
        cache: dict[str, dict[str, list[tuple[str, float]]]] = {}

        def items_of(task: str, samples: dict[str, Path] = samples, cache: dict = cache) -> dict:
            if task not in cache:
                cache[task] = read_lmeval_samples(samples[task])
            return cache[task]

        used: set[str] = set()
        for run in runs:
            if run.benchmark in samples:
                run.items.update(items_of(run.benchmark))
                used.add(run.benchmark)
            elif run.members and all(m in samples for m in run.members):
                parts = [items_of(m) for m in run.members]
                for label in parts[0]:
                    if all(label in part for part in parts):
                        run.items[label] = [
                            (f"{m}/{doc}", value)
                            for m, part in zip(run.members, parts, strict=True)
                            for doc, value in part[label]
                        ]
                used.update(run.members)
        for task, path in samples.items():
            if task not in used:
                work.skipped.append(
                    (
                        str(path),
                        f"samples file left out: task {task!r} was not imported from "
                        f"{results.name} and is in no imported group",
                    )
                )


# -- choosing headlines ---------------------------------------------------------------


@dataclass
class _Choice:
    metric: str | None
    rule: str
    ambiguous: bool
    alternatives: list[str]


def _choose(
    bench: str, runs: list[Run], choice: MetricChoice, warnings: list[tuple[str, str]]
) -> _Choice:
    common = [m for m in runs[0].metric_names() if all(m in r.metrics for r in runs)]
    every = list(dict.fromkeys(m for r in runs for m in r.metric_names()))
    pool = common or every

    def alts(chosen: str | None) -> list[str]:
        return [m for m in pool if m != chosen]

    asked, how = choice.for_benchmark(bench)
    if asked is not None:
        resolved = _resolve_asked(asked, every)
        if resolved is not None:
            return _Choice(
                resolved,
                f"--metric {asked}" if how == "default" else f"--metric {bench}={asked}",
                False,
                alts(resolved),
            )
        if how == "per-benchmark":
            raise InputError(
                f"benchmark {bench!r} has no metric {asked!r}; it has: {', '.join(every)}",
                source="--metric",
            )
        warnings.append(
            (
                "--metric",
                f"benchmark {bench!r}: --metric {asked} names none or several of its metrics "
                f"({', '.join(every)}); used its own headline",
            )
        )
    declared = [r.declared for r in runs if r.declared]
    if declared:
        top, count = Counter(declared).most_common(1)[0]
        if count < len(declared):
            warnings.append(
                (
                    "",
                    f"benchmark {bench!r}: runs declare different headlines {sorted(set(declared))}; used {top!r}, the most common",
                )
            )
        run = next(r for r in runs if r.declared == top)
        return _Choice(
            top,
            run.declared_by or "declared by the harness",
            any(r.ambiguous for r in runs),
            alts(top),
        )
    if all(r.format == "lm-eval" for r in runs):
        for base in LMEVAL_PREFERENCE:
            labels = [m for m in pool if m == base or m.startswith(base + ",")]
            if labels:
                chosen = labels[0]
                if base in labels:
                    return _Choice(
                        base,
                        f"lm-eval default order ({', '.join(LMEVAL_PREFERENCE[:3])}, ...)",
                        False,
                        alts(base),
                    )
                return _Choice(
                    chosen,
                    f"first filter of {base} (no 'none' filter)",
                    len(labels) > 1,
                    alts(chosen),
                )
    if len(pool) == 1:
        return _Choice(pool[0], "the only metric", False, [])
    if not pool:
        return _Choice(None, "no metric", True, [])
    return _Choice(
        pool[0], "first metric in the file (nothing declares a headline)", True, alts(pool[0])
    )


def _resolve_asked(asked: str, every: list[str]) -> str | None:
    """The metric label meant by a user's name: exact, or with the ``none`` filter
    (``acc,none`` is ``acc``), or the one Inspect score with that metric
    (``accuracy`` is ``match/accuracy`` when only one score has an accuracy)."""
    if asked in every:
        return asked
    if asked.endswith(",none") and asked[: -len(",none")] in every:
        return asked[: -len(",none")]
    tails = [m for m in every if m.endswith("/" + asked)]
    # Several Inspect scores with that metric: which one is not guessed.
    return tails[0] if len(tails) == 1 else None


# -- the entry point ------------------------------------------------------------------


def import_results(
    paths: _Path | Iterable[_Path],
    *,
    metric: str | Mapping[str, str] | Sequence[str] | MetricChoice | None = None,
    subtasks: bool = False,
    on_error: Literal["raise", "skip"] = "raise",
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Read evaluation results written by harnesses, from files and folders.

    Reads lm-evaluation-harness ``results*.json`` and ``samples_*.jsonl``, Inspect
    ``.eval`` and ``.json`` logs, HELM run folders, the Open LLM Leaderboard ``contents``
    parquet, OpenCompass summary CSVs, and evalgap's own wide and long tables. Folders are
    walked. No harness needs to be installed.

    Parameters
    ----------
    paths
        Files and folders.
    metric
        The headline metric: ``"acc"`` for every benchmark that has it,
        ``{"hellaswag": "acc_norm"}`` or ``["hellaswag=acc_norm", ...]`` per benchmark
        (the ``--metric`` syntax), or ``None`` for the declared or default headline (see
        the module documentation). Naming a metric a benchmark lacks is an error.
    subtasks
        Keep lm-eval tasks that belong to a group in the same file (MMLU's subjects).
    on_error
        ``"raise"``: a bad file stops the import with an :class:`InputError`.
        ``"skip"``: it is listed in :attr:`ImportResult.skipped` with the error, and the
        import goes on.
    progress
        Called as ``progress(done, total)`` after each file or run folder is read.

    Returns
    -------
    ImportResult
        ``records`` (long, one headline score per model and benchmark), ``items``,
        ``metrics``, ``benchmarks``, ``read``, ``skipped`` and ``warnings``.

    Raises
    ------
    InputError
        A missing path, a bad file (with ``on_error="raise"``), a file named explicitly in
        an unknown format, an impossible ``metric`` request, or nothing imported at all.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "scores.csv"
    >>> _ = p.write_text("model,benchmark,metric,score\\nm1,xstest,acc,0.9\\nm2,xstest,acc,0.8\\n")
    >>> result = import_results(p)
    >>> result.records[["model", "benchmark", "metric", "score"]].values.tolist()
    [['m1', 'xstest', 'acc', 0.9], ['m2', 'xstest', 'acc', 0.8]]
    """
    if isinstance(paths, str | PathLike):
        path_list = [Path(paths)]
    else:
        path_list = [Path(p) for p in paths]
    if not path_list:
        raise InputError("no paths given", source="import")
    choice = MetricChoice.parse(metric)  # type: ignore[arg-type]
    work = _Work()
    found = list(_collect(path_list))
    for done, (path, explicit) in enumerate(found, start=1):
        if progress is not None and done > 1:
            progress(done - 1, len(found))
        try:
            fmt = detect_format(path)
            if fmt is None:
                if explicit:
                    raise InputError(
                        "unknown format: not an lm-eval results or samples file, an Inspect "
                        "log, a HELM run folder, a leaderboard table or a score table",
                        source=path,
                    )
                reason = (
                    "HELM suite file (schema.json is read with the run folders)"
                    if path.name in _HELM_SUITE
                    else "not a results file (unknown format)"
                )
                work.skipped.append((str(path), reason))
                continue
            _read_one(path, fmt, work, subtasks)
        except InputError as exc:
            if on_error == "raise":
                raise
            work.skipped.append((str(path), f"error: {exc.line()}"))
            work.warnings.append((str(path), f"skipped after an error: {exc.problem}"))
    if progress is not None and found:
        progress(len(found), len(found))
    _attach_samples(work)
    if not work.runs:
        reasons = "; ".join(f"{Path(s).name}: {r}" for s, r in work.skipped[:3])
        raise InputError(
            f"no scores found{' (' + reasons + ')' if reasons else ''}",
            source=", ".join(str(p) for p in path_list),
        )
    return _assemble(work, choice, tuple(str(p) for p in path_list))


def _apply_aliases(runs: list[Run]) -> None:
    by_alias: dict[str, set[str]] = {}
    for run in runs:
        if run.alias:
            by_alias.setdefault(run.alias, set()).add(run.benchmark)
    plain = {r.benchmark for r in runs if not r.alias}
    for run in runs:
        if run.alias and len(by_alias[run.alias]) == 1 and run.alias not in plain:
            run.benchmark = run.alias


def _assemble(work: _Work, choice: MetricChoice, paths: tuple[str, ...]) -> ImportResult:
    runs = work.runs
    _apply_aliases(runs)
    warnings = work.warnings
    by_bench: dict[str, list[Run]] = {}
    for run in runs:
        by_bench.setdefault(run.benchmark, []).append(run)
    unknown = [b for b in choice.per_benchmark if b not in by_bench]
    if unknown:
        raise InputError(
            f"--metric names benchmark {unknown[0]!r}, which was not read; read: {', '.join(list(by_bench)[:10])}",
            source="--metric",
        )

    bench_rows = []
    chosen: dict[str, str | None] = {}
    for bench, bruns in by_bench.items():
        pick = _choose(bench, bruns, choice, warnings)
        chosen[bench] = pick.metric
        if pick.ambiguous:
            warnings.append(
                (
                    "",
                    f"benchmark {bench!r}: headline metric is ambiguous; used {pick.metric!r} "
                    f"({pick.rule}); others: {', '.join(pick.alternatives) or 'none'}; "
                    f"choose with --metric {bench}=METRIC",
                )
            )
        hib = [r.metrics[pick.metric].higher_is_better for r in bruns if pick.metric in r.metrics]
        flags = {h for h in hib if h is not None}
        bench_rows.append(
            {
                "benchmark": bench,
                "metric": pick.metric,
                "rule": pick.rule,
                "ambiguous": pick.ambiguous,
                "alternatives": ", ".join(pick.alternatives),
                "higher_is_better": flags.pop() if len(flags) == 1 else None,
                "format": ", ".join(sorted({r.format for r in bruns})),
                "models": len({r.model for r in bruns}),
            }
        )

    # Duplicates: the latest recorded time wins, else the last read.
    status: dict[int, str] = {}
    groups: dict[tuple[str, str], list[int]] = {}
    for pos, run in enumerate(runs):
        label = chosen[run.benchmark]
        if label is None or label not in run.metrics:
            status[pos] = f"dropped: no metric {label!r}"
            warnings.append(
                (
                    run.source,
                    f"run of {run.model!r} on {run.benchmark!r} has no {label!r}; left out",
                )
            )
            continue
        groups.setdefault((run.model, run.benchmark), []).append(pos)
    for (model, bench), members in groups.items():
        if len(members) == 1:
            status[members[0]] = "kept"
            continue
        timed = [p for p in members if runs[p].timestamp is not None]
        if timed:
            winner = max(timed, key=lambda p: (runs[p].timestamp, p))
            why = "latest recorded time"
        else:
            winner, why = members[-1], "last read; no recorded times"
        for p in members:
            status[p] = "kept" if p == winner else f"dropped: duplicate of {runs[winner].source}"
        dropped = ", ".join(runs[p].source for p in members if p != winner)
        warnings.append(
            (
                runs[winner].source,
                f"{len(members)} runs of model {model!r} on {bench!r}: kept {runs[winner].source} "
                f"({why}); dropped {dropped}",
            )
        )

    records, item_rows, metric_rows, read_rows = [], [], [], []
    for pos, run in enumerate(runs):
        label = chosen[run.benchmark]
        state = status.get(pos, "kept")
        value = run.metrics.get(label) if label else None
        found = run.items.get(label, []) if label else []
        read_rows.append(
            {
                "source": run.source,
                "format": run.format,
                "model": run.model,
                "benchmark": run.benchmark,
                "metric": label,
                "score": value.score if value else math.nan,
                "items": len(found),
                "status": state,
            }
        )
        if state != "kept" or value is None:
            continue
        n = value.n
        if math.isnan(n) and found:
            n = float(len(found))
        records.append(
            {
                "model": run.model,
                "benchmark": run.benchmark,
                "metric": label,
                "score": value.score,
                "stderr": value.stderr,
                "n": n,
            }
        )
        if found:
            base = label.split(",")[0].split("/")[-1] if label else ""
            if base in _MEAN_METRICS or run.format == "helm":
                mean = sum(v for _, v in found) / len(found)
                if not math.isclose(mean, value.score, rel_tol=1e-6, abs_tol=1e-9):
                    warnings.append(
                        (
                            run.source,
                            f"per-item mean {mean:.6g} of {run.model!r} on {run.benchmark!r} differs "
                            f"from the reported {label} {value.score:.6g} (items from another run?)",
                        )
                    )
            item_rows.extend(
                {"model": run.model, "benchmark": run.benchmark, "item": iid, "score": score}
                for iid, score in found
            )
        for name in run.metric_names():
            mv = run.metrics[name]
            metric_rows.append(
                {
                    "model": run.model,
                    "benchmark": run.benchmark,
                    "metric": name,
                    "score": mv.score,
                    "stderr": mv.stderr,
                    "n": mv.n,
                    "headline": name == label,
                }
            )

    def frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
        return (
            pd.DataFrame(rows, columns=list(columns))
            if rows
            else pd.DataFrame(columns=list(columns))
        )

    records_df = frame(records, LONG_COLUMNS)
    for col in ("score", "stderr", "n"):
        records_df[col] = records_df[col].astype(float)
    items_df = frame(item_rows, ITEM_COLUMNS)
    items_df["score"] = items_df["score"].astype(float)
    return ImportResult(
        records=records_df,
        items=items_df,
        metrics=frame(
            metric_rows, ("model", "benchmark", "metric", "score", "stderr", "n", "headline")
        ),
        benchmarks=frame(
            bench_rows,
            (
                "benchmark",
                "metric",
                "rule",
                "ambiguous",
                "alternatives",
                "higher_is_better",
                "format",
                "models",
            ),
        ),
        read=frame(
            read_rows,
            ("source", "format", "model", "benchmark", "metric", "score", "items", "status"),
        ),
        skipped=frame([{"source": s, "reason": r} for s, r in work.skipped], ("source", "reason")),
        warnings=frame([{"source": s, "message": m} for s, m in warnings], ("source", "message")),
        paths=paths,
    )

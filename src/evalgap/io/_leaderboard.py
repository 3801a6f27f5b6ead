"""Leaderboard tables: the Open LLM Leaderboard ``contents`` parquet and OpenCompass
summary CSVs.

Open LLM Leaderboard (v2, ``open-llm-leaderboard/contents``): one row per evaluated model
and precision; the model is ``fullname``, each benchmark (``IFEval``, ``BBH``,
``MATH Lvl 5``, ``GPQA``, ``MUSR``, ``MMLU-PRO``) has a ``<name> Raw`` column (the
harness's own score, 0 to 1) and a normalised column (0 to 100, rescaled so that random
guessing is 0). The headline is the raw score (metric ``raw``); ``--metric normalized``
picks the other. A model listed twice (two precisions) is a duplicate run; the row with
the later ``Submission Date`` wins. The v1 table (``ARC``, ``HellaSwag``, ``MMLU``,
``TruthfulQA``, ``Winogrande``, ``GSM8K``) is read too, with metric ``score``.

OpenCompass summary CSV: columns ``dataset, version, metric, mode`` and then one column per
model; ``-`` means not evaluated. Each row's ``metric`` is the headline of its dataset; a
dataset listed with several metrics is flagged as ambiguous (the first row wins unless
``--metric`` says otherwise).
"""

from __future__ import annotations

import math
from os import PathLike
from pathlib import Path

import pandas as pd

from evalgap.errors import InputError
from evalgap.io._frames import read_frame
from evalgap.io._records import MetricValue, Run, parse_time, to_float

__all__ = [
    "LEADERBOARD_V1",
    "is_leaderboard_parquet",
    "is_opencompass_header",
    "read_leaderboard",
    "read_opencompass",
]

#: Benchmark columns of the first Open LLM Leaderboard (2023-2024).
LEADERBOARD_V1 = ("ARC", "HellaSwag", "MMLU", "TruthfulQA", "Winogrande", "GSM8K")
_OPENCOMPASS_HEAD = ("dataset", "version", "metric", "mode")

_Path = str | PathLike[str]


def _parquet_columns(path: Path) -> list[str]:
    try:
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises many types for bad files
        raise InputError(
            f"not a readable parquet file ({type(exc).__name__})", source=path
        ) from None


def is_leaderboard_parquet(path: _Path) -> bool:
    """Whether a parquet file is an Open LLM Leaderboard ``contents`` table."""
    cols = _parquet_columns(Path(path))
    return "fullname" in cols and (
        any(c.endswith(" Raw") for c in cols) or any(c in cols for c in LEADERBOARD_V1)
    )


def is_opencompass_header(columns: list[str]) -> bool:
    """Whether a table header is an OpenCompass summary's."""
    head = tuple(str(c).strip().lower() for c in columns[:4])
    return head == _OPENCOMPASS_HEAD and len(columns) > 4


def read_leaderboard(path: _Path) -> tuple[list[Run], list[str]]:
    """Read an Open LLM Leaderboard ``contents`` parquet into runs (model x benchmark).

    Only the needed columns are read. Returns the runs and remarks for the import report.

    Raises
    ------
    InputError
        Not a readable parquet file, no ``fullname`` column, a score that is not a number.

    Examples
    --------
    >>> import pathlib, tempfile, pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "contents.parquet"
    >>> pd.DataFrame({"fullname": ["org/m-7b"], "GPQA Raw": [0.31], "GPQA": [8.1]}).to_parquet(p)
    >>> runs, _ = read_leaderboard(p)
    >>> runs[0].benchmark, runs[0].metrics["raw"].score, runs[0].metrics["normalized"].score
    ('GPQA', 0.31, 8.1)
    """
    import pyarrow.parquet as pq

    path = Path(path)
    cols = _parquet_columns(path)
    if "fullname" not in cols:
        raise InputError("no 'fullname' column; not an Open LLM Leaderboard table", source=path)
    raw_cols = [c for c in cols if c.endswith(" Raw")]
    if raw_cols:
        benches = {c[: -len(" Raw")]: c for c in raw_cols}
        metric_of = {"raw": "raw", "normalized": "normalized"}
    else:
        benches = {c: c for c in LEADERBOARD_V1 if c in cols}
        metric_of = {"raw": "score"}
    if not benches:
        raise InputError("no benchmark columns ('<name> Raw' or the v1 names)", source=path)
    normalized = [b for b in benches if b in cols] if raw_cols else []
    wanted = ["fullname", *benches.values(), *normalized]
    for extra in ("Submission Date", "Precision"):
        if extra in cols:
            wanted.append(extra)
    try:
        frame = pq.read_table(path, columns=list(dict.fromkeys(wanted))).to_pandas()
    except Exception as exc:
        raise InputError(
            f"not a readable parquet file ({type(exc).__name__})", source=path
        ) from None
    runs: list[Run] = []
    for pos, row in enumerate(frame.itertuples(index=False), start=1):
        rec = dict(zip(frame.columns, row, strict=True))
        model = rec.get("fullname")
        if (
            model is None
            or (isinstance(model, float) and math.isnan(model))
            or not str(model).strip()
        ):
            raise InputError("empty fullname", source=path, where=f"row {pos}")
        stamp = parse_time(rec.get("Submission Date")) if "Submission Date" in rec else None
        for bench, raw_col in benches.items():
            metrics: dict[str, MetricValue] = {}
            for label, col in (("raw", raw_col), ("normalized", bench if raw_cols else None)):
                if col is None or col not in rec:
                    continue
                value = to_float(rec[col])
                if value is None:
                    raise InputError(
                        f"expected a number, got {rec[col]!r}",
                        source=path,
                        where=f"row {pos}, column {col!r}",
                    )
                if not math.isnan(value):
                    metrics[metric_of[label]] = MetricValue(score=value, higher_is_better=True)
            if not metrics:
                continue
            runs.append(
                Run(
                    model=str(model).strip(),
                    benchmark=bench,
                    source=f"{path}",
                    format="open-llm-leaderboard",
                    metrics=metrics,
                    declared=metric_of["raw"] if metric_of["raw"] in metrics else None,
                    declared_by="the leaderboard's raw score column"
                    if raw_cols
                    else "the leaderboard's column",
                    timestamp=stamp,
                    order=tuple(metrics),
                )
            )
    return runs, []


def read_opencompass(path: _Path, frame: pd.DataFrame | None = None) -> tuple[list[Run], list[str]]:
    """Read an OpenCompass summary CSV (``dataset, version, metric, mode, <models>...``).

    Raises
    ------
    InputError
        Not an OpenCompass summary, a score that is not a number, the same dataset and
        metric on two rows.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "summary.csv"
    >>> _ = p.write_text("dataset,version,metric,mode,m-7b\\nmmlu,4d595a,naive_average,gen,64.1\\n")
    >>> runs, _ = read_opencompass(p)
    >>> runs[0].model, runs[0].benchmark, runs[0].declared, runs[0].metrics["naive_average"].score
    ('m-7b', 'mmlu', 'naive_average', 64.1)
    """
    path = Path(path)
    frame = read_frame(path) if frame is None else frame
    columns = [str(c).strip() for c in frame.columns]
    if not is_opencompass_header(columns):
        raise InputError(
            "expected an OpenCompass summary header 'dataset,version,metric,mode,<model>...'",
            source=path,
            where="header",
        )
    models = columns[4:]
    rows: dict[tuple[str, str], dict[str, MetricValue]] = {}
    metric_rows: dict[str, list[str]] = {}
    seen: dict[tuple[str, str], object] = {}
    for lineno, rec in zip(frame.index, frame.itertuples(index=False), strict=True):
        values = list(rec)
        dataset, metric = values[0], values[2]
        if dataset is None or metric is None:
            continue  # section headers such as '--------- Exam ---------'
        dataset, metric = str(dataset).strip(), str(metric).strip()
        if (dataset, metric) in seen:
            raise InputError(
                f"dataset {dataset!r} with metric {metric!r} twice (first at line {seen[(dataset, metric)]})",
                source=path,
                where=f"line {lineno}",
            )
        seen[(dataset, metric)] = lineno
        metric_rows.setdefault(dataset, []).append(metric)
        for model, cell in zip(models, values[4:], strict=True):
            value = to_float(cell)
            if value is None:
                raise InputError(
                    f"expected a number or '-', got {cell!r}",
                    source=path,
                    where=f"line {lineno}, column {model!r}",
                )
            if math.isnan(value):
                continue
            rows.setdefault((model, dataset), {})[metric] = MetricValue(score=value)
    runs = []
    for (model, dataset), metrics in rows.items():
        order = [m for m in metric_rows[dataset] if m in metrics]
        runs.append(
            Run(
                model=model,
                benchmark=dataset,
                source=str(path),
                format="opencompass",
                metrics=metrics,
                declared=order[0],
                declared_by="the summary's metric column"
                if len(metric_rows[dataset]) == 1
                else "the first of the dataset's rows in the summary",
                order=tuple(order),
                ambiguous=len(metric_rows[dataset]) > 1,
            )
        )
    return runs, []

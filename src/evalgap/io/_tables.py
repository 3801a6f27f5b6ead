"""Generic score tables: wide (one row per model) and long (one row per model and benchmark),
and the optional benchmark-info and model-info tables that go with them."""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from pathlib import Path

import pandas as pd

from evalgap.data._panel import BENCHMARK_COLUMNS, MODEL_COLUMNS, ROLES, Panel
from evalgap.errors import InputError
from evalgap.io._frames import file_sha256, read_frame, to_number_column

__all__ = [
    "LONG_COLUMNS",
    "panel_from_long",
    "read_benchmark_info",
    "read_long",
    "read_model_info",
    "read_scores",
    "read_table_panel",
    "read_wide",
]

#: Columns of a long score table; ``metric``, ``stderr`` and ``n`` are optional.
LONG_COLUMNS = ("model", "benchmark", "metric", "score", "stderr", "n")

_Path = str | PathLike[str]


def _norm_header(frame: pd.DataFrame) -> dict[str, str]:
    """Map lower-cased, stripped header names to the original ones."""
    return {str(c).strip().lower(): c for c in frame.columns}


def _is_long(frame: pd.DataFrame) -> bool:
    cols = _norm_header(frame)
    return {"model", "benchmark", "score"} <= set(cols)


def read_wide(path: _Path) -> pd.DataFrame:
    """Read a wide score table: first column ``model``, then one numeric column per
    benchmark.

    Returns the scores as a float DataFrame indexed by model id.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from evalgap.io import read_wide
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "scores.csv"
    >>> _ = p.write_text("model,mmlu,truthfulqa\\na,0.5,0.3\\nb,0.7,0.4\\n")
    >>> read_wide(p).loc["b", "mmlu"]
    np.float64(0.7)
    """
    frame = read_frame(path)
    return _wide_scores(frame, path)


def _wide_scores(frame: pd.DataFrame, path: _Path) -> pd.DataFrame:
    if len(frame.columns) < 2:
        raise InputError("expected a 'model' column and at least one benchmark column", source=path)
    first = str(frame.columns[0]).strip()
    if first.lower() != "model":
        raise InputError(
            f"the first column must be 'model', got {first!r}", source=path, where="header"
        )
    header = [str(c).strip() for c in frame.columns]
    seen: dict[str, int] = {}
    for pos, name in enumerate(header):
        if not name:
            raise InputError("a column has no name", source=path, where=f"header, column {pos + 1}")
        if name in seen:
            raise InputError(f"duplicate column {name!r}", source=path, where="header")
        seen[name] = pos
    frame = frame.set_axis(header, axis=1)
    models = frame["model"]
    for lineno, model in models.items():
        if model is None or (isinstance(model, float) and pd.isna(model)) or not str(model).strip():
            raise InputError("empty model id", source=path, where=f"line {lineno}")
    dup = models.astype(str).str.strip().duplicated()
    if dup.any():
        lineno = dup.index[dup.to_numpy().argmax()]
        raise InputError(
            f"duplicate model {str(models[lineno]).strip()!r}", source=path, where=f"line {lineno}"
        )
    numeric = {}
    for col in header[1:]:
        values = frame[col]
        if values.isna().all():
            raise InputError("column has no values", source=path, where=f"column {col!r}")
        numeric[col] = to_number_column(values, source=path, column=col)
    scores = pd.DataFrame(numeric)
    scores.index = pd.Index([str(m).strip() for m in models], name="model", dtype=object)
    scores.columns = pd.Index(header[1:], name="benchmark", dtype=object)
    return scores


def read_long(path: _Path) -> pd.DataFrame:
    """Read a long score table with columns ``model, benchmark, score`` and optionally
    ``metric``, ``stderr`` and ``n``.

    Returns a DataFrame with exactly the columns of :data:`LONG_COLUMNS`; a row with no
    score is an error, a missing ``stderr`` or ``n`` is NaN.
    """
    frame = read_frame(path)
    return _long_records(frame, path)


def _long_records(frame: pd.DataFrame, path: _Path) -> pd.DataFrame:
    cols = _norm_header(frame)
    missing = [c for c in ("model", "benchmark", "score") if c not in cols]
    if missing:
        raise InputError(
            f"a long table needs columns model, benchmark, score; missing {', '.join(missing)}",
            source=path,
            where="header",
        )
    out = pd.DataFrame(index=frame.index)
    for key in ("model", "benchmark"):
        values = frame[cols[key]]
        empty = values.isna() | (values.astype(str).str.strip() == "")
        if empty.any():
            lineno = empty.index[empty.to_numpy().argmax()]
            raise InputError(f"empty {key}", source=path, where=f"line {lineno}")
        out[key] = values.astype(str).str.strip()
    out["metric"] = frame[cols["metric"]].fillna("").astype(str) if "metric" in cols else ""
    score = to_number_column(frame[cols["score"]], source=path, column=cols["score"])
    if score.isna().any():
        lineno = score.index[score.isna().to_numpy().argmax()]
        raise InputError("empty score", source=path, where=f"line {lineno}")
    out["score"] = score
    for key in ("stderr", "n"):
        out[key] = (
            to_number_column(frame[cols[key]], source=path, column=cols[key])
            if key in cols
            else float("nan")
        )
    key = out["model"] + "\x00" + out["benchmark"]
    dup = key.duplicated()
    if dup.any():
        lineno = dup.index[dup.to_numpy().argmax()]
        first = key.index[(key == key[lineno]).to_numpy().argmax()]
        raise InputError(
            f"second score for model {out.loc[lineno, 'model']!r} on benchmark "
            f"{out.loc[lineno, 'benchmark']!r} (first at line {first})",
            source=path,
            where=f"line {lineno}",
        )
    return out.reset_index(drop=True)[list(LONG_COLUMNS)]


def panel_from_long(
    records: pd.DataFrame,
    *,
    source: str = "scores",
) -> pd.DataFrame:
    """Pivot long records (``model, benchmark, score``) into a wide score table.

    Raises
    ------
    InputError
        If a model has two scores for one benchmark.
    """
    dup = records.duplicated(["model", "benchmark"])
    if dup.any():
        row = records[dup].iloc[0]
        raise InputError(
            f"two scores for model {row['model']!r} on benchmark {row['benchmark']!r}",
            source=source,
        )
    wide = records.pivot(index="model", columns="benchmark", values="score")
    # pivot sorts; keep the order in which models and benchmarks first appear.
    wide = wide.loc[pd.unique(records["model"]), pd.unique(records["benchmark"])]
    wide.index = pd.Index(list(wide.index), name="model", dtype=object)
    wide.columns = pd.Index(list(wide.columns), name="benchmark", dtype=object)
    return wide.astype(float)


def read_scores(path: _Path) -> pd.DataFrame:
    """Read a score table in wide or long layout (detected from the header) and return
    the wide float DataFrame indexed by model id."""
    frame = read_frame(path)
    if _is_long(frame):
        return panel_from_long(_long_records(frame, path), source=str(path))
    return _wide_scores(frame, path)


def _meta_table(
    path: _Path, key: str, allowed: Iterable[str], numeric: Iterable[str] = ()
) -> pd.DataFrame:
    frame = read_frame(path)
    cols = _norm_header(frame)
    if key not in cols:
        raise InputError(f"expected a {key!r} column", source=path, where="header")
    out = frame.rename(columns={orig: low for low, orig in cols.items()})
    ids = out[key]
    empty = ids.isna() | (ids.astype(str).str.strip() == "")
    if empty.any():
        lineno = empty.index[empty.to_numpy().argmax()]
        raise InputError(f"empty {key} id", source=path, where=f"line {lineno}")
    ids = ids.astype(str).str.strip()
    dup = ids.duplicated()
    if dup.any():
        lineno = dup.index[dup.to_numpy().argmax()]
        raise InputError(f"duplicate {key} {ids[lineno]!r}", source=path, where=f"line {lineno}")
    allowed = set(allowed)
    keep = [c for c in out.columns if c in allowed]
    meta = out[keep].copy()
    for col in numeric:
        if col in meta:
            meta[col] = to_number_column(meta[col], source=path, column=col)
            bad = meta[col].notna() & ~((meta[col] > 0) & (meta[col] < float("inf")))
            if bad.any():
                lineno = bad.index[bad.to_numpy().argmax()]
                raise InputError(
                    f"expected a positive number, got {meta[col][lineno]:g}",
                    source=path,
                    where=f"line {lineno}, column {col!r}",
                )
    _check_meta_values(meta, path)
    meta.index = pd.Index(ids.to_numpy(), name=key, dtype=object)
    return meta


_TRUE = {"true", "t", "yes", "y", "1", "1.0", "higher", "up", "↑"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "lower", "down", "↓"}


def _check_meta_values(meta: pd.DataFrame, path: _Path) -> None:
    """Roles and higher_is_better flags of a benchmark-info file, checked where they are
    read, so an error names this file and its line (not the score table)."""
    for lineno, value in meta.get("role", pd.Series(dtype=object)).items():
        if pd.isna(value) or not str(value).strip():
            continue
        if str(value).strip().lower() not in ROLES:
            raise InputError(
                f"expected one of {', '.join(ROLES)}, got {str(value).strip()!r}",
                source=path,
                where=f"line {lineno}, column 'role'",
            )
    for lineno, value in meta.get("higher_is_better", pd.Series(dtype=object)).items():
        if pd.isna(value) or isinstance(value, bool):
            continue
        if str(value).strip().lower() not in _TRUE | _FALSE:
            raise InputError(
                f"expected true or false, got {str(value).strip()!r}",
                source=path,
                where=f"line {lineno}, column 'higher_is_better'",
            )


def read_benchmark_info(path: _Path) -> pd.DataFrame:
    """Read a benchmark-info table with columns
    ``benchmark, name, metric, higher_is_better, role, area`` (all but ``benchmark``
    optional). Unknown columns are ignored."""
    return _meta_table(path, "benchmark", BENCHMARK_COLUMNS)


def read_model_info(path: _Path) -> pd.DataFrame:
    """Read a model-info table with columns
    ``model, name, flop, params, type, family, release_date`` (all but ``model``
    optional). Unknown columns are ignored; ``flop`` must be a number."""
    return _meta_table(path, "model", MODEL_COLUMNS, numeric=("flop", "params"))


def read_table_panel(
    scores: _Path,
    benchmarks: _Path | None = None,
    models: _Path | None = None,
    *,
    capabilities: Iterable[str] | None = None,
) -> Panel:
    """Read a wide or long score table and optional metadata tables into a Panel."""
    paths = [Path(p) for p in (scores, benchmarks, models) if p is not None]
    score_frame = read_scores(scores)
    bench = read_benchmark_info(benchmarks) if benchmarks is not None else None
    mods = read_model_info(models) if models is not None else None
    if bench is not None:
        unknown = [b for b in bench.index if b not in score_frame.columns]
        if len(unknown) == len(bench.index):
            raise InputError("none of its benchmarks appear in the score table", source=benchmarks)
    if mods is not None and not any(m in score_frame.index for m in mods.index):
        raise InputError("none of its models appear in the score table", source=models)
    files = {str(p): file_sha256(p) for p in paths}
    return Panel.from_frames(
        score_frame, bench, mods, source=str(scores), files=files, capabilities=capabilities
    )

"""Scores for the inflation tests, from per-item records or from aggregates with standard
errors, in one shape: per model and benchmark, either an item vector or a mean and its SE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evalgap.analyses.inflation._common import items_frame
from evalgap.errors import AnalysisError, InputError

__all__ = ["BenchmarkScores", "scores_for"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class BenchmarkScores:
    """One benchmark's scores for a list of models.

    Attributes
    ----------
    benchmark
        Benchmark id.
    models
        Model ids, in the order of the rows below.
    items
        (models, items) per-item scores, or None for aggregates.
    item_ids
        The item ids (columns of ``items``); empty for aggregates.
    mean, se
        (models,) mean score and its standard error (for items: the SD over items
        divided by sqrt(items), as ConStat reports it).
    n
        Items behind each mean (NaN where unknown).
    dropped_items
        Items left out because some model had no score on them.
    """

    benchmark: str
    models: tuple[str, ...]
    items: FloatArray | None
    item_ids: tuple[str, ...]
    mean: FloatArray
    se: FloatArray
    n: FloatArray
    dropped_items: int = 0

    @property
    def per_item(self) -> bool:
        return self.items is not None

    def n_items(self) -> float:
        """Items per model: exact for per-item scores; for aggregates the median of the
        given counts, else the median of ``p (1 - p) / se^2`` (binary scores)."""
        if self.items is not None:
            return float(self.items.shape[1])
        if np.isfinite(self.n).any():
            return float(np.nanmedian(self.n))
        p = self.mean
        ok = (p > 0) & (p < 1) & (self.se > 0)
        if not ok.any():
            return float("nan")
        return float(np.median(p[ok] * (1 - p[ok]) / self.se[ok] ** 2))


def _kind(data: Any) -> tuple[str, pd.DataFrame]:
    """('items' | 'aggregates', frame) for a DataFrame or an ImportResult."""
    frame_items = getattr(data, "items", None)
    frame_records = getattr(data, "records", None)
    if isinstance(frame_items, pd.DataFrame) and isinstance(frame_records, pd.DataFrame):
        return ("items", frame_items) if not frame_items.empty else ("aggregates", frame_records)
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            f"expected per-item records or aggregate scores as a DataFrame, got {type(data).__name__}"
        )
    if "item" in data.columns:
        return "items", data
    if "stderr" in data.columns:
        return "aggregates", data
    raise InputError(
        "expected per-item records (columns model, benchmark, item, score) or aggregates "
        "with standard errors (columns model, benchmark, score, stderr)"
    )


def _aggregates_frame(data: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [c for c in ("model", "benchmark", "score", "stderr") if c not in data.columns]
    if missing:
        raise InputError(f"aggregate scores need a {missing[0]!r} column", source=source)
    cols = ["model", "benchmark", "score", "stderr"] + (["n"] if "n" in data.columns else [])
    frame = data[cols].copy()
    frame["model"] = frame["model"].astype(str)
    frame["benchmark"] = frame["benchmark"].astype(str)
    for col in cols[2:]:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    bad = np.flatnonzero(~np.isfinite(frame["score"].to_numpy()))
    if len(bad):
        raise InputError(
            f"score of model {frame['model'].iloc[bad[0]]!r} is not a finite number",
            source=source,
            where=f"row {bad[0] + 1}",
        )
    se = frame["stderr"].to_numpy()
    bad = np.flatnonzero(~(np.isfinite(se) & (se >= 0)))
    if len(bad):
        raise InputError(
            f"model {frame['model'].iloc[bad[0]]!r} on benchmark "
            f"{frame['benchmark'].iloc[bad[0]]!r} has no usable standard error "
            f"({frame['stderr'].iloc[bad[0]]!r}); the test needs one per score",
            source=source,
            where=f"row {bad[0] + 1}",
        )
    dup = frame.duplicated(["model", "benchmark"])
    if dup.any():
        row = frame[dup].iloc[0]
        raise InputError(
            f"model {row['model']!r} has more than one score on benchmark {row['benchmark']!r}",
            source=source,
        )
    return frame


def scores_for(
    data: Any, benchmarks: list[str], source: str = "scores"
) -> tuple[str, dict[str, pd.DataFrame]]:
    """The kind of input and, per benchmark, its rows (checked); raises when a benchmark
    is missing."""
    kind, frame = _kind(data)
    frame = items_frame(frame, source) if kind == "items" else _aggregates_frame(frame, source)
    present = set(frame["benchmark"].unique())
    out: dict[str, pd.DataFrame] = {}
    for name in benchmarks:
        if name not in present:
            listed = ", ".join(sorted(present)[:8]) or "none"
            raise AnalysisError(
                f"no scores for benchmark {name!r} (benchmarks present: {listed})", source=source
            )
        out[name] = frame[frame["benchmark"] == name]
    return kind, out


def benchmark_scores(
    kind: str, rows: pd.DataFrame, benchmark: str, models: list[str], source: str
) -> BenchmarkScores:
    """One benchmark's scores for ``models`` (all must be present)."""
    have = set(rows["model"].unique())
    absent = [m for m in models if m not in have]
    if absent:
        raise AnalysisError(
            f"model {absent[0]!r} has no score on benchmark {benchmark!r}", source=source
        )
    if kind == "aggregates":
        by = rows.set_index("model").loc[models]
        n = by["n"].to_numpy(dtype=float) if "n" in by.columns else np.full(len(models), np.nan)
        return BenchmarkScores(
            benchmark=benchmark,
            models=tuple(models),
            items=None,
            item_ids=(),
            mean=by["score"].to_numpy(dtype=float),
            se=by["stderr"].to_numpy(dtype=float),
            n=n,
        )
    wide = rows[rows["model"].isin(models)].pivot(index="model", columns="item", values="score")
    wide = wide.loc[models]
    complete = wide.notna().all(axis=0).to_numpy()
    if complete.sum() < 2:
        raise AnalysisError(
            f"benchmark {benchmark!r}: fewer than 2 items are scored for every model tested "
            "or used as a reference",
            source=source,
        )
    items = wide.loc[:, complete].to_numpy(dtype=float)
    n_items = items.shape[1]
    return BenchmarkScores(
        benchmark=benchmark,
        models=tuple(models),
        items=items,
        item_ids=tuple(str(c) for c in wide.columns[complete]),
        mean=items.mean(axis=1),
        se=items.std(axis=1) / np.sqrt(n_items),
        n=np.full(len(models), float(n_items)),
        dropped_items=int((~complete).sum()),
    )

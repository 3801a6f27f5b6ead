"""The score matrix that every evalgap analysis reads, with its benchmark and model metadata."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from evalgap._json import (
    column_types,
    frame_from_records,
    frame_indexed,
    frame_to_records,
    json_value,
)
from evalgap.data._duplicates import duplicate_columns
from evalgap.data._hierarchy import families
from evalgap.data._orientation import apply_transform, transform_label
from evalgap.errors import AnalysisError, InputError

__all__ = ["BENCHMARK_COLUMNS", "MODEL_COLUMNS", "ROLES", "Panel"]

#: Columns of :attr:`Panel.benchmarks`, in order.
BENCHMARK_COLUMNS = (
    "name",
    "metric",
    "higher_is_better",
    "role",
    "area",
    "orientation",
    "orientation_source",
    "parent",
)
#: Columns of :attr:`Panel.models`, in order.
MODEL_COLUMNS = ("name", "flop", "params", "type", "family", "release_date")
#: Allowed values of the ``role`` column.
ROLES = ("capability", "safety", "other")


@dataclass(frozen=True, eq=False)
class Panel:
    """A models x benchmarks score matrix with metadata.

    Build one with :meth:`Panel.from_frames`, a reader from :mod:`evalgap.io`, or
    :func:`evalgap.load_panel`; the constructor assumes already-validated frames.

    Attributes
    ----------
    scores
        Index: model id; columns: benchmark id; float; NaN where a model was not evaluated.
        Values are as reported (not yet oriented); see :meth:`oriented_scores`.
    benchmarks
        Index: benchmark id; columns ``name, metric, higher_is_better, role, area,
        orientation, orientation_source, parent``. ``orientation`` is the transform that
        makes higher mean safer (``higher``, ``lower`` or ``closer_to(c)``, see
        :mod:`evalgap.data._orientation`) and ``orientation_source`` where it comes from;
        ``parent`` names the aggregate a benchmark is a split of (empty if none).
    models
        Index: model id; columns ``name, flop, params, type, family, release_date``.
    source
        What the panel was read from: a catalog name or a file path.
    files
        sha256 of every input file, keyed by path, for provenance in reports.
    default_capabilities
        The capability benchmarks an audit uses when none are named.

    Examples
    --------
    >>> import pandas as pd
    >>> from evalgap import Panel
    >>> scores = pd.DataFrame({"mmlu": [0.4, 0.6], "truthfulqa": [0.3, 0.5]},
    ...                       index=["small", "large"])
    >>> panel = Panel.from_frames(scores, capabilities=["mmlu"])
    >>> panel.capability_benchmarks
    ['mmlu']
    """

    scores: pd.DataFrame
    benchmarks: pd.DataFrame
    models: pd.DataFrame
    source: str = ""
    files: Mapping[str, str] = field(default_factory=dict)
    default_capabilities: tuple[str, ...] = ()

    # -- construction -----------------------------------------------------------------

    @classmethod
    def from_frames(
        cls,
        scores: pd.DataFrame,
        benchmarks: pd.DataFrame | None = None,
        models: pd.DataFrame | None = None,
        *,
        source: str = "",
        files: Mapping[str, str] | None = None,
        capabilities: Iterable[str] | None = None,
    ) -> Panel:
        """Validate and align the three tables into a :class:`Panel`.

        Missing metadata is filled with defaults: a benchmark's name is its id,
        ``higher_is_better`` is True, ``role`` is ``capability`` for the benchmarks in
        ``capabilities`` and ``safety`` otherwise, ``area`` and ``parent`` are empty.
        ``orientation`` (``higher``, ``lower`` or ``closer_to(c)``) wins over
        ``higher_is_better`` when both are given; without it the orientation follows
        ``higher_is_better``, and ``higher_is_better`` is True only for ``higher``.
        Metadata rows for models or benchmarks that have no scores are dropped.

        Parameters
        ----------
        scores
            Index: model id; columns: benchmark id; numeric.
        benchmarks, models
            Optional metadata tables indexed by benchmark id and model id.
        source
            A label for error messages and reports (a path or a panel name).
        files
            sha256 of input files, keyed by path.
        capabilities
            Benchmark ids to mark as capability benchmarks (overrides ``role``) and to use
            as the default capability set.

        Raises
        ------
        InputError
            Duplicate or empty ids, non-numeric scores, metadata of the wrong type.
        """
        label = source or "scores"
        scores = _validate_scores(scores, label)
        benchmarks = _validate_benchmarks(benchmarks, scores.columns, label)
        models = _validate_models(models, scores.index, label)
        caps: tuple[str, ...] = ()
        if capabilities is not None:
            caps = tuple(dict.fromkeys(str(c) for c in capabilities))
            unknown = [c for c in caps if c not in benchmarks.index]
            if unknown:
                raise AnalysisError(
                    f"unknown capability benchmark {unknown[0]!r}; "
                    f"known: {_preview(benchmarks.index)}",
                    source=label,
                )
            benchmarks.loc[list(caps), "role"] = "capability"
        else:
            caps = tuple(benchmarks.index[benchmarks["role"] == "capability"])
        return cls(
            scores=scores,
            benchmarks=benchmarks,
            models=models,
            source=source,
            files=dict(files or {}),
            default_capabilities=caps,
        )

    # -- views --------------------------------------------------------------------------

    @property
    def model_ids(self) -> list[str]:
        """Model ids in panel order."""
        return list(self.scores.index)

    @property
    def benchmark_ids(self) -> list[str]:
        """Benchmark ids in panel order."""
        return list(self.scores.columns)

    @property
    def capability_benchmarks(self) -> list[str]:
        """Benchmarks whose role is ``capability``."""
        return list(self.benchmarks.index[self.benchmarks["role"] == "capability"])

    @property
    def safety_benchmarks(self) -> list[str]:
        """Benchmarks whose role is ``safety``."""
        return list(self.benchmarks.index[self.benchmarks["role"] == "safety"])

    @property
    def shape(self) -> tuple[int, int]:
        """(number of models, number of benchmarks)."""
        return self.scores.shape

    def orientations(self) -> pd.Series:
        """The transform of every benchmark (``higher``, ``lower``, ``closer_to(c)``),
        from ``higher_is_better`` for panels made before orientations existed."""
        if "orientation" in self.benchmarks:
            given = self.benchmarks["orientation"]
            if given.notna().all() and (given.astype(str) != "").all():
                return given.astype(str)
        hib = self.benchmarks["higher_is_better"].to_numpy(dtype=bool)
        return pd.Series(np.where(hib, "higher", "lower"), index=self.benchmarks.index)

    def oriented_scores(self) -> pd.DataFrame:
        """Scores transformed so higher means safer (or more capable) in every column:
        lower-is-better benchmarks negated, ``closer_to(c)`` benchmarks scored as
        ``-|x - c|``."""
        out = self.scores.copy()
        for bench, transform in self.orientations().items():
            if transform != "higher":
                out[bench] = apply_transform(self.scores[bench], transform)
        return out

    def families(self) -> pd.Series:
        """The family (root of the ``parent`` chain) of every benchmark: an aggregate and
        its own splits share one family; a benchmark with no parent is its own."""
        parents = (
            {str(b): str(p) for b, p in self.benchmarks["parent"].items() if p}
            if "parent" in self.benchmarks
            else {}
        )
        return pd.Series(families(self.benchmark_ids, parents), name="family")

    def duplicate_benchmarks(self) -> list[tuple[str, ...]]:
        """Groups of benchmark columns that are exact copies of each other."""
        return duplicate_columns(self.scores)

    def flop(self) -> pd.Series:
        """Training FLOP per model (float, NaN where unknown)."""
        return self.models["flop"].astype(float)

    def with_capabilities(self, capabilities: Iterable[str]) -> Panel:
        """A copy whose capability set is exactly ``capabilities``.

        Benchmarks that were capabilities but are not named become ``other``.
        """
        caps = tuple(dict.fromkeys(str(c) for c in capabilities))
        unknown = [c for c in caps if c not in self.benchmarks.index]
        if unknown:
            raise AnalysisError(
                f"unknown capability benchmark {unknown[0]!r}; "
                f"known: {_preview(self.benchmarks.index)}",
                source=self.source or None,
            )
        bench = self.benchmarks.copy()
        was_cap = (bench["role"] == "capability") & ~bench.index.isin(caps)
        bench.loc[was_cap, "role"] = "other"
        bench.loc[list(caps), "role"] = "capability"
        return replace(self, benchmarks=bench, default_capabilities=caps)

    def subset(
        self,
        models: Iterable[str] | None = None,
        benchmarks: Iterable[str] | None = None,
    ) -> Panel:
        """A copy restricted to the given model and/or benchmark ids (in that order)."""
        m = self.model_ids if models is None else [str(x) for x in models]
        b = self.benchmark_ids if benchmarks is None else [str(x) for x in benchmarks]
        for kind, ids, known in (
            ("model", m, self.scores.index),
            ("benchmark", b, self.scores.columns),
        ):
            missing = [x for x in ids if x not in known]
            if missing:
                raise AnalysisError(f"unknown {kind} {missing[0]!r}", source=self.source or None)
        caps = tuple(c for c in self.default_capabilities if c in b)
        return replace(
            self,
            scores=self.scores.loc[m, b],
            benchmarks=self.benchmarks.loc[b],
            models=self.models.loc[m],
            default_capabilities=caps,
        )

    def to_long(self) -> pd.DataFrame:
        """The scores as a long table with columns ``model, benchmark, score``
        (NaN cells left out)."""
        long = self.scores.rename_axis(index="model", columns="benchmark").stack().dropna()
        return long.rename("score").reset_index()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` rebuilds the panel exactly."""
        return {
            "source": self.source,
            "files": dict(self.files),
            "capabilities": list(self.default_capabilities),
            "models": list(self.model_ids),
            "benchmarks": list(self.benchmark_ids),
            "scores": [[json_value(v) for v in row] for row in self.scores.to_numpy()],
            "benchmark_info": frame_to_records(self.benchmarks.reset_index()),
            "model_info": frame_to_records(self.models.reset_index()),
            "columns": {
                "benchmark_info": column_types(self.benchmarks.reset_index()),
                "model_info": column_types(self.models.reset_index()),
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Panel:
        """Inverse of :meth:`to_dict` (no validation: the dict came from a panel)."""
        models = pd.Index(data["models"], dtype=object, name="model")
        benchmarks = pd.Index(data["benchmarks"], dtype=object, name="benchmark")
        values = np.array(
            [[np.nan if v is None else v for v in row] for row in data["scores"]], dtype=float
        ).reshape(len(models), len(benchmarks))
        columns = data["columns"]
        bench = frame_from_records(data["benchmark_info"], columns["benchmark_info"])
        info = frame_from_records(data["model_info"], columns["model_info"])
        return cls(
            scores=pd.DataFrame(values, index=models, columns=benchmarks),
            benchmarks=frame_indexed(bench, "benchmark"),
            models=frame_indexed(info, "model"),
            source=data["source"],
            files=dict(data["files"]),
            default_capabilities=tuple(data["capabilities"]),
        )

    def __repr__(self) -> str:
        n_m, n_b = self.shape
        n_cap = len(self.capability_benchmarks)
        missing = float(self.scores.isna().to_numpy().mean()) if self.scores.size else 0.0
        label = f" {self.source!r}" if self.source else ""
        return (
            f"<Panel{label}: {n_m} models x {n_b} benchmarks "
            f"({n_cap} capability), {missing:.1%} missing>"
        )


# -- validation -------------------------------------------------------------------------


def _preview(ids: Iterable[str], k: int = 8) -> str:
    ids = list(ids)
    head = ", ".join(map(str, ids[:k]))
    return head + (f", ... ({len(ids)} in all)" if len(ids) > k else "")


def _check_ids(index: pd.Index, kind: str, label: str) -> pd.Index:
    values = [None if pd.isna(v) else str(v).strip() for v in index]
    for pos, v in enumerate(values):
        if not v:
            raise InputError(f"empty {kind} id", source=label, where=f"{kind} #{pos + 1}")
    idx = pd.Index(values, dtype=object)
    dup = idx[idx.duplicated()]
    if len(dup):
        raise InputError(f"duplicate {kind} {dup[0]!r}", source=label)
    return idx


def _validate_scores(scores: pd.DataFrame, label: str) -> pd.DataFrame:
    if not isinstance(scores, pd.DataFrame):
        raise InputError("scores must be a pandas DataFrame", source=label)
    if scores.shape[0] == 0:
        raise InputError("no models (the score table has no rows)", source=label)
    if scores.shape[1] == 0:
        raise InputError("no benchmark columns", source=label)
    out = scores.copy()
    out.index = _check_ids(out.index, "model", label)
    out.columns = _check_ids(out.columns, "benchmark", label)
    for col in out.columns:
        series = out[col]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            converted = pd.to_numeric(series, errors="coerce")
            bad = series.notna() & converted.isna()
            if bad.any():
                model = bad.index[bad.to_numpy().argmax()]
                raise InputError(
                    f"expected a number, got {series[model]!r}",
                    source=label,
                    where=f"model {model!r}, benchmark {col!r}",
                )
            out[col] = converted
    out = out.astype(float)
    values = out.to_numpy()
    if np.isinf(values).any():
        r, c = np.argwhere(np.isinf(values))[0]
        raise InputError(
            "infinite score",
            source=label,
            where=f"model {out.index[r]!r}, benchmark {out.columns[c]!r}",
        )
    out.index.name = "model"
    out.columns.name = "benchmark"
    return out


def _as_bool(value: object, label: str, where: str) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"true", "t", "yes", "y", "1", "higher", "up", "↑"}:
        return True
    if text in {"false", "f", "no", "n", "0", "lower", "down", "↓"}:
        return False
    shown = repr(value.item() if isinstance(value, np.generic) else value)
    raise InputError(f"expected true or false, got {shown}", source=label, where=where)


def _validate_benchmarks(
    benchmarks: pd.DataFrame | None, ids: pd.Index, label: str
) -> pd.DataFrame:
    out = pd.DataFrame(index=pd.Index(ids, name="benchmark", dtype=object))
    if benchmarks is not None:
        info = benchmarks.copy()
        info.index = _check_ids(info.index, "benchmark", label)
        out = out.join(info, how="left")
    name = out["name"] if "name" in out else pd.Series(index=out.index, dtype=object)
    out["name"] = [
        n if isinstance(n, str) and n.strip() else i for i, n in zip(out.index, name, strict=False)
    ]
    if "metric" not in out:
        out["metric"] = ""
    out["metric"] = out["metric"].fillna("").astype(str)
    _orient(out, label)
    role = out["role"] if "role" in out else pd.Series("safety", index=out.index)
    roles = []
    for i, r in zip(out.index, role, strict=False):
        r = "safety" if pd.isna(r) or not str(r).strip() else str(r).strip().lower()
        if r not in ROLES:
            raise InputError(
                f"role must be one of {', '.join(ROLES)}, got {r!r}",
                source=label,
                where=f"benchmark {i!r}",
            )
        roles.append(r)
    out["role"] = roles
    if "area" not in out:
        out["area"] = ""
    out["area"] = out["area"].fillna("").astype(str).str.strip()
    parent = out["parent"] if "parent" in out else pd.Series("", index=out.index)
    out["parent"] = [
        "" if pd.isna(p) or str(p).strip() == str(i) else str(p).strip()
        for i, p in zip(out.index, parent, strict=False)
    ]
    extra = [c for c in out.columns if c not in BENCHMARK_COLUMNS]
    out = out[list(BENCHMARK_COLUMNS) + extra].astype(
        {c: object for c in ("name", "metric", "orientation", "orientation_source", "parent")}
    )
    return out


def _blank(value: object) -> bool:
    if value is None or (not isinstance(value, str | bool | np.bool_) and pd.isna(value)):
        return True
    return not str(value).strip()


def _orient(out: pd.DataFrame, label: str) -> None:
    """Fill ``orientation``, ``orientation_source`` and ``higher_is_better`` so they agree:
    a given orientation wins; else the orientation follows ``higher_is_better``."""
    n = len(out.index)
    hib = (
        out["higher_is_better"]
        if "higher_is_better" in out
        else pd.Series([None] * n, index=out.index)
    )
    given = out["orientation"] if "orientation" in out else pd.Series([None] * n, index=out.index)
    source = (
        out["orientation_source"]
        if "orientation_source" in out
        else pd.Series([None] * n, index=out.index)
    )
    orient, sources, flags = [], [], []
    for bench, h, o, src in zip(out.index, hib, given, source, strict=True):
        if not _blank(o):
            try:
                transform = transform_label(str(o))
            except InputError as exc:
                raise InputError(exc.problem, source=label, where=f"benchmark {bench!r}") from None
            why = f"orientation={transform}"
        elif not _blank(h):
            up = _as_bool(h, label, f"benchmark {bench!r}, higher_is_better")
            transform = "higher" if up else "lower"
            why = f"higher_is_better={str(up).lower()}"
        else:
            transform, why = "higher", "not stated: higher is taken as better"
        orient.append(transform)
        sources.append(why if _blank(src) else str(src))
        flags.append(transform == "higher")
    out["higher_is_better"] = flags
    out["orientation"] = orient
    out["orientation_source"] = sources


def _validate_models(models: pd.DataFrame | None, ids: pd.Index, label: str) -> pd.DataFrame:
    out = pd.DataFrame(index=pd.Index(ids, name="model", dtype=object))
    if models is not None:
        info = models.copy()
        info.index = _check_ids(info.index, "model", label)
        out = out.join(info, how="left")
    for col in MODEL_COLUMNS:
        if col not in out:
            out[col] = np.nan
    out["name"] = [
        n if isinstance(n, str) and n.strip() else i
        for i, n in zip(out.index, out["name"], strict=False)
    ]
    for col in ("flop", "params"):
        raw = out[col]
        num = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & num.isna()
        if bad.any():
            model = bad.index[bad.to_numpy().argmax()]
            raise InputError(
                f"expected a number, got {raw[model]!r}",
                source=label,
                where=f"model {model!r}, column {col!r}",
            )
        if (num <= 0).any():
            model = num.index[(num <= 0).to_numpy().argmax()]
            raise InputError(
                f"must be positive, got {float(num[model]):g}",
                source=label,
                where=f"model {model!r}, column {col!r}",
            )
        out[col] = num.astype(float)
    for col in ("type", "family", "release_date"):
        out[col] = [None if pd.isna(v) else str(v) for v in out[col]]
    extra = [c for c in out.columns if c not in MODEL_COLUMNS]
    return out[list(MODEL_COLUMNS) + extra].astype({"name": object})

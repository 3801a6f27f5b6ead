"""A result's tidy tables as rows in the shared vocabulary, so SQL can query across runs.

Every table of a result becomes rows of ``model, benchmark, estimate, ci_low, ci_high,
p_value, q_value, q_value_by, n, verdict``, a ``key`` (what the row measures beyond its
model and benchmark: a claim card's evidence line, a sensitivity variant, an item) and
the remaining columns as JSON in ``extra``. Analyses written in the shared vocabulary
need nothing here; older tables name their estimate differently and are mapped by
:data:`ALIASES`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["ALIASES", "KEYS", "ROW_COLUMNS", "VOCABULARY", "result_rows"]

#: The shared columns every stored row has, in order.
VOCABULARY = (
    "model",
    "benchmark",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "q_value_by",
    "n",
    "verdict",
)
#: Columns of the ``rows`` table after the run's sequence number.
ROW_COLUMNS = ("tbl", "row", "key", *VOCABULARY, "extra")

#: (analysis, table key) -> {shared column: the table's own column}.
ALIASES: dict[tuple[str, str], dict[str, str]] = {
    ("audit", "benchmarks"): {"estimate": "capabilities_correlation"},
    ("adjust", "scores"): {
        "estimate": "residual",
        "ci_low": "residual_low",
        "ci_high": "residual_high",
        "verdict": "assessment",
    },
    ("adjust", "fits"): {"estimate": "slope"},
    ("sensitivity", "benchmarks"): {"estimate": "capabilities_correlation"},
    ("sensitivity", "variants"): {"estimate": "rho_comparable"},
    ("items", "items"): {"estimate": "correlation"},
}
#: (analysis, table key) -> the columns joined into ``key``.
KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    ("claim", "evidence"): ("question", "evidence"),
    ("claim", "not_covered"): ("topic",),
    ("sensitivity", "variants"): ("variant",),
    ("items", "items"): ("item",),
    ("audit", "areas"): ("area",),
}

_NUMERIC = {"estimate", "ci_low", "ci_high", "p_value", "q_value", "q_value_by"}


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return {"inf": math.inf, "-inf": -math.inf}.get(value)
    if isinstance(value, int | float):
        return float(value)
    return None


def _count(value: Any) -> int | None:
    number = _number(value)
    if number is None or not math.isfinite(number):
        return None
    return int(number)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def result_rows(data: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Rows (:data:`ROW_COLUMNS`) of every table in a result's :meth:`~Result.to_dict`.

    A table without a ``benchmark`` column takes the result's ``benchmark`` setting when
    it is a single name.

    Examples
    --------
    >>> data = {"analysis": "x", "settings": {"benchmark": "b"}, "columns": {"t": {}},
    ...         "t": [{"model": "m", "estimate": 0.5, "other": 1}]}
    >>> result_rows(data)[0][:6]
    ('t', 0, '', 'm', 'b', 0.5)
    """
    analysis = str(data.get("analysis", ""))
    settings = data.get("settings") or {}
    default_benchmark = settings.get("benchmark")
    if not isinstance(default_benchmark, str):
        default_benchmark = None
    out: list[tuple[Any, ...]] = []
    for table in (data.get("columns") or {}).keys():
        records = data.get(table)
        if not isinstance(records, list):
            continue
        alias = ALIASES.get((analysis, table), {})
        key_cols = KEYS.get((analysis, table), ())
        source = {col: alias.get(col, col) for col in VOCABULARY}
        used = set(source.values()) | set(key_cols)
        for i, record in enumerate(records):
            values = []
            for col in VOCABULARY:
                raw = record.get(source[col])
                if col in _NUMERIC:
                    values.append(_number(raw))
                elif col == "n":
                    values.append(_count(raw))
                elif col == "benchmark":
                    values.append(_text(raw) if raw is not None else default_benchmark)
                else:
                    values.append(_text(raw))
            key = ": ".join(str(record.get(k, "")) for k in key_cols)
            extra = {k: v for k, v in record.items() if k not in used}
            out.append(
                (
                    table,
                    i,
                    key,
                    *values,
                    json.dumps(extra, ensure_ascii=False, allow_nan=False),
                )
            )
    return out

"""Plain JSON for evalgap's outputs: NumPy scalars unwrapped, NaN as null, infinities as
the strings ``"inf"`` and ``"-inf"``, and DataFrames as records that round-trip with their
column order and dtypes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "column_types",
    "frame_from_records",
    "frame_indexed",
    "frame_to_records",
    "json_value",
]

# Non-finite floats are not JSON; NaN is written as null and infinities as these strings.
_POS_INF, _NEG_INF = "inf", "-inf"


def json_value(value: Any) -> Any:
    """``value`` as plain JSON-ready Python: NumPy scalars unwrapped, NaN as None,
    infinities as ``"inf"``/``"-inf"``, tuples and arrays as lists, mappings as dicts."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return _POS_INF if value > 0 else _NEG_INF
        return value
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_value(v) for v in value]
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def frame_to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready records (NaN as null, infinities as strings)."""
    return [
        {str(k): json_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")
    ]


def column_types(frame: pd.DataFrame) -> dict[str, str]:
    """Column name -> dtype name, what :func:`frame_from_records` needs to restore a
    table exactly."""
    return {str(c): str(frame[c].dtype) for c in frame.columns}


def frame_from_records(
    records: list[Mapping[str, Any]], columns: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Inverse of :func:`frame_to_records`; ``columns`` (name -> dtype) restores the
    column order and dtypes, so an empty table keeps its columns."""
    frame = pd.DataFrame.from_records(list(records))
    if columns is None:
        return frame
    frame = frame.reindex(columns=list(columns))
    for name, dtype in columns.items():
        col = frame[name]
        if dtype.startswith("float"):
            col = col.map(_decode_float).astype(dtype)
        elif dtype == "object":
            col = col.astype(object).where(col.notna(), None)
        else:
            col = col.astype(dtype)
        frame[name] = col
    return frame


def frame_indexed(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` indexed by ``column`` (an object index, as evalgap's ids are)."""
    index = pd.Index(frame[column].tolist(), dtype=object, name=column)
    return frame.drop(columns=column).set_axis(index, axis=0)


def _decode_float(value: Any) -> float:
    if value is None:
        return math.nan
    if value == _POS_INF:
        return math.inf
    if value == _NEG_INF:
        return -math.inf
    return float(value)

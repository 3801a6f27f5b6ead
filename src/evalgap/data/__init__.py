"""The data model: a :class:`Panel` (models x benchmarks, with metadata), the orientation
table (how each benchmark is turned into "higher is safer", with its source) and the
benchmark hierarchy (an aggregate and its own splits)."""

from evalgap.data._duplicates import duplicate_columns
from evalgap.data._hierarchy import RELATIONS, families, hierarchy_table
from evalgap.data._orientation import (
    TRANSFORMS,
    Orientation,
    apply_transform,
    orientation_of,
    orientation_table,
    parse_transform,
)
from evalgap.data._panel import BENCHMARK_COLUMNS, MODEL_COLUMNS, ROLES, Panel

__all__ = [
    "BENCHMARK_COLUMNS",
    "MODEL_COLUMNS",
    "RELATIONS",
    "ROLES",
    "TRANSFORMS",
    "Orientation",
    "Panel",
    "apply_transform",
    "duplicate_columns",
    "families",
    "hierarchy_table",
    "orientation_of",
    "orientation_table",
    "parse_transform",
]

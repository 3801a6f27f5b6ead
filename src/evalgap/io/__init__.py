"""Readers: each turns a file layout into a :class:`~evalgap.Panel` or long records.

Long records are DataFrames with the columns of :data:`LONG_COLUMNS`
(``model, benchmark, metric, score, stderr, n``).
"""

from evalgap.io._frames import file_sha256, read_frame
from evalgap.io._obsscaling import read_obsscaling
from evalgap.io._safetywashing import (
    SAFETYWASHING_CAPABILITIES,
    read_safetywashing,
    safetywashing_area,
)
from evalgap.io._tables import (
    LONG_COLUMNS,
    panel_from_long,
    read_benchmark_info,
    read_long,
    read_model_info,
    read_scores,
    read_table_panel,
    read_wide,
)

__all__ = [
    "LONG_COLUMNS",
    "SAFETYWASHING_CAPABILITIES",
    "file_sha256",
    "panel_from_long",
    "read_benchmark_info",
    "read_frame",
    "read_long",
    "read_model_info",
    "read_obsscaling",
    "read_safetywashing",
    "read_scores",
    "read_table_panel",
    "read_wide",
    "safetywashing_area",
]

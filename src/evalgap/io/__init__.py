"""Readers: each turns a file layout into a :class:`~evalgap.Panel` or long records.

Long records are DataFrames with the columns of :data:`LONG_COLUMNS`
(``model, benchmark, metric, score, stderr, n``); per-item records have the columns of
:data:`ITEM_COLUMNS` (``model, benchmark, item, score``). :func:`import_results` reads
harness outputs (lm-eval, Inspect, HELM, leaderboards, tables) into both.
"""

from evalgap.io._attach import AttachResult, attach_scores
from evalgap.io._catalog import PanelSpec, list_panels, load_panel
from evalgap.io._detect import (
    DUPLICATE_RULE,
    FORMATS,
    ImportResult,
    detect_format,
    import_results,
)
from evalgap.io._frames import file_sha256, read_frame
from evalgap.io._helm import read_helm_run
from evalgap.io._inspect import read_inspect
from evalgap.io._leaderboard import read_leaderboard, read_opencompass
from evalgap.io._lmeval import LMEVAL_PREFERENCE, read_lmeval, read_lmeval_samples
from evalgap.io._matching import MatchResult, match_models
from evalgap.io._obsscaling import read_obsscaling
from evalgap.io._records import ITEM_COLUMNS, MetricChoice
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
    "DUPLICATE_RULE",
    "FORMATS",
    "ITEM_COLUMNS",
    "LMEVAL_PREFERENCE",
    "LONG_COLUMNS",
    "SAFETYWASHING_CAPABILITIES",
    "AttachResult",
    "ImportResult",
    "MatchResult",
    "MetricChoice",
    "PanelSpec",
    "attach_scores",
    "detect_format",
    "file_sha256",
    "import_results",
    "list_panels",
    "load_panel",
    "match_models",
    "panel_from_long",
    "read_benchmark_info",
    "read_frame",
    "read_helm_run",
    "read_inspect",
    "read_leaderboard",
    "read_lmeval",
    "read_lmeval_samples",
    "read_long",
    "read_model_info",
    "read_obsscaling",
    "read_opencompass",
    "read_safetywashing",
    "read_scores",
    "read_table_panel",
    "read_wide",
    "safetywashing_area",
]

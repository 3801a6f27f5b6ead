"""The data model: a :class:`Panel` (models x benchmarks, with metadata)."""

from evalgap.data._panel import BENCHMARK_COLUMNS, MODEL_COLUMNS, ROLES, Panel

__all__ = ["BENCHMARK_COLUMNS", "MODEL_COLUMNS", "ROLES", "Panel"]

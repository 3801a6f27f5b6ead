"""The one place Vega-Lite specs get their schema, look and verdict colours.

Every figure of the report is a Vega-Lite spec built as a plain dict with its data inlined;
the section modules build them with :func:`spec` so every chart looks alike.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CONFIG", "LEVEL_COLORS", "SCHEMA", "spec", "verdict_level"]

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"

#: Colour of each verdict level, shared by the charts and the table.
LEVEL_COLORS: dict[str, str] = {
    "high": "#c0392b",
    "moderate": "#d68910",
    "low": "#1e8449",
    "uncertain": "#7b8794",
    "n/a": "#c8ccd2",
}

CONFIG: dict[str, Any] = {
    "view": {"stroke": "#e3e6ea"},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#eef0f3"},
    "header": {"labelFontSize": 12, "titleFontSize": 12},
    "title": {"fontSize": 14, "anchor": "start", "subtitleColor": "#555"},
    "legend": {"labelFontSize": 11, "titleFontSize": 12},
}


def spec(**parts: Any) -> dict[str, Any]:
    """A Vega-Lite spec with the report's schema, config and white background."""
    return {"$schema": SCHEMA, "config": CONFIG, "background": "white", **parts}


def verdict_level(verdict: str) -> str:
    """The level of a verdict (``high``, ``moderate``, ``low``, ``uncertain``, ``n/a``).

    Examples
    --------
    >>> verdict_level("high +"), verdict_level("uncertain")
    ('high', 'uncertain')
    """
    word = str(verdict).split(" ")[0] if verdict else "n/a"
    return word if word in LEVEL_COLORS else "n/a"

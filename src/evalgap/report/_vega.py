"""The one place Vega-Lite specs get their schema, look and verdict colours.

Every figure of the report is a Vega-Lite spec built as a plain dict with its data inlined;
the section modules build them with :func:`spec` so every chart looks alike.
"""

from __future__ import annotations

from typing import Any

from evalgap.results._verdict import level_of

__all__ = ["CONFIG", "LEVEL_COLORS", "SCHEMA", "interval_dots", "spec", "verdict_level"]

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"

#: Colour of each verdict level, shared by the charts and the table.
LEVEL_COLORS: dict[str, str] = {
    "high": "#c0392b",
    "moderate": "#d68910",
    "weak": "#b7950b",
    "low": "#1e8449",
    "undetermined": "#7b8794",
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
    """The level of a verdict (``high``, ``moderate``, ``weak``, ``low``,
    ``undetermined``, ``n/a``), what the charts and tables colour by.

    Examples
    --------
    >>> verdict_level("tracks capabilities (high, +)"), verdict_level("not determined")
    ('high', 'undetermined')
    """
    level = level_of(verdict)
    return level if level in LEVEL_COLORS else "n/a"


def interval_dots(
    rows: list[dict[str, Any]],
    *,
    description: str,
    y: dict[str, Any],
    value: str,
    low: str,
    high: str,
    x_title: str,
    color: dict[str, Any],
    tooltip: list[dict[str, Any]],
    size: int = 36,
    step: int = 12,
) -> dict[str, Any]:
    """One row per item: a dot at ``value`` on an interval rule from ``low`` to ``high``,
    beside a rule at zero (the forest plots of the per-model sections)."""
    return spec(
        description=description,
        data={"values": rows},
        width=380,
        height={"step": step},
        layer=[
            {"mark": {"type": "rule", "color": "#9aa0a6"}, "encoding": {"x": {"datum": 0}}},
            {
                "mark": {"type": "rule", "strokeWidth": 2, "opacity": 0.55},
                "encoding": {
                    "y": y,
                    "x": {"field": low, "type": "quantitative"},
                    "x2": {"field": high},
                    "color": color,
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": size},
                "encoding": {
                    "y": y,
                    "x": {"field": value, "type": "quantitative", "title": x_title},
                    "color": color,
                    "tooltip": tooltip,
                },
            },
        ],
    )

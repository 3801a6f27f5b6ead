"""The contract between analyses and the HTML report: a section of already-escaped HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ReportSection", "escape"]


def escape(value: object) -> str:
    """HTML-escape any value for text or a quoted attribute (quotes included)."""
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class ReportSection:
    """One section of the audit report, contributed by an analysis.

    Attributes
    ----------
    id
        The section's anchor id (letters, digits and ``-`` only).
    title
        Plain text; the report escapes it.
    html
        An HTML fragment in which every input-derived string is already escaped (build it
        with :func:`escape` and the report's table helpers). No ``<script>`` tags.
    charts
        Vega-Lite specs (dicts, data inlined) keyed by the id of an empty ``<div>`` in
        ``html`` that the chart is drawn into; the report also inlines a static SVG of each
        so the section reads with JavaScript off.
    """

    id: str
    title: str
    html: str
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)

"""The contract between analyses and the HTML report: a section of already-escaped HTML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evalgap.report._render import render_svg, svg_for_html

__all__ = ["Contribution", "Part", "ReportSection", "chart_html"]


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


@dataclass
class Part:
    """A section the report's own modules built: like :class:`ReportSection`, but its HTML
    already holds the static SVG of each chart (see :func:`chart_html`), so it is trusted
    as is. ``charts`` are the specs the page makes interactive."""

    id: str
    title: str
    html: str
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Contribution:
    """What one result adds to a report page.

    Attributes
    ----------
    title
        The page title when this result comes first.
    lead
        HTML for the page's lead paragraph when this result comes first.
    parts
        Its sections, in order.
    closing
        Sections placed after every result's parts (methods, caveats).
    data
        JSON blocks for the page's script, keyed by element id.
    """

    title: str
    lead: str
    parts: tuple[Part | ReportSection, ...]
    closing: tuple[Part | ReportSection, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)


def chart_html(chart_id: str, spec: dict[str, Any] | None) -> str:
    """The ``<div>`` a chart is drawn into, holding its static SVG (none for a chart that
    only exists with JavaScript on, when ``spec`` is None)."""
    inner = ""
    if spec is not None:
        svg = svg_for_html(render_svg(spec, what=f"chart {chart_id!r}"), chart_id)
        inner = f'<div class="static">{svg}</div>'
    return f'<div id="{chart_id}" class="chart">{inner}</div>'

"""The report: one self-contained HTML file from any analysis results, and the audit's
figures as files for a paper.

Figures are Vega-Lite specs (plain dicts, data inlined). vl-convert renders them to
static SVG, PNG and PDF without a browser and supplies the Vega JavaScript the page
inlines, so the report opens offline, from ``file://``, and reads with JavaScript off.

Other analyses add sections with :class:`ReportSection`, building their HTML with
:func:`escape`, :func:`html_table` and :func:`chart_slot`:

>>> from evalgap.report import ReportSection, chart_slot, html_table, write_report
>>> section = ReportSection(
...     id="adjusted",
...     title="Capabilities-adjusted scores",
...     html=html_table(frame, {"model": "Model", "adjusted": "Adjusted"})
...     + chart_slot("adjusted-chart", caption="Adjusted score by model"),
...     charts={"adjusted-chart": spec},
... )  # doctest: +SKIP
>>> write_report(result, "report.html", sections=[section])  # doctest: +SKIP
"""

from evalgap.report._figures import write_figures
from evalgap.report._html import chart_slot, escape, html_table, json_ready, script_json
from evalgap.report._page import build_report, write_report
from evalgap.report._render import render, render_svg, vega_bundle
from evalgap.report._section import ReportSection
from evalgap.report._vega import LEVEL_COLORS
from evalgap.report.sections import contribution_of, section_of
from evalgap.report.sections._audit_specs import (
    capabilities_spec,
    figure_specs,
    forest_spec,
    heatmap_spec,
    scatter_spec,
    scree_spec,
)

__all__ = [
    "LEVEL_COLORS",
    "ReportSection",
    "build_report",
    "capabilities_spec",
    "chart_slot",
    "contribution_of",
    "escape",
    "figure_specs",
    "forest_spec",
    "heatmap_spec",
    "html_table",
    "json_ready",
    "render",
    "render_svg",
    "scatter_spec",
    "scree_spec",
    "script_json",
    "section_of",
    "vega_bundle",
    "write_figures",
    "write_report",
]

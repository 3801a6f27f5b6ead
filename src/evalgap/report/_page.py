"""The self-contained HTML report: one file, no request, readable with JavaScript off."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from evalgap._output import write_atomic
from evalgap._version import __version__
from evalgap.analyses.safetywashing._audit import AuditResult
from evalgap.errors import AnalysisError, InputError
from evalgap.report._html import check_id, html_table, script_json
from evalgap.report._render import compile_vega, render_svg, svg_for_html, vega_bundle
from evalgap.report._section import ReportSection, escape
from evalgap.report._specs import (
    benchmark_labels,
    capabilities_spec,
    forest_rows,
    forest_spec,
    heatmap_spec,
    overview_benchmarks,
    scatter_grid_spec,
    scatter_picker_spec,
    scree_spec,
    verdict_level,
)
from evalgap.report._text import (
    caveats_html,
    headline_html,
    methods_html,
    summary_html,
)

__all__ = ["build_report", "write_report"]

#: Section and element ids the report itself uses; a contributed section may not reuse them.
RESERVED_IDS = frozenset(
    {
        "summary",
        "at-a-glance",
        "table",
        "benchmarks",
        "capabilities",
        "methods",
        "caveats",
        "forest",
        "scatter-live",
        "scatter-overview",
        "capabilities-chart",
        "scree",
        "heatmap",
        "picker",
        "bench-pick",
        "pick-title",
        "pick-stats",
        "audit-table",
        "area-table",
        "loadings-table",
        "evalgap-charts",
        "evalgap-benchmarks",
    }
)

#: How many benchmarks get static scatter plots (the rest are in the interactive picker).
STATIC_SCATTERS = 12


@dataclass
class _Part:
    id: str
    title: str
    html: str
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)


def _asset(name: str) -> str:
    return resources.files("evalgap.report").joinpath("assets", name).read_text("utf-8")


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _slot(chart_id: str, static_svg: str | None) -> str:
    inner = f'<div class="static">{static_svg}</div>' if static_svg else ""
    return f'<div id="{chart_id}" class="chart">{inner}</div>'


def _static(spec: dict[str, Any], chart_id: str) -> str:
    return svg_for_html(render_svg(spec, what=f"chart {chart_id!r}"), chart_id)


# -- the built-in parts -------------------------------------------------------------------


def _fmt2(v: Any) -> str:
    return f"{v:.2f}"


def _interval(lo: pd.Series, hi: pd.Series) -> list[str]:
    return [
        "–" if pd.isna(a) or pd.isna(b) else f"[{a:.2f}, {b:.2f}]"
        for a, b in zip(lo, hi, strict=True)
    ]


def _verdict_class(value: Any) -> str | None:
    level = verdict_level(str(value))
    return None if level == "n/a" else f"v-{level}"


def _full_table(result: AuditResult) -> str:
    t = result.table
    level = result.settings["confidence_level"]
    frame = t.assign(
        label=benchmark_labels(result),
        area=[a if a else "(none)" for a in t["area"]],
        ci=_interval(t["ci_low"], t["ci_high"]),
        compute_ci=_interval(t["compute_ci_low"], t["compute_ci_high"]),
        slope_ci=[
            "–" if pd.isna(a) or pd.isna(b) else f"[{a:.3g}, {b:.3g}]"
            for a, b in zip(t["slope_ci_low"], t["slope_ci_high"], strict=True)
        ],
    )
    columns = {
        "label": "Benchmark",
        "benchmark": "Id",
        "area": "Area",
        "role": "Role",
        "n": "n",
        "capabilities_correlation": "ρ capab.",
        "ci": f"{level:.0%} CI",
        "p_value": "p",
        "verdict": "Verdict",
        "compute_n": "n FLOP",
        "compute_correlation": "ρ log FLOP",
        "compute_ci": "FLOP CI",
        "compute_p_value": "p FLOP",
        "slope": "Slope/SD",
        "slope_ci": "Slope CI",
        "oriented": "Oriented",
        "metric": "Metric",
        "note": "Note",
    }
    return html_table(
        frame,
        columns,
        formats={
            "capabilities_correlation": _fmt2,
            "compute_correlation": _fmt2,
            "p_value": ".4f",
            "compute_p_value": ".4f",
            "slope": ".3g",
        },
        sort_by={"ci": "ci_low", "compute_ci": "compute_ci_low", "slope_ci": "slope_ci_low"},
        cell_classes={"verdict": _verdict_class},
        numeric=[
            "n",
            "capabilities_correlation",
            "ci",
            "p_value",
            "compute_n",
            "compute_correlation",
            "compute_ci",
            "compute_p_value",
            "slope",
            "slope_ci",
        ],
        table_id="audit-table",
    )


def _areas_table(result: AuditResult) -> str:
    areas = result.areas
    columns = {
        "area": "Area",
        "n_benchmarks": "Benchmarks",
        "median_correlation": "Median ρ",
        "mean_abs_correlation": "Mean |ρ|",
        "median_compute_correlation": "Median ρ FLOP",
        "high": "high",
        "moderate": "moderate",
        "low": "low",
        "uncertain": "uncertain",
    }
    columns = {k: v for k, v in columns.items() if k in areas.columns}
    return html_table(
        areas,
        columns,
        formats={
            "median_correlation": _fmt2,
            "mean_abs_correlation": _fmt2,
            "median_compute_correlation": _fmt2,
        },
        table_id="area-table",
    )


def _loadings_table(result: AuditResult) -> str:
    cap = result.capabilities
    meta = result.panel.benchmarks
    frame = cap.table.assign(
        label=[
            str(meta.loc[b, "name"]) if b in meta.index and str(meta.loc[b, "name"]) else b
            for b in cap.table["benchmark"]
        ]
    )
    return html_table(
        frame,
        {
            "label": "Capability benchmark",
            "benchmark": "Id",
            "loading": "PC1 loading",
            "correlation": "Correlation with the score",
            "n": "n",
        },
        formats={"loading": ".3f", "correlation": ".3f"},
        table_id="loadings-table",
    )


def _parts(result: AuditResult) -> list[_Part]:
    s = result.settings
    parts: list[_Part] = []

    parts.append(_Part("summary", "Summary", headline_html(result) + summary_html(result)))

    forest = forest_spec(result)
    level = f"{s['confidence_level']:.0%} " if s["n_boot"] else ""
    method = {"spearman": "Spearman", "pearson": "Pearson", "kendall": "Kendall"}.get(
        s["method"], s["method"]
    )
    bands = s["bands"]
    glance = (
        f"<p>Each dot is one audited benchmark: its {escape(method)} correlation with "
        f"the capabilities score, with its {level}bootstrap interval as a line, grouped by "
        "area and coloured by verdict. The solid line is ρ = 0; dashed lines mark the "
        f"verdict bands at ±{bands['moderate']:g} and ±{bands['high']:g}. Benchmarks far "
        "right track capabilities; far left fall as capabilities rise (e.g. hazardous "
        "knowledge that more capable models have more of). With JavaScript on, hover for the "
        "numbers and click a dot to see its scatter plot.</p>"
        f"<figure>{_slot('forest', _static(forest, 'forest'))}"
        "<figcaption>Capabilities correlation of every audited benchmark, by area. "
        '<span class="swatch lvl-high"></span>high <span class="swatch lvl-moderate"></span>'
        'moderate <span class="swatch lvl-low"></span>low '
        '<span class="swatch lvl-uncertain"></span>uncertain</figcaption></figure>'
    )
    parts.append(_Part("at-a-glance", "At a glance", glance, {"forest": forest}))

    table_html = (
        "<h3>By area</h3>"
        f'<div class="table-wrap">{_areas_table(result)}</div>'
        "<h3>Every benchmark</h3>"
        '<p class="note">Sorted by |ρ capab.|; click a header to sort (JavaScript). '
        "ρ: correlation with the capabilities score; ρ log FLOP: with log10 training FLOP; "
        "Slope/SD: change in the score per SD of the capabilities score.</p>"
        f'<div class="table-wrap">{_full_table(result)}</div>'
    )
    parts.append(_Part("table", "Results table", table_html))

    rows = forest_rows(result)
    picker = scatter_picker_spec(result)
    chosen = overview_benchmarks(result, STATIC_SCATTERS)
    grid = scatter_grid_spec(result, chosen)
    options = []
    by_area: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_area.setdefault(r["area"], []).append(r)
    for area in sorted(by_area):
        opts = "".join(
            f'<option value="{r["i"]}"{" selected" if r["i"] == 0 else ""}>{escape(r["label"])}'
            f" (ρ {'–' if r['rho'] is None else format(r['rho'], '.2f')})</option>"
            for r in by_area[area]
        )
        options.append(f'<optgroup label="{escape(area)}">{opts}</optgroup>')
    bench_html = (
        "<p>Each benchmark's score (oriented so higher is safer) against the capabilities "
        "score and against log10 training FLOP, one dot per model, with a least-squares "
        "line. A correlation driven by one or two models shows here.</p>"
        '<div class="picker" id="picker" hidden>'
        '<label for="bench-pick">Benchmark</label>'
        f'<select id="bench-pick">{"".join(options)}</select>'
        '<h3 id="pick-title"></h3><p class="note" id="pick-stats"></p>'
        f"{_slot('scatter-live', None)}"
        '<p class="note">Hover a dot for the model.</p></div>'
        '<noscript><p class="note">With JavaScript on, a picker here shows any '
        "benchmark.</p></noscript>"
        f"<h3>The {len(chosen)} benchmarks with the largest |ρ|</h3>"
        f"<figure>{_slot('scatter-overview', _static(grid, 'scatter-overview'))}"
        "<figcaption>Left: against the capabilities score; right: against log10 training "
        "FLOP (where known). Every benchmark's plot is written by "
        "<code>evalgap figures</code>.</figcaption></figure>"
    )
    parts.append(
        _Part(
            "benchmarks",
            "Per benchmark",
            bench_html,
            {"scatter-live": picker, "scatter-overview": grid},
        )
    )

    caps = capabilities_spec(result)
    scree = scree_spec(result)
    heat = heatmap_spec(result)
    cap_html = (
        "<p>The reference every correlation is measured against: the first principal "
        "component of the capability benchmarks.</p>"
        '<div class="row">'
        f"<figure>{_slot('capabilities-chart', _static(caps, 'capabilities-chart'))}</figure>"
        f"<figure>{_slot('scree', _static(scree, 'scree'))}</figure>"
        "</div>"
        f"<figure>{_slot('heatmap', _static(heat, 'heatmap'))}</figure>"
        "<h3>Loadings</h3>"
        f'<div class="table-wrap">{_loadings_table(result)}</div>'
    )
    parts.append(
        _Part(
            "capabilities",
            "Capabilities score",
            cap_html,
            {"capabilities-chart": caps, "scree": scree, "heatmap": heat},
        )
    )
    return parts


# -- contributed sections -----------------------------------------------------------------

_SCRIPT_TAG = re.compile(r"<\s*/?\s*script\b", re.IGNORECASE)


def _section_part(section: ReportSection, taken: set[str]) -> _Part:
    if not isinstance(section, ReportSection):
        raise InputError(
            f"report sections must be ReportSection objects, got {type(section).__name__}",
            source="report",
        )
    sid = check_id(section.id, "section id")
    where = f"section {sid!r}"
    if sid in RESERVED_IDS or sid in taken:
        raise InputError(f"{where}: the id is already used in the report", source="report")
    taken.add(sid)
    html = str(section.html)
    if _SCRIPT_TAG.search(html):
        raise InputError(f"{where}: its HTML must not contain <script> tags", source="report")
    charts: dict[str, dict[str, Any]] = {}
    for chart_id, spec in dict(section.charts).items():
        check_id(chart_id, f"{where}: chart id")
        if chart_id in RESERVED_IDS or chart_id in taken:
            raise InputError(f"{where}: chart id {chart_id!r} is already used", source="report")
        taken.add(chart_id)
        pattern = re.compile(
            r"(<div\b[^>]*\bid\s*=\s*([\"'])" + re.escape(chart_id) + r"\2[^>]*>)\s*(</div>)",
            re.IGNORECASE,
        )
        matches = pattern.findall(html)
        if len(matches) != 1:
            raise InputError(
                f"{where}: chart {chart_id!r} needs exactly one empty "
                f'<div id="{chart_id}"></div> in its HTML (use chart_slot())',
                source="report",
            )
        svg = _static(spec, chart_id)
        html = pattern.sub(
            lambda m, svg=svg: f'{m.group(1)}<div class="static">{svg}</div>{m.group(3)}', html
        )
        charts[chart_id] = spec
    return _Part(sid, str(section.title), html, charts)


# -- the page -----------------------------------------------------------------------------


def build_report(
    result: AuditResult,
    *,
    sections: Sequence[ReportSection] = (),
    title: str | None = None,
) -> str:
    """The audit report as one self-contained HTML document.

    The page makes no network request (a Content-Security-Policy forbids them, and the
    Vega JavaScript is inlined), opens from ``file://``, and reads in full with JavaScript
    off: every figure is an inline static SVG and the table is plain HTML. With JavaScript
    on, the figures become interactive (tooltips with model names, a benchmark picker) and
    the table sortable. Only scripts whose sha256 is in the policy run, so nothing that
    came from an input file can execute even if it got into the page.

    Parameters
    ----------
    result
        What :func:`evalgap.audit` returned.
    sections
        Extra sections from other analyses, placed before the methods; see
        :class:`ReportSection`, :func:`chart_slot` and :func:`html_table`.
    title
        The page title; default ``"Safetywashing audit: <panel>"``.

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    EvalgapError
        ``result`` is not an :class:`AuditResult`, or a section breaks the contract
        (bad or duplicate id, a ``<script>`` tag, a chart without its slot or a chart that
        does not render).

    Examples
    --------
    >>> from evalgap import audit, load_panel
    >>> from evalgap.report import build_report
    >>> html = build_report(audit(load_panel("safetywashing-2024:chat"), n_boot=200))
    ... # doctest: +SKIP
    >>> html.startswith("<!DOCTYPE html>")  # doctest: +SKIP
    True
    """
    if not isinstance(result, AuditResult):
        raise AnalysisError(
            f"the report needs an AuditResult (from evalgap.analyses.safetywashing._audit), got {type(result).__name__}"
        )
    s = result.settings
    panel_name = s.get("panel") or "scores"
    page_title = title if title is not None else f"Safetywashing audit: {panel_name}"

    parts = _parts(result)
    taken = set(RESERVED_IDS)
    for section in sections:
        parts.append(_section_part(section, taken))
    parts.append(_Part("methods", "Methods: what was computed", methods_html(result)))
    parts.append(_Part("caveats", "What these numbers do not capture", caveats_html(result)))

    specs = {
        cid: compile_vega(spec, what=f"chart {cid!r}")
        for part in parts
        for cid, spec in part.charts.items()
    }
    rows = forest_rows(result)
    picker_rows = [
        {k: r[k] for k in ("label", "area", "n", "rho", "lo", "hi", "p", "verdict", "crho")}
        for r in rows
    ]
    bundle = vega_bundle()
    script = _asset("report.js")
    csp = (
        "default-src 'none'; "
        f"script-src {_csp_hash(bundle)} {_csp_hash(script)}; "
        "style-src 'unsafe-inline'; img-src data:; font-src 'none'; connect-src 'none'; "
        "media-src 'none'; object-src 'none'; frame-src 'none'; worker-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
    nav = "".join(f'<a href="#{p.id}">{escape(p.title)}</a>' for p in parts)
    body = "".join(
        f'<section id="{p.id}" aria-labelledby="{p.id}-h">'
        f'<h2 id="{p.id}-h">{escape(p.title)}</h2>{p.html}</section>'
        for p in parts
    )
    cap = result.capabilities
    lead = (
        f"Does each safety benchmark of {escape(panel_name)} mostly measure general "
        f"capabilities? {len(result.table)} benchmarks against a capabilities score "
        f"(PC1 of {len(cap.capabilities)} capability benchmarks, {cap.explained_variance:.1%} "
        f"of their variance) over {cap.n_models} models, and against training compute. "
        "After Ren et al. 2024, <em>Safetywashing</em> (arXiv:2407.21792)."
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light">'
        f'<meta name="generator" content="evalgap {escape(__version__)}">'
        f"<title>{escape(page_title)}</title>"
        f"<style>{_asset('report.css')}</style></head>\n"
        '<body><header class="top"><div class="wrap">'
        f'<h1>{escape(page_title)}</h1><p class="lead">{lead}</p>'
        f'<nav class="toc" aria-label="Contents">{nav}</nav></div></header>\n'
        f'<main class="wrap">{body}</main>\n'
        f'<footer class="wrap">Made by evalgap {escape(__version__)}. This file is '
        "self-contained: it loads nothing from the network.</footer>\n"
        f'<script type="application/json" id="evalgap-charts">{script_json(specs)}</script>\n'
        f'<script type="application/json" id="evalgap-benchmarks">{script_json(picker_rows)}'
        "</script>\n"
        f"<script>{bundle}</script>\n<script>{script}</script>\n"
        "</body></html>\n"
    )


def write_report(
    result: AuditResult,
    path: str | PathLike[str],
    *,
    sections: Sequence[ReportSection] = (),
    title: str | None = None,
) -> Path:
    """Write the self-contained HTML report to ``path`` atomically.

    The whole page is built before anything is written, and the file appears only when it
    is complete: a failure never leaves a partial file. See :func:`build_report`.

    Parameters
    ----------
    result
        What :func:`evalgap.audit` returned.
    path
        The ``.html`` file to write; its folder is created if needed.
    sections, title
        As for :func:`build_report`.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    EvalgapError
        Bad input (see :func:`build_report`), or ``path`` cannot be written.

    Examples
    --------
    >>> from evalgap import audit, load_panel
    >>> from evalgap.report import write_report
    >>> write_report(audit(load_panel("safetywashing-2024:chat")), "report.html")
    ... # doctest: +SKIP
    PosixPath('report.html')
    """
    target = Path(path)
    if target.is_dir():
        raise InputError("is a folder; give a file name for the report", source=target)
    html = build_report(result, sections=sections, title=title)
    try:
        return write_atomic(target, html)
    except OSError as exc:
        raise InputError(f"cannot write the report: {exc.strerror or exc}", source=target) from None

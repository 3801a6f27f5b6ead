"""The audit's part of the report: summary, forest plot, tables, per-benchmark scatter
plots, the capabilities score, methods and caveats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from evalgap.report._html import escape, html_table
from evalgap.report._section import Contribution, Part, chart_html
from evalgap.report._vega import verdict_level
from evalgap.report.sections._audit_specs import (
    benchmark_labels,
    capabilities_spec,
    forest_rows,
    forest_spec,
    heatmap_spec,
    overview_benchmarks,
    scatter_grid_spec,
    scatter_picker_spec,
    scree_spec,
)
from evalgap.report.sections._audit_text import (
    caveats_html,
    headline_html,
    methods_html,
    summary_html,
)

if TYPE_CHECKING:
    from evalgap.analyses.safetywashing._audit import AuditResult

__all__ = ["RESERVED_IDS", "contribution"]

#: Element ids the audit's part of the page uses.
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
        "evalgap-benchmarks",
    }
)

#: How many benchmarks get static scatter plots (the rest are in the interactive picker).
STATIC_SCATTERS = 12


def contribution(result: AuditResult) -> Contribution:
    """The audit's sections, lead, methods and caveats, and the picker's data."""
    panel_name = result.settings.get("panel") or "scores"
    cap = result.capabilities
    lead = (
        f"Does each safety benchmark of {escape(panel_name)} mostly measure general "
        f"capabilities? {len(result.table)} benchmarks against a capabilities score "
        f"(PC1 of {len(cap.capabilities)} capability benchmarks, {cap.explained_variance:.1%} "
        f"of their variance) over {cap.n_models} models, and against training compute. "
        "After Ren et al. 2024, <em>Safetywashing</em> (arXiv:2407.21792)."
    )
    picker_rows = [
        {k: r[k] for k in ("label", "area", "n", "rho", "lo", "hi", "p", "verdict", "crho")}
        for r in forest_rows(result)
    ]
    return Contribution(
        title=f"Safetywashing audit: {panel_name}",
        lead=lead,
        parts=tuple(_parts(result)),
        closing=(
            Part("methods", "Methods: what was computed", methods_html(result)),
            Part("caveats", "What these numbers do not capture", caveats_html(result)),
        ),
        data={"evalgap-benchmarks": picker_rows},
    )


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


def _parts(result: AuditResult) -> list[Part]:
    s = result.settings
    parts: list[Part] = []

    parts.append(Part("summary", "Summary", headline_html(result) + summary_html(result)))

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
        f"<figure>{chart_html('forest', forest)}"
        "<figcaption>Capabilities correlation of every audited benchmark, by area. "
        '<span class="swatch lvl-high"></span>high <span class="swatch lvl-moderate"></span>'
        'moderate <span class="swatch lvl-low"></span>low '
        '<span class="swatch lvl-uncertain"></span>uncertain</figcaption></figure>'
    )
    parts.append(Part("at-a-glance", "At a glance", glance, {"forest": forest}))

    table_html = (
        "<h3>By area</h3>"
        f'<div class="table-wrap">{_areas_table(result)}</div>'
        "<h3>Every benchmark</h3>"
        '<p class="note">Sorted by |ρ capab.|; click a header to sort (JavaScript). '
        "ρ: correlation with the capabilities score; ρ log FLOP: with log10 training FLOP; "
        "Slope/SD: change in the score per SD of the capabilities score.</p>"
        f'<div class="table-wrap">{_full_table(result)}</div>'
    )
    parts.append(Part("table", "Results table", table_html))

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
        f"{chart_html('scatter-live', None)}"
        '<p class="note">Hover a dot for the model.</p></div>'
        '<noscript><p class="note">With JavaScript on, a picker here shows any '
        "benchmark.</p></noscript>"
        f"<h3>The {len(chosen)} benchmarks with the largest |ρ|</h3>"
        f"<figure>{chart_html('scatter-overview', grid)}"
        "<figcaption>Left: against the capabilities score; right: against log10 training "
        "FLOP (where known). Every benchmark's plot is written by "
        "<code>evalgap figures</code>.</figcaption></figure>"
    )
    parts.append(
        Part(
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
        f"<figure>{chart_html('capabilities-chart', caps)}</figure>"
        f"<figure>{chart_html('scree', scree)}</figure>"
        "</div>"
        f"<figure>{chart_html('heatmap', heat)}</figure>"
        "<h3>Loadings</h3>"
        f'<div class="table-wrap">{_loadings_table(result)}</div>'
    )
    parts.append(
        Part(
            "capabilities",
            "Capabilities score",
            cap_html,
            {"capabilities-chart": caps, "scree": scree, "heatmap": heat},
        )
    )
    return parts

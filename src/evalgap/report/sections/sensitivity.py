"""The sensitivity section: which verdicts flip when one analysis choice changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalgap.report._html import chart_slot, escape, html_table
from evalgap.report._section import Contribution, ReportSection
from evalgap.report._vega import spec as vega_spec
from evalgap.report.sections._common import band_class, interval, number, wrap

if TYPE_CHECKING:
    from evalgap.analyses.safetywashing._sensitivity import SensitivityResult

__all__ = ["contribution", "sensitivity_section"]

_KIND_COLORS = {
    "capability": "#1f77b4",
    "method": "#9467bd",
    "pca": "#8c564b",
    "mode": "#17becf",
    "family": "#ff7f0e",
}


def _compact_flips(flips: str) -> str:
    """``drop:a; drop:b; family:X`` as ``drop a, b · family X``."""
    groups: dict[str, list[str]] = {}
    for v in (f for f in str(flips).split("; ") if f):
        kind, _, what = v.partition(":")
        groups.setdefault(kind, []).append(what)
    return " · ".join(f"{kind} {', '.join(items)}" for kind, items in groups.items())


# -- sensitivity ---------------------------------------------------------------------------


def sensitivity_section(result: SensitivityResult) -> ReportSection:
    """The sensitivity section: how many verdicts flip, under which variants, and a strip
    chart of the least robust benchmarks."""
    s = result.settings
    table = result.table
    info = result.variant_info
    k = len(table)
    n_flip = int(table["flipped"].sum())
    ok_variants = info[info["status"] == "ok"]
    skipped = info[info["status"] != "ok"]
    by_kind = ok_variants.groupby("kind", sort=False)["n_flips"].sum()
    kinds_text = ", ".join(
        f"{escape(kind)} ({int(v)} flips)"
        for kind, v in by_kind.sort_values(ascending=False).items()
    )
    fragile = int((table["share_agree"] < 0.8).sum())
    html = [
        f'<p class="headline">{n_flip} of {k} benchmarks change verdict band under at least '
        f"one of {len(ok_variants)} variants of the analysis; {fragile} keep the baseline band "
        "in fewer than 80% of them.</p>",
        "<p>Each variant changes one choice of the baseline audit "
        f"({escape(s['method'])} correlation, PCA on the {escape(s['pca'])} matrix, "
        f"{escape(s['capabilities_mode'])} mode): leave one capability benchmark out, another "
        "correlation method, another PCA matrix, the other missing-data mode, or leave one "
        "model family out. A variant <em>flips</em> a benchmark when the band of its point "
        "estimate (sign included) differs from the baseline's; other methods' correlations are "
        "first put on the baseline method's scale (bivariate-normal relations), so Kendall's "
        f"smaller tau does not flip verdicts by scale alone. Flips by kind: {kinds_text}. "
        "A baseline close to a band edge (small margin) flips easily; the share of variants "
        "agreeing says how much.</p>",
    ]
    if len(skipped):
        html.append(
            '<p class="note">Variants not run: '
            + "; ".join(f"{escape(r.variant)} ({escape(r.status)})" for r in skipped.itertuples())
            + ".</p>"
        )
    charts: dict[str, dict[str, Any]] = {}
    worst = table.head(min(25, k))
    if len(worst):
        chart_id = "sensitivity-strip"
        charts[chart_id] = _strip_spec(result, worst["benchmark"].tolist())
        html.append(
            chart_slot(
                chart_id,
                caption="The least robust benchmarks: every variant's correlation (dots, "
                "coloured by kind of variant) around the baseline (black tick); dashed lines "
                "are the verdict bands.",
            )
        )
    flipped = table[table["flipped"]].copy()
    if len(flipped):
        flipped["range"] = [
            interval(a, b) for a, b in zip(flipped["rho_min"], flipped["rho_max"], strict=True)
        ]
        flipped["which"] = [_compact_flips(f) for f in flipped["flips"]]
        html.append("<h3>Benchmarks whose verdict flips</h3>")
        html.append(
            wrap(
                html_table(
                    flipped,
                    {
                        "name": "Benchmark",
                        "area": "Area",
                        "capabilities_correlation": "ρ baseline",
                        "band": "Band",
                        "edge_margin": "Margin to band edge",
                        "range": "Range over variants",
                        "share_agree": "Share agreeing",
                        "n_flips": "Flips",
                        "which": "Variants that flip it",
                    },
                    formats={
                        "capabilities_correlation": ".2f",
                        "edge_margin": ".2f",
                        "share_agree": ".0%",
                    },
                    sort_by={"range": "rho_min"},
                    cell_classes={"band": band_class},
                    table_id="sensitivity-table",
                )
            )
        )
    html.append("<h3>Variants</h3>")
    html.append(
        wrap(
            html_table(
                info.sort_values(["n_flips", "variant"], ascending=[False, True]),
                {
                    "variant": "Variant",
                    "description": "What it changes",
                    "n_models": "Models",
                    "n_flips": "Benchmarks flipped",
                    "status": "Status",
                },
                table_id="sensitivity-variants",
            )
        )
    )
    return ReportSection(
        id="sensitivity",
        title="Sensitivity: which verdicts hinge on one choice",
        html="".join(html),
        charts=charts,
    )


def _strip_spec(result: SensitivityResult, benchmarks: list[str]) -> dict[str, Any]:
    names = dict(zip(result.table["benchmark"], result.table["name"], strict=True))
    seen: dict[str, int] = {}
    labels = {}
    for b in benchmarks:
        label = str(names.get(b, b))
        seen[label] = seen.get(label, 0) + 1
        labels[b] = label if seen[label] == 1 else f"{label} ({b})"
    rows = [
        {
            "label": labels[r.benchmark],
            "variant": r.variant,
            "kind": r.kind,
            "rho": number(r.rho_comparable),
        }
        for r in result.variants.itertuples()
        if r.benchmark in labels and number(r.rho_comparable) is not None
    ]
    base = [
        {"label": labels[r.benchmark], "rho": number(r.capabilities_correlation)}
        for r in result.table.itertuples()
        if r.benchmark in labels
    ]
    order = [labels[b] for b in benchmarks]
    bands = result.settings["bands"]
    y = {
        "field": "label",
        "type": "nominal",
        "sort": order,
        "axis": {"title": None, "labelLimit": 260, "labelFontSize": 10},
    }
    x_scale = {"domain": [-1, 1]}
    guides = [
        {
            "mark": {"type": "rule", "color": "#9aa0a6" if v == 0 else "#d5d8dc"}
            | ({} if v == 0 else {"strokeDash": [3, 3]}),
            "encoding": {"x": {"datum": v, "scale": x_scale}},
        }
        for v in (0.0, bands["moderate"], -bands["moderate"], bands["high"], -bands["high"])
    ]
    kinds = [k for k in _KIND_COLORS if any(r["kind"] == k for r in rows)]
    return vega_spec(
        description="Capabilities correlation of the least robust benchmarks under every variant",
        width=420,
        height={"step": 14},
        layer=[
            *guides,
            {
                "data": {"values": rows},
                "mark": {"type": "circle", "size": 30, "opacity": 0.7},
                "encoding": {
                    "y": y,
                    "x": {
                        "field": "rho",
                        "type": "quantitative",
                        "scale": x_scale,
                        "title": f"{result.settings['method'].capitalize()} correlation "
                        "with capabilities (baseline scale)",
                    },
                    "color": {
                        "field": "kind",
                        "type": "nominal",
                        "scale": {"domain": kinds, "range": [_KIND_COLORS[k] for k in kinds]},
                        "legend": {"title": "Variant"},
                    },
                    "tooltip": [
                        {"field": "label", "title": "Benchmark"},
                        {"field": "variant", "title": "Variant"},
                        {"field": "rho", "title": "ρ", "format": ".2f"},
                    ],
                },
            },
            {
                "data": {"values": base},
                "mark": {"type": "tick", "color": "black", "thickness": 2, "size": 12},
                "encoding": {
                    "y": y,
                    "x": {"field": "rho", "type": "quantitative", "scale": x_scale},
                },
            },
        ],
    )


def contribution(result: SensitivityResult) -> Contribution:
    """The sensitivity section, with the page title and lead it gives on its own."""
    panel = result.settings.get("panel") or "scores"
    lead = (
        f"How robust is each safetywashing verdict on {escape(panel)}? The audit's "
        f"capabilities correlation of {len(result.table)} benchmarks re-estimated under "
        f"{result.settings['n_variants']} variants, each changing one analysis choice."
    )
    return Contribution(
        title=f"Sensitivity of the audit: {panel}",
        lead=lead,
        parts=(sensitivity_section(result),),
    )

"""The item-level section: which items track capabilities, and a decorrelated subset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from evalgap.report._html import chart_slot, escape, html_table
from evalgap.report._section import Contribution, ReportSection
from evalgap.report._vega import spec as vega_spec
from evalgap.report.sections._common import f2, interval, slug

if TYPE_CHECKING:
    from evalgap.analyses.safetywashing._items import ItemAnalysis

__all__ = ["contribution", "items_section"]

# -- items ---------------------------------------------------------------------------------


def items_section(result: ItemAnalysis, *, top: int = 15) -> ReportSection:
    """The item-level section: reliability, the decorrelated subset with in-sample and
    held-out correlations, the most capability-laden items, a histogram of item
    correlations."""
    s = result.settings
    bench = s.get("benchmark") or "benchmark"
    anchor = slug(bench)
    full, sub = result.summary.iloc[0], result.summary.iloc[1]
    rel = s.get("reliability", "alpha")
    level = float(s.get("confidence_level", 0.95))
    method = str(s.get("method", "spearman")).capitalize()
    html = [
        f'<p class="headline">{escape(bench)}: {int(s["n_items"])} items, {int(s["n_models"])} '
        f"models. {method} correlation of the benchmark score with the "
        f"{escape(s.get('capabilities', 'capabilities score'))}: {f2(full['correlation'])} "
        f"{interval(full['ci_low'], full['ci_high'])}; {escape(rel)} "
        f"{f2(full['alpha'])}.</p>"
    ]
    if s.get("select"):
        verdict = (
            "meets both the target and the reliability floor"
            if result.meets_target and result.meets_floor
            else "does not meet "
            + " and ".join(
                t
                for t, ok in (
                    (f"the target |ρ| ≤ {s['target']}", result.meets_target),
                    (f"the floor {rel} ≥ {s['reliability_floor']}", result.meets_floor),
                )
                if not ok
            )
        )
        html.append(
            f"<p>The decorrelated subset keeps {int(sub['n_items'])} items; its correlation is "
            f"{f2(sub['correlation'])} {interval(sub['ci_low'], sub['ci_high'])} on the models "
            f"it was chosen on and <strong>{f2(sub['heldout_correlation'])} "
            f"{interval(sub['heldout_ci_low'], sub['heldout_ci_high'])} on held-out models</strong> "
            f"({int(s['folds'])}-fold cross-validation across models); {escape(rel)} "
            f"{f2(sub['alpha'])}, split-half {f2(sub['split_half'])}. It {escape(verdict)}. "
            f"Intervals: {level:.0%} percentile bootstrap over models, selection held fixed.</p>"
        )
    if int(s["n_models"]) < 20:
        html.append(
            f'<p class="note">With {int(s["n_models"])} models every correlation here is '
            "very uncertain and the held-out check has little power; read the subset as a "
            "hypothesis to test on more models.</p>"
        )
    for note in result.notes:
        html.append(f'<p class="note">{escape(note)}</p>')
    summary = result.summary.copy()
    summary["ci"] = [
        interval(a, b) for a, b in zip(summary["ci_low"], summary["ci_high"], strict=True)
    ]
    summary["heldout_ci"] = [
        interval(a, b)
        for a, b in zip(summary["heldout_ci_low"], summary["heldout_ci_high"], strict=True)
    ]
    html.append(
        html_table(
            summary,
            {
                "set": "Items",
                "n_items": "Count",
                "correlation": "ρ in-sample",
                "ci": "interval",
                "heldout_correlation": "ρ held-out",
                "heldout_ci": "interval",
                "alpha": str(rel),
                "split_half": "Split-half",
            },
            formats={
                c: ".2f" for c in ("correlation", "heldout_correlation", "alpha", "split_half")
            },
            sortable=False,
        )
    )
    charts: dict[str, dict[str, Any]] = {}
    chart_id = f"items-hist-{anchor}"
    charts[chart_id] = _item_hist_spec(result)
    html.append(
        chart_slot(
            chart_id,
            caption="Each item's correlation with capabilities; items in the subset and the "
            "others.",
        )
    )
    html.append(f"<h3>The {min(top, len(result.table))} items that track capabilities most</h3>")
    html.append(
        html_table(
            result.table.head(top),
            {
                "item": "Item",
                "mean": "Mean",
                "capabilities_correlation": "ρ capabilities",
                "item_rest_correlation": "Item-rest r",
                "selected": "In subset",
                "selection_rate": "Chosen in folds",
            },
            formats={
                "mean": ".2f",
                "capabilities_correlation": ".2f",
                "item_rest_correlation": ".2f",
                "selected": lambda v: "yes" if v else "no",
                "selection_rate": ".0%",
            },
        )
    )
    if len(result.folds):
        html.append("<h3>Cross-validation folds</h3>")
        html.append(
            html_table(
                result.folds,
                {
                    "fold": "Fold",
                    "n_train": "Training models",
                    "n_test": "Held-out models",
                    "n_items": "Items chosen",
                    "train_correlation": "ρ training",
                    "test_correlation": "ρ held-out",
                    "train_alpha": f"{rel} training",
                },
                formats={
                    "train_correlation": ".2f",
                    "test_correlation": ".2f",
                    "train_alpha": ".2f",
                },
            )
        )
    if result.subset:
        shown = result.subset[:200]
        more = len(result.subset) - len(shown)
        html.append(
            "<details><summary>Item ids in the subset</summary><p><code>"
            + escape(", ".join(shown))
            + (f" … and {more} more" if more else "")
            + "</code></p></details>"
        )
    return ReportSection(
        id=f"items-{anchor}",
        title=f"Item level: {bench}",
        html="".join(html),
        charts=charts,
    )


def _item_hist_spec(result: ItemAnalysis) -> dict[str, Any]:
    corr = result.table["capabilities_correlation"].to_numpy(dtype=float)
    sel = result.table["selected"].to_numpy(dtype=bool)
    edges = np.linspace(-1, 1, 41)
    rows = []
    for label, mask in (("in subset", sel), ("left out", ~sel)):
        values = corr[mask & np.isfinite(corr)]
        counts, _ = np.histogram(values, bins=edges)
        rows += [
            {"lo": float(a), "hi": float(b), "count": int(c), "set": label}
            for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)
            if c
        ]
    return vega_spec(
        description="Histogram of item correlations with capabilities",
        data={"values": rows},
        width=380,
        height=160,
        mark={"type": "bar"},
        encoding={
            "x": {
                "field": "lo",
                "type": "quantitative",
                "bin": {"binned": True, "step": 0.05},
                "scale": {"domain": [-1, 1]},
                "title": "Item correlation with capabilities",
            },
            "x2": {"field": "hi"},
            "y": {"field": "count", "type": "quantitative", "stack": True, "title": "Items"},
            "color": {
                "field": "set",
                "type": "nominal",
                "scale": {"domain": ["in subset", "left out"], "range": ["#1e8449", "#c8ccd2"]},
                "legend": {"title": None},
            },
            "tooltip": [
                {"field": "set", "title": "Items"},
                {"field": "lo", "title": "from", "format": ".2f"},
                {"field": "hi", "title": "to", "format": ".2f"},
                {"field": "count", "title": "count"},
            ],
        },
    )


def contribution(result: ItemAnalysis) -> Contribution:
    """The item-level section, with the page title and lead it gives on its own."""
    bench = result.settings.get("benchmark") or "benchmark"
    lead = (
        f"Which items of {escape(bench)} track capabilities? Each item's correlation with "
        f"{escape(result.settings['capabilities'])}, the benchmark's reliability, and a "
        "decorrelated subset checked on held-out models."
    )
    return Contribution(title=f"Item analysis: {bench}", lead=lead, parts=(items_section(result),))

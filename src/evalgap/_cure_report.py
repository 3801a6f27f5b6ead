"""Report sections for the sensitivity, adjusted-score and item analyses.

Each builder returns a :class:`evalgap.report.ReportSection`: escaped HTML made with the
report's :func:`~evalgap.report.html_table` and :func:`~evalgap.report.chart_slot`, and
Vega-Lite specs whose data are inlined values (input strings travel only as data).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evalgap.report import LEVEL_COLORS, ReportSection, chart_slot, escape, html_table

if TYPE_CHECKING:
    from evalgap.analyses.safetywashing._adjust import AdjustResult
    from evalgap.analyses.safetywashing._items import ItemAnalysis
    from evalgap.analyses.safetywashing._sensitivity import SensitivityResult

__all__ = ["adjust_section", "items_section", "sensitivity_section"]

_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
_CONFIG: dict[str, Any] = {
    "view": {"stroke": "#e3e6ea"},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#eef0f3"},
    "legend": {"labelFontSize": 11, "titleFontSize": 12},
}
_KIND_COLORS = {
    "capability": "#1f77b4",
    "method": "#9467bd",
    "pca": "#8c564b",
    "mode": "#17becf",
    "family": "#ff7f0e",
}


def _spec(**parts: Any) -> dict[str, Any]:
    return {"$schema": _SCHEMA, "config": _CONFIG, "background": "white", **parts}


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower()
    return slug[:40] or "x"


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _f2(value: Any) -> str:
    v = _num(value)
    return "–" if v is None else f"{v:.2f}"


def _interval(lo: Any, hi: Any) -> str:
    a, b = _num(lo), _num(hi)
    if a is None and b is None:
        return "–"
    left = "−∞" if a is None else f"{a:.2f}"
    right = "∞" if b is None else f"{b:.2f}"
    return f"[{left}, {right}]"


def _band_class(value: Any) -> str | None:
    text = str(value)
    for level in ("high", "moderate", "low", "uncertain"):
        if text.startswith(level):
            return f"v-{level}"
    return None


def _compact_flips(flips: str) -> str:
    """``drop:a; drop:b; family:X`` as ``drop a, b · family X``."""
    groups: dict[str, list[str]] = {}
    for v in (f for f in str(flips).split("; ") if f):
        kind, _, what = v.partition(":")
        groups.setdefault(kind, []).append(what)
    return " · ".join(f"{kind} {', '.join(items)}" for kind, items in groups.items())


def _wrap(table: str) -> str:
    return f'<div class="table-wrap">{table}</div>'


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
            _interval(a, b) for a, b in zip(flipped["rho_min"], flipped["rho_max"], strict=True)
        ]
        flipped["which"] = [_compact_flips(f) for f in flipped["flips"]]
        html.append("<h3>Benchmarks whose verdict flips</h3>")
        html.append(
            _wrap(
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
                    cell_classes={"band": _band_class},
                    table_id="sensitivity-table",
                )
            )
        )
    html.append("<h3>Variants</h3>")
    html.append(
        _wrap(
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
            "rho": _num(r.rho_comparable),
        }
        for r in result.variants.itertuples()
        if r.benchmark in labels and _num(r.rho_comparable) is not None
    ]
    base = [
        {"label": labels[r.benchmark], "rho": _num(r.capabilities_correlation)}
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
    return _spec(
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


# -- adjusted scores -----------------------------------------------------------------------

_ASSESS_CLASS = {
    "safer than capabilities predict": "v-low",
    "less safe than capabilities predict": "v-high",
    "within expectation": "v-uncertain",
}


def adjust_section(result: AdjustResult, *, detail: int = 3) -> ReportSection:
    """The adjusted-score section: per benchmark, each model's safety beyond (or below)
    what its capabilities predict; ranked tables and a chart for up to ``detail``
    benchmarks, a summary over all of them."""
    s = result.settings
    fits = result.fits
    table = result.table
    level = float(s["confidence_level"])
    n_b = len(fits)
    fit_counts = fits["fit"].value_counts()
    html = [
        f'<p class="headline">Capabilities-adjusted safety for {n_b} benchmark'
        f"{'s' if n_b != 1 else ''}: each model's score minus what its capabilities score "
        "predicts from the other models, with a "
        f"{level:.0%} prediction interval. {int((table['assessment'] != 'within expectation').sum())}"
        f" of {len(table)} model scores fall outside it.</p>",
        "<p>The prediction comes from a straight-line or a monotone (isotonic) fit of the "
        "benchmark on the capabilities score, whichever has the smaller leave-one-out error "
        f"({int(fit_counts.get('linear', 0))} linear, {int(fit_counts.get('monotone', 0))} "
        "monotone), estimated without the model itself. Intervals: t prediction intervals "
        "for the linear fit, jackknife+ for the monotone fit. A positive residual means safer "
        "than capabilities predict (lower-is-better benchmarks are negated first). By chance "
        f"alone about {1 - level:.0%} of models fall outside their interval on each "
        "benchmark, so a single flag is weak evidence; look at the p-values and at a model's "
        "record across benchmarks.</p>",
    ]
    charts: dict[str, dict[str, Any]] = {}
    shown = fits["benchmark"].tolist()[:detail]
    for bench in shown:
        rank = result.ranking(bench).copy()
        rank["interval"] = [
            _interval(a, b)
            for a, b in zip(rank["residual_low"], rank["residual_high"], strict=True)
        ]
        row = fits[fits["benchmark"] == bench].iloc[0]
        slug = _slug(bench)
        html.append(f"<h3>{escape(row['name'])}</h3>")
        html.append(
            f'<p class="note">{int(row["n"])} models; {escape(row["fit"])} fit on all models '
            f"({escape(row['direction'])}); monotone for {int(row['n_monotone'])} of them when "
            "each model's fit is chosen without it; leave-one-out RMSE linear "
            f"{_f2(row['loo_rmse_linear'])}, monotone {_f2(row['loo_rmse_monotone'])}.</p>"
        )
        chart_id = f"adjusted-{slug}"
        if chart_id not in charts:
            charts[chart_id] = _residual_spec(rank, level)
            html.append(
                chart_slot(
                    chart_id,
                    caption="Residual from the capabilities prediction, with its prediction "
                    "interval; green: safer than capabilities predict, red: less safe.",
                )
            )
        html.append(
            _wrap(
                html_table(
                    rank,
                    {
                        "rank": "#",
                        "model": "Model",
                        "capabilities_score": "Capabilities",
                        "observed": "Observed",
                        "predicted": "Predicted",
                        "residual": "Residual",
                        "interval": f"{level:.0%} interval",
                        "p_value": "p",
                        "fit": "Fit",
                        "assessment": "Assessment",
                    },
                    formats={
                        "capabilities_score": ".2f",
                        "observed": ".3g",
                        "predicted": ".3g",
                        "residual": "+.3g",
                        "p_value": ".3f",
                    },
                    sort_by={"interval": "residual_low"},
                    cell_classes={"assessment": lambda v: _ASSESS_CLASS.get(str(v))},
                )
            )
        )
    if n_b > len(shown):
        per_model = (
            table.assign(
                safer=table["assessment"] == "safer than capabilities predict",
                less=table["assessment"] == "less safe than capabilities predict",
            )
            .groupby("model", sort=True)
            .agg(benchmarks=("benchmark", "size"), safer=("safer", "sum"), less=("less", "sum"))
            .reset_index()
            .sort_values(["safer", "less", "model"], ascending=[False, True, True])
        )
        html.append("<h3>Models across benchmarks</h3>")
        html.append(
            _wrap(
                html_table(
                    per_model,
                    {
                        "model": "Model",
                        "benchmarks": "Benchmarks",
                        "safer": "Safer than predicted",
                        "less": "Less safe than predicted",
                    },
                )
            )
        )
        html.append("<h3>Benchmarks</h3>")
        html.append(
            _wrap(
                html_table(
                    fits,
                    {
                        "name": "Benchmark",
                        "area": "Area",
                        "n": "Models",
                        "fit": "Fit",
                        "loo_rmse_linear": "LOO RMSE linear",
                        "loo_rmse_monotone": "LOO RMSE monotone",
                        "n_safer": "Safer",
                        "n_less_safe": "Less safe",
                    },
                    formats={"loo_rmse_linear": ".3g", "loo_rmse_monotone": ".3g"},
                )
            )
        )
    return ReportSection(
        id="adjusted", title="Capabilities-adjusted safety", html="".join(html), charts=charts
    )


def _residual_spec(rank: pd.DataFrame, level: float) -> dict[str, Any]:
    rows = [
        {
            "model": str(r.model),
            "residual": _num(r.residual),
            "lo": _num(r.residual_low),
            "hi": _num(r.residual_high),
            "assessment": str(r.assessment),
        }
        for r in rank.itertuples()
    ]
    finite = [v for r in rows for v in (r["lo"], r["hi"], r["residual"]) if v is not None]
    span = max((abs(v) for v in finite), default=1.0) or 1.0
    for r in rows:  # unbounded interval ends drawn at the edge of the plot
        r["lo_plot"] = -span if r["lo"] is None else r["lo"]
        r["hi_plot"] = span if r["hi"] is None else r["hi"]
    y = {
        "field": "model",
        "type": "nominal",
        "sort": [r["model"] for r in rows],
        "axis": {"title": None, "labelLimit": 240, "labelFontSize": 10},
    }
    domain = list(_ASSESS_CLASS)
    colors = [LEVEL_COLORS["low"], LEVEL_COLORS["high"], LEVEL_COLORS["uncertain"]]
    color = {
        "field": "assessment",
        "type": "nominal",
        "scale": {"domain": domain, "range": colors},
        "legend": {"title": None},
    }
    return _spec(
        description="Capabilities-adjusted residual of every model, with its interval",
        data={"values": rows},
        width=380,
        height={"step": 13},
        layer=[
            {"mark": {"type": "rule", "color": "#9aa0a6"}, "encoding": {"x": {"datum": 0}}},
            {
                "mark": {"type": "rule", "strokeWidth": 2, "opacity": 0.55},
                "encoding": {
                    "y": y,
                    "x": {"field": "lo_plot", "type": "quantitative"},
                    "x2": {"field": "hi_plot"},
                    "color": color,
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 40},
                "encoding": {
                    "y": y,
                    "x": {
                        "field": "residual",
                        "type": "quantitative",
                        "title": f"Residual (oriented: + safer), {level:.0%} interval",
                    },
                    "color": color,
                    "tooltip": [
                        {"field": "model", "title": "Model"},
                        {"field": "residual", "title": "Residual", "format": "+.3g"},
                        {"field": "lo", "title": "low", "format": ".3g"},
                        {"field": "hi", "title": "high", "format": ".3g"},
                        {"field": "assessment", "title": "Assessment"},
                    ],
                },
            },
        ],
    )


# -- items ---------------------------------------------------------------------------------


def items_section(result: ItemAnalysis, *, top: int = 15) -> ReportSection:
    """The item-level section: reliability, the decorrelated subset with in-sample and
    held-out correlations, the most capability-laden items, a histogram of item
    correlations."""
    s = result.settings
    bench = s.get("benchmark") or "benchmark"
    slug = _slug(bench)
    full, sub = result.summary.iloc[0], result.summary.iloc[1]
    rel = s.get("reliability", "alpha")
    level = float(s.get("confidence_level", 0.95))
    method = str(s.get("method", "spearman")).capitalize()
    html = [
        f'<p class="headline">{escape(bench)}: {int(s["n_items"])} items, {int(s["n_models"])} '
        f"models. {method} correlation of the benchmark score with the "
        f"{escape(s.get('capabilities', 'capabilities score'))}: {_f2(full['correlation'])} "
        f"{_interval(full['ci_low'], full['ci_high'])}; {escape(rel)} "
        f"{_f2(full['alpha'])}.</p>"
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
            f"{_f2(sub['correlation'])} {_interval(sub['ci_low'], sub['ci_high'])} on the models "
            f"it was chosen on and <strong>{_f2(sub['heldout_correlation'])} "
            f"{_interval(sub['heldout_ci_low'], sub['heldout_ci_high'])} on held-out models</strong> "
            f"({int(s['folds'])}-fold cross-validation across models); {escape(rel)} "
            f"{_f2(sub['alpha'])}, split-half {_f2(sub['split_half'])}. It {escape(verdict)}. "
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
        _interval(a, b) for a, b in zip(summary["ci_low"], summary["ci_high"], strict=True)
    ]
    summary["heldout_ci"] = [
        _interval(a, b)
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
    chart_id = f"items-hist-{slug}"
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
        id=f"items-{slug}",
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
    return _spec(
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

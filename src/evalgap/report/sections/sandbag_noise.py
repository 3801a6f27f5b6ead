"""The sandbagging-from-weights section: accuracy against noise sigma, one line per seed,
per noise target, and phi with its interval."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalgap.report._html import chart_slot, escape, html_table
from evalgap.report._section import Contribution, ReportSection
from evalgap.report._vega import LEVEL_COLORS
from evalgap.report._vega import spec as vega_spec
from evalgap.report.sections._common import interval, number, slug, wrap

if TYPE_CHECKING:
    from evalgap.analyses.sandbagging import NoiseSweepResult

__all__ = ["contribution", "curve_spec", "sandbag_noise_section"]

#: Verdict -> table class.
_VERDICTS = {
    "sandbagging suspected": "v-high",
    "at ceiling": "v-moderate",
    "not detected": "v-undetermined",
}


def _name(result: NoiseSweepResult) -> str:
    s = result.settings
    model = str(s.get("model_name") or s.get("model", {}).get("source") or "model")
    return model + (f" on {s['benchmark']}" if s.get("benchmark") else "")


def curve_spec(result: NoiseSweepResult) -> dict[str, Any]:
    """Accuracy by sigma, one line per seed, one panel per noise target; the accuracy
    without noise as a dashed rule."""
    cells = result.cells
    base = float(cells["accuracy"].iloc[0]) if len(cells) else 0.0
    rows = [
        {
            "target": str(r.target),
            "sigma": number(r.sigma),
            "seed": str(int(r.seed)),
            "accuracy": number(r.accuracy),
        }
        for r in cells[cells["target"] != "none"].itertuples(index=False)
    ]
    # Sigma 0 is the baseline of every seed, so each line starts from it.
    targets = list(dict.fromkeys(r["target"] for r in rows))
    seeds = list(dict.fromkeys(r["seed"] for r in rows))
    rows = [
        {"target": t, "sigma": 0.0, "seed": s, "accuracy": base} for t in targets for s in seeds
    ] + rows
    return vega_spec(
        description="Accuracy under weight noise by sigma, one line per seed, per noise target",
        data={"values": rows},
        facet={"field": "target", "type": "nominal", "title": None, "sort": targets},
        columns=2,
        spec={
            "width": 320,
            "height": 200,
            "layer": [
                {
                    "mark": {"type": "rule", "color": "#9aa0a6", "strokeDash": [4, 3]},
                    "encoding": {"y": {"datum": base}},
                },
                {
                    "mark": {"type": "line", "point": {"size": 16}, "opacity": 0.7},
                    "encoding": {
                        "x": {"field": "sigma", "type": "quantitative", "title": "Noise sigma"},
                        "y": {
                            "field": "accuracy",
                            "type": "quantitative",
                            "title": "Accuracy",
                            "scale": {"domain": [0, 1]},
                        },
                        "detail": {"field": "seed", "type": "nominal"},
                        "color": {"value": LEVEL_COLORS["high"]},
                        "tooltip": [
                            {"field": "seed", "title": "Seed"},
                            {"field": "sigma", "title": "sigma", "format": "g"},
                            {"field": "accuracy", "title": "Accuracy", "format": ".3f"},
                        ],
                    },
                },
            ],
        },
    )


def sandbag_noise_section(result: NoiseSweepResult) -> ReportSection:
    """The section: one sentence per noise target, the curves, the table."""
    s = result.settings
    table = result.table
    level = round(100 * float(s["confidence"]))
    sid = f"sandbag-noise-{slug(_name(result))}"
    sentences = "".join(
        f"<li><strong>{escape(r.target)}</strong>: accuracy {r.baseline_accuracy:.3f} without "
        f"noise, best {r.best_accuracy:.3f} (sigma {r.best_sigma:g}, seed {int(r.best_seed)}); "
        f"phi {r.estimate:.2f} {escape(interval(r.ci_low, r.ci_high))}, p {r.p_value:.2g} — "
        f"<em>{escape(r.verdict)}</em></li>"
        for r in table.itertuples(index=False)
    )
    html = [
        f'<p class="headline">Noise injection on {escape(_name(result))}: phi = best accuracy '
        f"under weight noise / accuracy without noise, with its {level}% bootstrap interval "
        f"over items:</p><ul>{sentences}</ul>",
        f"<p>{int(s['n_items'])} items, {escape(s['scoring'])} scoring; sigmas "
        f"{escape(', '.join(f'{x:g}' for x in s['sigmas']))}; seeds "
        f"{escape(', '.join(str(x) for x in s['seeds']))}. A model hiding a capability "
        "loses the hiding before the capability, so its accuracy rises under noise; an "
        "honest model's only falls (Tice et al. 2024). phi is a maximum over every cell, so "
        "even an honest model's phi exceeds 1 when a few items flip by chance: the verdict "
        "needs the Bonferroni-adjusted McNemar p-value of the best cell below "
        f"{1 - float(s['confidence']):.2g} and the interval above 1. No rise does not clear "
        "the model: the grid may miss the sigmas where the hiding breaks first.</p>",
        chart_slot(
            f"{sid}-curves",
            caption="Accuracy by noise sigma, one line per seed; dashed: without noise.",
        ),
    ]
    shown = table.assign(
        interval=[interval(a, b) for a, b in zip(table["ci_low"], table["ci_high"], strict=True)],
        seeds_range=[
            f"{number(a) or 0:.2f} – {number(b) or 0:.2f}"
            for a, b in zip(table["seed_phi_min"], table["seed_phi_max"], strict=True)
        ],
    )
    html.append(
        wrap(
            html_table(
                shown,
                {
                    "target": "Noise on",
                    "baseline_accuracy": "Without noise",
                    "best_accuracy": "Best",
                    "best_sigma": "at sigma",
                    "estimate": "phi",
                    "interval": "Interval",
                    "seeds_range": "phi over seeds",
                    "p_value": "p (Bonferroni)",
                    "q_value": "q (BH)",
                    "n": "Items",
                    "n_cells": "Cells",
                    "verdict": "Verdict",
                },
                formats={
                    "baseline_accuracy": ".3f",
                    "best_accuracy": ".3f",
                    "best_sigma": "g",
                    "estimate": ".3f",
                    "p_value": ".3g",
                    "q_value": ".3g",
                },
                sort_by={"interval": "ci_low"},
                cell_classes={"verdict": lambda v: _VERDICTS.get(str(v))},
                table_id=f"{sid}-table",
            )
        )
    )
    return ReportSection(
        id=sid,
        title=f"Sandbagging from weights: {_name(result)}",
        html="".join(html),
        charts={f"{sid}-curves": curve_spec(result)},
    )


def contribution(result: NoiseSweepResult) -> Contribution:
    """The section, with the page title and lead it gives on its own."""
    lead = (
        "Is a model holding back? Seeded Gaussian noise added to its weights, and whether "
        "its accuracy rises. After Tice et al. 2024, <em>Noise Injection Reveals Hidden "
        "Capabilities of Sandbagging Language Models</em>."
    )
    return Contribution(
        title=f"Sandbagging from weights: {_name(result)}",
        lead=lead,
        parts=(sandbag_noise_section(result),),
    )

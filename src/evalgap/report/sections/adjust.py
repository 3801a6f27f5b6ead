"""The capabilities-adjusted scores section: which models are safer than predicted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from evalgap.report._html import chart_slot, escape, html_table
from evalgap.report._section import Contribution, ReportSection
from evalgap.report._vega import LEVEL_COLORS, interval_dots
from evalgap.report.sections._common import f2, interval, number, slug, wrap

if TYPE_CHECKING:
    from evalgap.analyses.safetywashing._adjust import AdjustResult

__all__ = ["adjust_section", "contribution"]

# -- adjusted scores -----------------------------------------------------------------------

_ASSESS_CLASS = {
    "safer than capabilities predict": "v-low",
    "less safe than capabilities predict": "v-high",
    "within expectation": "v-undetermined",
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
        "<p>The prediction comes from a straight-line, quadratic or monotone (isotonic) fit "
        "of the benchmark on the capabilities score, whichever has the smaller leave-one-out "
        f"error ({int(fit_counts.get('linear', 0))} linear, "
        f"{int(fit_counts.get('quadratic', 0))} quadratic, "
        f"{int(fit_counts.get('monotone', 0))} monotone), estimated without the model itself. "
        + (
            "Intervals: residuals studentized by a quadratic function of the capabilities "
            "rank and by each model's leverage, so the intervals widen where scores scatter "
            "more and at the ends of the range, and hold across it. "
            if s.get("scale", "constant") == "local"
            else "Intervals: t prediction intervals for the linear fit, jackknife+ for the others. "
        )
        + "A positive residual means safer than capabilities predict (every benchmark is "
        "oriented first: lower-is-better negated, closer_to(0) scored as -|x|). By chance "
        f"alone about {1 - level:.0%} of models fall outside their interval on each "
        "benchmark, so a single flag is weak evidence: the q-values (Benjamini-Hochberg "
        f"over all {len(table)} model-benchmark pairs) put "
        f"{int((table['q_value'] < 1 - level).sum())} of them below {1 - level:g}; look at "
        "a model's record across benchmarks too.</p>",
    ]
    charts: dict[str, dict[str, Any]] = {}
    shown = fits["benchmark"].tolist()[:detail]
    for bench in shown:
        rank = result.ranking(bench).copy()
        rank["interval"] = [
            interval(a, b) for a, b in zip(rank["residual_low"], rank["residual_high"], strict=True)
        ]
        row = fits[fits["benchmark"] == bench].iloc[0]
        anchor = slug(bench)
        html.append(f"<h3>{escape(row['name'])}</h3>")
        html.append(
            f'<p class="note">{int(row["n"])} models; {escape(row["fit"])} fit on all models '
            f"({escape(row['direction'])}); monotone for {int(row['n_monotone'])} of them when "
            "each model's fit is chosen without it; leave-one-out RMSE linear "
            f"{f2(row['loo_rmse_linear'])}, quadratic {f2(row.get('loo_rmse_quadratic'))}, "
            f"monotone {f2(row['loo_rmse_monotone'])}; oriented "
            f"{escape(row.get('orientation', 'higher'))}.</p>"
        )
        chart_id = f"adjusted-{anchor}"
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
            wrap(
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
                        "q_value": "q",
                        "fit": "Fit",
                        "assessment": "Assessment",
                    },
                    formats={
                        "capabilities_score": ".2f",
                        "observed": ".3g",
                        "predicted": ".3g",
                        "residual": "+.3g",
                        "p_value": ".3f",
                        "q_value": ".3f",
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
            wrap(
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
            wrap(
                html_table(
                    fits,
                    {
                        "name": "Benchmark",
                        "area": "Area",
                        "n": "Models",
                        "fit": "Fit",
                        "loo_rmse_linear": "LOO RMSE linear",
                        "loo_rmse_quadratic": "LOO RMSE quadratic",
                        "loo_rmse_monotone": "LOO RMSE monotone",
                        "orientation": "Orientation",
                        "n_safer": "Safer",
                        "n_less_safe": "Less safe",
                    },
                    formats={
                        "loo_rmse_linear": ".3g",
                        "loo_rmse_quadratic": ".3g",
                        "loo_rmse_monotone": ".3g",
                    },
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
            "residual": number(r.residual),
            "lo": number(r.residual_low),
            "hi": number(r.residual_high),
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
    colors = [LEVEL_COLORS["low"], LEVEL_COLORS["high"], LEVEL_COLORS["undetermined"]]
    color = {
        "field": "assessment",
        "type": "nominal",
        "scale": {"domain": domain, "range": colors},
        "legend": {"title": None},
    }
    return interval_dots(
        rows,
        description="Capabilities-adjusted residual of every model, with its interval",
        y=y,
        value="residual",
        low="lo_plot",
        high="hi_plot",
        x_title=f"Residual (oriented: + safer), {level:.0%} interval",
        color=color,
        tooltip=[
            {"field": "model", "title": "Model"},
            {"field": "residual", "title": "Residual", "format": "+.3g"},
            {"field": "lo", "title": "low", "format": ".3g"},
            {"field": "hi", "title": "high", "format": ".3g"},
            {"field": "assessment", "title": "Assessment"},
        ],
        size=40,
        step=13,
    )


def contribution(result: AdjustResult) -> Contribution:
    """The adjusted-scores section, with the page title and lead it gives on its own."""
    panel = result.settings.get("panel") or "scores"
    lead = (
        "Which models are safer, or less safe, than their capabilities predict? Every "
        f"model's score on {len(result.fits)} benchmark(s) of {escape(panel)} against what "
        "a fit estimated without it predicts from its capabilities score, with a "
        f"{result.settings['confidence_level']:.0%} prediction interval."
    )
    return Contribution(
        title=f"Capabilities-adjusted scores: {panel}",
        lead=lead,
        parts=(adjust_section(result),),
    )

"""The ledger page: how each claim's evidence moved over time, one series per claim line,
intervals drawn as bands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from evalgap.analyses.claim._lines import QUESTIONS
from evalgap.report._html import chart_slot, escape, html_table
from evalgap.report._section import Contribution, ReportSection
from evalgap.report._vega import LEVEL_COLORS
from evalgap.report._vega import spec as vega_spec
from evalgap.report.sections._common import interval, number, wrap

if TYPE_CHECKING:
    from evalgap.analyses.claim import HistoryResult

__all__ = ["contribution", "history_section"]

#: Most evidence kinds drawn as charts; the rest are in the table.
MAX_CHARTS = 12


def _run_names(runs: pd.DataFrame) -> dict[int, str]:
    """A short x-axis name per run: its label, else ``#seq``; runs sharing a label share
    a tick (one checkpoint, several claim cards)."""
    return {
        int(r.seq): (str(r.label) if r.label else f"#{int(r.seq)}")
        for r in runs.itertuples(index=False)
    }


def _series(row: Any) -> str:
    return f"{row.model} · {row.benchmark}" if row.model else str(row.benchmark)


def _chart(rows: pd.DataFrame, order: list[str], title: str) -> dict[str, Any]:
    values = []
    for r in rows.itertuples(index=False):
        values.append(
            {
                "run": r.run,
                "series": r.series,
                "estimate": number(r.estimate),
                "lo": number(r.ci_low),
                "hi": number(r.ci_high),
                "q": number(r.q_value),
                "verdict": str(r.verdict),
                "flag": "flagged" if r.flagged else "not flagged",
                "run_id": str(r.run_id)[:12],
                "time": str(r.created_at),
            }
        )
    finite = [v for row in values for v in (row["estimate"], row["lo"], row["hi"]) if v is not None]
    top = max(finite, default=1.0)
    bottom = min(finite, default=0.0)
    for row in values:  # unbounded interval ends drawn at the edge of the plot
        row["lo_plot"] = bottom if row["lo"] is None and row["hi"] is not None else row["lo"]
        row["hi_plot"] = top if row["hi"] is None and row["lo"] is not None else row["hi"]
    x = {
        "field": "run",
        "type": "ordinal",
        "sort": order,
        "title": None,
        "axis": {"labelAngle": 0, "labelLimit": 120},
    }
    color = {
        "field": "series",
        "type": "nominal",
        "title": None,
        "legend": {"orient": "bottom", "direction": "vertical", "labelLimit": 400},
    }
    y_title = "estimate"
    marks: list[dict[str, Any]] = [
        {
            "mark": {"type": "line", "strokeWidth": 1.6},
            "encoding": {"y": {"field": "estimate", "type": "quantitative", "title": y_title}},
        },
        {
            "mark": {"type": "point", "filled": True, "size": 60},
            "encoding": {
                "y": {"field": "estimate", "type": "quantitative"},
                "shape": {
                    "field": "flag",
                    "type": "nominal",
                    "title": None,
                    "legend": {"orient": "bottom"},
                    "scale": {"domain": ["flagged", "not flagged"], "range": ["diamond", "circle"]},
                },
                "stroke": {
                    "field": "flag",
                    "type": "nominal",
                    "legend": None,
                    "scale": {
                        "domain": ["flagged", "not flagged"],
                        "range": [LEVEL_COLORS["high"], "white"],
                    },
                },
                "tooltip": [
                    {"field": "series", "title": "Claim line"},
                    {"field": "run", "title": "Run"},
                    {"field": "run_id", "title": "Run id"},
                    {"field": "time", "title": "Time"},
                    {"field": "estimate", "title": "Estimate", "format": ".3g"},
                    {"field": "lo", "title": "low", "format": ".3g"},
                    {"field": "hi", "title": "high", "format": ".3g"},
                    {"field": "q", "title": "q", "format": ".2g"},
                    {"field": "verdict", "title": "Verdict"},
                    {"field": "flag", "title": "Flag"},
                ],
            },
        },
    ]
    # The band only where some run has an interval (a score line has none).
    has_band = any(r["lo_plot"] is not None and r["hi_plot"] is not None for r in values)
    band: list[dict[str, Any]] = [
        {
            "mark": {"type": "area", "opacity": 0.16},
            "transform": [
                {"filter": {"field": "lo_plot", "valid": True}},
                {"filter": {"field": "hi_plot", "valid": True}},
            ],
            "encoding": {
                "y": {"field": "lo_plot", "type": "quantitative"},
                "y2": {"field": "hi_plot"},
            },
        }
    ]
    return vega_spec(
        description=f"{title}: estimate and interval in every run",
        title=title,
        data={"values": values},
        width=440,
        height=150,
        encoding={"x": x, "color": color},
        layer=[*(band if has_band else []), *marks],
    )


def history_section(result: HistoryResult) -> ReportSection:
    """One chart per kind of evidence line (a series per claim line, its interval as a
    band, flagged runs as diamonds), the latest state of every line, and the runs."""
    runs = result.runs
    names = _run_names(runs)
    order = list(dict.fromkeys(names[s] for s in sorted(names)))
    table = result.table.copy()
    html: list[str] = []
    charts: dict[str, dict[str, Any]] = {}
    if table.empty:
        html.append("<p>No claim cards in the ledger yet.</p>")
        return ReportSection(id="history", title="Evidence over time", html="".join(html))
    table["run"] = table["seq"].map(names)
    table["series"] = [_series(r) for r in table.itertuples(index=False)]
    # A benchmark-level line (the audit's) repeats on every card of a run: keep one.
    table = table.drop_duplicates(subset=["seq", "question", "evidence", "model", "benchmark"])
    first, last = runs.iloc[0], runs.iloc[-1]
    latest = (
        table.sort_values("seq", kind="stable")
        .groupby(["question", "evidence", "model", "benchmark"], sort=False)
        .agg(
            first_estimate=("estimate", "first"),
            estimate=("estimate", "last"),
            ci_low=("ci_low", "last"),
            ci_high=("ci_high", "last"),
            q_value=("q_value", "last"),
            verdict=("verdict", "last"),
            flagged=("flagged", "last"),
            runs=("seq", "nunique"),
        )
        .reset_index()
    )
    rank = {q: i for i, q in enumerate(QUESTIONS)}
    latest = latest.assign(_r=latest["question"].map(rank)).sort_values(
        ["_r", "evidence", "benchmark", "model"], kind="stable"
    )
    n_flagged = int(latest["flagged"].sum())
    html.append(
        f'<p class="headline">{len(runs)} claim card{"s" if len(runs) != 1 else ""} '
        f"from {escape(names[int(first.seq)])} ({escape(first.created_at)}) to "
        f"{escape(names[int(last.seq)])} ({escape(last.created_at)}); "
        f"{len(latest)} evidence lines, {n_flagged} flagged in their latest run.</p>"
    )
    html.append(
        '<p class="note">Each chart is one kind of evidence; each coloured line is one claim '
        "line across runs, its band the interval of each run; a diamond marks a run in which "
        "the line was flagged. Runs are in the order they were appended.</p>"
    )
    # Kinds with a flagged run first, then in the card's order.
    flagged_kinds = set(
        zip(
            table.loc[table["flagged"], "question"],
            table.loc[table["flagged"], "evidence"],
            strict=True,
        )
    )
    kinds = sorted(
        dict.fromkeys(zip(table["question"], table["evidence"], strict=True)),
        key=lambda kind: (kind not in flagged_kinds, rank.get(kind[0], len(rank)), kind[1]),
    )
    html.append('<div style="display:flex;flex-wrap:wrap;gap:0.5rem 1.5rem">')
    for i, (question, evidence) in enumerate(kinds[:MAX_CHARTS]):
        rows = table[(table["question"] == question) & (table["evidence"] == evidence)]
        chart_id = f"history-chart-{i}"
        charts[chart_id] = _chart(rows, order, f"{question}: {evidence}")
        html.append(chart_slot(chart_id))
    html.append("</div>")
    if len(kinds) > MAX_CHARTS:
        html.append(f'<p class="note">{len(kinds) - MAX_CHARTS} more kinds are in the table.</p>')
    latest["interval"] = [
        interval(a, b) for a, b in zip(latest["ci_low"], latest["ci_high"], strict=True)
    ]
    latest["flag"] = latest["flagged"].map(lambda f: "FLAGGED" if f else "")
    html.append("<h3>Every line, latest run</h3>")
    html.append(
        wrap(
            html_table(
                latest,
                {
                    "question": "Question",
                    "evidence": "Evidence",
                    "model": "Model",
                    "benchmark": "Benchmark",
                    "runs": "Runs",
                    "first_estimate": "First",
                    "estimate": "Latest",
                    "interval": "Interval",
                    "q_value": "q",
                    "verdict": "Verdict",
                    "flag": "Flag",
                },
                formats={"first_estimate": ".3g", "estimate": ".3g", "q_value": ".2g"},
                sort_by={"interval": "ci_low"},
                cell_classes={"flag": lambda v: "v-high" if v == "FLAGGED" else None},
            )
        )
    )
    shown = runs.assign(
        run=runs["seq"].map(names),
        run_id=runs["run_id"].map(lambda h: str(h)[:12]),
    )
    html.append("<h3>Runs</h3>")
    html.append(
        wrap(
            html_table(
                shown,
                {
                    "seq": "#",
                    "run": "Label",
                    "run_id": "Run id",
                    "created_at": "Appended (UTC)",
                    "model": "Model",
                    "benchmark": "Benchmark",
                    "lines": "Lines",
                    "flagged": "Flagged",
                },
            )
        )
    )
    return ReportSection(
        id="history", title="Evidence over time", html="".join(html), charts=charts
    )


def contribution(result: HistoryResult) -> Contribution:
    """The ledger page's section, with the title and lead it gives on its own."""
    source = result.settings.get("source") or "the ledger"
    lead = (
        f"How each claim's evidence moved across the runs stored in {escape(source)}: one "
        "line per claim, intervals as bands, flagged runs marked."
    )
    return Contribution(
        title="Ledger: evidence over time", lead=lead, parts=(history_section(result),)
    )

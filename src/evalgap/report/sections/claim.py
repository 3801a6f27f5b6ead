"""The claim card section: one safety claim, every line of evidence, what is not covered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from evalgap.report._html import escape, html_table
from evalgap.report._section import Contribution, ReportSection
from evalgap.report.sections._common import interval, number, wrap

if TYPE_CHECKING:
    from evalgap.analyses.claim import ClaimResult

__all__ = ["claim_section", "contribution"]

_QUESTION_TITLE = {
    "score": "Score",
    "safetywashing": "Safetywashing",
    "adjusted": "Adjusted for capabilities",
    "inflation": "Inflation",
    "sandbagging": "Sandbagging",
    "probe": "Probes",
}


def _num(value: Any, spec: str = ".3g") -> str:
    v = number(value)
    return "–" if v is None else format(v, spec)


def _flag(row: pd.Series) -> str:
    if row["flagged"]:
        return "FLAGGED"
    return "stand-in" if row["stand_in"] else ""


def _short(hashes: Any) -> str:
    return ", ".join(h.strip()[:12] for h in str(hashes or "").split(",") if h.strip())


def claim_section(result: ClaimResult) -> ReportSection:
    """The card: a headline, the flagged lines in words, the evidence table, what each
    line measures, the "not covered" list and the sources with their sha256."""
    s = result.settings
    table = result.table.copy()
    html = [f'<p class="headline">{escape(result.summary())}</p>']
    html.append(f'<p class="note">{escape(s["flag_rule"])}.</p>')
    flagged = result.flagged
    if not flagged.empty:
        items = []
        for r in flagged.itertuples(index=False):
            where = f"{r.model} on {r.benchmark}" if r.model else str(r.benchmark)
            items.append(
                f"<li><strong>{escape(_QUESTION_TITLE.get(r.question, r.question))}</strong>: "
                f"{escape(r.evidence)} ({escape(where)}): {escape(_num(r.estimate))} "
                f"{escape(interval(r.ci_low, r.ci_high))}, q = {escape(_num(r.q_value, '.2g'))}"
                f"{'; ' + escape(r.verdict) if r.verdict else ''}"
                f"{' (stand-in)' if r.stand_in else ''}</li>"
            )
        html.append(f'<ul class="flags">{"".join(items)}</ul>')
    table["interval"] = [
        interval(a, b) for a, b in zip(table["ci_low"], table["ci_high"], strict=True)
    ]
    table["flag"] = [_flag(r) for _, r in table.iterrows()]
    table["inputs"] = table["input_sha256"].map(_short)
    table["about"] = [
        f"{m} on {b}" if m else str(b)
        for m, b in zip(table["model"], table["benchmark"], strict=True)
    ]
    table["question_title"] = table["question"].map(lambda q: _QUESTION_TITLE.get(q, q))
    html.append("<h3>Evidence</h3>")
    html.append(
        wrap(
            html_table(
                table,
                {
                    "question_title": "Question",
                    "evidence": "Evidence",
                    "about": "About",
                    "analysis": "Analysis",
                    "estimate": "Estimate",
                    "interval": f"{float(s['confidence_level']):.0%} interval",
                    "p_value": "p",
                    "q_value": "q (BH)",
                    "verdict": "Verdict",
                    "flag": "Flag",
                    "inputs": "Inputs (sha256)",
                },
                formats={"estimate": ".3g", "p_value": ".2g", "q_value": ".2g"},
                sort_by={"interval": "ci_low"},
                cell_classes={"flag": lambda v: "v-high" if v == "FLAGGED" else None},
            )
        )
    )
    html.append("<h3>What each line measures</h3>")
    html.append(
        wrap(
            html_table(
                table,
                {
                    "evidence": "Evidence",
                    "about": "About",
                    "measure": "Measure",
                    "q_family": "q-value family",
                    "note": "Note",
                },
                sortable=False,
            )
        )
    )
    html.append("<h3>Not covered</h3>")
    if result.not_covered.empty:
        html.append("<p>Every topic the card checks is covered.</p>")
    else:
        html.append(
            "<ul>"
            + "".join(
                f"<li><strong>{escape(r.topic)}</strong>: {escape(r.reason)}</li>"
                for r in result.not_covered.itertuples(index=False)
            )
            + "</ul>"
        )
    sources = result.sources.assign(
        result_sha256=result.sources["result_sha256"].map(lambda h: str(h)[:12]),
        sha256=result.sources["sha256"].map(lambda h: str(h)[:12]),
    )
    html.append("<h3>Sources</h3>")
    html.append(
        wrap(
            html_table(
                sources,
                {
                    "analysis": "Analysis",
                    "origin": "From",
                    "result_sha256": "Result sha256",
                    "input": "Input file",
                    "sha256": "sha256",
                },
                sortable=False,
            )
        )
    )
    return ReportSection(id="claim", title="Claim card", html="".join(html))


def contribution(result: ClaimResult) -> Contribution:
    """The claim card section, with the page title and lead it gives on its own."""
    lead = (
        f"Is {escape(result.model)} safe on {escape(result.benchmark)}? Every analysis whose "
        "inputs were present contributes a line: how much the benchmark tracks capabilities, "
        "the model's capabilities-adjusted score, and inflation, sandbagging and probe "
        "evidence, each with its interval and q-value; what no analysis covered is listed."
    )
    return Contribution(
        title=f"Claim card: {result.model} on {result.benchmark}",
        lead=lead,
        parts=(claim_section(result),),
    )

"""How each claim's evidence moved over time: claim cards from successive runs (e.g. one
per checkpoint, read from the ledger) laid out as one series per evidence line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from evalgap.errors import InputError
from evalgap.results import Provenance, Result

__all__ = ["HISTORY_COLUMNS", "HistoryResult", "history_of"]

#: Columns of :attr:`HistoryResult.table`.
HISTORY_COLUMNS = (
    "seq",
    "run_id",
    "label",
    "created_at",
    "claim",
    "question",
    "evidence",
    "analysis",
    "model",
    "benchmark",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "verdict",
    "flagged",
    "stand_in",
)
_RUN_COLUMNS = ("seq", "run_id", "label", "created_at", "model", "benchmark", "lines", "flagged")


@dataclass(frozen=True, kw_only=True, eq=False)
class HistoryResult(Result):
    """What :func:`history_of` laid out.

    Attributes
    ----------
    table
        One row per run and evidence line (columns :data:`HISTORY_COLUMNS`), ordered by
        claim, line and run; ``claim`` is ``model · benchmark`` (the card's claim), so a
        line across runs is (``claim``, ``question``, ``evidence``, ``benchmark``).
    runs
        One row per claim card: ``seq, run_id, label, created_at, model, benchmark,
        lines, flagged``.
    """

    analysis: ClassVar[str] = "history"
    schema_version: ClassVar[int] = 1
    tables: ClassVar[Mapping[str, str]] = {"history": "table", "runs": "runs"}

    table: pd.DataFrame
    runs: pd.DataFrame


def history_of(
    entries: Iterable[tuple[Mapping[str, Any], Result]], *, source: str = ""
) -> HistoryResult:
    """Lay out claim cards from successive runs as series.

    Parameters
    ----------
    entries
        ``(run, card)`` pairs: ``run`` has ``seq`` (the order), ``run_id``, ``label`` and
        ``created_at`` (ISO time); ``card`` is a :class:`~evalgap.analyses.claim.ClaimResult`.
    source
        What the runs came from (a ledger path), for the page.

    Raises
    ------
    InputError
        A result that is not a claim card.

    Examples
    --------
    >>> from evalgap.analyses.claim import history_of
    >>> history_of([]).table.empty
    True
    """
    rows: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    inputs: dict[str, str] = {}
    for run, card in entries:
        if card.analysis != "claim":
            raise InputError(
                f"history is built from claim cards, got a {card.analysis!r} result",
                source=source or None,
                where=f"run {run.get('run_id', '?')}",
            )
        meta = {
            "seq": int(run["seq"]),
            "run_id": str(run["run_id"]),
            "label": str(run.get("label") or ""),
            "created_at": str(run.get("created_at") or ""),
        }
        model, benchmark = str(card.settings["model"]), str(card.settings["benchmark"])
        table: pd.DataFrame = card.table
        runs.append(
            {
                **meta,
                "model": model,
                "benchmark": benchmark,
                "lines": len(table),
                "flagged": int(table["flagged"].sum()),
            }
        )
        inputs.update({f"{meta['run_id'][:12]}:{k}": v for k, v in card.provenance.inputs.items()})
        for r in table.itertuples(index=False):
            rows.append(
                {
                    **meta,
                    "claim": f"{model} · {benchmark}",
                    "question": r.question,
                    "evidence": r.evidence,
                    "analysis": r.analysis,
                    "model": r.model,
                    "benchmark": r.benchmark,
                    "estimate": float(r.estimate),
                    "ci_low": float(r.ci_low),
                    "ci_high": float(r.ci_high),
                    "p_value": float(r.p_value),
                    "q_value": float(r.q_value),
                    "verdict": r.verdict,
                    "flagged": bool(r.flagged),
                    "stand_in": bool(r.stand_in),
                }
            )
    table = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    if not table.empty:
        table = table.sort_values(
            ["claim", "question", "evidence", "benchmark", "seq"], kind="stable"
        ).reset_index(drop=True)
    for col in ("estimate", "ci_low", "ci_high", "p_value", "q_value"):
        table[col] = table[col].astype(float)
    table["seq"] = table["seq"].astype("int64")
    for col in ("flagged", "stand_in"):
        table[col] = table[col].astype(bool)
    run_frame = pd.DataFrame(runs, columns=list(_RUN_COLUMNS))
    run_frame = run_frame.sort_values("seq", kind="stable").reset_index(drop=True)
    for col in ("seq", "lines", "flagged"):
        run_frame[col] = run_frame[col].astype("int64")
    return HistoryResult(
        table=table,
        runs=run_frame,
        settings={"source": source, "claims": int(table["claim"].nunique()), "runs": len(runs)},
        provenance=Provenance(inputs=inputs),
    )

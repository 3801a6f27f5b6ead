"""Compare two runs (or two labels, e.g. two checkpoints) claim by claim."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from evalgap.analyses import RESULT_TYPES, result_type
from evalgap.errors import InputError
from evalgap.ledger._store import Ledger

__all__ = ["DIFF_COLUMNS", "STATUSES", "diff_runs"]

#: Row statuses, most important first (the order of the output).
STATUSES = (
    "newly flagged",
    "no longer flagged",
    "verdict changed",
    "moved (intervals do not overlap)",
    "only in A",
    "only in B",
    "moved within intervals",
    "same",
)

DIFF_COLUMNS = (
    "status",
    "analysis",
    "tbl",
    "key",
    "benchmark",
    "model_a",
    "model_b",
    "estimate_a",
    "estimate_b",
    "change",
    "ci_low_a",
    "ci_high_a",
    "ci_low_b",
    "ci_high_b",
    "q_value_a",
    "q_value_b",
    "verdict_a",
    "verdict_b",
    "flagged_a",
    "flagged_b",
)


def _primary(analysis: str) -> str | None:
    """The JSON key of an analysis's headline table (its ``table`` attribute)."""
    if analysis not in RESULT_TYPES:
        return None
    for key, attr in result_type(analysis).tables.items():
        if attr == "table":
            return key
    return None


def _side(ledger: Ledger, ref: str, tables: str | None) -> pd.DataFrame:
    rows = ledger.rows(ref)
    if rows.empty:
        return rows
    if tables is None:
        keep = [
            tbl == _primary(analysis)
            for analysis, tbl in zip(rows["analysis"], rows["tbl"], strict=True)
        ]
        rows = rows[keep]
    elif tables != "all":
        rows = rows[rows["tbl"] == tables]
    flagged = [json.loads(e).get("flagged") if e else None for e in rows["extra"]]
    return rows.assign(flagged=flagged, model=rows["model"].fillna(""))


def _disjoint(a_lo: Any, a_hi: Any, b_lo: Any, b_hi: Any) -> bool:
    values = [float(v) if v is not None else math.nan for v in (a_lo, a_hi, b_lo, b_hi)]
    if any(math.isnan(v) for v in values):
        return False
    return values[1] < values[2] or values[3] < values[0]


def _status(r: Any) -> str:
    if pd.isna(r.seq_a):
        return "only in B"
    if pd.isna(r.seq_b):
        return "only in A"
    if (
        r.flagged_a is not None
        and r.flagged_b is not None
        and bool(r.flagged_a) != bool(r.flagged_b)
    ):
        return "newly flagged" if r.flagged_b else "no longer flagged"
    if (r.verdict_a or "") != (r.verdict_b or ""):
        return "verdict changed"
    if _disjoint(r.ci_low_a, r.ci_high_a, r.ci_low_b, r.ci_high_b):
        return "moved (intervals do not overlap)"
    a, b = r.estimate_a, r.estimate_b
    both = a is not None and b is not None and not (pd.isna(a) or pd.isna(b))
    if both and abs(float(a) - float(b)) > 1e-12 * max(1.0, abs(float(a))):
        return "moved within intervals"
    return "same"


def diff_runs(
    ledger: Ledger,
    a: str,
    b: str,
    *,
    tables: str | None = None,
    match_models: bool | None = None,
) -> pd.DataFrame:
    """Row-by-row comparison of two runs (or two labels): each claim's estimate,
    interval, q-value, verdict and flag in A and in B, and what changed.

    Rows are joined on (analysis, table, key, model, benchmark). When each side holds one
    model and they differ (claim cards of two checkpoints named differently), models are
    not matched unless ``match_models`` is True.

    Parameters
    ----------
    ledger
        The ledger.
    a, b
        Run references (``latest``, ``latest~1``, a run id or prefix, a label).
    tables
        Which table of each result: default its headline table (a claim card's evidence
        lines), ``"all"``, or a table key.
    match_models
        Join on the model too (default: unless each side has one, different, model).

    Returns
    -------
    DataFrame
        Columns :data:`DIFF_COLUMNS`, most important changes first (:data:`STATUSES`).

    Examples
    --------
    >>> from evalgap.ledger import Ledger, diff_runs
    >>> diff_runs(Ledger("evalgap-ledger.db"), "ckpt-1000", "ckpt-2000")  # doctest: +SKIP
    """
    left, right = _side(ledger, a, tables), _side(ledger, b, tables)
    if left.empty and right.empty:
        raise InputError(f"runs {a!r} and {b!r} have no rows to compare", source=ledger.path)
    kinds = {*left.get("analysis", []), *right.get("analysis", [])}
    if len({*left.get("analysis", [])} & {*right.get("analysis", [])}) == 0 and len(kinds) > 1:
        raise InputError(
            f"{a!r} holds {', '.join(sorted(set(left['analysis'])))} and {b!r} holds "
            f"{', '.join(sorted(set(right['analysis'])))}: compare runs of one analysis",
            source=ledger.path,
        )
    if match_models is None:
        ma = {m for m in left.get("model", []) if m}
        mb = {m for m in right.get("model", []) if m}
        match_models = not (len(ma) == 1 and len(mb) == 1 and ma != mb)
    on = ["analysis", "tbl", "key", "benchmark"] + (["model"] if match_models else [])
    fields = ["seq", "model", "estimate", "ci_low", "ci_high", "q_value", "verdict", "flagged"]

    def side(frame: pd.DataFrame, suffix: str) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame(columns=[*on, *(f"{c}_{suffix}" for c in fields)])
        kept = frame.sort_values("seq").drop_duplicates(subset=on, keep="last")
        out = kept[[*dict.fromkeys([*on, *fields])]].copy()
        if match_models:
            out[f"model_{suffix}"] = out["model"]
        return out.rename(columns={c: f"{c}_{suffix}" for c in fields if c not in on})

    merged = side(left, "a").merge(side(right, "b"), on=on, how="outer", sort=False)
    merged = merged.replace({np.nan: None})
    merged["status"] = [_status(r) for r in merged.itertuples(index=False)]
    est_a = pd.to_numeric(merged["estimate_a"], errors="coerce")
    est_b = pd.to_numeric(merged["estimate_b"], errors="coerce")
    merged["change"] = est_b - est_a
    rank = {s: i for i, s in enumerate(STATUSES)}
    merged = merged.assign(_rank=merged["status"].map(rank)).sort_values(
        ["_rank", "analysis", "benchmark", "key", "tbl"], kind="stable"
    )
    for col in ("estimate_a", "estimate_b", "ci_low_a", "ci_high_a", "ci_low_b", "ci_high_b"):
        merged[col] = pd.to_numeric(merged[col], errors="coerce")
    for col in ("q_value_a", "q_value_b"):
        merged[col] = pd.to_numeric(merged[col], errors="coerce")
    for col in ("model_a", "model_b", "verdict_a", "verdict_b"):
        merged[col] = merged[col].fillna("")
    for col in ("flagged_a", "flagged_b"):
        merged[col] = merged[col].astype("boolean")
    return merged[list(DIFF_COLUMNS)].reset_index(drop=True)

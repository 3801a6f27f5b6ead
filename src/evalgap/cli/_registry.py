"""The sub-commands: name -> (module, one-line help), in the order ``evalgap --help`` lists
them. ``evalgap --help`` reads only this table; a command's module (and pandas, SciPy or
torch with it) is imported only when that command runs or its own help is asked for."""

from __future__ import annotations

__all__ = ["COMMANDS", "help_of"]

COMMANDS: dict[str, tuple[str, str]] = {
    "audit": (
        "evalgap.cli._audit",
        "correlate every safety benchmark with a capabilities score and training FLOP",
    ),
    "sensitivity": (
        "evalgap.cli._sensitivity",
        "which audit verdicts flip when one analysis choice changes",
    ),
    "adjust": (
        "evalgap.cli._adjust",
        "capabilities-adjusted safety: each model's score beyond what its capabilities predict",
    ),
    "items": (
        "evalgap.cli._items",
        "which items of a benchmark track capabilities; reliability; a decorrelated subset",
    ),
    "inflation": (
        "evalgap.cli._inflation",
        "is a score inflated by contamination: reference models, holdouts, likelihood tests",
    ),
    "sandbag": (
        "evalgap.cli._sandbag",
        "is a model holding back on a hazard evaluation? (panel: scores; noise: weights)",
    ),
    "claim": (
        "evalgap.cli._claim",
        "one safety claim, all the evidence: the claim card for MODEL on a benchmark",
    ),
    "probe": (
        "evalgap.cli._probe",
        "do activation probes flag prompts a model treats differently? (with controls)",
    ),
    "report": (
        "evalgap.cli._report",
        "one self-contained HTML report: an audit, and/or saved results of any analyses",
    ),
    "figures": ("evalgap.cli._figures", "write the report's figures as SVG, PNG or PDF files"),
    "import": (
        "evalgap.cli._import",
        "read harness outputs (lm-eval, Inspect, HELM, leaderboards) and match model names",
    ),
    "panels": ("evalgap.cli._panels", "list the named public panels"),
    "ledger": (
        "evalgap.cli._ledger",
        "the audit history: add, list, show, diff and query stored results (SQLite)",
    ),
    "gate": (
        "evalgap.cli._gate",
        "for CI: check evidence against a policy file; exit 0 (pass), 1 (fail), 2 (bad input)",
    ),
    "watch": (
        "evalgap.cli._watch",
        "re-run the analyses when new harness logs land in a folder; append to the ledger",
    ),
}


def help_of(name: str) -> str:
    """The one-line help of command ``name``."""
    return COMMANDS[name][1]

"""The audit ledger: an append-only history of results in one SQLite file, the diff of two
runs, the CI gate and the folder watcher."""

from evalgap.ledger._diff import DIFF_COLUMNS, STATUSES, diff_runs
from evalgap.ledger._gate import (
    Check,
    Evidence,
    GateOutcome,
    claim_cards,
    collect,
    evaluate,
    gate,
)
from evalgap.ledger._policy import POLICY_KEYS, Policy, load_policy, policy_from_dict
from evalgap.ledger._rows import ALIASES, KEYS, ROW_COLUMNS, VOCABULARY, result_rows
from evalgap.ledger._store import DEFAULT_LEDGER, Appended, Ledger, provenance_key, run_key
from evalgap.ledger._watch import Cycle, snapshot, watch

__all__ = [
    "ALIASES",
    "DEFAULT_LEDGER",
    "DIFF_COLUMNS",
    "KEYS",
    "POLICY_KEYS",
    "ROW_COLUMNS",
    "STATUSES",
    "VOCABULARY",
    "Appended",
    "Check",
    "Cycle",
    "Evidence",
    "GateOutcome",
    "Ledger",
    "Policy",
    "claim_cards",
    "collect",
    "diff_runs",
    "evaluate",
    "gate",
    "load_policy",
    "policy_from_dict",
    "provenance_key",
    "result_rows",
    "run_key",
    "snapshot",
    "watch",
]

"""The audit ledger: an append-only history of results in one SQLite file, the diff of two
runs, the CI gate and the folder watcher."""

from evalgap.ledger._diff import DIFF_COLUMNS, STATUSES, diff_runs
from evalgap.ledger._rows import ALIASES, KEYS, ROW_COLUMNS, VOCABULARY, result_rows
from evalgap.ledger._store import DEFAULT_LEDGER, Appended, Ledger, run_key

__all__ = [
    "ALIASES",
    "DEFAULT_LEDGER",
    "DIFF_COLUMNS",
    "KEYS",
    "ROW_COLUMNS",
    "STATUSES",
    "VOCABULARY",
    "Appended",
    "Ledger",
    "diff_runs",
    "result_rows",
    "run_key",
]

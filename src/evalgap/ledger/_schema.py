"""The ledger's SQLite schema.

Two tables and a view. ``runs``: one row per stored result, with its full JSON. ``rows``:
every row of every table of every result in the shared vocabulary (see
:mod:`evalgap.ledger._rows`), so SQL can ask across runs. ``evidence``: ``rows`` joined
to their run's id, label, analysis and time. Triggers refuse every UPDATE and DELETE: the
ledger is append-only.
"""

from __future__ import annotations

__all__ = ["FORMAT", "FORMAT_VERSION", "SCHEMA"]

#: Written to ``ledger_meta`` so another SQLite file is not mistaken for a ledger.
FORMAT = "evalgap-ledger"
#: Bumped when the layout changes incompatibly.
FORMAT_VERSION = 1

SCHEMA: tuple[str, ...] = (
    """
CREATE TABLE IF NOT EXISTS ledger_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
""",
    """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    provenance_sha256 TEXT NOT NULL,
    analysis TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    evalgap_version TEXT NOT NULL,
    label TEXT,
    created_at TEXT NOT NULL,
    n_rows INTEGER NOT NULL,
    result_sha256 TEXT NOT NULL,
    settings TEXT NOT NULL,
    provenance TEXT NOT NULL,
    result TEXT NOT NULL
)
""",
    """
CREATE TABLE IF NOT EXISTS rows (
    run INTEGER NOT NULL REFERENCES runs (seq),
    tbl TEXT NOT NULL,
    row INTEGER NOT NULL,
    key TEXT NOT NULL,
    model TEXT,
    benchmark TEXT,
    estimate REAL,
    ci_low REAL,
    ci_high REAL,
    p_value REAL,
    q_value REAL,
    q_value_by REAL,
    n INTEGER,
    verdict TEXT,
    extra TEXT NOT NULL
)
""",
    """
CREATE INDEX IF NOT EXISTS rows_run ON rows (run, tbl, row)
""",
    """
CREATE INDEX IF NOT EXISTS rows_claim ON rows (model, benchmark)
""",
    """
CREATE INDEX IF NOT EXISTS runs_analysis ON runs (analysis, seq)
""",
    """
CREATE INDEX IF NOT EXISTS runs_label ON runs (label, seq)
""",
    """
CREATE INDEX IF NOT EXISTS runs_provenance ON runs (provenance_sha256)
""",
    """
CREATE VIEW IF NOT EXISTS evidence AS
    SELECT runs.run_id, runs.seq, runs.label, runs.analysis, runs.created_at, rows.tbl,
           rows.row, rows.key, rows.model, rows.benchmark, rows.estimate, rows.ci_low,
           rows.ci_high, rows.p_value, rows.q_value, rows.q_value_by, rows.n, rows.verdict,
           rows.extra
    FROM rows JOIN runs ON rows.run = runs.seq
""",
    """
CREATE TRIGGER IF NOT EXISTS runs_append_only_update BEFORE UPDATE ON runs
    BEGIN SELECT RAISE(ABORT, 'the evalgap ledger is append-only'); END
""",
    """
CREATE TRIGGER IF NOT EXISTS runs_append_only_delete BEFORE DELETE ON runs
    BEGIN SELECT RAISE(ABORT, 'the evalgap ledger is append-only'); END
""",
    """
CREATE TRIGGER IF NOT EXISTS rows_append_only_update BEFORE UPDATE ON rows
    BEGIN SELECT RAISE(ABORT, 'the evalgap ledger is append-only'); END
""",
    """
CREATE TRIGGER IF NOT EXISTS rows_append_only_delete BEFORE DELETE ON rows
    BEGIN SELECT RAISE(ABORT, 'the evalgap ledger is append-only'); END
""",
)

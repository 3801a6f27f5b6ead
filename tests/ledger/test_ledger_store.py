"""The ledger: keyed by provenance hash, append-only, readable after a kill, and nothing
lost when two processes append at once."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import evalgap
from evalgap.errors import InputError
from evalgap.ledger import Ledger, provenance_key, result_rows, run_key
from synthetic_panels import make_panel

WRITER = Path(__file__).with_name("ledger_writer.py")
SRC = Path(evalgap.__file__).resolve().parents[1]

#: Appends the killed writer is asked for, and the rows of each (so an append takes a few
#: milliseconds and the kill lands inside the loop).
KILL_COUNT = 1_000
KILL_ROWS = 60
#: Appends per writer in the two-writer test.
PER_WRITER = 250


def _writer(db: Path, count: int, prefix: str, rows: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(db), str(count), prefix, str(rows)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
    )


def _check_complete(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # every stored run has all of its rows: an append is all or nothing
    bad = conn.execute(
        "SELECT runs.seq FROM runs LEFT JOIN rows ON rows.run = runs.seq "
        "GROUP BY runs.seq HAVING count(rows.run) != runs.n_rows"
    ).fetchall()
    assert bad == []
    return conn


@pytest.fixture(scope="module")
def audit_result():
    return evalgap.audit(make_panel(n_models=24, seed=5), n_boot=200, n_perm=200, seed=1)


@pytest.fixture(scope="module")
def adjust_result():
    return evalgap.adjust(make_panel(n_models=24, seed=5))


def test_append_is_keyed_by_provenance(tmp_path, audit_result):
    with Ledger(tmp_path / "l.db") as ledger:
        first = ledger.append(audit_result)
        again = ledger.append(audit_result)
        labelled = ledger.append(audit_result, label="ckpt-1")
        assert first.new and not again.new and labelled.new
        assert first.run_id == again.run_id == run_key(audit_result.to_dict())
        assert labelled.run_id != first.run_id
        assert len(ledger) == 2
        assert ledger.result(first.run_id).to_json() == audit_result.to_json()
        assert ledger.result_json("ckpt-1") == json.dumps(
            audit_result.to_dict(), ensure_ascii=False, separators=(",", ":")
        )


def test_another_result_of_the_same_provenance_is_another_run(tmp_path, audit_result):
    data = audit_result.to_dict()
    with Ledger(tmp_path / "l.db") as ledger:
        first = ledger.append(data)
        data["benchmarks"] = [{**data["benchmarks"][0], "ci_low": -0.5}]
        second = ledger.append(data)
        assert second.new and second.run_id != first.run_id
        same = ledger.query("SELECT count(DISTINCT provenance_sha256) AS n FROM runs")
        assert same["n"].tolist() == [1]
        assert ledger.runs()["provenance_sha256"].tolist() == [provenance_key(data)] * 2


def test_the_ledger_is_append_only(tmp_path, audit_result):
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        ledger.append(audit_result)
    conn = sqlite3.connect(db, isolation_level=None)
    for sql in ("DELETE FROM runs", "UPDATE runs SET label = 'x'", "DELETE FROM rows"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    conn.close()
    with Ledger(db) as ledger:
        with pytest.raises(InputError, match="readonly"):
            ledger.query("INSERT INTO ledger_meta VALUES ('a', 'b')")
        assert ledger.query("SELECT count(*) AS n FROM runs")["n"].tolist() == [1]


def test_rows_use_the_shared_vocabulary(tmp_path, audit_result, adjust_result):
    with Ledger(tmp_path / "l.db") as ledger:
        a = ledger.append(audit_result, label="a")
        b = ledger.append(adjust_result, label="b")
        audit_rows = ledger.rows(a.run_id, table="benchmarks").set_index("benchmark")
        expected = audit_result.table.set_index("benchmark")
        assert audit_rows["estimate"].to_dict() == expected["capabilities_correlation"].to_dict()
        assert audit_rows["ci_low"].to_dict() == expected["ci_low"].to_dict()
        assert audit_rows["verdict"].to_dict() == expected["verdict"].to_dict()
        adjust_rows = ledger.rows(b.run_id, table="scores")
        assert adjust_rows["estimate"].tolist() == adjust_result.table["residual"].tolist()
        assert adjust_rows["verdict"].tolist() == adjust_result.table["assessment"].tolist()
        # the other columns travel as JSON
        extra = json.loads(adjust_rows["extra"].iloc[0])
        assert extra["observed"] == adjust_result.table["observed"].iloc[0]
        # SQL across runs
        both = ledger.query(
            "SELECT analysis, count(*) AS n FROM evidence GROUP BY analysis ORDER BY analysis"
        )
        assert both["n"].tolist() == [
            len(adjust_result.table) + len(adjust_result.fits),
            len(audit_result.table) + len(audit_result.areas),
        ]


def test_run_references(tmp_path, audit_result, adjust_result):
    with Ledger(tmp_path / "l.db") as ledger:
        a = ledger.append(audit_result, label="same")
        b = ledger.append(adjust_result, label="same")
        assert ledger.run("latest")["run_id"] == b.run_id
        assert ledger.run("latest~1")["run_id"] == a.run_id
        assert ledger.run(a.run_id[:8])["run_id"] == a.run_id
        assert [r for r, _ in ledger.results("same")] == [a.run_id, b.run_id]
        with pytest.raises(InputError, match="names 2 runs"):
            ledger.run("same")
        with pytest.raises(InputError, match="no run with id or label"):
            ledger.run("nothing")
        with pytest.raises(InputError, match="no run 'latest~5'"):
            ledger.run("latest~5")


def test_what_is_not_a_ledger(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 100)
    with pytest.raises(InputError, match="not a SQLite file"):
        Ledger(text)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(InputError, match="not an evalgap ledger"):
        Ledger(other)
    with pytest.raises(InputError, match="no such ledger"):
        Ledger(tmp_path / "missing.db", create=False)
    with pytest.raises(InputError, match="is a folder"):
        Ledger(tmp_path)


def test_result_rows_take_the_benchmark_setting():
    data = {
        "analysis": "inflation-reference",
        "settings": {"benchmark": "gsm8k"},
        "columns": {"models": {}},
        "models": [{"model": "m", "estimate": 0.1, "ci_low": 0.0, "ci_high": 0.2, "n": 7}],
    }
    row = result_rows(data)[0]
    assert row[:6] == ("models", 0, "", "m", "gsm8k", 0.1)


@pytest.mark.parametrize("kill_after", [25, 250])
def test_sigkill_during_appends_leaves_a_readable_ledger(tmp_path, kill_after):
    db = tmp_path / "killed.db"
    child = _writer(db, KILL_COUNT, "k", KILL_ROWS)
    acknowledged: list[str] = []
    assert child.stdout is not None
    for text in child.stdout:
        acknowledged.append(text.split()[2])
        if len(acknowledged) >= kill_after:
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    conn = _check_complete(db)
    stored = {r[0] for r in conn.execute("SELECT run_id FROM runs")}
    conn.close()
    assert set(acknowledged) <= stored  # nothing acknowledged was lost
    assert len(stored) < KILL_COUNT  # the kill landed inside the loop
    with Ledger(db) as ledger:
        for run_id in list(stored)[:5]:
            assert ledger.result(run_id).analysis == "claim"
        assert ledger.append(evalgap.analyses.claim.history_of([])).new  # still writable


def test_two_writers_lose_nothing(tmp_path):
    db = tmp_path / "shared.db"
    Ledger(db).close()
    children = [_writer(db, PER_WRITER, prefix, 20) for prefix in ("a", "b")]
    outs = [child.communicate(timeout=300) for child in children]
    for child, (_, err) in zip(children, outs, strict=True):
        assert child.returncode == 0, err
    conn = _check_complete(db)
    labels = {r[0] for r in conn.execute("SELECT label FROM runs")}
    conn.close()
    assert labels == {f"{p}-{i}" for p in ("a", "b") for i in range(PER_WRITER)}
    acknowledged = {line.split()[2] for out, _ in outs for line in out.splitlines()}
    assert len(acknowledged) == 2 * PER_WRITER

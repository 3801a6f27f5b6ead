"""``evalgap watch``: new logs in a folder are analysed, stored and reported; a log that is
still changing waits for the next poll."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

import evalgap
from claim_fixtures import CLEAN, FAULTY, write_user_benchmarks
from evalgap.cli import main
from evalgap.ledger import diff_runs, load_policy, snapshot, watch

POLICY = """
[inputs]
panel = "safetywashing-2024:chat"
data_dir = "{data_dir}"
benchmark_info = "{info}"

[analyses]
bootstrap = 500
permutations = 500

[claim]
models = ["{faulty}", "{clean}"]

[fail]
inflation_q = 0.05
"""


@pytest.fixture()
def setup(chat_panel, data_dir, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    scores, info = write_user_benchmarks(chat_panel, tmp_path)
    shutil.copy(scores, logs / "scores.csv")
    os.utime(logs / "scores.csv", ns=(1_700_000_000_000_000_000,) * 2)
    policy = tmp_path / "watch.toml"
    policy.write_text(POLICY.format(data_dir=data_dir, info=info, faulty=FAULTY, clean=CLEAN))
    return logs, policy, tmp_path / "ledger.db"


def test_new_logs_are_analysed_stored_and_checked(setup):
    logs, policy_file, db = setup
    policy = load_policy(policy_file)
    first = watch(logs, policy, db, once=True)
    assert [c.processed for c in first] == [True]
    cycle = first[0]
    assert cycle.error is None and cycle.label == "logs@2023-11-14T22:13:20.000Z"
    # audit, adjust of each user benchmark, the sandbagging check of the hazard benchmark,
    # and a claim card per model
    with evalgap.Ledger(db) as ledger:
        kinds = ledger.runs()["analysis"].value_counts().to_dict()
    assert kinds == {"adjust": 2, "audit": 1, "claim": 2, "sandbag-panel": 1}
    assert cycle.outcome is not None and not cycle.outcome.passed  # the planted inflation

    # the next checkpoint's logs: the inflation is gone; the first poll sees the change,
    # the second (nothing changed since) processes it
    frame = pd.read_csv(logs / "scores.csv")
    frame.loc[frame["model"] == FAULTY, "my_safety"] -= 0.25
    frame.to_csv(logs / "scores.csv", index=False)
    os.utime(logs / "scores.csv", ns=(1_700_000_100_000_000_000,) * 2)
    slept: list[float] = []
    second = watch(logs, policy, db, interval=0.5, max_cycles=3, sleep=slept.append)
    assert [c.processed for c in second] == [False, True, False]
    assert slept == [0.5, 0.5]
    assert second[1].outcome is not None and second[1].outcome.passed
    with evalgap.Ledger(db) as ledger:
        labels = ledger.runs(analysis="claim")["label"].tolist()
        assert (
            labels == ["logs@2023-11-14T22:13:20.000Z"] * 2 + ["logs@2023-11-14T22:15:00.000Z"] * 2
        )
        changes = diff_runs(ledger, labels[0], labels[-1])
        history = ledger.history(model=FAULTY)
    moved = changes[(changes["key"] == "inflation: score above capabilities prediction")]
    assert moved.set_index("model_a").loc[FAULTY, "status"] == "no longer flagged"
    # inflation and sandbagging flagged, then only the sandbagging (still in the logs)
    assert history.runs["flagged"].tolist() == [2, 1]


def test_the_cli_watches_once_and_writes_the_report(setup, capsys):
    logs, policy_file, db = setup
    report = db.with_suffix(".html")
    code = main(
        ["watch", str(logs), "--policy", str(policy_file), "--ledger", str(db), "--once",
         "--report", str(report), "--label", "ckpt-{files}"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1  # the policy's rule fails on the planted inflation
    assert (
        "cycle 1: 1 files; appended 6 runs (0 already stored) as ckpt-1; gate FAIL: inflation_q"
        in out
    )
    html = report.read_text()
    assert "Evidence over time" in html and FAULTY in html


def test_a_bad_log_is_reported_and_the_watch_goes_on(setup):
    logs, policy_file, db = setup
    (logs / "broken.json").write_text('{"results": {')
    cycles = watch(logs, load_policy(policy_file), db, once=True)
    assert cycles[0].error is not None and "broken.json" in cycles[0].error


def test_snapshot_skips_hidden_and_partial_files(tmp_path):
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "b.json.part").write_text("{")
    (tmp_path / ".c").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "d").write_text("x")
    assert [name for name, _, _ in snapshot(tmp_path)] == ["a.json"]

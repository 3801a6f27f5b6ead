"""``evalgap ledger add|list|show|diff|query|report`` and the diff of two checkpoints,
claim by claim, on synthetic panels (no data files needed)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import evalgap
from evalgap.cli import main
from evalgap.ledger import Ledger, diff_runs
from synthetic_panels import make_panel

MODEL = "model-003"


def _checkpoint(offset: float) -> evalgap.Panel:
    """The synthetic panel with MODEL's safety score moved by ``offset`` (in SDs of the
    benchmark): a later checkpoint of the model."""
    panel = make_panel(n_models=24, rho=0.0, seed=5)
    scores = panel.scores.copy()
    scores.loc[MODEL, "safety"] += offset * scores["safety"].std()
    return evalgap.Panel.from_frames(
        scores, panel.benchmarks, panel.models, capabilities=panel.default_capabilities,
        source="synthetic",
    )  # fmt: skip


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpts")
    paths = []
    for i, offset in enumerate((0.0, 4.0)):
        card = evalgap.claim(MODEL, "safety", panel=_checkpoint(offset), n_boot=300, n_perm=300)
        path = folder / f"ckpt{i}.json"
        path.write_text(card.to_json())
        paths.append(path)
    return paths


def _run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_add_list_show_query(saved, tmp_path, capsys):
    db = str(tmp_path / "l.db")
    code, out, _ = _run(
        ["ledger", "add", str(saved[0]), "--label", "ckpt-0", "--ledger", db], capsys
    )
    assert code == 0 and "claim" in out and "appended" in out
    code, out, _ = _run(
        ["ledger", "add", str(saved[0]), "--label", "ckpt-0", "--ledger", db], capsys
    )
    assert "already stored" in out
    _run(["ledger", "add", str(saved[1]), "--label", "ckpt-1", "--ledger", db], capsys)
    code, out, _ = _run(["ledger", "list", "--ledger", db, "--format", "json"], capsys)
    runs = json.loads(out)
    assert [r["label"] for r in runs] == ["ckpt-0", "ckpt-1"]
    assert runs[0]["about"] == f"{MODEL} on safety"
    code, out, _ = _run(["ledger", "show", "ckpt-1", "--ledger", db, "--format", "json"], capsys)
    assert out.strip() == json.dumps(
        json.loads(saved[1].read_text()), ensure_ascii=False, separators=(",", ":")
    )
    code, out, _ = _run(["ledger", "show", "latest", "--ledger", db], capsys)
    assert code == 0 and "inflation: score above capabilities prediction" in out
    sql = (
        "SELECT label, estimate FROM evidence WHERE tbl = 'evidence' "
        "AND key LIKE 'inflation:%' ORDER BY seq"
    )
    code, out, _ = _run(["ledger", "query", sql, "--ledger", db, "--format", "csv"], capsys)
    frame = pd.read_csv(pd.io.common.StringIO(out))
    assert frame["label"].tolist() == ["ckpt-0", "ckpt-1"]
    assert frame["estimate"].iloc[1] > frame["estimate"].iloc[0]


def test_diff_of_two_checkpoints(saved, tmp_path, capsys):
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        ledger.append(evalgap.load_result(saved[0]), label="ckpt-0")
        ledger.append(evalgap.load_result(saved[1]), label="ckpt-1")
        changes = diff_runs(ledger, "ckpt-0", "ckpt-1").set_index("key")
    inflation = changes.loc["inflation: score above capabilities prediction"]
    assert inflation["status"] == "newly flagged"
    assert not inflation["flagged_a"] and inflation["flagged_b"]
    assert inflation["change"] > 0
    # the benchmark-level lines did not move: the model's own score does not move the audit
    # much, but the rows are matched and compared
    assert changes.loc["safetywashing: tracks capabilities", "model_a"] == ""
    code, out, _ = _run(["ledger", "diff", "ckpt-0", "ckpt-1", "--ledger", str(db)], capsys)
    assert code == 0 and "newly flagged" in out.splitlines()[4]
    code, out, _ = _run(
        ["ledger", "diff", "ckpt-0", "ckpt-0", "--ledger", str(db), "--format", "json"], capsys
    )
    assert json.loads(out) == []  # nothing changed (unchanged rows need --all)


def test_report_of_the_ledger(saved, tmp_path, capsys):
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        for i, path in enumerate(saved):
            ledger.append(evalgap.load_result(path), label=f"ckpt-{i}")
    page = tmp_path / "ledger.html"
    code, _, err = _run(["ledger", "report", "--out", str(page), "--ledger", str(db)], capsys)
    assert code == 0 and "2 claim cards" in err
    html = page.read_text()
    assert "Evidence over time" in html and "history-chart-0" in html


def test_ledger_errors_are_one_line(tmp_path, capsys):
    db = str(tmp_path / "none.db")
    for args in (
        ["ledger", "list", "--ledger", db],
        ["ledger", "add", str(tmp_path / "missing.json"), "--ledger", db],
    ):
        code, _, err = _run(args, capsys)
        assert code == 2 and err.count("\n") == 1
    Ledger(db).close()
    code, _, err = _run(["ledger", "query", "DROP TABLE runs", "--ledger", db], capsys)
    assert code == 2 and "SQL:" in err
    code, _, err = _run(["ledger", "diff", "latest", "latest~1", "--ledger", db], capsys)
    assert code == 2 and "no run 'latest'" in err

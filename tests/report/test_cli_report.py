"""``evalgap report`` and ``evalgap figures`` on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalgap.cli import main

_FAST = ["--bootstrap", "200", "--permutations", "200"]


def test_report_command(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture):
    out = tmp_path / "r" / "chat.html"
    args = ["report", "--panel", "safetywashing-2024:chat", "--data-dir", str(data_dir)]
    assert main([*args, *_FAST, "--seed", "3", "--title", "Chat <audit>", "--out", str(out)]) == 0
    html = out.read_text("utf-8")
    assert "<title>Chat &lt;audit&gt;</title>" in html
    assert "All resampling draws from seed 3" in html
    assert capsys.readouterr().out == ""


def test_audit_html_flag_writes_the_same_report(data_dir: Path, tmp_path: Path, capsys):
    common = ["--panel", "safetywashing-2024:chat", "--data-dir", str(data_dir), *_FAST]
    assert main(["report", *common, "--out", str(tmp_path / "a.html")]) == 0
    assert main(["audit", *common, "--html", str(tmp_path / "b.html"), "--top", "3"]) == 0
    assert "Safetywashing audit" in capsys.readouterr().out
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


def test_report_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture):
    assert main(["report", "--panel", "no-such-panel", "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evalgap: error: no-such-panel: unknown panel") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SystemExit) as exc:
        main(["report", "--panel", "safetywashing-2024:chat"])  # --out is required
    assert exc.value.code == 2


def test_figures_command(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture):
    args = ["figures", "--panel", "safetywashing-2024:base", "--data-dir", str(data_dir)]
    out = tmp_path / "figs"
    code = main(
        [*args, *_FAST, "--format", "pdf", "--scatter", "truthfulqa_mc1,wmdp", "--out", str(out)]
    )
    assert code == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.pdf"))
    assert files == [
        "capabilities.pdf",
        "forest.pdf",
        "heatmap.pdf",
        "scatter-overview.pdf",
        "scatter/truthfulqa_mc1.pdf",
        "scatter/wmdp.pdf",
        "scree.pdf",
    ]
    assert "wrote 7 figures" in capsys.readouterr().err
    assert main([*args, *_FAST, "--scatter", "none", "--out", str(tmp_path / "svg")]) == 0
    assert len(list((tmp_path / "svg").glob("*.svg"))) == 5
    assert main([*args, *_FAST, "--scatter", "nope", "--out", str(tmp_path / "bad")]) == 2
    assert "'nope' was not audited" in capsys.readouterr().err

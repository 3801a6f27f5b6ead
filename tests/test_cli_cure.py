"""The ``evalgap sensitivity``, ``adjust`` and ``items`` commands: outputs, the HTML
report section, and one clear line (exit 2, no partial file) for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalgap.cli import main

HELM = ("harness-outputs", "helm", "safety-v4")


def _panel_args(data_dir: Path, name: str = "safetywashing-2024:chat") -> list[str]:
    return ["--panel", name, "--data-dir", str(data_dir)]


# -- sensitivity ----------------------------------------------------------------------------


def test_sensitivity_table_csv_json(data_dir, tmp_path, capsys):
    assert main(["sensitivity", *_panel_args(data_dir), "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "benchmarks change verdict band under at least one variant" in out
    assert "family:Qwen1.5" in out and "(showing 5 of 166" in out
    csv_out, long_out, json_out = tmp_path / "s.csv", tmp_path / "l.csv", tmp_path / "s.json"
    assert main(["sensitivity", *_panel_args(data_dir), "--out", str(csv_out)]) == 0
    assert main(["sensitivity", *_panel_args(data_dir), "--long", "--format", "csv",
                 "--out", str(long_out)]) == 0  # fmt: skip
    assert main(["sensitivity", *_panel_args(data_dir), "--out", str(json_out)]) == 0
    table = pd.read_csv(csv_out)
    assert len(table) == 166 and {"share_agree", "flips", "edge_margin"} <= set(table.columns)
    assert len(pd.read_csv(long_out)) == 166 * 27
    data = json.loads(json_out.read_text())
    assert data["analysis"] == "sensitivity" and len(data["benchmarks"]) == 166


def test_sensitivity_kinds_families_file_and_html(data_dir, tmp_path, capsys):
    fam = tmp_path / "families.csv"
    panel_models = pd.read_csv(data_dir / "safetywashing-2024" / "benchmarks_chat_models.csv")
    assert len(panel_models) == 26
    html = tmp_path / "report.html"
    fam.write_text("model,family\nLlama-2-7b-chat-hf,meta\nMeta-Llama-3-8B-Instruct,meta\n")
    code = main(
        ["sensitivity", *_panel_args(data_dir), "--kinds", "family", "--families", str(fam),
         "--html", str(html)]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "family:meta" in out and "drop:" not in out
    page = html.read_text()
    assert 'id="sensitivity"' in page and "Sensitivity: which verdicts hinge on one choice" in page
    assert 'id="at-a-glance"' not in page  # --html adds this result's section, no audit re-run


# -- adjust ---------------------------------------------------------------------------------


def test_adjust_ranked_table_model_view_csv_json(data_dir, tmp_path, capsys):
    args = ["adjust", *_panel_args(data_dir), "--adjust", "truthfulqa_mc1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "TruthfulQA MC1" in out and "Mistral-7B-Instruct-v0.2" in out
    assert "safer than predicted" in out
    assert main([*args, "--model", "gemma-1.1-7b-it"]) == 0
    assert "gemma-1.1-7b-it across benchmarks" in capsys.readouterr().out
    csv_out, json_out = tmp_path / "a.csv", tmp_path / "a.json"
    assert main([*args, "--out", str(csv_out)]) == 0
    assert main([*args, "--out", str(json_out)]) == 0
    table = pd.read_csv(csv_out)
    assert len(table) == 26 and table["rank"].tolist() == list(range(1, 27))
    assert json.loads(json_out.read_text())["analysis"] == "adjust"


def test_adjust_all_benchmarks_summary_and_html(data_dir, tmp_path, capsys):
    html = tmp_path / "adj.html"
    code = main(["adjust", *_panel_args(data_dir, "safetywashing-2024:base"), "--fit", "linear",
                 "--html", str(html)])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "Models across benchmarks" in out and "Less safe than predicted" in out
    assert 'id="adjusted"' in html.read_text()
    assert 'id="at-a-glance"' not in html.read_text()


def test_items_html_needs_no_panel(data_dir, tmp_path):
    html = tmp_path / "items.html"
    folder = str(data_dir.joinpath(*HELM))
    assert main(["items", folder, "--benchmark", "bbq", "--proxy", "--html", str(html)]) == 0
    page = html.read_text()
    assert 'id="items-bbq"' in page and "Item analysis: bbq" in page


# -- items ----------------------------------------------------------------------------------


def test_items_on_helm_with_proxy(data_dir, tmp_path, capsys):
    folder = data_dir.joinpath(*HELM)
    subset = tmp_path / "subset.txt"
    code = main(["items", str(folder), "--benchmark", "harm_bench", "--proxy",
                 "--subset-out", str(subset)])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "Item analysis of harm_bench: 9 models x 100 items" in out
    assert "proxy: mean z-score on 4 other benchmark(s)" in out
    assert "held-out" in out and "very uncertain" in out
    ids = subset.read_text().split()
    assert 10 <= len(ids) <= 100
    json_out = tmp_path / "i.json"
    assert (
        main(["items", str(folder), "--benchmark", "bbq", "--proxy", "--out", str(json_out)]) == 0
    )
    data = json.loads(json_out.read_text())
    assert data["settings"]["reliability"] == "KR-20"
    assert data["summary"][1]["heldout_correlation"] is not None


def test_items_from_item_tables(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 120
    cap, trait = rng.normal(size=(2, n))
    x = np.hstack(
        [
            rng.random((n, 15)) < 1 / (1 + np.exp(-2 * cap[:, None])),
            rng.random((n, 15)) < 1 / (1 + np.exp(-2 * trait[:, None])),
        ]
    ).astype(int)
    models = [f"m{i}" for i in range(n)]
    items = [f"q{j:02d}" for j in range(30)]
    wide = pd.DataFrame(x, index=pd.Index(models, name="model"), columns=items)
    wide_path = tmp_path / "wide.csv"
    wide.to_csv(wide_path)
    long_path = tmp_path / "long.csv"
    wide.stack().rename("score").reset_index().rename(columns={"level_1": "item"}).to_csv(
        long_path, index=False
    )
    caps = tmp_path / "caps.csv"
    pd.DataFrame({"model": models, "score": cap}).to_csv(caps, index=False)
    outs = []
    for path in (wide_path, long_path):
        out = tmp_path / f"{path.stem}.json"
        assert main(["items", str(path), "--capability-scores", str(caps), "--out", str(out)]) == 0
        outs.append(json.loads(out.read_text()))
    assert outs[0]["subset"] == outs[1]["subset"]
    assert set(outs[0]["subset"]) == set(items[15:])


def _bad_cases(data_dir: Path, tmp_path: Path) -> list[tuple[str, list[str], str]]:
    folder = str(data_dir.joinpath(*HELM))
    panel = _panel_args(data_dir)
    return [
        ("unknown kind", ["sensitivity", *panel, "--kinds", "families"], "unknown variant kind"),
        ("bad bands", ["sensitivity", *panel, "--bands", "a,b"], "--bands"),
        ("few boot", ["sensitivity", *panel, "--bootstrap", "20"], "n_boot"),
        ("unknown benchmark", ["adjust", *panel, "--adjust", "nope"], "unknown benchmark"),
        ("unknown model", ["adjust", *panel, "--adjust", "truthfulqa_mc1", "--model", "x"], "'x'"),
        ("bad confidence", ["adjust", *panel, "--confidence", "2"], "confidence_level"),
        ("no benchmark", ["items", folder, "--proxy"], "name one"),
        ("no capabilities", ["items", folder, "--benchmark", "bbq"], "exactly one source"),
        ("too few matched", ["items", folder, "--benchmark", "bbq", *panel], "only 3 of 9"),
        (
            "html onto a folder",
            ["items", folder, "--benchmark", "bbq", "--proxy", "--html", str(tmp_path)],
            "is a folder",
        ),
        (
            "bad target",
            ["items", folder, "--benchmark", "bbq", "--proxy", "--target", "2"],
            "target",
        ),
        ("missing path", ["items", str(tmp_path / "nope"), "--proxy"], "nope"),
    ]


def test_every_bad_input_is_one_line_exit_2_and_no_output_file(data_dir, tmp_path, capsys):
    for kind, args, expect in _bad_cases(data_dir, tmp_path):
        out = tmp_path / "out.json"
        code = main([*args, "--out", str(out)])
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert code == 2, (kind, captured.err)
        assert len(lines) == 1, (kind, captured.err)
        assert lines[0].startswith("evalgap: error: "), kind
        assert expect in lines[0], (kind, lines[0])
        assert captured.out == "", kind
        assert not out.exists(), kind
        assert not (tmp_path / "r.html").exists(), kind


@pytest.mark.parametrize("command", ["sensitivity", "adjust", "items"])
def test_help_lists_the_command(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert command in capsys.readouterr().out

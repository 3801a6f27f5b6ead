"""``evalgap inflation reference|holdout|indistinguishable``: outputs, the HTML section, and
one clear line (exit 2, no partial file) for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from inflation_simulate import simulate

import evalgap
from evalgap.cli import main


def _items_csv(tmp_path: Path) -> tuple[Path, list[str]]:
    sim = simulate(np.random.default_rng(4), n_references=6, n_clean=2, inflation=(0.15,),
                   n_items=300, n_items_ref=300)  # fmt: skip
    path = tmp_path / "items.csv"
    sim.records.to_csv(path, index=False)
    return path, sim.references


def test_reference_table_csv_json_html(tmp_path, capsys):
    path, refs = _items_csv(tmp_path)
    base = ["inflation", "reference", "--scores", str(path), "--benchmark", "D",
            "--reference-benchmark", "D_ref", "--references", ",".join(refs),
            "--bootstrap", "300"]  # fmt: skip
    html = tmp_path / "ref.html"
    assert main([*base, "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "Reference-model test: D against D_ref" in out
    assert "inflated-00" in out and "inflation detected (q < 0.05)" in out
    assert "(ref.)" in out  # references are tested against the others
    csv_out, json_out = tmp_path / "r.csv", tmp_path / "r.json"
    assert main([*base, "--out", str(csv_out)]) == 0
    assert main([*base, "--out", str(json_out)]) == 0
    table = pd.read_csv(csv_out)
    assert len(table) == 9 and {"estimate", "lower_bound", "q_value_by", "verdict"} <= set(table)
    data = json.loads(json_out.read_text())
    assert data["analysis"] == "inflation-reference"
    assert data["provenance"]["inputs"][str(path)]  # the input's sha256
    loaded = evalgap.load_result(json_out)
    assert loaded.to_json() == json_out.read_text().rstrip("\n")
    page = html.read_text()
    assert 'id="inflation-reference-d-d-ref"' in page and "Reference-model test: D" in page


def test_reference_on_a_constat_table(data_dir, tmp_path, capsys):
    table = data_dir / "constat-2024" / "gsm8k_synthetic.csv"
    code = main(["inflation", "reference", "--constat-table", str(table), "--bootstrap", "200",
                 "--top", "5"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "gsm8k against gsm8k_synthetic" in out and "well-known base models" in out
    assert out.count("JasperDekoninck/contamination-models-gsm") == 5  # names fold at 40


def test_holdout_on_gsm1k_files(data_dir, tmp_path, capsys):
    folder = data_dir / "gsm1k-2024"
    out_json = tmp_path / "h.json"
    args = ["inflation", "holdout", "--gaps", str(folder / "scale_diff.csv"),
            "--signal", str(folder / "averages.tsv"), "--signal-name", "log-likelihood",
            "--bootstrap", "1000", "--permutations", "1000"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Spearman correlation of the gap with log-likelihood: 0.288" in out
    assert main([*args, "--out", str(out_json)]) == 0
    data = json.loads(out_json.read_text())
    assert data["analysis"] == "inflation-holdout" and len(data["models"]) == 52


def test_holdout_and_indistinguishable_on_item_scores(tmp_path, capsys):
    rng = np.random.default_rng(2)
    rows = []
    for m in range(5):
        for bench in ("public", "holdout"):
            p = 0.6 + (0.1 if bench == "public" and m == 0 else 0.0)
            rows += [(f"m{m}", bench, f"q{i}", float(rng.random() < p)) for i in range(400)]
    scores = tmp_path / "scores.csv"
    pd.DataFrame(rows, columns=["model", "benchmark", "item", "score"]).to_csv(scores, index=False)
    assert main(["inflation", "holdout", "--scores", str(scores), "--public", "public",
                 "--holdout", "holdout", "--bootstrap", "500"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "Holdout gap: public minus holdout" in out and "m0" in out
    texts = tmp_path / "public.jsonl"
    held = tmp_path / "holdout.txt"
    texts.write_text(
        "".join(json.dumps({"question": f"Ann has {i} apples."}) + "\n" for i in range(30))
    )
    held.write_text("".join(f"Bob has {i} pears.\n" for i in range(30)))
    html = tmp_path / "ind.html"
    code = main(["inflation", "indistinguishable", "--public-texts", str(texts),
                 "--holdout-texts", str(held), "--no-embed", "--scores", str(scores),
                 "--models", "m1,m2,m3,m4", "--bootstrap", "500", "--html", str(html)])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "the sets differ (told apart by a text classifier)" in out
    assert "not run (turned off)" in out
    assert "Is the holdout drawn like the public set?" in html.read_text()


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    path, _refs = _items_csv(tmp_path)
    out = tmp_path / "out.json"
    code = main(["inflation", "reference", "--scores", str(path), "--benchmark", "D",
                 "--reference-benchmark", "nope", "--out", str(out)])  # fmt: skip
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no scores for benchmark 'nope'" in err
    code = main(["inflation", "reference", "--scores", str(path), "--benchmark", "D",
                 "--reference-benchmark", "D_ref", "--references", "a,b"])  # fmt: skip
    assert code == 2 and "reference model 'a'" in capsys.readouterr().err
    assert main(["inflation", "holdout"]) == 2
    assert "nothing to read" in capsys.readouterr().err
    bad = tmp_path / "gaps.csv"
    bad.write_text("m1,0.1\nm2,oops\n")
    assert main(["inflation", "holdout", "--gaps", str(bad)]) == 2
    assert "line 2" in capsys.readouterr().err
    assert main(["inflation", "indistinguishable"]) == 2
    assert "nothing to check" in capsys.readouterr().err

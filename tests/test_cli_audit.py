"""The ``evalgap audit`` command: outputs, and one clear line for every kind of bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalgap.cli import main

FAST = ["--bootstrap", "200", "--permutations", "200"]


def _good_scores(n: int = 8, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.normal(size=n)
    return pd.DataFrame(
        {
            "model": [f"m{i}" for i in range(n)],
            "cap_a": g + 0.1 * rng.normal(size=n),
            "cap_b": g + 0.1 * rng.normal(size=n),
            "cap_c": g + 0.1 * rng.normal(size=n),
            "safety": rng.normal(size=n),
        }
    )


def _write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_table_output_for_the_chat_panel(data_dir, capsys):
    code = main(["audit", "--panel", "safetywashing-2024:chat", "--data-dir", str(data_dir), *FAST])
    out = capsys.readouterr().out
    assert code == 0
    assert "PC1 of 12 capability benchmarks over 26 models" in out
    assert "70.8%" in out
    assert "TruthfulQA MC1" in out and "WMDP" in out
    assert "By area" in out


def test_json_and_csv_outputs(data_dir, tmp_path):
    json_out, csv_out = tmp_path / "a.json", tmp_path / "a.csv"
    base = ["audit", "--panel", "safetywashing-2024:base", "--data-dir", str(data_dir), *FAST]
    assert main([*base, "--out", str(json_out)]) == 0
    assert main([*base, "--format", "csv", "--out", str(csv_out)]) == 0
    data = json.loads(json_out.read_text())
    assert data["capabilities"]["explained_variance"] == pytest.approx(0.7826, abs=1e-4)
    table = pd.read_csv(csv_out)
    assert len(table) == len(data["benchmarks"]) == 164
    assert list(table["benchmark"]) == [b["benchmark"] for b in data["benchmarks"]]


def test_scores_file_with_capabilities_flag(tmp_path, capsys):
    scores = _write(tmp_path / "s.csv", _good_scores())
    code = main(
        [
            "audit",
            "--scores",
            str(scores),
            "--capabilities",
            "cap_a,cap_b,cap_c",
            "--format",
            "json",
            *FAST,
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [b["benchmark"] for b in data["benchmarks"]] == ["safety"]
    assert data["benchmarks"][0]["note"] == "no training FLOP known for any model"


def _bad_cases(tmp: Path, data_dir: Path) -> list[tuple[str, list[str], str]]:
    """(kind, arguments, text the one-line message must contain)."""
    good = _good_scores()
    caps = ["--capabilities", "cap_a,cap_b,cap_c"]
    cases = []

    def case(kind: str, content: str | bytes | pd.DataFrame, expect: str, extra=(), name=None):
        path = tmp / (name or f"{kind.replace(' ', '_')}.csv")
        if isinstance(content, pd.DataFrame):
            content.to_csv(path, index=False)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        cases.append((kind, ["--scores", str(path), *caps, *extra], expect))
        return path

    case("empty file", "", "empty")
    case("header only", "model,cap_a,cap_b\n", "no data rows")
    case("no benchmark column", "model\nm1\nm2\n", "at least one benchmark column")
    dup = pd.concat([good, good.iloc[[2]]])
    case("duplicate model", dup, "duplicate model 'm2'")
    bad_cell = good.astype(object)
    bad_cell.loc[3, "safety"] = "n/a?"
    case("non-numeric cell", bad_cell, "line 5, column 'safety': expected a number, got 'n/a?'")
    case("text column", good.assign(family="llama"), "column 'family': expected a number")
    cases.append(
        (
            "unknown capability",
            ["--scores", str(_write(tmp / "ok.csv", good)), "--capabilities", "cap_a,nope"],
            "unknown capability benchmark 'nope'",
        )
    )
    case("fewer than 5 models", good.head(4), "only 4 models")
    case("constant capability", good.assign(cap_b=0.5), "'cap_b' has the same score")
    case("constant safety benchmark", good.assign(safety=1.0), "'safety' has the same score")
    case("ragged row", "model,cap_a,cap_b,cap_c,safety\nm1,1,2,3\n", "line 2: expected 5 fields")
    case("binary file", b"\x00\x01\x02" * 100, "binary data")
    case("not utf-8", b"model,cap_a\n" + "m1,\xe9\n".encode("latin-1"), "not UTF-8")
    case(
        "first column not model",
        good.rename(columns={"model": "name"}),
        "first column must be 'model'",
    )
    case("duplicate column", "model,cap_a,cap_a\nm1,1,2\n", "duplicate column 'cap_a'")
    case("infinite value", good.assign(safety=[np.inf] + [0.1] * 7), "infinite score")
    case("empty model id", good.assign(model=["", *good["model"][1:]]), "empty model id")
    case("invalid json", '[{"model": "m1", ', "invalid JSON", name="broken.json")
    case(
        "duplicate long row",
        "model,benchmark,score\nm1,a,0.5\nm1,a,0.6\n",
        "second score for model 'm1' on benchmark 'a'",
    )
    case("one capability benchmark", good, "at least 2 capability benchmarks", name="one_cap.csv")
    cases[-1] = (
        cases[-1][0],
        ["--scores", cases[-1][1][1], "--capabilities", "cap_a"],
        cases[-1][2],
    )
    cases.append(("missing file", ["--scores", str(tmp / "nope.csv"), *caps], "no such file"))
    scores = _write(tmp / "scores.csv", good)
    models = tmp / "models.csv"
    models.write_text("model,flop\nm1,1e22\nm2,lots\n")
    cases.append(
        (
            "non-numeric flop",
            ["--scores", str(scores), "--models", str(models), *caps],
            "line 3, column 'flop': expected a number, got 'lots'",
        )
    )
    bench = tmp / "bench.csv"
    bench.write_text("benchmark,higher_is_better\nsafety,sometimes\n")
    cases.append(
        (
            "bad higher_is_better",
            ["--scores", str(scores), "--benchmarks", str(bench), *caps],
            "expected true or false, got 'sometimes'",
        )
    )
    cases.append(("unknown panel", ["--panel", "safetywashing-2099:chat"], "unknown panel"))
    corrupt = tmp / "data"
    shutil.copytree(data_dir / "safetywashing-2024", corrupt / "safetywashing-2024")
    target = corrupt / "safetywashing-2024" / "benchmarks_chat_models.csv"
    os.chmod(target, 0o644)
    target.write_bytes(target.read_bytes().replace(b"0.4", b"0.5", 1))
    cases.append(
        (
            "checksum mismatch",
            ["--panel", "safetywashing-2024:chat", "--data-dir", str(corrupt)],
            "expected the pinned",
        )
    )
    cases.append(
        (
            "no model matches the panel",
            [
                "--panel",
                "safetywashing-2024:chat",
                "--data-dir",
                str(data_dir),
                "--scores",
                str(scores),
            ],
            "none of your 8 models matched a model of the panel",
        )
    )
    cases.append(("bad bands", ["--scores", str(scores), *caps, "--bands", "0.4,high"], "--bands"))
    cases.append(
        (
            "too few resamples",
            ["--scores", str(scores), *caps, "--bootstrap", "10"],
            "must be 0 or an integer of at least 100",
        )
    )
    return cases


def test_file_errors_name_the_file(tmp_path, capsys):
    path = tmp_path / "scores.csv"
    path.write_text("model,a,b\nm1,1,x\n")
    assert main(["audit", "--scores", str(path)]) == 2
    assert str(path) in capsys.readouterr().err


def test_usage_error_is_one_line_exit_2():
    proc = subprocess.run(
        [sys.executable, "-m", "evalgap", "audit", "--bootstrap", "many"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_subprocess_bad_input_has_no_traceback(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("model,a\nm1,1\nm1,2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "evalgap", "audit", "--scores", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"evalgap: error: {path}: line 3: duplicate model 'm1'"


@pytest.mark.parametrize("command", ["audit", "sensitivity", "adjust", "import"])
def test_names_are_printed_as_text_not_markup(command, tmp_path, capsys):
    frame = _good_scores().rename(columns={"safety": "[/oops] [bold]x"})
    frame.loc[0, "model"] = "[/m] [red]model"
    path = _write(tmp_path / "s.csv", frame)
    if command == "import":
        args = ["import", str(path)]
    else:
        args = [command, "--scores", str(path), "--capabilities", "cap_a,cap_b,cap_c"]
        if command == "audit":
            args += FAST
    code = main(args)
    out = capsys.readouterr().out
    assert code == 0
    assert "[/oops] [bold]x" in out
    if command == "adjust":
        assert "[/m] [red]model" in out

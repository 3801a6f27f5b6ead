"""``evalgap sandbag noise`` on the real model (the session's password-locked organism, so
no second load): the command stores the same cells as the API, a rerun skips them, and
``--summarize`` reads the folder back to the same result."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from evalgap.analyses import load_result
from evalgap.analyses.sandbagging import noise_sweep
from evalgap.cli import main

ORGANISMS = Path(__file__).resolve().parents[3] / "organisms"
# A LoRA-only cell is one scoring pass of the 6 items.
# The restore check is the sweep tests' (test_sandbag_sweep.py); here it would only add time.
GRID = ["--sigmas", "0.2", "--seeds", "0,1", "--targets", "lora", "--bootstrap", "200"]
GRID += ["--no-restore-check"]


def test_the_command_matches_the_api_and_resumes(
    locked_lm, locked_items, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr("evalgap.cli._sandbag_noise.load_model_from_args", lambda args: locked_lm)
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(r) + "\n" for r in locked_items))
    run, out = tmp_path / "run", tmp_path / "noise.json"
    argv = ["sandbag", "noise", "smollm2", "--adapter", str(ORGANISMS / "password-locked")]
    argv += ["--items", str(items), *GRID, "--run", str(run), "--out", str(out)]
    assert main(argv) == 0
    api = noise_sweep(
        locked_lm,
        locked_items,
        sigmas=[0.2],
        seeds=[0, 1],
        targets=["lora"],
        n_boot=200,
        verify_restore=False,
    )
    assert out.read_text() == api.to_json() + "\n"
    cells = (run / "cells.jsonl").read_bytes()
    assert len(cells.splitlines()) == 3

    # a rerun finds every cell stored: nothing is scored again (the weights are never touched)
    monkeypatch.setattr(locked_lm, "noise", None)
    assert main(argv) == 0
    assert (run / "cells.jsonl").read_bytes() == cells
    assert out.read_text() == api.to_json() + "\n"

    capsys.readouterr()
    assert main(["sandbag", "noise", "--summarize", str(run), "--bootstrap", "200", "--format", "json"]) == 0  # fmt: skip
    back = load_result(json.loads(capsys.readouterr().out))
    # the same tables; the settings differ only in what a folder cannot know
    for name in ("table", "cells", "seeds"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(api, name))
    assert back.settings["verify_restore"] is None

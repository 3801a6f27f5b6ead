"""The bad-input corpus: every command, every kind of bad input a new user might give.

Each case is a name, the command line, and a fragment its one-line message must contain.
Every case must end with: exit status 2, exactly one line on stderr (``evalgap: error:``
or argparse's ``evalgap <command>: error:``), nothing on stdout, no traceback, and nothing
left behind: the workspace holds exactly the same entries, of the same kinds, after the
run as before it (no output file, no temporary file beside it, no partial folder; a FIFO,
a socket or a symbolic link given as an output is still what it was).

The cases of ``tests/test_cli_audit.py`` and ``tests/test_cli_cure.py`` (their
``_bad_cases`` tables) run here too, under the same checks.

Most cases use an 8-model synthetic score table with ``--bootstrap 0 --permutations 0``,
so the whole corpus takes seconds; the few that need a public panel skip without it.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import test_cli_audit
import test_cli_cure
from evalgap.cli import main
from synthetic_sweeps import write_run

CAPS = ["--capabilities", "cap_a,cap_b,cap_c"]
OFF = ["--bootstrap", "0", "--permutations", "0"]
#: Where each command writes when a case names no output, so "nothing left behind" is
#: checked for every case.
DEFAULT_OUT = {
    "audit": "out/result.json",
    "sensitivity": "out/result.json",
    "adjust": "out/result.json",
    "items": "out/result.json",
    "report": "out/report.html",
    "figures": "out/figs",
    "import": "out/scores.csv",
    "sandbag": "out/result.json",
}
CHAT_MODELS = [
    "Llama-2-13b-chat-hf",
    "Llama-2-70b-chat-hf",
    "Llama-2-7b-chat-hf",
    "Meta-Llama-3-70B-Instruct",
    "Meta-Llama-3-8B-Instruct",
    "Qwen1.5-14B-Chat",
    "Qwen1.5-32B-Chat",
    "Yi-34B-Chat",
]


class W:
    """The workspace: the case's command line is written with these placeholders, filled
    in by :func:`_argv` (``{ws}`` the folder, ``{data}`` the public data)."""


@dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]
    expect: str
    data: bool = False  # needs the public data
    env: dict[str, str] = field(default_factory=dict)


def _case(name: str, argv: str | list[str], expect: str, **kw) -> Case:
    return Case(name, argv.split() if isinstance(argv, str) else argv, expect, **kw)


A = ["audit", "--scores", "{ws}/scores.csv", *CAPS, *OFF]
R = ["report", "--scores", "{ws}/scores.csv", *CAPS, *OFF]
F = ["figures", "--scores", "{ws}/scores.csv", *CAPS, *OFF]
S = ["sensitivity", "--scores", "{ws}/scores.csv", *CAPS]
J = ["adjust", "--scores", "{ws}/scores.csv", *CAPS]
I = ["items", "{ws}/items.csv", "--capability-scores", "{ws}/caps.csv", "--bootstrap", "0"]  # noqa: E741
B = [
    "sandbag",
    "panel",
    "--scores",
    "{ws}/scores.csv",
    *CAPS,
    "--target",
    "safety",
    "--controls",
    "safety2",
]
N = ["sandbag", "noise", "smollm2", "--items", "{ws}/noise_items.jsonl"]
NS = ["sandbag", "noise", "--summarize", "{ws}/noise_run"]
# MODEL names nothing loadable: every white-box case must be refused before the load.
P = ["probe", "{ws}/no-model", "--prompts", "{ws}/prompts.jsonl", "--out", "{ws}/out/p.json"]
L = [
    "inflation",
    "likelihood",
    "{ws}/no-model",
    "--items",
    "{ws}/texts.jsonl",
    "--out",
    "{ws}/out/l.json",
]
CHAT = ["--panel", "safetywashing-2024:chat", "--data-dir", "{data}"]
SEED = "must be an integer from 0 to 4294967295"
FIFO = "is a FIFO (named pipe), not a regular file"

CASES: list[Case] = [
    # -- parameters: seeds, resamples, memory, confidence, bands, choices, --top ----------------
    _case("audit seed -1", [*A, "--seed", "-1"], SEED),
    _case("audit seed 2**32", [*A, "--seed", "4294967296"], SEED),
    _case("audit seed 1.5", [*A, "--seed", "1.5"], SEED),
    _case("audit seed text", [*A, "--seed", "abc"], SEED),
    _case("audit top -3", [*A, "--top", "-3"], "argument --top: must be an integer of at least 1"),
    _case("audit top 0", [*A, "--top", "0"], "must be an integer of at least 1, got '0'"),
    _case(
        "audit bootstrap 10", [*A, "--bootstrap", "10"], "must be 0 or an integer of at least 100"
    ),
    _case("audit bootstrap -1", [*A, "--bootstrap", "-1"], "argument --bootstrap"),
    _case("audit bootstrap 1e12", [*A, "--bootstrap", "1e12"], "would need about"),
    _case(
        "audit bootstrap 10**12",
        [*A, "--bootstrap", "1000000000000"],
        "--bootstrap must be at most",
    ),
    _case("audit bootstrap 1e300", [*A, "--bootstrap", "1e300"], "got 1e+300: that many"),
    _case("audit bootstrap inf", [*A, "--bootstrap", "inf"], "argument --bootstrap"),
    _case(
        "audit permutations 1e12", [*A, "--permutations", "1e12"], "an integer from 0 to 10000000"
    ),
    _case(
        "audit permutations -5",
        [*A, "--permutations", "-5"],
        "must be an integer from 0 to 10000000",
    ),
    _case("audit permutations 2.5", [*A, "--permutations", "2.5"], "argument --permutations"),
    _case(
        "audit memory budget",
        [*A, "--bootstrap", "100000"],
        "over the 1 MB budget (EVALGAP_MAX_MEMORY)",
        env={"EVALGAP_MAX_MEMORY": "1M"},
    ),
    _case(
        "audit bad memory budget",
        [*A, "--bootstrap", "1000"],
        "EVALGAP_MAX_MEMORY must be a memory size like 2GB",
        env={"EVALGAP_MAX_MEMORY": "lots"},
    ),
    _case("audit confidence 1", [*A, "--confidence", "1"], "must be a number above 0 and below 1"),
    _case("audit confidence 0", [*A, "--confidence", "0"], "argument --confidence"),
    _case("audit confidence nan", [*A, "--confidence", "nan"], "got 'nan'"),
    _case("audit confidence 95", [*A, "--confidence", "95"], "got '95'"),
    _case("audit bands reversed", [*A, "--bands", "0.7,0.4"], "0 < moderate < high <= 1"),
    _case("audit bands one", [*A, "--bands", "0.4"], "argument --bands"),
    _case("audit bands over 1", [*A, "--bands", "0.4,1.5"], "argument --bands"),
    _case("audit bands text", [*A, "--bands", "a,b"], "argument --bands"),
    _case("audit method", [*A, "--method", "spearmann"], "invalid choice: 'spearmann'"),
    _case("audit pca", [*A, "--pca", "svd"], "invalid choice: 'svd'"),
    _case("audit ci", [*A, "--ci", "bc"], "invalid choice: 'bc'"),
    _case("audit format", [*A, "--format", "xlsx"], "invalid choice: 'xlsx'"),
    # -- outputs ------------------------------------------------------------------------------
    _case(
        "audit out .xlsx",
        [*A, "--out", "{ws}/out/x.xlsx"],
        "--out must be a file name ending in .json, .csv or .txt",
    ),
    _case("audit out no suffix", [*A, "--out", "{ws}/out/result"], "or any name with --format"),
    _case(
        "audit html .txt",
        [*A, "--html", "{ws}/out/r.txt"],
        "--html must be a file name ending in .html or .htm",
    ),
    _case("audit out fifo", [*A, "--out", "{ws}/out/fifo.csv"], FIFO),
    _case(
        "audit out fifo with format", [*A, "--format", "csv", "--out", "{ws}/out/fifo.csv"], FIFO
    ),
    _case(
        "audit out socket", [*A, "--out", "{ws}/out/sock.csv"], "is a socket, not a regular file"
    ),
    _case("audit out folder", [*A, "--out", "{ws}/out/dir.csv"], "is a folder; give a file name"),
    _case(
        "audit out dangling link",
        [*A, "--out", "{ws}/out/dangling.csv"],
        "symbolic link that points nowhere",
    ),
    _case(
        "audit out link to fifo",
        [*A, "--out", "{ws}/out/fifolink.csv"],
        "through a symbolic link to",
    ),
    _case("audit out link to folder", [*A, "--out", "{ws}/out/dirlink.csv"], "is a folder"),
    _case(
        "audit out under a file",
        [*A, "--out", "{ws}/out/file.txt/x.csv"],
        "file.txt is not a folder",
    ),
    _case("audit html fifo", [*A, "--html", "{ws}/out/fifo.html"], FIFO),
    _case("audit html folder", [*A, "--html", "{ws}/out/dir.html"], "is a folder"),
    # -- inputs ---------------------------------------------------------------------------------
    _case(
        "audit nothing to read",
        ["audit", *OFF],
        "nothing to read: give --panel NAME or --scores PATH",
    ),
    _case("audit unknown benchmark", [*A, "--audit", "nope"], "unknown benchmark 'nope'"),
    _case(
        "audit capability audited", [*A, "--audit", "cap_a"], "is one of the capability benchmarks"
    ),
    _case(
        "audit capability twice",
        ["audit", "--scores", "{ws}/scores.csv", "--capabilities", "cap_a,cap_a", *OFF],
        "named twice",
    ),
    _case(
        "audit empty capabilities",
        ["audit", "--scores", "{ws}/scores.csv", "--capabilities", ",", *OFF],
        "no capability benchmarks named",
    ),
    _case(
        "audit model-map alone",
        [*A, "--model-map", "{ws}/map.csv"],
        "--model-map needs both --panel and --scores",
    ),
    _case(
        "audit models flop negative",
        [*A, "--models", "{ws}/models_neg.csv"],
        "models_neg.csv: line 2, column 'flop': expected a positive number, got -5",
    ),
    _case(
        "audit models flop infinite",
        [*A, "--models", "{ws}/models_inf.csv"],
        "models_inf.csv: line 3, column 'flop'",
    ),
    _case(
        "audit models flop zero",
        [*A, "--models", "{ws}/models_zero.csv"],
        "models_zero.csv: line 2",
    ),
    _case(
        "audit models params text",
        [*A, "--models", "{ws}/models_params.csv"],
        "models_params.csv: line 2, column 'params': expected a number",
    ),
    _case(
        "audit models no model column",
        [*A, "--models", "{ws}/models_nokey.csv"],
        "models_nokey.csv: header: expected a 'model' column",
    ),
    _case(
        "audit models none match",
        [*A, "--models", "{ws}/models_other.csv"],
        "models_other.csv: none of its models appear in the score table",
    ),
    _case(
        "audit models empty id",
        [*A, "--models", "{ws}/models_empty_id.csv"],
        "models_empty_id.csv: line 3: empty model id",
    ),
    _case("audit models empty file", [*A, "--models", "{ws}/empty.csv"], "empty.csv: empty"),
    _case(
        "audit benchmarks bad role",
        [*A, "--benchmarks", "{ws}/bench_role.csv"],
        "bench_role.csv: line 2, column 'role': expected one of capability, safety, other, got 'weird'",
    ),
    _case(
        "audit benchmarks bad flag",
        [*A, "--benchmarks", "{ws}/bench_flag.csv"],
        "bench_flag.csv: line 3, column 'higher_is_better': expected true or false, got '2'",
    ),
    _case(
        "audit benchmarks duplicate",
        [*A, "--benchmarks", "{ws}/bench_dup.csv"],
        "bench_dup.csv: line 3: duplicate benchmark 'safety'",
    ),
    _case(
        "audit benchmarks none match",
        [*A, "--benchmarks", "{ws}/bench_other.csv"],
        "bench_other.csv: none of its benchmarks appear",
    ),
    _case(
        "audit benchmarks no key",
        [*A, "--benchmarks", "{ws}/bench_nokey.csv"],
        "bench_nokey.csv: header: expected a 'benchmark' column",
    ),
    _case(
        "audit scores folder of nothing",
        ["audit", "--scores", "{ws}/emptydir", *CAPS, *OFF],
        "no scores found",
    ),
    _case(
        "audit scores pickle",
        ["audit", "--scores", "{ws}/scores.pkl", *CAPS, *OFF],
        "unknown format",
    ),
    _case(
        "audit scores truncated json",
        ["audit", "--scores", "{ws}/results_2024-01-01T00-00-00.json", *CAPS, *OFF],
        "invalid JSON",
    ),
    _case(
        "audit scores sparse 2 GB",
        ["audit", "--scores", "{ws}/big/scores.csv", *CAPS, *OFF],
        "scores.csv",
    ),
    _case(
        "audit hostile names in error",
        [
            "audit",
            "--scores",
            "{ws}/scores.csv",
            "--capabilities",
            "cap_a,\x1b]0;pwned\x07\x1b[31mred",
            *OFF,
        ],
        "unknown capability benchmark",
    ),
    # -- report ---------------------------------------------------------------------------------
    _case(
        "report out .txt",
        [*R, "--out", "{ws}/out/r.txt"],
        "--out must be a file name ending in .html or .htm",
    ),
    _case("report out folder", [*R, "--out", "{ws}/out/dir.html"], "is a folder; give a file name"),
    _case("report out fifo", [*R, "--out", "{ws}/out/fifo.html"], FIFO),
    _case("report out socket", [*R, "--out", "{ws}/out/sock.html"], "is a socket"),
    _case("report out dangling link", [*R, "--out", "{ws}/out/dangling.html"], "points nowhere"),
    _case("report out under a file", [*R, "--out", "{ws}/out/file.txt/r.html"], "is not a folder"),
    _case("report nothing", ["report", "--out", "{ws}/out/report.html"], "nothing to report"),
    _case(
        "report result missing",
        ["report", "{ws}/nope.json", "--out", "{ws}/out/report.html"],
        "nope.json: no such file",
    ),
    _case(
        "report result not json",
        ["report", "{ws}/scores.csv", "--out", "{ws}/out/report.html"],
        "scores.csv",
    ),
    _case(
        "report result not a result",
        ["report", "{ws}/notresult.json", "--out", "{ws}/out/report.html"],
        "notresult.json",
    ),
    _case(
        "report result is a folder",
        ["report", "{ws}/emptydir", "--out", "{ws}/out/report.html"],
        "emptydir: is a folder, not a saved result",
    ),
    _case("report seed -1", [*R, "--seed", "-1"], SEED),
    _case("report bootstrap 1e12", [*R, "--bootstrap", "1e12"], "--bootstrap must be at most"),
    _case("report bands", [*R, "--bands", "1,2"], "argument --bands"),
    _case(
        "report bad scores",
        ["report", "--scores", "{ws}/scores_bad.csv", *CAPS, *OFF],
        "scores_bad.csv: line 3, column 'safety': expected a number",
    ),
    # -- figures --------------------------------------------------------------------------------
    _case(
        "figures scale 1e6",
        [*F, "--scale", "1000000"],
        "argument --scale: must be a number above 0 and at most 20",
    ),
    _case("figures scale 0", [*F, "--scale", "0"], "argument --scale"),
    _case("figures scale -1", [*F, "--scale", "-1"], "argument --scale"),
    _case("figures scale nan", [*F, "--scale", "nan"], "argument --scale"),
    _case("figures scale text", [*F, "--scale", "big"], "argument --scale"),
    _case(
        "figures too many pixels",
        ["figures", *CHAT, *OFF, "--format", "png", "--scale", "20"],
        "--scale must be at most",
        data=True,
    ),
    _case(
        "figures out a file",
        [*F, "--out", "{ws}/out/file.txt"],
        "is a file; give a folder for the figures",
    ),
    _case(
        "figures out a fifo",
        [*F, "--out", "{ws}/out/fifo.csv"],
        "is a FIFO (named pipe); give a folder",
    ),
    _case("figures out under a file", [*F, "--out", "{ws}/out/file.txt/figs"], "is not a folder"),
    _case("figures out dangling link", [*F, "--out", "{ws}/out/dangling.csv"], "points nowhere"),
    _case("figures unknown scatter", [*F, "--scatter", "nope"], "'nope' was not audited"),
    _case("figures format", [*F, "--format", "gif"], "invalid choice: 'gif'"),
    _case("figures seed", [*F, "--seed", "-2"], SEED),
    _case(
        "figures bootstrap", [*F, "--bootstrap", "99"], "must be 0 or an integer of at least 100"
    ),
    # -- sensitivity ------------------------------------------------------------------------------
    _case(
        "sensitivity bootstrap 50",
        [*S, "--bootstrap", "50"],
        "must be 0 or an integer of at least 100",
    ),
    _case("sensitivity bootstrap 1e12", [*S, "--bootstrap", "1e12"], "--bootstrap must be at most"),
    _case("sensitivity seed", [*S, "--seed", "-1"], SEED),
    _case("sensitivity confidence", [*S, "--confidence", "2"], "argument --confidence"),
    _case("sensitivity method", [*S, "--method", "tau"], "invalid choice: 'tau'"),
    _case("sensitivity pca", [*S, "--pca", "ica"], "invalid choice: 'ica'"),
    _case("sensitivity kinds", [*S, "--kinds", "capability,size"], "unknown variant kind 'size'"),
    _case("sensitivity families missing", [*S, "--families", "{ws}/nope.csv"], "nope.csv"),
    _case(
        "sensitivity families columns",
        [*S, "--families", "{ws}/caps.csv"],
        "needs the columns model and family",
    ),
    _case(
        "sensitivity families unknown model",
        [*S, "--families", "{ws}/families_unknown.csv"],
        "unknown model 'zz'",
    ),
    _case(
        "sensitivity families empty",
        [*S, "--families", "{ws}/families_empty.csv"],
        "families_empty.csv: line 3: empty model or family",
    ),
    _case("sensitivity top 0", [*S, "--top", "0"], "argument --top"),
    _case(
        "sensitivity out .xlsx",
        [*S, "--out", "{ws}/out/s.xlsx"],
        "--out must be a file name ending in",
    ),
    _case("sensitivity html folder", [*S, "--html", "{ws}/out/dir.html"], "is a folder"),
    _case("sensitivity out fifo", [*S, "--out", "{ws}/out/fifo.csv"], FIFO),
    _case("sensitivity bands", [*S, "--bands", "0.5,0.5"], "argument --bands"),
    # -- adjust -----------------------------------------------------------------------------------
    _case("adjust fit", [*J, "--fit", "spline"], "invalid choice: 'spline'"),
    _case(
        "adjust confidence 1.5", [*J, "--confidence", "1.5"], "must be a number above 0 and below 1"
    ),
    _case("adjust confidence -0.1", [*J, "--confidence", "-0.1"], "argument --confidence"),
    _case("adjust unknown benchmark", [*J, "--adjust", "nope"], "unknown benchmark 'nope'"),
    _case("adjust capability", [*J, "--adjust", "cap_a"], "cap_a"),
    _case("adjust unknown model", [*J, "--model", "zz"], "'zz'"),
    _case("adjust top -1", [*J, "--top", "-1"], "argument --top"),
    _case(
        "adjust out .xlsx", [*J, "--out", "{ws}/out/a.xlsx"], "--out must be a file name ending in"
    ),
    _case("adjust out socket", [*J, "--out", "{ws}/out/sock.csv"], "is a socket"),
    _case(
        "adjust html suffix",
        [*J, "--html", "{ws}/out/a.htmlx"],
        "--html must be a file name ending in .html or .htm",
    ),
    _case("adjust pca", [*J, "--pca", "none"], "invalid choice: 'none'"),
    # -- items ------------------------------------------------------------------------------------
    _case(
        "items folds 1", [*I, "--folds", "1"], "argument --folds: must be an integer of at least 2"
    ),
    _case("items folds 0", [*I, "--folds", "0"], "argument --folds"),
    _case(
        "items min-items 1",
        [*I, "--min-items", "1"],
        "argument --min-items: must be an integer of at least 2",
    ),
    _case(
        "items target 1",
        [*I, "--target", "1"],
        "argument --target: must be a number at least 0 and below 1",
    ),
    _case("items target -0.1", [*I, "--target", "-0.1"], "argument --target"),
    _case(
        "items floor 1",
        [*I, "--floor", "1"],
        "argument --floor: must be a number above -1 and below 1",
    ),
    _case("items floor -2", [*I, "--floor", "-2"], "argument --floor"),
    _case("items bootstrap 5", [*I, "--bootstrap", "5"], "must be 0 or an integer of at least 100"),
    _case("items bootstrap 1e12", [*I, "--bootstrap", "1e12"], "--bootstrap must be at most"),
    _case("items seed", [*I, "--seed", "-1"], SEED),
    _case("items confidence", [*I, "--confidence", "0"], "argument --confidence"),
    _case("items method", [*I, "--method", "kendall"], "invalid choice: 'kendall'"),
    _case("items subset-out fifo", [*I, "--subset-out", "{ws}/out/fifo.csv"], FIFO),
    _case("items subset-out folder", [*I, "--subset-out", "{ws}/out/dir.csv"], "is a folder"),
    _case(
        "items out .xlsx", [*I, "--out", "{ws}/out/i.xlsx"], "--out must be a file name ending in"
    ),
    _case("items top 0", [*I, "--top", "0"], "argument --top"),
    _case(
        "items capability-scores columns",
        ["items", "{ws}/items.csv", "--capability-scores", "{ws}/scores.csv"],
        "needs the columns model and score",
    ),
    _case("items two capability sources", [*I, "--proxy"], "exactly one source"),
    _case(
        "items bad score",
        ["items", "{ws}/items_bad.csv", "--capability-scores", "{ws}/caps.csv"],
        "items_bad.csv",
    ),
    _case(
        "items empty table",
        ["items", "{ws}/empty.csv", "--capability-scores", "{ws}/caps.csv"],
        "empty.csv",
    ),
    _case(
        "items folder without items",
        ["items", "{ws}/scoresdir", "--capability-scores", "{ws}/caps.csv"],
        "no per-item scores",
    ),
    _case(
        "items unknown benchmark",
        ["items", "{ws}/itemsdir", "--benchmark", "nope", "--capability-scores", "{ws}/caps.csv"],
        "no records for benchmark 'nope'",
    ),
    # -- import -----------------------------------------------------------------------------------
    _case(
        "import out .xlsx",
        ["import", "{ws}/scores.csv", "--out", "{ws}/out/x.xlsx"],
        "unknown output format '.xlsx'",
    ),
    _case("import out fifo", ["import", "{ws}/scores.csv", "--out", "{ws}/out/fifo.csv"], FIFO),
    _case(
        "import items-out folder",
        ["import", "{ws}/scores.csv", "--items-out", "{ws}/out/dir.csv"],
        "is a folder",
    ),
    _case(
        "import out dangling link",
        ["import", "{ws}/scores.csv", "--out", "{ws}/out/dangling.csv"],
        "points nowhere",
    ),
    _case(
        "import out under a file",
        ["import", "{ws}/scores.csv", "--out", "{ws}/out/file.txt/s.csv"],
        "is not a folder",
    ),
    _case(
        "import rename alone",
        ["import", "{ws}/scores.csv", "--rename"],
        "--model-map and --rename go with --panel NAME",
    ),
    _case(
        "import metric for unread benchmark",
        ["import", "{ws}/scores.csv", "--metric", "nope=acc"],
        "--metric names benchmark 'nope'",
    ),
    _case("import missing path", ["import", "{ws}/nope"], "nope: no such file or folder"),
    _case("import zip bomb", ["import", "{ws}/bomb.eval"], "zip bomb"),
    _case("import path traversal", ["import", "{ws}/trav.eval"], "path traversal"),
    _case("import not a zip", ["import", "{ws}/fake.eval"], "not a zip archive"),
    _case(
        "import truncated json", ["import", "{ws}/results_2024-01-01T00-00-00.json"], "invalid JSON"
    ),
    _case("import sparse 2 GB", ["import", "{ws}/big/scores.csv"], "scores.csv"),
    _case("import pickle", ["import", "{ws}/scores.pkl"], "unknown format"),
    _case("import nothing readable", ["import", "{ws}/emptydir"], "no scores found"),
    _case(
        "import layout", ["import", "{ws}/scores.csv", "--layout", "tall"], "invalid choice: 'tall'"
    ),
    _case("audit html stdout", [*A, "--html", "-"], "--html cannot be - (standard output) here"),
    _case("items subset-out stdout", [*I, "--subset-out", "-"], "--subset-out cannot be -"),
    _case("figures out stdout", [*F, "--out", "-"], "--out cannot be -"),
    _case("import out stdout", ["import", "{ws}/scores.csv", "--out", "-"], "--out cannot be -"),
    # -- sandbag ----------------------------------------------------------------------------------
    _case(
        "sandbag alpha",
        [*B, "--alpha", "1.5"],
        "argument --alpha: must be a number above 0 and below 1",
    ),
    _case("sandbag seed", [*B, "--seed", "-1"], SEED),
    _case(
        "sandbag bootstrap -1",
        [*B, "--bootstrap", "-1"],
        "argument --bootstrap: must be an integer of at least 0",
    ),
    _case(
        "sandbag bootstrap 1e12",
        [*B, "--items", "{ws}/sandbag_items.csv", "--bootstrap", "1e12"],
        "--bootstrap must be at most",
    ),
    _case("sandbag fit", [*B, "--fit", "cubic"], "invalid choice: 'cubic'"),
    _case("sandbag confidence", [*B, "--confidence", "1"], "argument --confidence"),
    _case("sandbag top", [*B, "--top", "0"], "argument --top"),
    _case(
        "sandbag out .xlsx", [*B, "--out", "{ws}/out/b.xlsx"], "--out must be a file name ending in"
    ),
    _case("sandbag out fifo", [*B, "--out", "{ws}/out/fifo.csv"], FIFO),
    _case(
        "sandbag unknown target",
        ["sandbag", "panel", "--scores", "{ws}/scores.csv", *CAPS, "--target", "nope"],
        "unknown target benchmark 'nope'",
    ),
    _case(
        "sandbag target is control",
        [*B[:-2], "--controls", "safety"],
        "is both a target and a control",
    ),
    _case(
        "sandbag items without target",
        [*B, "--items", "{ws}/items.csv"],
        "no per-item results for any target",
    ),
    _case("sandbag no check", ["sandbag"], "required: CHECK"),
    _case("sandbag noise nothing", ["sandbag", "noise"], "nothing to run: give MODEL"),
    _case(
        "sandbag noise sigma -0.1",
        [*N, "--sigmas", "0.01,-0.1"],
        "argument --sigmas: must be one or more numbers, each a number at least 0",
    ),
    _case("sandbag noise sigma text", [*N, "--sigmas", "low"], "argument --sigmas"),
    _case("sandbag noise sigma 0", [*N, "--sigmas", "0"], "at least one sigma above 0"),
    _case(
        "sandbag noise seed 1.5", [*N, "--sigmas", "0.1", "--seeds", "0,1.5"], "argument --seeds"
    ),
    _case(
        "sandbag noise bootstrap 10",
        [*N, "--sigmas", "0.1", "--bootstrap", "10"],
        "argument --bootstrap: must be an integer of at least 100",
    ),
    _case(
        "sandbag noise confidence",
        [*N, "--sigmas", "0.1", "--confidence", "0"],
        "argument --confidence",
    ),
    _case(
        "sandbag noise scoring",
        [*N, "--sigmas", "0.1", "--scoring", "top1"],
        "invalid choice: 'top1'",
    ),
    _case(
        "sandbag noise executor",
        [*N, "--sigmas", "0.1", "--executor", "dask"],
        "invalid choice: 'dask'",
    ),
    _case(
        "sandbag noise address without ray",
        [*N, "--sigmas", "0.1", "--address", "10.0.0.1:6379"],
        "--address goes with --executor ray",
    ),
    _case(
        "sandbag noise no items", ["sandbag", "noise", "smollm2", "--sigmas", "0.1"], "--items FILE"
    ),
    _case("sandbag noise no sigmas", N, "--sigmas S1,S2,... is needed"),
    _case(
        "sandbag noise lora without adapter",
        [*N, "--sigmas", "0.1", "--targets", "lora"],
        "--targets lora needs --adapter",
    ),
    _case(
        "sandbag noise bad answer",
        ["sandbag", "noise", "smollm2", "--items", "{ws}/noise_bad.jsonl", "--sigmas", "0.1"],
        "item 2: 'answer' must be the index of a choice",
    ),
    _case(
        "sandbag noise items not json",
        ["sandbag", "noise", "smollm2", "--items", "{ws}/scores.csv", "--sigmas", "0.1"],
        "line 1: not JSON",
    ),
    _case(
        "sandbag noise context field",
        [*N, "--sigmas", "0.1", "--context-field", "prompt"],
        "line 1: missing key 'prompt'",
    ),
    _case(
        "sandbag noise run folder out fifo",
        [*N, "--sigmas", "0.1", "--run", "{ws}/noise_runs/a", "--out", "{ws}/out/fifo.csv"],
        FIFO,
    ),
    _case(
        "sandbag noise plot suffix",
        [*NS, "--plot", "{ws}/out/curves.txt"],
        "--plot must be a file name ending in .svg, .png or .pdf",
    ),
    _case("sandbag noise summarize with model", [*NS, "smollm2"], "give MODEL or --summarize"),
    _case("sandbag noise summarize sigmas", [*NS, "--sigmas", "0.1"], "--sigmas and --run go with"),
    _case(
        "sandbag noise summarize not a run",
        ["sandbag", "noise", "--summarize", "{ws}/emptydir"],
        "not a sweep run folder (no sweep.json)",
    ),
    _case(
        "sandbag noise summarize other items",
        [*NS, "--items", "{ws}/noise_items.jsonl"],
        "these are not the items the sweep scored",
    ),
    _case(
        "sandbag noise summarize bootstrap",
        [*NS, "--bootstrap", "1e12"],
        "--bootstrap must be at most",
    ),
    # -- white-box commands: refused before the model is loaded (MODEL names no model) ----------
    _case("probe seed", [*P, "--seed", "-1"], SEED),
    _case("probe bootstrap 10", [*P, "--bootstrap", "10"], "must be an integer of at least 100"),
    _case(
        "probe test fraction 1",
        [*P, "--test-fraction", "1"],
        "argument --test-fraction: must be a number above 0 and below 1",
    ),
    _case("probe folds 1", [*P, "--folds", "1"], "argument --folds: must be an integer of"),
    _case("probe C 0", [*P, "--C", "0"], "argument --C: must be a number above 0"),
    _case("probe shuffles 0", [*P, "--shuffles", "0"], "argument --shuffles"),
    _case("probe confidence 1", [*P, "--confidence", "1"], "argument --confidence"),
    _case("probe ci", [*P, "--ci", "normal"], "invalid choice: 'normal'"),
    _case("probe position", [*P, "--position", "first"], "invalid choice: 'first'"),
    _case("probe unknown probe", [*P, "--probes", "svm"], "unknown probe 'svm'"),
    _case("probe bad layers", [*P, "--layers", "five"], "--layers expects all"),
    _case("probe no prompts", [*P[:2], "--out", "{ws}/out/p.json"], "no prompts"),
    _case(
        "probe prompts and positive",
        [*P, "--positive", "{ws}/prompts.jsonl", "--negative", "{ws}/prompts.jsonl"],
        "not both",
    ),
    _case(
        "probe prompts missing",
        [*P[:2], "--prompts", "{ws}/nope.jsonl", "--out", "{ws}/out/p.json"],
        "nope.jsonl: no such file",
    ),
    _case(
        "probe prompts without labels",
        [*P[:2], "--prompts", "{ws}/texts.jsonl", "--out", "{ws}/out/p.json"],
        "texts.jsonl: line 1: label field 'label' is missing",
    ),
    _case("probe plot suffix", [*P, "--plot", "{ws}/out/sweep.gif"], "--plot must end in"),
    _case("probe plot fifo", [*P, "--plot", "{ws}/out/fifo.svg"], FIFO),
    _case("probe out fifo", [*P[:-1], "{ws}/out/fifo.csv"], FIFO),
    _case("probe no model", ["probe"], "required: MODEL"),
    _case("likelihood k 0", [*L, "--k", "0"], "argument --k: must be a number above 0"),
    _case("likelihood shards 1", [*L, "--shards", "1"], "must be an integer of at least 2"),
    _case("likelihood permutations 0", [*L, "--permutations", "0"], "argument --permutations"),
    _case("likelihood bootstrap 50", [*L, "--bootstrap", "50"], "argument --bootstrap"),
    _case("likelihood alpha 1", [*L, "--alpha", "1"], "argument --alpha"),
    _case("likelihood seed", [*L, "--seed", "-1"], SEED),
    _case("likelihood ci", [*L, "--ci", "normal"], "invalid choice: 'normal'"),
    _case("likelihood methods", [*L, "--methods", "min-k%,bleu"], "argument --methods"),
    _case("likelihood methods none and", [*L, "--methods", "none,zlib"], "cannot be combined"),
    _case("likelihood subsets", [*L, "--exchangeability", "half"], "argument --exchangeability"),
    _case("likelihood no items", L[:3], "required: --items"),
    _case(
        "likelihood items missing",
        [*L[:3], "--items", "{ws}/nope.jsonl", "--out", "{ws}/out/l.json"],
        "nope.jsonl: no such file",
    ),
    _case(
        "likelihood empty item",
        [*L[:3], "--items", "{ws}/items_empty.jsonl", "--out", "{ws}/out/l.json"],
        "line 2",
    ),
    _case(
        "likelihood member field absent",
        [*L, "--member-field", "member"],
        "label field 'member' is missing",
    ),
    _case("likelihood out fifo", [*L[:-1], "{ws}/out/fifo.csv"], FIFO),
    _case("inflation no test", ["inflation"], "required: TEST"),
    # the contamination tests from scores: options read the analyses' own constraints
    _case("inflation reference bootstrap 5", "inflation reference --bootstrap 5", "from 100 to"),
    _case("inflation reference seed -1", "inflation reference --seed -1", "argument --seed"),
    _case("inflation reference alpha 2", "inflation reference --alpha 2", "argument --alpha"),
    _case("inflation reference chance 1", "inflation reference --chance 1", "argument --chance"),
    _case("inflation reference margin nan", "inflation reference --margin nan", "--margin"),
    _case("inflation holdout confidence 1", "inflation holdout --confidence 1", "--confidence"),
    _case("inflation holdout permutations -1", "inflation holdout --permutations -1", "0 to"),
    _case("inflation holdout method", "inflation holdout --method cubic", "invalid choice"),
    _case("inflation indistinguishable band 0", "inflation indistinguishable --band 0", "--band"),
    # -- panels and the command itself -------------------------------------------------------------
    _case("panels unknown option", ["panels", "--all"], "unrecognized arguments: --all"),
    _case("panels extra word", ["panels", "chat"], "unrecognized arguments: chat"),
    _case("unknown command", ["audits"], "invalid choice: 'audits'"),
    _case("no command", [], "the following arguments are required: COMMAND"),
    _case("unknown option", ["audit", "--bootstrapp", "10"], "unrecognized arguments"),
    # -- your benchmark on a panel ------------------------------------------------------------------
    _case(
        "user benchmarks all unusable",
        ["audit", *CHAT, "--scores", "{ws}/user_few.csv", *OFF],
        "none of your benchmarks can be analysed",
        data=True,
    ),
    _case(
        "user benchmarks with --models",
        ["audit", *CHAT, "--scores", "{ws}/user.csv", "--models", "{ws}/models_neg.csv", *OFF],
        "--models goes with --scores alone",
        data=True,
    ),
    _case(
        "user benchmark info bad role",
        ["audit", *CHAT, "--scores", "{ws}/user.csv", "--benchmarks", "{ws}/bench_role.csv", *OFF],
        "bench_role.csv: line 2, column 'role'",
        data=True,
    ),
]


# -- the workspace ------------------------------------------------------------------------------


def _scores(n: int = 8, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.normal(size=n)
    return pd.DataFrame(
        {
            "model": [f"m{i}" for i in range(n)],
            "cap_a": g + 0.1 * rng.normal(size=n),
            "cap_b": g + 0.1 * rng.normal(size=n),
            "cap_c": g + 0.1 * rng.normal(size=n),
            "safety": rng.normal(size=n),
            "safety2": rng.normal(size=n),
        }
    )


def _eval(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _build(ws: Path) -> None:
    scores = _scores()
    scores.to_csv(ws / "scores.csv", index=False)
    bad = scores.astype(object)
    bad.loc[1, "safety"] = "n/a?"
    bad.to_csv(ws / "scores_bad.csv", index=False)
    (ws / "empty.csv").write_text("")
    (ws / "map.csv").write_text("user_model,panel_model\nm0,x\n")
    (ws / "scores.pkl").write_bytes(b"\x80\x04\x95\x00\x00\x00")
    (ws / "results_2024-01-01T00-00-00.json").write_text('{"results": {"t": {"acc,none": 0.5')
    (ws / "notresult.json").write_text('{"hello": "world"}')
    (ws / "emptydir").mkdir()
    (ws / "big").mkdir()
    with open(ws / "big" / "scores.csv", "wb") as fh:
        fh.truncate(2 * 1024**3)
    # Model and benchmark info with one bad cell each.
    for name, text in {
        "models_neg.csv": "model,flop\nm1,-5\n",
        "models_inf.csv": "model,flop\nm1,1e22\nm2,inf\n",
        "models_zero.csv": "model,flop\nm1,0\n",
        "models_params.csv": "model,params\nm1,seven\n",
        "models_nokey.csv": "name,flop\nm1,1e22\n",
        "models_other.csv": "model,flop\nzz,1e22\n",
        "models_empty_id.csv": "model,flop\nm1,1e22\n,2e22\n",
        "bench_role.csv": "benchmark,role\nsafety,weird\n",
        "bench_flag.csv": "benchmark,higher_is_better\nsafety,true\nsafety2,2\n",
        "bench_dup.csv": "benchmark,role\nsafety,safety\nsafety,safety\n",
        "bench_other.csv": "benchmark,role\nnope,safety\n",
        "bench_nokey.csv": "name,role\nsafety,safety\n",
        "families_unknown.csv": "model,family\nzz,x\n",
        "families_empty.csv": "model,family\nm0,a\nm1,\n",
    }.items():
        (ws / name).write_text(text)
    # Items: 30 models x 12 items, and capabilities scores for them.
    rng = np.random.default_rng(1)
    models = [f"m{i}" for i in range(30)]
    rows = [
        {"model": m, "item": f"q{j}", "score": int(rng.random() < 0.5)}
        for m in models
        for j in range(12)
    ]
    pd.DataFrame(rows).to_csv(ws / "items.csv", index=False)
    (ws / "itemsdir").mkdir()
    pd.DataFrame(rows).assign(benchmark="mine").to_csv(ws / "itemsdir" / "items.csv", index=False)
    pd.DataFrame({"model": models, "score": rng.normal(size=30)}).to_csv(
        ws / "caps.csv", index=False
    )
    pd.DataFrame(
        [
            {"model": f"m{i}", "benchmark": "safety", "item": f"h{j}", "score": (i + j) % 2}
            for i in range(8)
            for j in range(20)
        ]
    ).to_csv(ws / "sandbag_items.csv", index=False)
    bad_items = pd.DataFrame(rows).astype(object)
    bad_items.loc[5, "score"] = "yes"
    bad_items.to_csv(ws / "items_bad.csv", index=False)
    (ws / "scoresdir").mkdir()
    item = {"id": "fr", "context": "The capital of France is", "choices": [" Paris", " Rome"]}
    (ws / "noise_items.jsonl").write_text(json.dumps({**item, "answer": 0}) + "\n")
    (ws / "noise_bad.jsonl").write_text(
        json.dumps({**item, "answer": 0})
        + "\n"
        + json.dumps({**item, "id": "x", "answer": 9})
        + "\n"
    )
    write_run(ws / "noise_run")
    scores.to_csv(ws / "scoresdir" / "scores.csv", index=False)
    # Hostile archives (as tests/io/test_hostile.py builds them, here through the CLI).
    header = {
        "version": 2,
        "status": "success",
        "eval": {"task": "t", "model": "m", "created": "2025-01-01T00:00:00+00:00"},
        "results": {
            "scores": [
                {"name": "match", "scorer": "match", "metrics": {"accuracy": {"value": 0.5}}}
            ]
        },
    }
    head = json.dumps(header).encode()
    _eval(ws / "bomb.eval", {"header.json": head, "reductions.json": b"\x00" * (64 * 1024**2)})
    _eval(ws / "trav.eval", {"header.json": head, "../../evil.json": b"{}"})
    (ws / "fake.eval").write_text("{}")
    # The user's own benchmarks, named by chat-panel model ids.
    pd.DataFrame(
        {
            "model": CHAT_MODELS,
            "mine": np.linspace(0.2, 0.9, 8),
            "sparse": [0.1, 0.5, 0.3] + [None] * 5,
        }
    ).to_csv(ws / "user.csv", index=False)
    pd.DataFrame({"model": CHAT_MODELS[:3], "mine": [0.1, 0.5, 0.3]}).to_csv(
        ws / "user_few.csv", index=False
    )
    # Prompts and items for the white-box commands.
    (ws / "prompts.jsonl").write_text(
        "".join(
            json.dumps({"id": f"p{i}", "text": f"q {i}", "label": i % 2}) + "\n" for i in range(8)
        )
    )
    (ws / "texts.jsonl").write_text(
        "".join(json.dumps({"id": f"t{i}", "text": f"item {i}"}) + "\n" for i in range(8))
    )
    (ws / "items_empty.jsonl").write_text('{"text": "a b c"}\n{"text": ""}\n')
    # Output targets that are not regular files.
    out = ws / "out"
    out.mkdir()
    os.mkfifo(out / "fifo.csv")
    os.mkfifo(out / "fifo.html")
    os.mkfifo(out / "fifo.svg")
    (out / "dir.csv").mkdir()
    (out / "dir.html").mkdir()
    (out / "file.txt").write_text("not a folder\n")
    (out / "real.csv").write_text("old\n")
    os.symlink(ws / "nowhere", out / "dangling.csv")
    os.symlink(ws / "nowhere", out / "dangling.html")
    os.symlink(out / "fifo.csv", out / "fifolink.csv")
    os.symlink(out / "dir.csv", out / "dirlink.csv")


class _Sockets:
    """Unix sockets bound in the workspace, closed at the end."""

    def __init__(self, paths: list[Path]) -> None:
        self.socks = []
        for path in paths:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(str(path))
            self.socks.append(s)

    def close(self) -> None:
        for s in self.socks:
            s.close()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("corpus")
    _build(root)
    sockets = _Sockets([root / "out" / "sock.csv", root / "out" / "sock.html"])
    yield root
    sockets.close()


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "link"),
        (stat.S_ISDIR, "dir"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISREG, "file"),
    ):
        if test(mode):
            return name
    return "other"


def snapshot(root: Path) -> dict[str, tuple[str, int, float]]:
    """Every entry under ``root`` (hidden ones included, links not followed): its kind, and
    for a regular file its size and modification time."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = os.lstat(path)
            kind = _kind(st.st_mode)
            out[str(path.relative_to(root))] = (
                kind,
                st.st_size if kind == "file" else 0,
                st.st_mtime if kind == "file" else 0.0,
            )
    return out


def _argv(case_argv: list[str], ws: Path, data: Path | None) -> list[str]:
    argv = [a.replace("{ws}", str(ws)).replace("{data}", str(data)) for a in case_argv]
    command = argv[0] if argv else None
    bare = command == "sandbag" and "panel" not in argv  # no check named: no --out either
    if command in DEFAULT_OUT and "--out" not in argv and not bare:
        argv += ["--out", str(ws / DEFAULT_OUT[command])]
    return argv


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``evalgap argv`` in this process: (exit status, stdout, stderr)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused(
    argv: list[str],
    expect: str,
    ws: Path,
    capsys: pytest.CaptureFixture[str],
    before: dict | None = None,
) -> str:
    """Run ``argv`` and check the corpus promise; returns the error line."""
    before = snapshot(ws) if before is None else before
    code, out, err = run(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2, (argv, code, err)
    assert len(lines) == 1, (argv, err)
    line = lines[0]
    assert line.startswith("evalgap: error: ") or (
        line.startswith("evalgap") and ": error: " in line
    ), line
    assert expect in line, (expect, line)
    assert "Traceback" not in err
    assert "\x1b" not in err and "\x07" not in err, repr(err)
    assert "np.float64" not in line and "np.int64" not in line, line
    assert out == "", out
    assert snapshot(ws) == before, argv
    return line


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, ws: Path, capsys, monkeypatch, request) -> None:
    data = None
    if case.data:
        data = request.getfixturevalue("data_dir")
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    assert_refused(_argv(case.argv, ws, data), case.expect, ws, capsys)


def _reused(table: list[tuple[str, list[str], str]], command: str | None) -> list[Case]:
    """The ``(kind, arguments, fragment)`` tables of the older CLI tests as cases."""
    return [
        Case(kind, [command, *args] if command else list(args), expect)
        for kind, args, expect in table
    ]


def test_reused_audit_cases(ws: Path, data_dir: Path, tmp_path: Path, capsys) -> None:
    cases = _reused(test_cli_audit._bad_cases(tmp_path, data_dir), "audit")
    assert len(cases) >= 25
    for case in cases:
        argv = [
            *case.argv[:1],
            *test_cli_audit.FAST,
            *case.argv[1:],
            "--out",
            str(tmp_path / "out.json"),
        ]
        assert_refused(argv, case.expect, tmp_path, capsys)


def test_reused_cure_cases(ws: Path, data_dir: Path, tmp_path: Path, capsys) -> None:
    cases = _reused(test_cli_cure._bad_cases(data_dir, tmp_path), None)
    assert len(cases) >= 12
    for case in cases:
        assert_refused(
            [*case.argv, "--out", str(tmp_path / "out.json")], case.expect, tmp_path, capsys
        )


def test_the_corpus_is_large(tmp_path: Path) -> None:
    # The issue asks for at least 120 cases across all commands.
    commands = {c.argv[0] if c.argv else "" for c in CASES}
    assert {
        "audit",
        "sensitivity",
        "adjust",
        "items",
        "report",
        "figures",
        "import",
        "panels",
    } <= commands
    assert len(CASES) >= 120


# -- outputs that stay what they were ----------------------------------------------------------


def test_fifo_and_symlink_are_not_replaced(ws: Path, capsys) -> None:
    fifo, link, real = ws / "out" / "fifo.csv", ws / "out" / "link.csv", ws / "out" / "real.csv"
    os.symlink(real, link)
    try:
        assert_refused(
            [*_argv(A, ws, None)[:-2], "--format", "csv", "--out", str(fifo)], FIFO, ws, capsys
        )
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        # A link to a regular file is written through: the link stays, the file changes.
        code, _out, err = run([*_argv(A, ws, None)[:-2], "--out", str(link)], capsys)
        assert code == 0, err
        assert os.path.islink(link) and os.readlink(link) == str(real)
        assert real.read_text().startswith("benchmark,")
        assert not [p for p in (ws / "out").iterdir() if p.name.endswith(".tmp")]
    finally:
        link.unlink()
        real.write_text("old\n")


def test_a_character_device_is_refused_without_touching_it(tmp_path: Path, monkeypatch, capsys):
    # Never write near a real device: a regular file whose lstat says "character device".
    import evalgap._output as output

    _with_scores(tmp_path)
    target = tmp_path / "fakedev.csv"
    target.write_text("precious\n")
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):
        st = real_lstat(path, *args, **kwargs)
        if Path(path) == target:
            fields = list(st)
            fields[0] = stat.S_IFCHR | 0o666
            return os.stat_result(fields)
        return st

    monkeypatch.setattr(output.os, "lstat", lstat)
    argv = [*_here(A, tmp_path), "--out", str(target)]
    assert_refused(argv, "is a character device, not a regular file", tmp_path, capsys)
    assert target.read_text() == "precious\n"


def _with_scores(tmp_path: Path) -> Path:
    """A workspace with just the score table, for tests that patch the file system."""
    _scores().to_csv(tmp_path / "scores.csv", index=False)
    return tmp_path


def _here(argv: list[str], ws: Path) -> list[str]:
    return [a.replace("{ws}", str(ws)) for a in argv]


def test_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path, monkeypatch, capsys):
    import errno

    import evalgap._output as output

    _with_scores(tmp_path)
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    argv = [*_here(A, tmp_path), "--out", str(tmp_path / "r.json")]
    line = assert_refused(argv, "the disk is full (no space left on device)", tmp_path, capsys)
    assert "r.json" in line


def test_unwritable_folder_is_one_line(tmp_path: Path, monkeypatch, capsys):
    import errno
    import tempfile

    import evalgap._output as output

    _with_scores(tmp_path)

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(output.tempfile, "mkstemp", denied)
    monkeypatch.setattr(output.tempfile, "mkdtemp", denied)
    argv = [*_here(A, tmp_path), "--out", str(tmp_path / "r.csv")]
    assert_refused(argv, "cannot write the output: permission denied", tmp_path, capsys)
    fig = [*_here(F, tmp_path), "--out", str(tmp_path / "figs")]
    assert_refused(fig, "cannot write the figures: permission denied", tmp_path, capsys)
    assert tempfile.mkstemp is denied


def test_interrupted_figures_leave_nothing(tmp_path: Path, monkeypatch, capsys):
    import evalgap.report._figures as figures

    _with_scores(tmp_path)
    calls = []

    def render(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return b"<svg/>"

    monkeypatch.setattr(figures, "render", render)
    before = snapshot(tmp_path)
    argv = [*_here(F, tmp_path), "--out", str(tmp_path / "figs")]
    code, _, err = run(argv, capsys)
    assert code == 130 and err.strip() == "evalgap: interrupted"
    assert snapshot(tmp_path) == before  # no figs/, no hidden temporary folder
    # Into an existing folder: its files stay as they were.
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "forest.svg").write_text("old")
    (tmp_path / "figs" / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    calls.clear()
    code, _out, err = run(argv, capsys)
    assert code == 130
    assert snapshot(tmp_path) == before


# -- degrade instead of abort ---------------------------------------------------------------


def test_a_user_benchmark_with_too_few_models_is_skipped(ws: Path, data_dir: Path, capsys):
    argv = _argv(
        ["audit", *CHAT, "--scores", "{ws}/user.csv", *OFF, "--format", "json"], ws, data_dir
    )
    argv = argv[: argv.index("--out")]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    data = json.loads(out)
    assert [b["benchmark"] for b in data["benchmarks"]] == ["mine"]
    assert "sparse" in data["settings"]["user_scores"]["skipped"]
    assert err.strip() == (
        "evalgap: note: skipped your benchmark 'sparse': only 3 of your models with a score "
        "on it matched a panel model with a capabilities score (at least 5 are needed); the "
        "others are analysed"
    )
    # The FLOP gap is noted too (3 chat models have no FLOP; 2 of them are not in user.csv).
    note = data["benchmarks"][0]["note"]
    assert note == "" or "training FLOP unknown" in note


def test_audit_notes_benchmarks_lacking_flop(data_dir: Path, capsys):
    code, out, _err = run(
        ["audit", *[a.replace("{data}", str(data_dir)) for a in CHAT], *OFF, "--format", "json"],
        capsys,
    )
    assert code == 0
    notes = {b["note"] for b in json.loads(out)["benchmarks"]}
    assert any("training FLOP unknown for 3 of its 26 models" in n for n in notes), notes


def test_panels_prints_full_names_when_piped(capsys):
    # Under capsys stdout is not a terminal, as in `evalgap panels | less`.
    code, out, _ = run(["panels"], capsys)
    assert code == 0
    assert "Observational Scaling Laws and the Predictability of Language Model Performance" in out
    assert "…" not in out


# -- terminal output carries no control sequences ----------------------------------------------

HOSTILE = "\x1b]0;pwned\x07\x1b[31mred\x1b[0m\x9b2J\x08name\x07"


@pytest.mark.parametrize("command", ["audit", "sensitivity", "adjust", "import"])
def test_names_reach_the_terminal_clean(command: str, tmp_path: Path, capsys) -> None:
    frame = _scores().rename(columns={"safety": HOSTILE})
    frame.loc[0, "model"] = HOSTILE + "model"
    path = tmp_path / "hostile.csv"
    frame.to_csv(path, index=False)
    if command == "import":
        argv = ["import", str(path)]
    else:
        argv = [command, "--scores", str(path), *CAPS]
        if command == "audit":
            argv += OFF
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert "red" in out and "pwned" not in out
    for char in ("\x1b", "\x07", "\x9b", "\x08"):
        assert char not in out, (command, repr(char))


def test_subprocess_has_no_traceback(ws: Path) -> None:
    # The memory bound, in a real process: one line, no MemoryError, no traceback.
    argv = ["audit", "--scores", str(ws / "scores.csv"), *CAPS, "--bootstrap", "1e12"]
    done = subprocess.run(
        [sys.executable, "-m", "evalgap", *argv], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--bootstrap must be at most" in done.stderr

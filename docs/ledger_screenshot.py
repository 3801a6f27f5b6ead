"""Make docs/ledger.png: the ledger page for four checkpoints of a simulated model, opened
in headless Chromium.

The checkpoints are simulated on the Safetywashing chat panel: a user benchmark
``my_safety`` (noise, does not track capabilities) and a dangerous-capability benchmark
``my_hazard`` (rises with capabilities) are attached to the panel's 26 models; from
checkpoint 3000 one model's ``my_safety`` score is inflated by 0.25, and at checkpoint 4000
it also scores 0.2 below what its capabilities predict on ``my_hazard``. A second model
stays clean. Each checkpoint's claim cards (linear adjust fit: the simulated truths are
linear) go into a ledger; the page is its history.

Run:  EVALGAP_DATA_DIR=../shared/data python docs/ledger_screenshot.py
(needs Debian's chromium and the playwright package; no browser download).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from playwright.sync_api import sync_playwright

import evalgap
from evalgap.report import write_report

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MODEL, OTHER = "Llama-2-13b-chat-hf", "Qwen1.5-14B-Chat"
#: checkpoint -> (inflation of MODEL on my_safety, shortfall of MODEL on my_hazard)
CHECKPOINTS = {"ckpt-1000": (0.0, 0.0), "ckpt-2000": (0.02, 0.0), "ckpt-3000": (0.25, 0.0),
               "ckpt-4000": (0.25, 0.2)}  # fmt: skip


def _panel(chat: evalgap.Panel, step: int, inflation: float, shortfall: float) -> evalgap.Panel:
    rng = np.random.default_rng(100 + step)
    cap = evalgap.capabilities_score(chat).scores.dropna().sort_index()
    z = (cap - cap.mean()) / cap.std()
    frame = pd.DataFrame(
        {
            "my_safety": 0.6 + 0.04 * rng.standard_normal(len(cap)),
            "my_hazard": 0.45 + 0.1 * z.to_numpy() + 0.02 * rng.standard_normal(len(cap)),
        },
        index=cap.index,
    )
    frame.loc[MODEL, "my_safety"] += inflation
    frame.loc[MODEL, "my_hazard"] -= shortfall
    info = pd.DataFrame(
        {"higher_is_better": [True, False], "area": ["user benchmark", "weaponization"]},
        index=pd.Index(["my_safety", "my_hazard"], name="benchmark"),
    )
    return evalgap.attach_scores(chat, frame, benchmark_info=info).panel


def main() -> None:
    chat = evalgap.load_panel("safetywashing-2024:chat")
    target = Path(__file__).resolve().parent / "ledger.png"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        os.chdir(tmp)  # the page names the ledger file as given: evalgap-ledger.db
        with evalgap.Ledger("evalgap-ledger.db") as ledger:
            for step, (label, (inflation, shortfall)) in enumerate(CHECKPOINTS.items()):
                panel = _panel(chat, step, inflation, shortfall)
                for model in (MODEL, OTHER):
                    card = evalgap.claim(
                        model, "my_safety", panel=panel, hazard=["my_hazard"], fit="linear",
                        n_boot=2000, n_perm=2000,
                    )  # fmt: skip
                    ledger.append(card, label=label)
            history = ledger.history()
        page_file = write_report(history, Path(tmp) / "ledger.html")
        context = p.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"),
            executable_path="/usr/bin/chromium",
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 1380},
            offline=True,
        )
        page = context.new_page()
        page.goto(page_file.as_uri())
        page.wait_for_selector("html[data-charts=ready]", state="attached")
        page.screenshot(path=str(target))
        context.close()
    print(f"wrote {target}")


if __name__ == "__main__":
    main()

"""Make docs/report.png: a real report for the chat panel, opened in headless Chromium.

Run:  EVALGAP_DATA_DIR=../shared/data python docs/report_screenshot.py
(needs Debian's chromium and the playwright package; no browser download).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

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


def main() -> None:
    result = evalgap.audit(evalgap.load_panel("safetywashing-2024:chat"))
    target = Path(__file__).resolve().parent / "report.png"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        page_file = write_report(result, Path(tmp) / "report.html")
        context = p.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"),
            executable_path="/usr/bin/chromium",
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 1480},
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

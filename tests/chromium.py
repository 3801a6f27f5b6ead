"""Open pages in Debian's Chromium, headless and offline, driven by Playwright.

Shared by the report's browser tests and the contract test. Every visit gets a fresh,
empty profile; console messages, requests and dialogs are recorded.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("EVALGAP_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip the calling test module when Chromium is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM} (apt-get install chromium)",
            allow_module_level=True,
        )


# Records every security-policy violation the page reports (init scripts are not subject
# to the page's policy, so this runs even though the policy allows only hashed scripts).
_WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@dataclass
class Visit:
    page: object
    url: str
    console: list[tuple[str, str]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [m for m in self.console if m[0] in ("error", "pageerror")]

    @property
    def other_requests(self) -> list[str]:
        return [u for u in self.requests if u != self.url]


def open_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Visit]]:
    """Yields ``visit(path, javascript=True)``, which opens a file in a fresh Chromium (a
    new, empty user-data-dir for every visit); use it as a fixture's body."""
    # Part of the test extra (pip install -e '.[test]'); it drives the Chromium above and
    # downloads no browser of its own.
    from playwright import sync_api

    contexts = []
    with sync_api.sync_playwright() as p:

        def visit(path: Path, *, javascript: bool = True) -> Visit:
            profile = tmp_path_factory.mktemp("chromium-profile")
            context = p.chromium.launch_persistent_context(
                str(profile),
                executable_path=str(CHROMIUM),
                headless=True,
                args=FLAGS,
                java_script_enabled=javascript,
                viewport={"width": 1280, "height": 900},
                offline=True,
            )
            contexts.append(context)
            page = context.new_page()
            v = Visit(page, path.resolve().as_uri())
            page.on("console", lambda m: v.console.append((m.type, m.text)))
            page.on("pageerror", lambda e: v.console.append(("pageerror", str(e))))
            page.on("request", lambda r: v.requests.append(r.url))

            def dialog(d):
                v.dialogs.append(d.message)
                d.dismiss()

            page.on("dialog", dialog)
            if javascript:
                page.add_init_script(_WATCH_CSP)
            page.goto(v.url, wait_until="load")
            if javascript:
                page.wait_for_selector("html[data-charts=ready]", state="attached", timeout=30_000)
            return v

        yield visit
        for context in contexts:
            context.close()


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and unfiltered RGB(A) rows of an 8-bit PNG (enough for screenshots)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, ul = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else ul
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i : i + 3]) for r in rows for i in range(0, stride, channels)]

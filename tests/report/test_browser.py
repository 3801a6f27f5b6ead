"""The report in a real browser: Debian's Chromium, headless, offline, driven by Playwright.

Checks that the page loads from ``file://`` with no console error, no network request and
no Content-Security-Policy violation; that the forest plot, the table and the picker work;
that it reads with JavaScript off; that a screenshot is not blank; and that hostile model
and benchmark names run no script and show as text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import evalgap
from chromium import Visit, open_browser, png_pixels, require_chromium
from evalgap.report import write_report

from .panels import HOSTILE_BENCH, HOSTILE_MODEL

require_chromium()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Visit]]:
    """Opens a file in a fresh Chromium (a new, empty user-data-dir for every visit)."""
    yield from open_browser(tmp_path_factory)


@pytest.fixture(scope="module")
def chat_file(chat_result: evalgap.AuditResult, tmp_path_factory) -> Path:
    return write_report(chat_result, tmp_path_factory.mktemp("report") / "chat.html")


@pytest.fixture(scope="module")
def hostile_file(hostile_result: evalgap.AuditResult, tmp_path_factory) -> Path:
    return write_report(hostile_result, tmp_path_factory.mktemp("report") / "hostile.html")


def test_report_loads_offline_with_no_error_and_no_request(browser, chat_file, chat_result):
    v = browser(chat_file)
    page = v.page
    assert v.errors == []
    assert v.other_requests == []
    assert v.requests == [v.url]
    assert page.evaluate("window.__csp") == []
    # The forest plot is drawn interactively: one point per audited benchmark.
    assert page.locator("#forest .static").count() == 0
    points = page.locator("#forest .live svg .mark-symbol.role-mark path").count()
    assert points == len(chat_result.table)
    # The table has every benchmark.
    assert page.locator("#audit-table tbody tr").count() == len(chat_result.table)
    assert page.locator("#audit-table").is_visible()
    # A screenshot of the first screen is not blank.
    width, height, pixels = png_pixels(page.screenshot(full_page=False))
    assert (width, height) == (1280, 900)
    white = sum(1 for px in pixels if px == b"\xff\xff\xff")
    assert white < 0.97 * len(pixels)
    assert len(set(pixels)) > 50
    page.locator("#forest").scroll_into_view_if_needed()
    _, _, pixels = png_pixels(page.locator("#forest").screenshot())
    assert len(set(pixels)) > 20


def test_sorting_and_picking(browser, chat_file, chat_result):
    v = browser(chat_file)
    page = v.page
    header = page.locator("#audit-table thead th", has_text="ρ capab.")
    header.locator("button").click()
    values = [
        float(x)
        for x in page.eval_on_selector_all(
            "#audit-table tbody tr td:nth-child(6)", "cells => cells.map(c => c.dataset.v)"
        )
    ]
    assert values == sorted(values, reverse=True)
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    values = [
        float(x)
        for x in page.eval_on_selector_all(
            "#audit-table tbody tr td:nth-child(6)", "cells => cells.map(c => c.dataset.v)"
        )
    ]
    assert values == sorted(values)
    # The picker shows a chosen benchmark's points, one per model that has it.
    assert page.locator("#picker").is_visible()
    row = chat_result.table.iloc[7]
    page.select_option("#bench-pick", "7")
    page.wait_for_function(
        "n => document.querySelectorAll('#scatter-live svg .mark-symbol.role-mark path').length === n",
        arg=int(row["n"]) + int(row["compute_n"]),  # against capabilities, against FLOP
        timeout=10_000,
    )
    assert str(row["name"]) in page.locator("#pick-title").inner_text()
    # Clicking a dot of the forest plot picks that benchmark.
    page.locator("#forest .live svg .mark-symbol.role-mark path").nth(3).click(force=True)
    page.wait_for_function("document.getElementById('bench-pick').value !== '7'")
    assert v.errors == [] and v.other_requests == []


def test_report_reads_with_javascript_off(browser, chat_file, chat_result):
    v = browser(chat_file, javascript=False)
    page = v.page
    assert v.other_requests == []
    forest = page.locator("#forest .static svg")
    assert forest.is_visible()
    assert forest.bounding_box()["height"] > 1000
    assert page.locator("#audit-table tbody tr").count() == len(chat_result.table)
    assert page.locator("#scatter-overview .static svg").is_visible()
    assert page.locator("#heatmap .static svg").is_visible()
    assert not page.locator("#picker").is_visible()  # needs JavaScript
    assert "What these numbers do not capture" in page.locator("#caveats").inner_text()
    _, _, pixels = png_pixels(page.screenshot())
    assert len(set(pixels)) > 50


def test_hostile_names_run_no_script_and_show_as_text(browser, hostile_file, hostile_result):
    for javascript in (True, False):
        v = browser(hostile_file, javascript=javascript)
        page = v.page
        assert v.dialogs == []  # alert(1), alert(2), alert(3) never ran
        assert v.errors == [] and v.other_requests == []
        assert page.evaluate("document.querySelectorAll('img, iframe').length") == 0
        assert (
            page.evaluate(
                "[...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
                ".filter(a => a.name.startsWith('on')).length"
            )
            == 0
        )
        # The names are there, as text, where a reader looks for them.
        assert HOSTILE_BENCH in page.locator("#audit-table").inner_text()
        assert HOSTILE_MODEL in page.locator("#summary").text_content()
        assert HOSTILE_BENCH in page.evaluate("document.querySelector('#forest svg').textContent")
        if javascript:
            assert page.evaluate("window.__csp") == []
            page.select_option("#bench-pick", "0")
            assert hostile_result.table.iloc[0]["benchmark"] == HOSTILE_BENCH
            assert page.locator("#pick-title").inner_text().startswith(HOSTILE_BENCH)
            # The tooltip of the hostile model's point shows its name as text.
            point = page.locator("#scatter-live svg .mark-symbol.role-mark path").first
            point.scroll_into_view_if_needed()
            box = point.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x - 3, y)
            page.mouse.move(x, y)
            tooltip = page.locator("#vg-tooltip-element")
            tooltip.wait_for(state="visible", timeout=5_000)
            assert tooltip.locator("img, script").count() == 0
            assert HOSTILE_MODEL in tooltip.inner_text()  # the first model, drawn first
            assert v.dialogs == [] and page.evaluate("window.__csp") == []

"""Fixtures for the report tests: audits of a public panel and of hostile-named panels."""

from __future__ import annotations

from pathlib import Path

import pytest

import evalgap
from evalgap.report import build_report

from .panels import synthetic_panel


@pytest.fixture(scope="session")
def small_result() -> evalgap.AuditResult:
    return evalgap.audit(synthetic_panel(), n_boot=200, n_perm=200)


@pytest.fixture(scope="session")
def hostile_result() -> evalgap.AuditResult:
    return evalgap.audit(synthetic_panel(hostile=True), n_boot=200, n_perm=200)


@pytest.fixture(scope="session")
def hostile_html(hostile_result: evalgap.AuditResult) -> str:
    return build_report(hostile_result)


@pytest.fixture(scope="session")
def chat_result(data_dir: Path) -> evalgap.AuditResult:
    panel = evalgap.load_panel("safetywashing-2024:chat", data_dir=data_dir)
    return evalgap.audit(panel, n_boot=200, n_perm=200)


@pytest.fixture(scope="session")
def chat_html(chat_result: evalgap.AuditResult) -> str:
    return build_report(chat_result)

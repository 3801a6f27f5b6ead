"""The Vega bundle is built once per vl-convert version and read back by later processes."""

from __future__ import annotations

import pytest

from evalgap.report import _render


class _FakeVlConvert:
    """Stands in for vl_convert: counts how often the bundle is built."""

    def __init__(self, version: str) -> None:
        self.__version__ = version
        self.built = 0

    def javascript_bundle(self) -> str:
        self.built += 1
        return 'window.vega = "</script><b>";'


@pytest.fixture
def fake(monkeypatch, tmp_path):
    monkeypatch.setenv("EVALGAP_CACHE_DIR", str(tmp_path))
    vlc = _FakeVlConvert("9.9.9")
    monkeypatch.setattr(_render, "_vlc", lambda: vlc)
    _render.vega_bundle.cache_clear()
    yield vlc
    _render.vega_bundle.cache_clear()  # later tests get the real bundle


def _fresh_process() -> None:
    _render.vega_bundle.cache_clear()


def test_a_second_process_reads_the_bundle_instead_of_building_it(fake):
    first = _render.vega_bundle()
    _fresh_process()
    second = _render.vega_bundle()
    assert fake.built == 1
    assert first == second == 'window.vega = "<\\/script><b>";'
    assert _render.bundle_path().name == "vega-bundle-vl-convert-9.9.9-1.js"
    assert _render.bundle_path().read_text(encoding="utf-8") == first
    assert not list(_render.bundle_path().parent.glob("*.tmp"))  # written atomically


def test_another_vl_convert_version_builds_its_own(fake):
    _render.vega_bundle()
    fake.__version__ = "10.0.0"
    _fresh_process()
    _render.vega_bundle()
    assert fake.built == 2
    assert len(list(_render.bundle_path().parent.iterdir())) == 2


def test_an_unwritable_cache_only_costs_the_rebuild(fake, monkeypatch, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("EVALGAP_CACHE_DIR", str(blocked))
    assert _render.vega_bundle() == 'window.vega = "<\\/script><b>";'
    _fresh_process()
    _render.vega_bundle()
    assert fake.built == 2

"""``write_figures``: the report's figures as SVG, PNG and PDF files."""

from __future__ import annotations

from pathlib import Path

import pytest

import evalgap
from evalgap.errors import AnalysisError, InputError
from evalgap.report import figure_specs, render, scatter_spec, write_figures

from .panels import HOSTILE_BENCH

_MAGIC = {"svg": b"<svg", "png": b"\x89PNG", "pdf": b"%PDF"}
_FIGURES = ["forest", "capabilities", "scree", "heatmap", "scatter-overview"]


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_every_figure_is_written(small_result: evalgap.AuditResult, tmp_path: Path, fmt: str):
    paths = write_figures(small_result, tmp_path / "figs", format=fmt)
    names = [p.relative_to(tmp_path / "figs").as_posix() for p in paths]
    audited = list(small_result.table["benchmark"])
    assert names == [f"{n}.{fmt}" for n in _FIGURES] + [f"scatter/{b}.{fmt}" for b in audited]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(_MAGIC[fmt]), path
        assert len(data) > 2000
    assert not list((tmp_path / "figs").rglob(".*.tmp"))


def test_scatter_files_can_be_chosen(small_result: evalgap.AuditResult, tmp_path: Path):
    paths = write_figures(small_result, tmp_path, benchmarks=["noise"])
    assert [p.name for p in paths][-1] == "noise.svg" and len(paths) == len(_FIGURES) + 1
    assert len(write_figures(small_result, tmp_path / "none", benchmarks=[])) == len(_FIGURES)


def test_figures_show_the_numbers(small_result: evalgap.AuditResult):
    svg = render(scatter_spec(small_result, "tracks"), "svg").decode()
    row = small_result.benchmark("tracks")
    assert f"ρ capabilities = {row['capabilities_correlation']:.2f}" in svg
    assert "Capabilities score (PC1)" in svg and "log10 training FLOP" in svg
    forest = render(figure_specs(small_result)["forest"], "svg").decode()
    for name in small_result.table["name"]:
        assert f">{name}</text>" in forest


def test_hostile_ids_make_safe_file_names(hostile_result: evalgap.AuditResult, tmp_path: Path):
    paths = write_figures(hostile_result, tmp_path / "out", benchmarks=[HOSTILE_BENCH])
    scatter = paths[-1]
    assert scatter.parent == tmp_path / "out" / "scatter"
    assert scatter.name == "script_script_alert_2_script.svg"
    assert "&lt;/script&gt;" in scatter.read_text()


def test_bad_input(small_result: evalgap.AuditResult, tmp_path: Path):
    with pytest.raises(InputError, match="unknown figure format 'gif'"):
        write_figures(small_result, tmp_path, format="gif")  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="'mmlu' was not audited"):
        write_figures(small_result, tmp_path, benchmarks=["mmlu"])
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        write_figures(small_result, tmp_path / "file")
    with pytest.raises(AnalysisError, match="need an AuditResult"):
        write_figures("result", tmp_path)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]

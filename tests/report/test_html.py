"""The report's HTML: self-contained, complete, honest about its settings, and atomic."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

import evalgap
from evalgap.errors import EvalgapError, InputError
from evalgap.report import (
    ReportSection,
    build_report,
    chart_slot,
    html_table,
    script_json,
    write_report,
)

from .panels import synthetic_panel

_SPEC = {
    "data": {"values": [{"x": 1, "y": 2}, {"x": 2, "y": 3}]},
    "mark": "point",
    "encoding": {
        "x": {"field": "x", "type": "quantitative"},
        "y": {"field": "y", "type": "quantitative"},
    },
}


def _json_block(html: str, block_id: str):
    match = re.search(
        rf'<script type="application/json" id="{block_id}">(.*?)</script>', html, re.DOTALL
    )
    assert match, block_id
    return json.loads(match.group(1))


# -- helpers -----------------------------------------------------------------------------


def test_html_table_escapes_every_cell_and_header():
    frame = pd.DataFrame({"<th>": ["<b>bold</b>", 'a "quote" & more'], "v": [0.5, float("nan")]})
    out = html_table(frame, formats={"v": ".2f"})
    assert "<b>" not in out and "<th>&lt;th&gt;" not in out
    assert "&lt;b&gt;bold&lt;/b&gt;" in out
    assert "a &quot;quote&quot; &amp; more" in out
    assert "&lt;th&gt;" in out
    assert 'data-v="0.5">0.50<' in out
    assert 'data-v="">–<' in out  # a missing number sorts last and shows a dash


def test_html_table_options():
    frame = pd.DataFrame({"name": ["a", "b"], "lo": [0.1, 0.2], "ci": ["[0.1, 0.3]", "[0.2, 0.4]"]})
    out = html_table(
        frame,
        {"name": "Name", "ci": "CI"},
        sort_by={"ci": "lo"},
        cell_classes={"name": lambda v: "v-high" if v == "a" else "bad class!"},
        sortable=True,
        table_id="t1",
        caption="<cap>",
    )
    assert out.startswith('<table class="data sortable" id="t1"><caption>&lt;cap&gt;</caption>')
    assert 'data-v="0.1">[0.1, 0.3]' in out
    assert '<td class="v-high"' in out and "bad class" not in out
    assert "lo" not in re.sub(r"data-v=\"[^\"]*\"", "", out).replace("<table", "")
    plain = html_table(frame, ["name"], sortable=False)
    assert "sortable" not in plain and "data-v" not in plain
    with pytest.raises(InputError, match="no column 'nope'"):
        html_table(frame, ["nope"])


def test_script_json_cannot_close_the_script_element():
    text = script_json({"a": "</script><script>alert(1)</script>", "b": "<!--", "c": float("nan")})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><script>alert(1)</script>", "b": "<!--", "c": None}


def test_chart_slot_checks_its_id():
    assert chart_slot("my-chart") == ('<figure><div id="my-chart" class="chart"></div></figure>')
    assert "&lt;i&gt;" in chart_slot("c", caption="<i>")
    with pytest.raises(InputError):
        chart_slot('x" onmouseover="alert(1)')


# -- the page ------------------------------------------------------------------------------


def test_report_is_self_contained(chat_html: str):
    head = chat_html[: chat_html.index("</head>")]
    # The policy comes first, before any script or style, and forbids every request.
    assert head.index("Content-Security-Policy") < head.index("<style>")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', head).group(1)
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    assert "unsafe-eval" not in csp
    script_src = re.search(r"script-src ([^;]+);", csp).group(1)
    assert "unsafe-inline" not in script_src and script_src.count("'sha256-") == 2
    # Nothing is loaded from anywhere: no src/href to a URL, no link, no @import, no url().
    assert not re.search(r"""\b(src|href)\s*=\s*["']?(https?:|//)""", chat_html, re.I)
    assert "<link" not in chat_html and "@import" not in chat_html
    style = chat_html[chat_html.index("<style>") : chat_html.index("</style>")]
    assert "url(" not in style and "@font-face" not in style
    # Exactly our four script elements: two JSON data blocks and two hashed scripts.
    assert len(re.findall(r"<script\b", chat_html)) == 4


def test_report_has_every_part(chat_html: str, chat_result: evalgap.AuditResult):
    for section in (
        "summary",
        "at-a-glance",
        "table",
        "benchmarks",
        "capabilities",
        "methods",
        "caveats",
    ):
        assert f'<section id="{section}"' in chat_html
    # The forest plot is an inline static SVG with one labelled row per benchmark.
    forest = chat_html[chat_html.index('<div id="forest"') :]
    forest = forest[: forest.index("</svg>")]
    assert '<div class="static"><svg' in forest
    assert forest.count('role="graphics-symbol"') >= len(chat_result.table)
    # The table has every benchmark, in the result's order.
    table = chat_html[chat_html.index('id="audit-table"') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == len(chat_result.table) + 1
    first = chat_result.table.iloc[0]
    assert f"<td>{first['benchmark']}</td>" in table
    # Static figures for JavaScript-off readers, interactive specs for the rest.
    for chart in ("scatter-overview", "capabilities-chart", "scree", "heatmap"):
        assert f'<div id="{chart}" class="chart"><div class="static"><svg' in chat_html
    specs = _json_block(chat_html, "evalgap-charts")
    assert set(specs) == {
        "forest",
        "scatter-live",
        "scatter-overview",
        "capabilities-chart",
        "scree",
        "heatmap",
    }
    assert all("vega/v" in spec["$schema"] for spec in specs.values())  # compiled to Vega
    picker = _json_block(chat_html, "evalgap-benchmarks")
    assert len(picker) == len(chat_result.table)
    assert picker[0]["rho"] == pytest.approx(first["capabilities_correlation"])
    assert chat_html.count("<option ") == len(chat_result.table)
    # The input files are named with their sha256.
    for digest in chat_result.settings["files"].values():
        assert digest in chat_html


def test_summary_and_methods_state_the_settings(chat_html: str, chat_result: evalgap.AuditResult):
    s = chat_result.settings
    text = re.sub(r"<[^>]+>", "", chat_html)
    assert f"PC1 explains {chat_result.capabilities.explained_variance:.1%}" in text
    assert "Spearman correlation" in text
    assert "95% BCA bootstrap intervals from 200 resamples of models" in text
    assert "200 permutations" in text
    assert f"seed {s['seed']}" in text
    assert f"evalgap {evalgap.__version__}" in text
    assert "lower-is-better benchmarks negated" in text
    assert "log10 training FLOP" in text
    assert f"{len(s['capabilities'])} capability benchmarks" in text
    caveats = chat_html[chat_html.index('<section id="caveats"') :]
    for word in ("Contamination", "Sandbagging", "Distribution shift", "Few models", "Saturation"):
        assert word in caveats
    n = chat_result.table["n"]
    assert f"Each correlation rests on {n.min()} to {n.max()} models" in caveats


def test_methods_follow_other_settings(small_result: evalgap.AuditResult):
    panel = small_result.panel
    other = evalgap.audit(
        panel, method="kendall", n_boot=0, n_perm=0, pca="pearson", bands=(0.3, 0.6), seed=7
    )
    text = re.sub(r"<[^>]+>", "", build_report(other))
    assert "Kendall tau-b correlation" in text
    assert "None: the bootstrap was turned off" in text
    assert "None: permutations were turned off" in text
    assert "Pearson correlation matrix of the z-scores" in text
    assert "|ρ| ≥ 0.6" in text and "seed 7" in text


def test_report_is_deterministic(small_result: evalgap.AuditResult):
    assert build_report(small_result) == build_report(small_result)


def test_title_is_escaped(small_result: evalgap.AuditResult):
    html = build_report(small_result, title="Audit <i>x</i>")
    assert "<title>Audit &lt;i&gt;x&lt;/i&gt;</title>" in html
    assert "<h1>Audit &lt;i&gt;x&lt;/i&gt;</h1>" in html


def test_report_without_flop():
    result = evalgap.audit(synthetic_panel(flop=False), n_boot=200, n_perm=0)
    html = build_report(result)
    specs = _json_block(html, "evalgap-charts")
    assert "log10 training FLOP" not in json.dumps(specs["scatter-live"])
    assert "no training FLOP known for any model" in html


# -- contributed sections ---------------------------------------------------------------------


def test_a_section_is_placed_with_its_chart(small_result: evalgap.AuditResult):
    section = ReportSection(
        id="adjusted",
        title="Adjusted <scores>",
        html="<p>Residuals.</p>" + chart_slot("adjusted-chart", caption="By model"),
        charts={"adjusted-chart": _SPEC},
    )
    html = build_report(small_result, sections=[section])
    assert '<section id="adjusted"' in html and "Adjusted &lt;scores&gt;</h2>" in html
    assert '<a href="#adjusted">' in html
    assert '<div id="adjusted-chart" class="chart"><div class="static"><svg' in html
    assert "adjusted-chart" in _json_block(html, "evalgap-charts")
    # Before the methods, after the built-in parts.
    assert (
        html.index('id="capabilities"') < html.index('id="adjusted"') < html.index('id="methods"')
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (ReportSection("bad id", "t", "<p></p>"), "not a valid id"),
        (ReportSection("summary", "t", "<p></p>"), "already used"),
        (ReportSection("s", "t", "<p>x</p><SCRIPT>alert(1)</SCRIPT>"), "<script>"),
        (ReportSection("s", "t", "<p>no slot</p>", {"c": _SPEC}), "exactly one empty"),
        (ReportSection("s", "t", chart_slot("c"), {"c": {"mark": 3}}), "could not be"),
        (
            ReportSection(
                "s",
                "t",
                chart_slot("c"),
                {"c": {"data": {"url": "https://x.test/d.csv"}, "mark": "point"}},
            ),
            "could not be rendered",
        ),
    ],
)
def test_a_section_breaking_the_contract_is_refused(
    small_result: evalgap.AuditResult, section: ReportSection, message: str
):
    with pytest.raises(InputError, match=re.escape(message)):
        build_report(small_result, sections=[section])


def test_two_sections_cannot_share_an_id(small_result: evalgap.AuditResult):
    a = ReportSection("extra", "A", "<p>a</p>")
    with pytest.raises(InputError, match="already used"):
        build_report(small_result, sections=[a, a])


# -- writing -------------------------------------------------------------------------------------


def test_write_report_is_atomic(small_result: evalgap.AuditResult, tmp_path: Path):
    out = tmp_path / "sub" / "report.html"
    assert write_report(small_result, out) == out
    good = out.read_text("utf-8")
    assert good.startswith("<!DOCTYPE html>") and good.endswith("</html>\n")
    bad = ReportSection("s", "t", "<script>x</script>")
    with pytest.raises(EvalgapError):
        write_report(small_result, out, sections=[bad])
    assert out.read_text("utf-8") == good  # untouched
    with pytest.raises(EvalgapError):
        write_report(small_result, tmp_path / "new.html", sections=[bad])
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["report.html", "sub"]


def test_write_report_bad_input(small_result: evalgap.AuditResult, tmp_path: Path):
    with pytest.raises(InputError, match="is a folder"):
        write_report(small_result, tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="cannot write the report"):
        write_report(small_result, tmp_path / "file" / "report.html")
    # the report renders any analysis result, but only results
    with pytest.raises(InputError, match="no report section for DataFrame"):
        write_report(small_result.table, tmp_path / "r.html")  # type: ignore[arg-type]

"""Every string from an input file reaches the page escaped (the browser test shows the
same thing in Chromium)."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import evalgap

from .panels import HOSTILE_AREA, HOSTILE_BENCH, HOSTILE_MODEL


def _json_blocks(page: str) -> list[str]:
    return re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', page, re.S)


class _Elements(HTMLParser):
    """Every element and attribute an HTML parser sees (script content is not markup)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)

    def handle_comment(self, data):
        self.comments.append(data)


def test_no_hostile_string_appears_raw(hostile_html: str):
    for raw in (HOSTILE_MODEL, HOSTILE_BENCH, HOSTILE_AREA, "<b>synthetic</b>", "<script>x"):
        assert raw not in hostile_html
    parsed = _Elements()
    parsed.feed(hostile_html)
    parsed.close()
    # Only the elements the report makes: our four scripts, no img, no handler, no comment.
    assert parsed.tags.count("script") == 4
    assert "img" not in parsed.tags and "iframe" not in parsed.tags
    assert [a for a in parsed.attributes if a[1].startswith("on")] == []
    assert parsed.comments == []
    # The attribute values that carry input are the escaped text, read back unchanged.
    labels = [v for tag, name, v in parsed.attributes if tag == "optgroup" and name == "label"]
    assert HOSTILE_AREA in labels


def test_hostile_strings_are_present_as_escaped_text(hostile_html: str):
    escaped_model = html.escape(HOSTILE_MODEL, quote=True)
    escaped_bench = html.escape(HOSTILE_BENCH, quote=True)
    summary = hostile_html[hostile_html.index('<section id="summary"') :]
    summary = summary[: summary.index("</section>")]
    assert f"<li>{escaped_model}</li>" in summary
    assert f"{escaped_model} again" in summary
    table = hostile_html[hostile_html.index('id="audit-table"') :]
    assert f"<td>{escaped_bench}</td>" in table
    assert html.escape(HOSTILE_AREA, quote=True) in table
    assert html.escape("<!-- ' \" & {{7*7}}", quote=True) in table
    # In the static SVGs too (axis labels of the forest plot).
    forest = hostile_html[hostile_html.index('<div id="forest"') :]
    forest = forest[: forest.index("</svg>")]
    assert f">{escaped_bench}</text>" in forest
    # The picker's options are escaped text in escaped attributes.
    assert f'<optgroup label="{html.escape(HOSTILE_AREA, quote=True)}">' in hostile_html
    # The file name of an input is escaped in text and in its title attribute.
    assert "&lt;script&gt;x&lt;/script&gt;.csv" in hostile_html


def test_json_blocks_carry_the_names_unchanged(hostile_html: str):
    blocks = _json_blocks(hostile_html)
    assert len(blocks) == 2
    for block in blocks:
        assert "<" not in block and ">" not in block and "&" not in block
    specs, picker = (json.loads(b) for b in blocks)
    assert picker[0]["label"] == HOSTILE_BENCH
    text = json.dumps(specs, ensure_ascii=False)
    assert json.dumps(HOSTILE_MODEL, ensure_ascii=False)[1:-1] in text
    assert json.dumps(HOSTILE_BENCH, ensure_ascii=False)[1:-1] in text


def test_names_never_become_vega_fields_or_expressions(hostile_result: evalgap.AuditResult):
    from evalgap.report import figure_specs

    specs = figure_specs(hostile_result)

    def walk(node, path=()):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "values":
                    continue  # data: any string is fine here
                yield from walk(value, (*path, key))
        elif isinstance(node, list):
            for value in node:
                yield from walk(value, path)
        else:
            yield path, node

    for spec in specs.values():
        for path, value in walk(spec):
            if not isinstance(value, str):
                continue
            if path and path[-1] in ("field", "filter", "calculate", "test", "labelExpr", "as"):
                assert "<" not in value, (path, value)

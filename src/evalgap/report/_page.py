"""The self-contained HTML report: one file, no request, readable with JavaScript off.

A page is built from any list of results: each result's section module (looked up by its
``analysis`` name in :mod:`evalgap.report.sections`) contributes its sections, and the
page adds the frame, the inline Vega bundle and the Content-Security-Policy.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

from evalgap._output import write_atomic
from evalgap._version import __version__
from evalgap.errors import InputError
from evalgap.report._html import check_id, escape, script_json
from evalgap.report._render import compile_vega, render_svg, svg_for_html, vega_bundle
from evalgap.report._section import Contribution, Part, ReportSection
from evalgap.report.sections import contribution_of
from evalgap.report.sections.audit import RESERVED_IDS as _AUDIT_IDS

__all__ = ["build_report", "write_report"]

#: Ids the page frame and the built-in sections use; a contributed section may not reuse them.
RESERVED_IDS = _AUDIT_IDS | {"evalgap-charts"}


def _asset(name: str) -> str:
    return resources.files("evalgap.report").joinpath("assets", name).read_text("utf-8")


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _static(spec: dict[str, Any], chart_id: str) -> str:
    return svg_for_html(render_svg(spec, what=f"chart {chart_id!r}"), chart_id)


# -- contributed sections -----------------------------------------------------------------

_SCRIPT_TAG = re.compile(r"<\s*/?\s*script\b", re.IGNORECASE)


def _section_part(section: ReportSection, taken: set[str]) -> Part:
    if not isinstance(section, ReportSection):
        raise InputError(
            f"report sections must be ReportSection objects, got {type(section).__name__}",
            source="report",
        )
    sid = check_id(section.id, "section id")
    where = f"section {sid!r}"
    if sid in RESERVED_IDS or sid in taken:
        raise InputError(f"{where}: the id is already used in the report", source="report")
    taken.add(sid)
    html = str(section.html)
    if _SCRIPT_TAG.search(html):
        raise InputError(f"{where}: its HTML must not contain <script> tags", source="report")
    charts: dict[str, dict[str, Any]] = {}
    for chart_id, spec in dict(section.charts).items():
        check_id(chart_id, f"{where}: chart id")
        if chart_id in RESERVED_IDS or chart_id in taken:
            raise InputError(f"{where}: chart id {chart_id!r} is already used", source="report")
        taken.add(chart_id)
        pattern = re.compile(
            r"(<div\b[^>]*\bid\s*=\s*([\"'])" + re.escape(chart_id) + r"\2[^>]*>)\s*(</div>)",
            re.IGNORECASE,
        )
        matches = pattern.findall(html)
        if len(matches) != 1:
            raise InputError(
                f"{where}: chart {chart_id!r} needs exactly one empty "
                f'<div id="{chart_id}"></div> in its HTML (use chart_slot())',
                source="report",
            )
        svg = _static(spec, chart_id)
        html = pattern.sub(
            lambda m, svg=svg: f'{m.group(1)}<div class="static">{svg}</div>{m.group(3)}', html
        )
        charts[chart_id] = spec
    return Part(sid, str(section.title), html, charts)


# -- the page -----------------------------------------------------------------------------


def _as_list(results: Any) -> list[Any]:
    if isinstance(results, Sequence) and not isinstance(results, str | bytes):
        return list(results)
    return [results]


def _contributions(results: list[Any]) -> list[Contribution]:
    seen: set[str] = set()
    out = []
    for result in results:
        name = str(getattr(result, "analysis", ""))
        if name in seen:
            raise InputError(
                f"two {name!r} results in one report; give one result of each analysis",
                source="report",
            )
        seen.add(name)
        out.append(contribution_of(result))
    return out


def _lead(contributions: list[Contribution]) -> str:
    lead = contributions[0].lead
    if len(contributions) > 1:
        others = ", ".join(escape(c.title) for c in contributions[1:])
        lead += f" Also in this report: {others}."
    return lead


def _page_parts(contributions: list[Contribution], sections: Sequence[ReportSection]) -> list[Part]:
    parts: list[Part] = []
    taken = set(RESERVED_IDS)
    for item in [*(p for c in contributions for p in c.parts), *sections]:
        parts.append(_section_part(item, taken) if isinstance(item, ReportSection) else item)
    for c in contributions:
        parts.extend(
            _section_part(item, taken) if isinstance(item, ReportSection) else item
            for item in c.closing
        )
    return parts


def build_report(
    results: Any,
    *,
    sections: Sequence[ReportSection] = (),
    title: str | None = None,
) -> str:
    """A report of one or more analysis results as one self-contained HTML document.

    The page makes no network request (a Content-Security-Policy forbids them, and the
    Vega JavaScript is inlined), opens from ``file://``, and reads in full with JavaScript
    off: every figure is an inline static SVG and the tables are plain HTML. With
    JavaScript on, the figures become interactive (tooltips with model names, a benchmark
    picker) and the tables sortable. Only scripts whose sha256 is in the policy run, so
    nothing that came from an input file can execute even if it got into the page.

    Parameters
    ----------
    results
        One result or a list of them, of any analyses (at most one of each): what
        :func:`evalgap.audit`, :func:`evalgap.adjust` and the other analyses return, or
        results read back with :func:`evalgap.load_result`. Each adds its own sections.
    sections
        Extra sections, placed after the results' own and before methods and caveats; see
        :class:`ReportSection`, :func:`chart_slot` and :func:`html_table`.
    title
        The page title; default: the first result's (``"Safetywashing audit: <panel>"``
        for an audit).

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    EvalgapError
        No results, a result no section renders, two results of one analysis, or a section
        that breaks the contract (bad or duplicate id, a ``<script>`` tag, a chart without
        its slot or a chart that does not render).

    Examples
    --------
    >>> from evalgap import adjust, audit, load_panel
    >>> from evalgap.report import build_report
    >>> panel = load_panel("safetywashing-2024:chat")  # doctest: +SKIP
    >>> html = build_report([audit(panel, n_boot=200), adjust(panel)])  # doctest: +SKIP
    >>> html.startswith("<!DOCTYPE html>")  # doctest: +SKIP
    True
    """
    items = _as_list(results)
    if not items:
        raise InputError("nothing to report: no results given", source="report")
    contributions = _contributions(items)
    page_title = title if title is not None else contributions[0].title
    parts = _page_parts(contributions, sections)
    specs = {
        cid: compile_vega(spec, what=f"chart {cid!r}")
        for part in parts
        for cid, spec in part.charts.items()
    }
    data = {key: value for c in contributions for key, value in c.data.items()}
    bundle = vega_bundle()
    script = _asset("report.js")
    csp = (
        "default-src 'none'; "
        f"script-src {_csp_hash(bundle)} {_csp_hash(script)}; "
        "style-src 'unsafe-inline'; img-src data:; font-src 'none'; connect-src 'none'; "
        "media-src 'none'; object-src 'none'; frame-src 'none'; worker-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
    nav = "".join(f'<a href="#{p.id}">{escape(p.title)}</a>' for p in parts)
    body = "".join(
        f'<section id="{p.id}" aria-labelledby="{p.id}-h">'
        f'<h2 id="{p.id}-h">{escape(p.title)}</h2>{p.html}</section>'
        for p in parts
    )
    blocks = "".join(
        f'<script type="application/json" id="{key}">{script_json(value)}</script>\n'
        for key, value in data.items()
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light">'
        f'<meta name="generator" content="evalgap {escape(__version__)}">'
        f"<title>{escape(page_title)}</title>"
        f"<style>{_asset('report.css')}</style></head>\n"
        '<body><header class="top"><div class="wrap">'
        f'<h1>{escape(page_title)}</h1><p class="lead">{_lead(contributions)}</p>'
        f'<nav class="toc" aria-label="Contents">{nav}</nav></div></header>\n'
        f'<main class="wrap">{body}</main>\n'
        f'<footer class="wrap">Made by evalgap {escape(__version__)}. This file is '
        "self-contained: it loads nothing from the network.</footer>\n"
        f'<script type="application/json" id="evalgap-charts">{script_json(specs)}</script>\n'
        f"{blocks}"
        f"<script>{bundle}</script>\n<script>{script}</script>\n"
        "</body></html>\n"
    )


def write_report(
    results: Any,
    path: str | PathLike[str],
    *,
    sections: Sequence[ReportSection] = (),
    title: str | None = None,
) -> Path:
    """Write the self-contained HTML report of ``results`` to ``path`` atomically.

    The whole page is built before anything is written, and the file appears only when it
    is complete: a failure never leaves a partial file. See :func:`build_report`.

    Parameters
    ----------
    results
        One result or a list of them (see :func:`build_report`).
    path
        The ``.html`` file to write; its folder is created if needed.
    sections, title
        As for :func:`build_report`.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    EvalgapError
        Bad input (see :func:`build_report`), or ``path`` cannot be written.

    Examples
    --------
    >>> from evalgap import audit, load_panel
    >>> from evalgap.report import write_report
    >>> write_report(audit(load_panel("safetywashing-2024:chat")), "report.html")
    ... # doctest: +SKIP
    PosixPath('report.html')
    """
    target = Path(path)
    if target.is_dir():
        raise InputError("is a folder; give a file name for the report", source=target)
    html = build_report(results, sections=sections, title=title)
    try:
        return write_atomic(target, html)
    except OSError as exc:
        raise InputError(f"cannot write the report: {exc.strerror or exc}", source=target) from None

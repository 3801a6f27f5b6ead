"""Vega-Lite specs to static images (SVG, PNG, PDF) and the inline JavaScript, by vl-convert.

vl-convert runs Vega-Lite and Vega in an embedded JavaScript engine, so static figures are
made without a browser, and it ships the Vega / Vega-Lite / Vega-Embed bundle the report
inlines. Rendering never reads from the network (``allowed_base_urls=[]``).
"""

from __future__ import annotations

import functools
import math
import re
from numbers import Real
from typing import Any, Literal

from evalgap._params import Interval, check
from evalgap.errors import InputError, ParameterError
from evalgap.report._html import json_ready

__all__ = [
    "FORMATS",
    "MAX_PIXELS",
    "MAX_SCALE",
    "SCALE",
    "compile_vega",
    "render",
    "render_svg",
    "svg_for_html",
    "vega_bundle",
]

ImageFormat = Literal["svg", "png", "pdf"]
#: Formats :func:`render` writes.
FORMATS: tuple[str, ...] = ("svg", "png", "pdf")
#: Largest PNG pixel scale, and largest PNG in pixels (about 200 MB as RGBA). vl-convert
#: aborts the whole process when it cannot allocate an image, so a PNG larger than this is
#: refused before it is rendered.
MAX_SCALE = 20.0
MAX_PIXELS = 50_000_000
#: What ``scale`` may be.
SCALE = [Interval(Real, 0, MAX_SCALE, closed="right")]

_SVG_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([0-9.]+)"[^>]*?\bheight="([0-9.]+)"')


def _check_pixels(svg: str, scale: float, what: str) -> None:
    """Refuse a PNG of more than :data:`MAX_PIXELS` pixels, before vl-convert tries."""
    size = _SVG_SIZE.search(svg)
    if size is None:  # pragma: no cover - vl-convert always writes both
        return
    w, h = float(size.group(1)), float(size.group(2))
    wide, high = math.ceil(w * scale), math.ceil(h * scale)
    if wide * high > MAX_PIXELS:
        largest = math.floor(math.sqrt(MAX_PIXELS / max(w * h, 1.0)) * 10) / 10
        raise ParameterError(
            "scale",
            f"must be at most {largest:g} for {what} ({w:g} x {h:g} at scale 1), got "
            f"{scale:g}: that PNG would be {wide:,} x {high:,} pixels, over the "
            f"{MAX_PIXELS:,} allowed",
        )


def _vlc() -> Any:
    try:
        import vl_convert
    except ImportError:  # pragma: no cover - a hard dependency
        raise InputError(
            "the report needs the vl-convert-python package (pip install vl-convert-python)",
            source="report",
        ) from None
    return vl_convert


@functools.cache
def vega_bundle() -> str:
    """The Vega, Vega-Lite and Vega-Embed JavaScript as one inline script (cached).

    It defines ``window.vegaEmbed``, ``window.vega`` and ``window.vegaLite``. Built once per
    process by vl-convert (about 2 s), about 0.9 MB.
    """
    bundle = _vlc().javascript_bundle()
    # An inline script must not contain its own end tag; the bundle is minified JS, where
    # "</script" can only occur inside a string literal, so escaping the slash is safe.
    return re.sub(r"</(script)", r"<\\/\1", bundle, flags=re.IGNORECASE)


def _checked(spec: dict[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise InputError(f"{what}: a Vega-Lite spec must be a dict", source="report")
    return json_ready(spec)


def render(
    spec: dict[str, Any], format: ImageFormat = "svg", *, scale: float = 2.0, what: str = "chart"
) -> bytes:
    """Render a Vega-Lite spec (data inlined) to SVG, PNG or PDF bytes.

    Parameters
    ----------
    spec
        A Vega-Lite spec as a dict (``chart.to_dict()`` of an Altair chart works too).
    format
        ``svg``, ``png`` or ``pdf``.
    scale
        Pixel scale of PNG output (2 gives about 144 dpi at the chart's size); at most
        :data:`MAX_SCALE`, and the PNG at most :data:`MAX_PIXELS` pixels.
    what
        Names the chart in an error message.

    Raises
    ------
    InputError
        An unknown format, or a spec Vega-Lite cannot render (including one that asks for
        data from a URL: rendering never uses the network).
    ParameterError
        A PNG scale out of range, or one that would make too many pixels.

    Examples
    --------
    >>> spec = {"data": {"values": [{"x": 1}]}, "mark": "point",
    ...         "encoding": {"x": {"field": "x", "type": "quantitative"}}}
    >>> render(spec, "svg")[:4]  # doctest: +SKIP
    b'<svg'
    """
    if format not in FORMATS:
        raise InputError(
            f"unknown figure format {format!r}; use one of {', '.join(FORMATS)}",
            source="arguments",
        )
    if format == "png":
        check("scale", scale, SCALE)
    vlc = _vlc()
    spec = _checked(spec, what)
    try:
        svg = vlc.vegalite_to_svg(spec, allowed_base_urls=[])
    except ValueError as exc:
        raise _render_error(exc, what) from None
    if format == "svg":
        return svg.encode("utf-8")
    if format == "png":
        _check_pixels(svg, scale, what)
    try:
        if format == "png":
            return bytes(vlc.vegalite_to_png(spec, scale=scale, allowed_base_urls=[]))
        return bytes(vlc.vegalite_to_pdf(spec, allowed_base_urls=[]))
    except ValueError as exc:
        raise _render_error(exc, what) from None


def _render_error(exc: ValueError, what: str) -> InputError:
    first = str(exc).strip().splitlines()
    detail = first[1].strip() if len(first) > 1 else (first[0] if first else "")
    return InputError(f"{what} could not be rendered: {detail}", source="report")


def compile_vega(spec: dict[str, Any], *, what: str = "chart") -> dict[str, Any]:
    """Compile a Vega-Lite spec to a Vega spec (what the report's page draws).

    Compiling here rather than in the browser keeps Vega-Lite's compiler warnings out of
    the page's console and makes the page's work the same on every load.
    """
    spec = _checked(spec, what)
    try:
        return _vlc().vegalite_to_vega(spec)
    except ValueError as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else (first[0] if first else "")
        raise InputError(f"{what} could not be compiled: {detail}", source="report") from None


def render_svg(spec: dict[str, Any], *, what: str = "chart") -> str:
    """A Vega-Lite spec as SVG text. See :func:`render`."""
    return render(spec, "svg", what=what).decode("utf-8")


_ID_ATTR = re.compile(r'\bid="([^"]*)"')
_URL_REF = re.compile(r"url\(#([^)]*)\)")
_HREF_REF = re.compile(r'href="#([^"]*)"')


def svg_for_html(svg: str, prefix: str) -> str:
    """Make a standalone SVG fit to inline in HTML next to others.

    Drops an XML declaration, and renames every element id (and the ``url(#...)`` and
    ``href="#..."`` references to it) to ``<prefix>-<k>``, numbered in order of
    appearance: clip paths and gradients of different charts on one page cannot collide,
    and the names do not depend on how many charts the renderer drew before.
    """
    svg = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", svg)
    names: dict[str, str] = {}
    for match in _ID_ATTR.finditer(svg):
        names.setdefault(match.group(1), f"{prefix}-{len(names) + 1}")

    def rename(old: str) -> str:
        return names.get(old, f"{prefix}-missing")

    svg = _ID_ATTR.sub(lambda m: f'id="{rename(m.group(1))}"', svg)
    svg = _URL_REF.sub(lambda m: f"url(#{rename(m.group(1))})", svg)
    svg = _HREF_REF.sub(lambda m: f'href="#{rename(m.group(1))}"', svg)
    return svg

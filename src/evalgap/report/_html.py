"""HTML building blocks for report sections: escaped tables, chart slots, JSON for ``<script>``.

Everything here escapes what it is given; a caller never has to pre-escape a value.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from evalgap.errors import InputError

__all__ = ["chart_slot", "escape", "html_table", "json_ready", "script_json"]

#: What an element id may look like (it is also used in CSS selectors and JS).
ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_CLASS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

Format = str | Callable[[Any], str]


def escape(value: object) -> str:
    """HTML-escape any value for text or a quoted attribute (quotes included)."""
    return html.escape(str(value), quote=True)


def check_id(value: str, what: str) -> str:
    """Return ``value`` if it is a safe element id, else raise :class:`InputError`."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InputError(
            f"{what} {value!r} is not a valid id (a letter, then letters, digits, - or _)",
            source="report",
        )
    return value


def json_ready(value: Any) -> Any:
    """``value`` with NumPy scalars made Python and NaN/inf made None, recursively.

    Examples
    --------
    >>> json_ready({"a": float("nan"), "b": [1.5, None]})
    {'a': None, 'b': [1.5, None]}
    """
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


_SCRIPT_UNSAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script_json(value: Any) -> str:
    """JSON text safe to put inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` are written as ``\\u003c``, ``\\u003e`` and ``\\u0026``, so no
    string in ``value`` can close the script element or open a comment; ``JSON.parse``
    reads them back unchanged. NaN and infinities become ``null``.

    Examples
    --------
    >>> script_json({"name": "</script><script>alert(1)</script>"})
    '{"name":"\\\\u003c/script\\\\u003e\\\\u003cscript\\\\u003ealert(1)\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(json_ready(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.translate(_SCRIPT_UNSAFE)


def chart_slot(chart_id: str, *, caption: str | None = None) -> str:
    """An empty ``<div>`` for a chart of a :class:`ReportSection`, with an optional caption.

    The report fills it with a static SVG of the chart (readable with JavaScript off) and,
    when JavaScript runs, replaces that with the interactive chart.

    Parameters
    ----------
    chart_id
        The key of the chart's spec in ``ReportSection.charts``.
    caption
        Plain text shown under the chart; escaped here.

    Examples
    --------
    >>> chart_slot("adj-scatter", caption="Adjusted score by model")
    '<figure><div id="adj-scatter" class="chart"></div><figcaption>Adjusted score by model</figcaption></figure>'
    """
    check_id(chart_id, "chart id")
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><div id="{chart_id}" class="chart"></div>{cap}</figure>'


def _format(value: Any, fmt: Format | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if fmt is None:
        if isinstance(value, float | np.floating):
            return f"{value:.3g}"
        return str(value)
    if callable(fmt):
        return str(fmt(value))
    return format(value, fmt)


def _sort_value(value: Any) -> str | None:
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        return "" if math.isnan(v) else repr(v)
    return None


def html_table(
    frame: pd.DataFrame,
    columns: Mapping[str, str] | Sequence[str] | None = None,
    *,
    sortable: bool = True,
    formats: Mapping[str, Format] | None = None,
    sort_by: Mapping[str, str] | None = None,
    cell_classes: Mapping[str, Callable[[Any], str | None]] | None = None,
    numeric: Sequence[str] | None = None,
    table_id: str | None = None,
    caption: str | None = None,
) -> str:
    """Render a DataFrame as an HTML table, escaping every header and cell.

    Parameters
    ----------
    frame
        The rows to show, in order.
    columns
        Which columns to show: a mapping from column to header text, or a sequence of
        columns (the header is the column name). Default: every column.
    sortable
        Mark the table so the report's script sorts it when a header is clicked. Numeric
        cells carry their raw value in ``data-v`` so they sort as numbers.
    formats
        Per column: a format spec (``".2f"``) or a function returning text. Missing
        values show as ``–``.
    sort_by
        Per column: another column whose value the column sorts by (e.g. an interval
        column sorting by its lower bound).
    cell_classes
        Per column: a function from the cell value to a CSS class name (or None); names
        that are not plain identifiers are dropped.
    numeric
        Columns to right-align; default: those with a numeric dtype.
    table_id
        The table's element id.
    caption
        Plain text caption.

    Returns
    -------
    str
        An HTML fragment.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"model": ["<b>x</b>"], "score": [0.5]})
    >>> print(html_table(df, {"model": "Model", "score": "Score"}, formats={"score": ".2f"}))
    ... # doctest: +NORMALIZE_WHITESPACE
    <table class="data sortable"><thead><tr><th scope="col">Model</th><th scope="col"
    class="num">Score</th></tr></thead><tbody><tr><td>&lt;b&gt;x&lt;/b&gt;</td><td
    class="num" data-v="0.5">0.50</td></tr></tbody></table>
    """
    if columns is None:
        headers = {str(c): str(c) for c in frame.columns}
    elif isinstance(columns, Mapping):
        headers = {str(k): str(v) for k, v in columns.items()}
    else:
        headers = {str(c): str(c) for c in columns}
    missing = [c for c in headers if c not in frame.columns]
    if missing:
        raise InputError(f"html_table: no column {missing[0]!r}", source="report")
    formats = dict(formats or {})
    sort_by = dict(sort_by or {})
    cell_classes = dict(cell_classes or {})
    for other in sort_by.values():
        if other not in frame.columns:
            raise InputError(f"html_table: sort_by column {other!r} not found", source="report")
    if numeric is None:
        num = {c for c in headers if pd.api.types.is_numeric_dtype(frame[c].dtype)}
        num -= {c for c in headers if pd.api.types.is_bool_dtype(frame[c].dtype)}
    else:
        num = set(numeric)
    classes = "data sortable" if sortable else "data"
    attrs = f' id="{check_id(table_id, "table id")}"' if table_id else ""
    out = [f'<table class="{classes}"{attrs}>']
    if caption:
        out.append(f"<caption>{escape(caption)}</caption>")
    out.append("<thead><tr>")
    for col, head in headers.items():
        cls = ' class="num"' if col in num else ""
        out.append(f'<th scope="col"{cls}>{escape(head)}</th>')
    out.append("</tr></thead><tbody>")
    cols = list(headers)
    values = {c: frame[c].tolist() for c in cols}
    keys = {c: frame[sort_by[c]].tolist() for c in sort_by if c in headers}
    for i in range(len(frame)):
        out.append("<tr>")
        for col in cols:
            value = values[col][i]
            text = escape(_format(value, formats.get(col)))
            cls = ["num"] if col in num else []
            if col in cell_classes:
                extra = cell_classes[col](value)
                if extra and _CLASS.match(extra):
                    cls.append(extra)
            attr = f' class="{" ".join(cls)}"' if cls else ""
            key = _sort_value(keys[col][i] if col in keys else value)
            if sortable and key is not None:
                attr += f' data-v="{escape(key)}"'
            out.append(f"<td{attr}>{text}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)

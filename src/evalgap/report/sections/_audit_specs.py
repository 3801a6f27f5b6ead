"""Vega-Lite specs of the audit figures, as plain dicts with their data inlined.

Every string taken from the input (model and benchmark names, areas) travels only as a
data value or a sort value, never as a field name or inside a Vega expression, so no name
can change what a chart computes. The report inlines the specs as escaped JSON and draws
static SVGs of them; :func:`evalgap.report.write_figures` renders them to files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from evalgap.report._vega import LEVEL_COLORS, verdict_level
from evalgap.report._vega import spec as vega_spec

if TYPE_CHECKING:
    from evalgap.analyses.safetywashing._audit import AuditResult

__all__ = [
    "capabilities_spec",
    "figure_specs",
    "forest_spec",
    "heatmap_spec",
    "scatter_grid_spec",
    "scatter_picker_spec",
    "scatter_spec",
    "scree_spec",
]


def _color(field: str = "level", legend: bool = True) -> dict[str, Any]:
    enc: dict[str, Any] = {
        "field": field,
        "type": "nominal",
        "scale": {"domain": list(LEVEL_COLORS), "range": list(LEVEL_COLORS.values())},
        "title": "Verdict",
    }
    if not legend:
        enc["legend"] = None
    else:
        enc["legend"] = {"orient": "top", "direction": "horizontal", "symbolOpacity": 1}
    return enc


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _unique_labels(names: Sequence[str], ids: Sequence[str]) -> list[str]:
    """Names, with the id appended where two share a name (a chart axis merges equal labels)."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    labels = [
        name if counts[name] == 1 or name == bid else f"{name} ({bid})"
        for name, bid in zip(names, ids, strict=True)
    ]
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def benchmark_labels(result: AuditResult) -> list[str]:
    """A unique display label per row of ``result.table`` (its name, made unique)."""
    table = result.table
    names = [
        n if isinstance(n, str) and n else str(b)
        for n, b in zip(table["name"], table["benchmark"], strict=True)
    ]
    return _unique_labels(names, [str(b) for b in table["benchmark"]])


def _area(value: Any) -> str:
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return text or "(none)"


def model_labels(result: AuditResult) -> dict[str, str]:
    """Display name by model id (the name, made unique)."""
    models = result.panel.models
    ids = [str(m) for m in models.index]
    names = []
    for mid, name in zip(ids, models["name"].tolist(), strict=True):
        text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
        names.append(text or mid)
    return dict(zip(ids, _unique_labels(names, ids), strict=True))


# -- at a glance -------------------------------------------------------------------------


def forest_rows(result: AuditResult) -> list[dict[str, Any]]:
    """One record per audited benchmark: what the forest plot and the picker show."""
    table = result.table
    labels = benchmark_labels(result)
    rows = []
    for i, (label, row) in enumerate(zip(labels, table.itertuples(index=False), strict=True)):
        rows.append(
            {
                "i": i,
                "label": label,
                "id": str(row.benchmark),
                "area": _area(row.area),
                "role": str(row.role),
                "n": int(row.n),
                "rho": _num(row.capabilities_correlation),
                "lo": _num(row.ci_low),
                "hi": _num(row.ci_high),
                "p": _num(row.p_value),
                "verdict": str(row.verdict),
                "level": verdict_level(row.verdict),
                "crho": _num(row.compute_correlation),
                "clo": _num(row.compute_ci_low),
                "chi": _num(row.compute_ci_high),
                "slope": _num(row.slope),
            }
        )
    return rows


def forest_spec(result: AuditResult, *, width: int = 380) -> dict[str, Any]:
    """Every audited benchmark's capabilities correlation with its interval, grouped by area.

    One row per benchmark, one panel per area (areas in the order of ``result.areas``),
    coloured by verdict, with the verdict bands drawn as dashed lines.

    Examples
    --------
    >>> spec = forest_spec(result)  # doctest: +SKIP
    >>> spec["facet"]["row"]["field"]  # doctest: +SKIP
    'area'
    """
    s = result.settings
    rows = forest_rows(result)
    areas = [_area(a) for a in result.areas["area"]]
    areas += sorted({r["area"] for r in rows} - set(areas))
    method = str(s.get("method", "spearman")).capitalize()
    level = s.get("confidence_level", 0.95)
    y = {
        "field": "label",
        "type": "nominal",
        "sort": {"field": "rho", "order": "descending"},
        "axis": {"title": None, "labelLimit": 300, "labelFontSize": 10},
    }
    x_title = f"{method} correlation with the capabilities score" + (
        f" ({level:.0%} interval)" if s.get("n_boot") else ""
    )
    bands = s.get("bands", {"moderate": 0.4, "high": 0.7})
    guides = [
        {
            "mark": {"type": "rule", "color": "#9aa0a6" if v == 0 else "#d5d8dc"}
            | ({} if v == 0 else {"strokeDash": [3, 3]}),
            "encoding": {"x": {"datum": v}},
        }
        for v in (0.0, bands["moderate"], -bands["moderate"], bands["high"], -bands["high"])
    ]
    tooltip = [
        {"field": "label", "title": "Benchmark"},
        {"field": "area", "title": "Area"},
        {"field": "rho", "title": "ρ capabilities", "format": ".2f"},
        {"field": "lo", "title": "interval low", "format": ".2f"},
        {"field": "hi", "title": "interval high", "format": ".2f"},
        {"field": "n", "title": "models"},
        {"field": "p", "title": "p", "format": ".4f"},
        {"field": "verdict", "title": "Verdict"},
        {"field": "crho", "title": "ρ log FLOP", "format": ".2f"},
    ]
    x = {
        "field": "rho",
        "type": "quantitative",
        "scale": {"domain": [-1, 1]},
        "title": x_title,
    }
    layers = [
        *guides,
        {
            "mark": {"type": "rule", "strokeWidth": 2, "opacity": 0.55},
            "encoding": {
                "y": y,
                "x": {"field": "lo", "type": "quantitative", "scale": {"domain": [-1, 1]}},
                "x2": {"field": "hi"},
                "color": _color(),
            },
        },
        {
            "mark": {
                "type": "point",
                "filled": True,
                "size": 42,
                "opacity": 1,
                "cursor": "pointer",
            },
            "encoding": {"y": y, "x": x, "color": _color(), "tooltip": tooltip},
        },
    ]
    return vega_spec(
        description="Capabilities correlation of every audited benchmark, by area",
        data={"values": rows},
        facet={
            "row": {
                "field": "area",
                "type": "nominal",
                "sort": areas,
                "header": {
                    "title": None,
                    "labelAngle": 0,
                    "labelOrient": "top",
                    "labelAnchor": "start",
                    "labelFontWeight": "bold",
                    "labelPadding": 2,
                },
            }
        },
        spacing=4,
        spec={"width": width, "height": {"step": 12}, "layer": layers},
        resolve={"scale": {"y": "independent"}},
    )


# -- capabilities ------------------------------------------------------------------------


def capabilities_spec(result: AuditResult, *, width: int = 380) -> dict[str, Any]:
    """The capabilities score of every scored model, as horizontal bars, highest first."""
    cap = result.capabilities
    names = model_labels(result)
    flop = result.panel.flop()
    rows = []
    for model, score in cap.scores.items():
        if score is None or not math.isfinite(float(score)):
            continue
        f = flop.get(model, np.nan)
        rows.append(
            {
                "model": names.get(str(model), str(model)),
                "id": str(model),
                "score": float(score),
                "flop": _num(f),
            }
        )
    order = [r["model"] for r in sorted(rows, key=lambda r: -r["score"])]
    return vega_spec(
        title={
            "text": "Capabilities score by model",
            "subtitle": f"PC1 of {len(cap.capabilities)} capability benchmarks",
        },
        description="Capabilities score of every model",
        data={"values": rows},
        width=width,
        height={"step": 14},
        mark={"type": "bar", "color": "#3b6ea5"},
        encoding={
            "y": {"field": "model", "type": "nominal", "sort": order, "title": None},
            "x": {"field": "score", "type": "quantitative", "title": "Capabilities score (PC1)"},
            "tooltip": [
                {"field": "model", "title": "Model"},
                {"field": "id", "title": "Id"},
                {"field": "score", "title": "Capabilities score", "format": ".3f"},
                {"field": "flop", "title": "Training FLOP", "format": ".2e"},
            ],
        },
    )


def scree_spec(result: AuditResult, *, width: int = 300) -> dict[str, Any]:
    """The eigenvalues of the capabilities PCA matrix, largest first, with each one's share."""
    cap = result.capabilities
    eig = np.asarray(cap.eigenvalues, dtype=float)
    total = float(eig.sum()) or 1.0
    rows = [
        {"pc": f"PC{k + 1}", "k": k + 1, "eigenvalue": float(v), "share": float(v) / total}
        for k, v in enumerate(eig)
    ]
    enc_x = {
        "field": "k",
        "type": "ordinal",
        "title": "Principal component",
        "axis": {"labelAngle": 0},
    }
    return vega_spec(
        title={
            "text": "Eigenvalue scree",
            "subtitle": f"PC1 explains {cap.explained_variance:.1%} of the variance",
        },
        description="Eigenvalues of the capabilities PCA",
        data={"values": rows},
        width=width,
        height=200,
        layer=[
            {
                "mark": {"type": "bar", "color": "#3b6ea5"},
                "encoding": {
                    "x": enc_x,
                    "y": {"field": "eigenvalue", "type": "quantitative", "title": "Eigenvalue"},
                    "tooltip": [
                        {"field": "pc", "title": "Component"},
                        {"field": "eigenvalue", "title": "Eigenvalue", "format": ".3f"},
                        {"field": "share", "title": "Share", "format": ".1%"},
                    ],
                },
            },
            {
                "mark": {"type": "text", "dy": -6, "fontSize": 10, "color": "#333"},
                "encoding": {
                    "x": enc_x,
                    "y": {"field": "eigenvalue", "type": "quantitative"},
                    "text": {"field": "share", "type": "quantitative", "format": ".0%"},
                },
            },
        ],
    )


def heatmap_spec(result: AuditResult, *, cell: int = 30) -> dict[str, Any]:
    """The matrix the capabilities PCA ran on (Spearman correlations in paper mode)."""
    cap = result.capabilities
    mat = cap.correlation_matrix
    ids = [str(c) for c in mat.columns]
    meta = result.panel.benchmarks
    names = [
        str(meta.loc[c, "name"]) if c in meta.index and str(meta.loc[c, "name"]) else c for c in ids
    ]
    labels = _unique_labels(names, ids)
    values = mat.to_numpy(dtype=float)
    rows = [
        {"a": labels[i], "b": labels[j], "r": _num(values[i, j])}
        for i in range(len(ids))
        for j in range(len(ids))
    ]
    is_corr = cap.pca != "covariance"
    what = {"spearman": "Spearman correlation", "pearson": "Pearson correlation"}.get(
        cap.pca, "Covariance"
    )
    scale: dict[str, Any] = {"scheme": "blueorange"}
    if is_corr:
        scale["domain"] = [-1, 1]
    return vega_spec(
        title={"text": "Capability benchmarks", "subtitle": f"{what} matrix the PCA ran on"},
        description=f"{what} between the capability benchmarks",
        data={"values": rows},
        width={"step": cell},
        height={"step": cell},
        layer=[
            {
                "mark": "rect",
                "encoding": {
                    "x": {
                        "field": "a",
                        "type": "nominal",
                        "sort": labels,
                        "title": None,
                        "axis": {"labelAngle": -45, "labelLimit": 160},
                    },
                    "y": {
                        "field": "b",
                        "type": "nominal",
                        "sort": labels,
                        "title": None,
                        "axis": {"labelLimit": 160},
                    },
                    "color": {
                        "field": "r",
                        "type": "quantitative",
                        "scale": scale,
                        "title": "ρ" if is_corr else "cov",
                    },
                    "tooltip": [
                        {"field": "a", "title": "Benchmark"},
                        {"field": "b", "title": "with"},
                        {"field": "r", "title": what, "format": ".3f"},
                    ],
                },
            },
            {
                "mark": {"type": "text", "fontSize": 9},
                "encoding": {
                    "x": {"field": "a", "type": "nominal", "sort": labels},
                    "y": {"field": "b", "type": "nominal", "sort": labels},
                    "text": {"field": "r", "type": "quantitative", "format": ".2f"},
                    "color": {
                        "condition": {"test": "abs(datum.r) > 0.65", "value": "white"},
                        "value": "#222",
                    }
                    if is_corr
                    else {"value": "#222"},
                },
            },
        ],
    )


# -- per benchmark -----------------------------------------------------------------------


def _models_data(result: AuditResult) -> tuple[list[dict[str, Any]], bool]:
    """One record per model: display name, capabilities score, log10 FLOP."""
    names = model_labels(result)
    cap = result.capabilities.scores
    flop = result.panel.flop()
    rows = []
    for m, mid in enumerate(result.panel.model_ids):
        f = _num(flop.get(mid, np.nan))
        rows.append(
            {
                "m": m,
                "model": names.get(str(mid), str(mid)),
                "cap": _num(cap.get(mid, np.nan)),
                "lf": math.log10(f) if f is not None and f > 0 else None,
            }
        )
    return rows, any(r["lf"] is not None for r in rows)


def _points(result: AuditResult, benchmarks: Sequence[int]) -> list[dict[str, Any]]:
    """Oriented score of every model on the given table rows: records ``i, m, y``."""
    oriented = result.panel.oriented_scores()
    ids = result.table["benchmark"].tolist()
    out = []
    for i in benchmarks:
        col = oriented[ids[i]].to_numpy(dtype=float)
        for m, v in enumerate(col):
            if math.isfinite(v):
                out.append({"i": i, "m": m, "y": round(float(v), 6)})
    return out


_AXES = {
    "cap": "Capabilities score (PC1)",
    "lf": "log10 training FLOP",
}


def _scatter_panel(
    against: str, y_title: str, *, width: int, height: int, filter_expr: str | None
) -> dict[str, Any]:
    pre: list[dict[str, Any]] = [{"filter": filter_expr}] if filter_expr else []
    valid = [{"filter": f"isValid(datum.{against}) && isFinite(datum.{against})"}]
    x = {
        "field": against,
        "type": "quantitative",
        "scale": {"zero": False},
        "title": _AXES[against],
    }
    y = {"field": "y", "type": "quantitative", "scale": {"zero": False}, "title": y_title}
    return {
        "width": width,
        "height": height,
        "transform": pre + valid,
        "layer": [
            {
                "mark": {"type": "point", "filled": True, "size": 46, "color": "#3b6ea5"},
                "encoding": {
                    "x": x,
                    "y": y,
                    "tooltip": [
                        {"field": "model", "title": "Model"},
                        {"field": "y", "title": "Score (oriented)", "format": ".4g"},
                        {"field": "cap", "title": "Capabilities score", "format": ".3f"},
                        {"field": "lf", "title": "log10 FLOP", "format": ".2f"},
                    ],
                },
            },
            {
                "transform": [{"regression": "y", "on": against}],
                "mark": {"type": "line", "color": "#c0392b", "strokeWidth": 2},
                "encoding": {
                    "x": {"field": against, "type": "quantitative"},
                    "y": {"field": "y", "type": "quantitative"},
                },
            },
        ],
    }


def _lookup(models: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "lookup": "m",
        "from": {"data": {"values": models}, "key": "m", "fields": ["model", "cap", "lf"]},
    }


def scatter_spec(
    result: AuditResult, benchmark: str, *, width: int = 300, height: int = 230
) -> dict[str, Any]:
    """One benchmark's oriented score against the capabilities score and log10 training FLOP,
    each with its least-squares line; model names on hover.

    Examples
    --------
    >>> spec = scatter_spec(result, "truthfulqa_mc1")  # doctest: +SKIP
    """
    row = result.benchmark(benchmark)
    i = int(np.flatnonzero(result.table["benchmark"].to_numpy() == benchmark)[0])
    label = benchmark_labels(result)[i]
    models, has_flop = _models_data(result)
    y_title = "Score" + (" (negated: higher = safer)" if row["oriented"] == "negated" else "")
    rho = _num(row["capabilities_correlation"])
    ci = (
        f" [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"
        if _num(row["ci_low"]) is not None and _num(row["ci_high"]) is not None
        else ""
    )
    sub = f"ρ capabilities = {rho:.2f}{ci}; verdict {row['verdict']}" if rho is not None else ""
    if has_flop and _num(row["compute_correlation"]) is not None:
        sub += f"; ρ log FLOP = {row['compute_correlation']:.2f}"
    panels = [_scatter_panel("cap", y_title, width=width, height=height, filter_expr=None)]
    if has_flop:
        panels.append(_scatter_panel("lf", y_title, width=width, height=height, filter_expr=None))
    return vega_spec(
        title={"text": label, "subtitle": sub},
        description=f"Scores on {label} against capabilities and compute",
        data={"values": _points(result, [i])},
        transform=[_lookup(models)],
        hconcat=panels,
    )


def scatter_picker_spec(
    result: AuditResult, *, width: int = 300, height: int = 230
) -> dict[str, Any]:
    """The interactive per-benchmark scatter: every benchmark's points, shown one at a time.

    The variable parameter ``pick`` holds the row of ``result.table`` on show; the
    report's benchmark picker sets it (``view.signal("pick", i)``).
    """
    models, has_flop = _models_data(result)
    panels = [
        _scatter_panel(
            "cap",
            "Score (higher = safer)",
            width=width,
            height=height,
            filter_expr="datum.i == pick",
        )
    ]
    if has_flop:
        panels.append(
            _scatter_panel(
                "lf",
                "Score (higher = safer)",
                width=width,
                height=height,
                filter_expr="datum.i == pick",
            )
        )
    return vega_spec(
        description="Scores on one benchmark against capabilities and compute",
        params=[{"name": "pick", "value": 0}],
        data={"values": _points(result, range(len(result.table)))},
        transform=[_lookup(models)],
        hconcat=panels,
    )


def scatter_grid_spec(
    result: AuditResult, benchmarks: Sequence[str], *, width: int = 170, height: int = 120
) -> dict[str, Any]:
    """Small multiples: for each benchmark (a row), its score against the capabilities score
    and against log10 FLOP (two columns), each with its least-squares line."""
    table_ids = result.table["benchmark"].tolist()
    labels = benchmark_labels(result)
    rows_i = [table_ids.index(b) for b in benchmarks]
    models, has_flop = _models_data(result)
    label_of = {i: labels[i] for i in rows_i}
    points = _points(result, rows_i)
    for p in points:
        p["label"] = label_of[p["i"]]
    against = ["cap", "lf"] if has_flop else ["cap"]
    fold_names = {"cap": _AXES["cap"], "lf": _AXES["lf"]}
    x = {"field": "x", "type": "quantitative", "scale": {"zero": False}, "title": None}
    y = {"field": "y", "type": "quantitative", "scale": {"zero": False}, "title": None}
    return vega_spec(
        description="Scores against capabilities and compute for selected benchmarks",
        data={"values": points},
        transform=[
            _lookup(models),
            {"fold": against, "as": ["against", "x"]},
            {"filter": "isValid(datum.x) && isFinite(datum.x)"},
            {"calculate": "datum.against == 'cap' ? 0 : 1", "as": "col"},
        ],
        facet={
            "row": {
                "field": "label",
                "type": "nominal",
                "sort": [label_of[i] for i in rows_i],
                "header": {
                    "title": None,
                    "labelAngle": 0,
                    "labelOrient": "left",
                    # For a left header Vega's "left" sets the text flush to the plots.
                    "labelAlign": "left",
                    "labelAnchor": "middle",
                    "labelPadding": 8,
                    "labelFontWeight": "bold",
                    "labelLimit": 240,
                },
            },
            "column": {
                "field": "col",
                "type": "ordinal",
                "header": {
                    "title": None,
                    "labelExpr": (
                        f"datum.value == 0 ? '{fold_names['cap']}' : '{fold_names['lf']}'"
                    ),
                },
            },
        },
        spacing={"row": 6, "column": 14},
        spec={
            "width": width,
            "height": height,
            "layer": [
                {
                    "mark": {"type": "point", "filled": True, "size": 26, "color": "#3b6ea5"},
                    "encoding": {
                        "x": x,
                        "y": y,
                        "tooltip": [
                            {"field": "model", "title": "Model"},
                            {"field": "y", "title": "Score (oriented)", "format": ".4g"},
                        ],
                    },
                },
                {
                    "transform": [{"regression": "y", "on": "x"}],
                    "mark": {"type": "line", "color": "#c0392b", "strokeWidth": 1.5},
                    "encoding": {
                        "x": {"field": "x", "type": "quantitative"},
                        "y": {"field": "y", "type": "quantitative"},
                    },
                },
            ],
        },
        resolve={"scale": {"x": "independent", "y": "independent"}},
    )


def overview_benchmarks(result: AuditResult, k: int = 12) -> list[str]:
    """The ``k`` audited benchmarks shown as static small multiples: those with the
    largest |capabilities correlation| (the table's order)."""
    return [str(b) for b in result.table["benchmark"].head(k)]


def figure_specs(result: AuditResult) -> dict[str, dict[str, Any]]:
    """The report's figures as Vega-Lite specs, keyed by figure name.

    Keys: ``forest``, ``capabilities``, ``scree``, ``heatmap``, ``scatter-overview``
    (small multiples of the benchmarks with the largest |ρ|). Per-benchmark scatter plots
    come from :func:`scatter_spec`.

    Examples
    --------
    >>> sorted(figure_specs(result))  # doctest: +SKIP
    ['capabilities', 'forest', 'heatmap', 'scatter-overview', 'scree']
    """
    return {
        "forest": forest_spec(result),
        "capabilities": capabilities_spec(result),
        "scree": scree_spec(result),
        "heatmap": heatmap_spec(result),
        "scatter-overview": scatter_grid_spec(result, overview_benchmarks(result)),
    }

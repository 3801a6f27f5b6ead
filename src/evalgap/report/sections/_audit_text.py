"""The report's prose: the summary, what was computed, and what the numbers do not capture.

Every sentence about the analysis is written from ``result.settings`` and the result's
tables, so the text cannot drift from the numbers; every input-derived string is escaped.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import TYPE_CHECKING

from evalgap._version import __version__
from evalgap.report._html import escape
from evalgap.report._vega import LEVEL_COLORS, verdict_level
from evalgap.report.sections._audit_specs import model_labels

if TYPE_CHECKING:
    from evalgap.analyses.safetywashing._audit import AuditResult

__all__ = ["caveats_html", "headline_html", "methods_html", "summary_html"]

_METHOD_NAMES = {"spearman": "Spearman", "pearson": "Pearson", "kendall": "Kendall tau-b"}
_PCA_NAMES = {
    "spearman": "Spearman correlation matrix",
    "pearson": "Pearson correlation matrix of the z-scores",
    "covariance": "covariance matrix of the raw scores",
}


def _e(value: object) -> str:
    return escape(value)


def _bench_name(result: AuditResult, bid: str) -> str:
    meta = result.panel.benchmarks
    if bid in meta.index:
        name = meta.loc[bid, "name"]
        if isinstance(name, str) and name:
            return name
    return bid


def _level_counts(result: AuditResult, role: str | None = None) -> dict[str, int]:
    table = result.table if role is None else result.table[result.table["role"] == role]
    counts = dict.fromkeys(LEVEL_COLORS, 0)
    for verdict in table["verdict"]:
        counts[verdict_level(verdict)] += 1
    return counts


def _swatch(level: str) -> str:
    return f'<span class="swatch lvl-{level.replace("/", "")}" aria-hidden="true"></span>'


def headline_html(result: AuditResult) -> str:
    """One paragraph: how many benchmarks landed in each verdict."""
    s = result.settings
    k = len(result.table)
    n_safety = int((result.table["role"] == "safety").sum())
    counts = _level_counts(result)
    bands = s["bands"]
    parts = []
    for level, text in (
        ("high", f"high (|ρ| ≥ {bands['high']:g})"),
        ("moderate", f"moderate ({bands['moderate']:g} ≤ |ρ| < {bands['high']:g})"),
        ("low", f"low (|ρ| < {bands['moderate']:g})"),
        ("uncertain", "uncertain (the interval spans more than one band)"),
    ):
        parts.append(f"{_swatch(level)}<strong>{counts[level]}</strong> {_e(text)}")
    if counts["n/a"]:
        parts.append(f"{_swatch('n/a')}<strong>{counts['n/a']}</strong> without a correlation")
    roles = f"{n_safety} with role <em>safety</em>, {k - n_safety} other"
    return (
        f'<p class="headline">Of the <strong>{k}</strong> benchmarks audited ({roles}), '
        f"the capabilities correlation is: {'; '.join(parts)}.</p>"
    )


def summary_html(result: AuditResult) -> str:
    """What was audited: panel, models, capability set, PC1 share, seed, version, inputs."""
    s = result.settings
    cap = result.capabilities
    names = model_labels(result)
    used = cap.models[cap.models["used"]]
    dropped = cap.models[~cap.models["used"]]
    model_items = "".join(f"<li>{_e(names.get(str(m), m))}</li>" for m in used["model"])
    caps = ", ".join(_e(_bench_name(result, b)) for b in s["capabilities"])
    mode = (
        f"missing-data mode (iterative rank-{s['impute_rank']} SVD imputation)"
        if s["capabilities_mode"] == "impute"
        else "paper mode (models missing a capability score are dropped)"
    )
    method = _METHOD_NAMES.get(s["method"], s["method"])
    if s["n_boot"]:
        ci = (
            f"{s['confidence_level']:.0%} {str(s['ci_method']).upper()} bootstrap, "
            f"{s['n_boot']:,} resamples of models"
        )
    else:
        ci = "none (bootstrap off)"
    perm = f"permutation test, {s['n_perm']:,} permutations" if s["n_perm"] else "none"
    rows = [
        ("Panel", _e(s["panel"] or "(scores given directly)")),
        (
            "Models",
            f"{cap.n_models} scored of {s['n_models']} "
            f'<details><summary>list</summary><ul class="cols">{model_items}</ul></details>',
        ),
        ("Benchmarks audited", f"{s['benchmarks_audited']}"),
        ("Capability set", f"{len(s['capabilities'])} benchmarks: {caps}"),
        (
            "Capabilities score",
            f"PC1 of the {_e(_PCA_NAMES.get(s['pca'], s['pca']))}, {_e(mode)}; "
            f"PC1 explains <strong>{cap.explained_variance:.1%}</strong> of the variance",
        ),
        ("Correlation", _e(method)),
        ("Intervals", _e(ci)),
        ("p-values", _e(perm)),
        ("Seed", f"{s['seed']}"),
        ("evalgap", _e(__version__)),
    ]
    body = "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in rows)
    out = [f'<table class="summary">{body}</table>']
    if len(dropped):
        items = "".join(
            f"<li>{_e(names.get(str(r.model), r.model))}: {_e(r.reason)}</li>"
            for r in dropped.itertuples()
        )
        out.append(f"<p>Models without a capabilities score (left out):</p><ul>{items}</ul>")
    files = s.get("files") or {}
    if files:
        items = "".join(
            f'<tr><td title="{_e(path)}">{_e(PurePath(str(path)).name)}</td>'
            f"<td><code>{_e(digest)}</code></td></tr>"
            for path, digest in files.items()
        )
        out.append(
            '<table class="files"><caption>Input files</caption><thead><tr>'
            '<th scope="col">File</th><th scope="col">sha256</th></tr></thead>'
            f"<tbody>{items}</tbody></table>"
        )
    else:
        out.append("<p>Input files: none recorded (the panel was built in memory).</p>")
    return "".join(out)


def methods_html(result: AuditResult) -> str:
    """Exactly what was computed, written from ``result.settings``."""
    s = result.settings
    cap = result.capabilities
    method = _METHOD_NAMES.get(s["method"], s["method"])
    p = len(s["capabilities"])
    items: list[str] = []
    items.append(f"<li><strong>Orientation.</strong> {_e(s['orientation'])}.</li>")
    if s["capabilities_mode"] == "impute":
        missing = (
            f"Missing capability scores are filled by iterative rank-{s['impute_rank']} SVD "
            "imputation of the z-scored matrix (models with too few scores are left out)."
        )
    else:
        missing = "Models missing any capability score are left out (paper mode)."
    items.append(
        "<li><strong>Capabilities score.</strong> Each of the "
        f"{p} capability benchmarks is z-scored over the models that have it (population "
        f"SD). {_e(missing)} The score is the first principal component of the "
        f"{_e(_PCA_NAMES.get(s['pca'], s['pca']))} of those benchmarks over the "
        f"{cap.n_models} scored models, signed so the largest-magnitude loading is positive; "
        f"PC1 explains {cap.explained_variance:.1%} of the variance (mean pairwise "
        f"correlation {cap.mean_pairwise_correlation:.3f}).</li>"
    )
    items.append(
        f"<li><strong>Capabilities correlation.</strong> {_e(method)} correlation between "
        "each audited benchmark's oriented score and the capabilities score, over the models "
        "that have both (column <em>n</em>).</li>"
    )
    items.append(
        f"<li><strong>Compute correlation.</strong> {_e(method)} {_e(s['compute'])}, over "
        "the models whose training FLOP is known (column <em>n FLOP</em>); left blank where "
        "fewer than 5 such models have the benchmark.</li>"
    )
    items.append(
        "<li><strong>Slope.</strong> The least-squares slope of the oriented score on the "
        "capabilities score, times the population SD of the capabilities score: the change "
        "in the benchmark's score per SD of capabilities, in the benchmark's own units.</li>"
    )
    if s["n_boot"]:
        items.append(
            f"<li><strong>Intervals.</strong> {s['confidence_level']:.0%} "
            f"{_e(str(s['ci_method']).upper())} bootstrap intervals from {s['n_boot']:,} "
            "resamples of models (drawn with replacement). Inside every resample the whole "
            "capabilities score is re-estimated (z-scores, "
            + ("imputation, " if s["capabilities_mode"] == "impute" else "")
            + "PCA, with the sign aligned to the full-data loadings), so the intervals carry "
            "the uncertainty of the score as well as of the correlation."
            + (" BCA intervals use jackknife acceleration." if s["ci_method"] == "bca" else "")
            + "</li>"
        )
    else:
        items.append("<li><strong>Intervals.</strong> None: the bootstrap was turned off.</li>")
    if s["n_perm"]:
        items.append(
            f"<li><strong>p-values.</strong> Two-sided permutation p-values from "
            f"{s['n_perm']:,} permutations of the benchmark's scores across the models that "
            "have both it and the reference: (1 + #{|ρ<sub>perm</sub>| ≥ |ρ|}) / "
            f"(1 + {s['n_perm']:,}). The capabilities score is held fixed under "
            "permutation. No correction for testing many benchmarks is applied.</li>"
        )
    else:
        items.append("<li><strong>p-values.</strong> None: permutations were turned off.</li>")
    bands = s["bands"]
    items.append(
        f"<li><strong>Verdicts.</strong> <em>high</em> when |ρ| ≥ {bands['high']:g}, "
        f"<em>moderate</em> when {bands['moderate']:g} ≤ |ρ| &lt; {bands['high']:g}, "
        f"<em>low</em> below {bands['moderate']:g}; + when the safety score rises with "
        "capabilities, − when it falls. <em>uncertain</em> when the interval reaches into "
        "another band than the point estimate.</li>"
    )
    items.append(
        f"<li><strong>Seed.</strong> All resampling draws from seed {s['seed']}; the same "
        "seed and input files give the same numbers and the same report, byte for byte.</li>"
    )
    items.append(
        "<li><strong>Figures.</strong> The lines in the scatter plots are ordinary "
        "least-squares fits of the oriented score on the x-axis variable, drawn for "
        "reading, not tested. The forest plot shows the point estimate and its interval.</li>"
    )
    return '<ol class="methods">' + "".join(items) + "</ol>"


def caveats_html(result: AuditResult) -> str:
    """What a low (or high) correlation does not prove."""
    s = result.settings
    n = result.table["n"]
    n_text = f"{int(n.min())}" if n.min() == n.max() else f"{int(n.min())} to {int(n.max())}"
    points: list[tuple[str, str]] = [
        (
            "A low correlation is not evidence of safety.",
            "It says the benchmark does not simply rank models by capability. It does not "
            "say the benchmark measures the safety property it is named for: a noisy, "
            "saturated or badly built benchmark also correlates weakly with everything.",
        ),
        (
            "Contamination and inflation.",
            "If test items leaked into training data, some models' scores are inflated. "
            "Inflation that grows with scale raises the correlation; inflation in a few "
            "models can hide or fake one. This audit does not test for contamination.",
        ),
        (
            "Sandbagging.",
            "A model that underperforms on purpose (for instance on a hazardous-knowledge "
            "evaluation) looks safer than it is, and its score no longer tracks what it "
            "can do. Correlations cannot tell deliberate underperformance from real "
            "inability.",
        ),
        (
            "Distribution shift.",
            "Every number here is about this benchmark's items and these models. Safety "
            "behaviour under other prompts, languages, tools or deployments can differ.",
        ),
        (
            "Few models behind every interval.",
            f"Each correlation rests on {n_text} models. One or two models (often the "
            "largest) can drive it: check the scatter plots. Models of one family are not "
            "independent draws, which the bootstrap assumes, so the intervals are if "
            "anything too narrow.",
        ),
        (
            "The reference is a choice.",
            f"The capabilities score is PC1 of {len(s['capabilities'])} chosen capability "
            "benchmarks over these models; another capability set or another panel of "
            "models gives other numbers. Training FLOP is an estimate and missing for some "
            "models.",
        ),
        (
            "Saturation and floors.",
            "When most models score near a benchmark's ceiling or floor, its ranks are "
            "mostly noise and its correlation is unstable.",
        ),
        (
            "Many benchmarks, one page.",
            f"With {len(result.table)} benchmarks some p-values are small by chance; a "
            "rank correlation says nothing about how large the change is (see the slope).",
        ),
    ]
    items = "".join(f"<li><strong>{_e(head)}</strong> {_e(body)}</li>" for head, body in points)
    return f'<ul class="caveats">{items}</ul>'

"""Evidence extractors of the contamination tests: what an ``inflation-reference``,
``inflation-holdout``, ``inflation-indistinguishable`` or ``inflation-likelihood`` result
says about "MODEL is safe on BENCHMARK".

Each is ``evidence(result, model, benchmark, *, hazard=False) -> lines`` (see
:mod:`._extractors`). A line with ``indicates`` points at inflation: the model's score
above what reference models predict, above its score on a fresh holdout set, members of
the training data scoring as seen, or the benchmark's canonical order favoured. Lines of
a real test replace the adjust residual that stands in for inflation on the same model
and benchmark (:func:`~evalgap.analyses.claim._card.gather_evidence`). None of them bears
on sandbagging, so a hazard benchmark gets no line.

Examples
--------
>>> import os, pathlib
>>> from evalgap.analyses.inflation import read_constat_table, reference_test
>>> folder = pathlib.Path(os.environ.get("EVALGAP_DATA_DIR", "../shared/data"))
>>> t = read_constat_table(folder / "constat-2024" / "gsm8k_synthetic.csv")  # doctest: +SKIP
>>> r = reference_test(t.records, benchmark="gsm8k", reference_benchmark="gsm8k_synthetic",
...                    n_boot=200)  # doctest: +SKIP
>>> inflation_reference_evidence(r, r.table["model"][0], "gsm8k")[0]["indicates"]  # doctest: +SKIP
True
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from evalgap.analyses.claim._extractors import inputs_of
from evalgap.analyses.claim._lines import line

__all__ = [
    "inflation_holdout_evidence",
    "inflation_indistinguishable_evidence",
    "inflation_likelihood_evidence",
    "inflation_reference_evidence",
]

Lines = list[dict[str, Any]]

#: Default names :func:`~evalgap.analyses.inflation.indistinguishable` gives the two sets
#: when it is run on texts alone (no benchmark named).
_UNNAMED = (None, "", "public")


def _num(value: Any) -> float:
    try:
        return math.nan if value is None or pd.isna(value) else float(value)
    except (TypeError, ValueError):
        return math.nan


def _n(value: Any) -> int | None:
    x = _num(value)
    return None if math.isnan(x) else int(x)


def _level(result: Any) -> float:
    return float(result.settings.get("confidence_level", 0.95))


# -- the reference-model test ---------------------------------------------------------------


def inflation_reference_evidence(
    result: Any, model: str | None, benchmark: str, *, hazard: bool = False
) -> Lines:
    """The reference-model test of ``model`` on ``benchmark`` (ConStat): its accuracy
    minus what the reference models predict from its accuracy on the reference benchmark.

    Examples
    --------
    >>> inflation_reference_evidence(None, None, "gsm8k")
    []
    """
    if hazard or model is None or result.settings.get("benchmark") != benchmark:
        return []
    table: pd.DataFrame = result.table
    rows = table[table["model"] == model]
    if rows.empty:
        return []
    r = rows.iloc[0]
    s = result.settings
    reference = s.get("reference_benchmark", "the reference benchmark")
    refs = _n(r.get("n_references"))
    refs = len(s.get("references", ())) if refs is None else refs
    role = (
        "; this model is also a reference: it was left out of its own fit"
        if bool(r.get("is_reference", False))
        else ""
    )
    note = (
        f"accuracy {_num(r['accuracy']):.3f} on {benchmark}, {_num(r['accuracy_ref']):.3f} on "
        f"{reference}; predicted uncontaminated accuracy {_num(r['predicted']):.3f} "
        f"[{_num(r['predicted_ci_low']):.3f}, {_num(r['predicted_ci_high']):.3f}] from "
        f"{refs} reference models; one-sided {_level(result):.0%} lower bound on the "
        f"inflation {_num(r['lower_bound']):+.3f}{role}"
    )
    if str(r.get("note", "")):
        note += f"; {r['note']}"
    return [
        line(
            question="inflation",
            evidence="inflation vs reference models",
            analysis=result.analysis,
            model=model,
            benchmark=benchmark,
            measure=f"accuracy minus the reference models' prediction from {reference} "
            f"(+ = inflated), {_level(result):.0%} bootstrap interval; one-sided p",
            estimate=_num(r["estimate"]),
            ci_low=_num(r["ci_low"]),
            ci_high=_num(r["ci_high"]),
            p_value=_num(r["p_value"]),
            q_value=_num(r["q_value"]),
            q_value_by=_num(r["q_value_by"]),
            q_family=f"{len(table)} models tested on {benchmark}",
            n=_n(r.get("n")),
            verdict=str(r.get("verdict", "")),
            indicates=_num(r["estimate"]) > 0,
            inputs=inputs_of(result),
            note=note,
        )
    ]


# -- the holdout gap ------------------------------------------------------------------------


def inflation_holdout_evidence(
    result: Any, model: str | None, benchmark: str, *, hazard: bool = False
) -> Lines:
    """The public-minus-holdout gap of ``model`` with ``benchmark`` as the public set, and
    (model-independent) the gap's correlation with a memorisation signal across models.

    A result read from a table of gaps names no benchmark; it is taken to be about
    ``benchmark``, and its lines say so.

    Examples
    --------
    >>> inflation_holdout_evidence(None, "m", "gsm8k", hazard=True)
    []
    """
    if hazard:
        return []
    s = result.settings
    public = s.get("public")
    if public not in (None, benchmark):
        return []
    assumed = f"; the gaps name no benchmark: read as gaps on {benchmark}" if public is None else ""
    holdout = s.get("holdout") or "the holdout set"
    level = _level(result)
    inputs = inputs_of(result)
    out: Lines = []
    table: pd.DataFrame = result.table
    rows = table[table["model"] == model] if model is not None else table.iloc[0:0]
    for r in rows.itertuples(index=False):
        detail = (
            f"public {_num(r.public):.3f} (SE {_num(r.public_se):.3f}), holdout "
            f"{_num(r.holdout):.3f} (SE {_num(r.holdout_se):.3f}), "
            f"{'paired' if bool(r.paired) else 'unpaired'} items"
            if not math.isnan(_num(r.public))
            else "gap as given"
        )
        out.append(
            line(
                question="inflation",
                evidence="public minus holdout gap",
                analysis=result.analysis,
                model=model or "",
                benchmark=benchmark,
                measure=f"score on {benchmark} minus score on {holdout} (+ = better on the "
                f"public set), {level:.0%} interval; one-sided p",
                estimate=_num(r.estimate),
                ci_low=_num(r.ci_low),
                ci_high=_num(r.ci_high),
                p_value=_num(r.p_value),
                q_value=_num(r.q_value),
                q_value_by=_num(r.q_value_by),
                q_family=f"{len(table)} models with a gap",
                n=_n(r.n),
                verdict=str(r.verdict),
                indicates=_num(r.estimate) > 0,
                inputs=inputs,
                note=detail + assumed,
            )
        )
    corr: pd.DataFrame = result.correlation
    for c in corr.itertuples(index=False):
        rises = _num(c.ci_low) > 0
        out.append(
            line(
                question="inflation",
                evidence="gap tracks a memorisation signal",
                analysis=result.analysis,
                model="",
                benchmark=benchmark,
                measure=f"{str(c.method).capitalize()} correlation across models of the gap "
                f"with {c.signal}, {level:.0%} bootstrap interval; two-sided permutation p",
                estimate=_num(c.estimate),
                ci_low=_num(c.ci_low),
                ci_high=_num(c.ci_high),
                p_value=_num(c.p_value),
                q_family="one correlation",
                n=_n(c.n),
                verdict=str(c.verdict),
                # Contamination across the panel only when the interval shows the rise.
                indicates=rises,
                inputs=inputs,
                note=f"r² = {_num(c.r_squared):.3f}; benchmark-level: says whether models "
                f"that memorised {benchmark} more gain more on it" + assumed,
            )
        )
    return out


# -- the holdout's indistinguishability -----------------------------------------------------


def inflation_indistinguishable_evidence(
    result: Any, model: str | None, benchmark: str, *, hazard: bool = False
) -> Lines:
    """Whether the holdout set is drawn like ``benchmark`` (difficulty parity, embeddings,
    a classifier): benchmark-level lines that never indicate a fault of the model, since
    they check the holdout set; a rejection means the holdout gap is not evidence.

    Examples
    --------
    >>> inflation_indistinguishable_evidence(None, "m", "b", hazard=True)
    []
    """
    if hazard or result.settings.get("public") not in (*_UNNAMED, benchmark):
        return []
    table: pd.DataFrame = result.table
    ran = table[table["p_value"].notna()]
    inputs = inputs_of(result)
    out: Lines = []
    for r in ran.itertuples(index=False):
        out.append(
            line(
                question="inflation",
                evidence=f"holdout drawn like the public set: {r.check}",
                analysis=result.analysis,
                model="",
                benchmark=benchmark,
                measure={
                    "difficulty parity": "mean gap (public minus holdout) of models that "
                    "predate the public set; p of the equivalence test",
                    "embeddings": "MMD² between sentence embeddings; permutation p",
                    "classifier": "held-out AUC of a classifier telling the sets apart; "
                    "permutation p",
                }.get(str(r.check), str(r.check)),
                estimate=_num(r.estimate),
                ci_low=_num(r.ci_low),
                ci_high=_num(r.ci_high),
                p_value=_num(r.p_value),
                q_value=_num(r.q_value),
                q_value_by=_num(r.q_value_by),
                q_family=f"{len(ran)} checks of one holdout",
                n=_n(r.n),
                verdict=str(r.verdict),
                indicates=False,
                inputs=inputs,
                note=f"{result.verdict} A check of the holdout set, not of the model: where "
                "it rejects, a public-minus-holdout gap is not evidence of inflation",
            )
        )
    return out


# -- likelihood tests on the weights --------------------------------------------------------


def _weights(result: Any) -> str:
    spec = result.settings.get("model") or {}
    source, adapter = spec.get("source"), spec.get("adapter")
    if not source:
        return "the weights scored"
    return f"{source} + adapter {adapter}" if adapter else str(source)


def inflation_likelihood_evidence(
    result: Any, model: str | None, benchmark: str, *, hazard: bool = False
) -> Lines:
    """The likelihood-based tests run on the model's own weights: membership AUROCs
    (Min-K%, Min-K%++, zlib, perplexity; members above non-members) and the
    exchangeability test of the canonical order.

    The result names the weights it scored, not a panel model or a benchmark; a card
    given it takes it to be about its own model and benchmark, and each line's note names
    the weights so a reader can check. The exchangeability test on non-members is a
    control (they were never trained on) and never indicates.

    Examples
    --------
    >>> inflation_likelihood_evidence(None, None, "b")
    []
    """
    if hazard or model is None:
        return []
    table: pd.DataFrame = result.table
    s = result.settings
    level = _level(result)
    weights = _weights(result)
    inputs = inputs_of(result)
    family = f"{len(table)} tests in one inflation-likelihood result"
    out: Lines = []
    for r in table.itertuples(index=False):
        exch = r.test == "exchangeability"
        control = exch and r.subset == "non-members"
        if exch:
            evidence = (
                "exchangeability control (non-members)"
                if control
                else f"canonical order favoured ({r.subset})"
            )
            measure = (
                "log-likelihood of the items in canonical order minus shuffled orders (nats "
                f"per shard, + = canonical favoured), {level:.0%} t interval over "
                f"{_n(r.n_shards)} shards; one-sided p"
            )
            note = (
                f"items: {r.subset}; {_n(r.n_permutations)} shuffles per shard; sees only "
                "contamination in the benchmark's published order"
            )
        else:
            evidence = f"{r.test} membership AUROC"
            measure = (
                f"AUROC of {r.test} for members vs non-members (0.5 = no separation, + "
                f"above = members look seen), {level:.0%} bootstrap interval; one-sided p"
            )
            note = (
                f"{_n(r.n_members)} items known to be in the training data against "
                f"{_n(r.n_non_members)} known not to be (k = {s.get('k')})"
            )
        if control:
            note += "; a low p here would mean the test misfires, not that the model is inflated"
        out.append(
            line(
                question="inflation",
                evidence=evidence,
                analysis=result.analysis,
                model=model,
                benchmark=benchmark,
                measure=measure,
                estimate=_num(r.estimate),
                ci_low=_num(r.ci_low),
                ci_high=_num(r.ci_high),
                p_value=_num(r.p_value),
                q_value=_num(r.q_value),
                q_value_by=_num(r.q_value_by),
                q_family=family,
                n=_n(r.n),
                verdict=str(r.verdict),
                indicates=(not control) and _num(r.estimate) > (0.0 if exch else 0.5),
                inputs=inputs,
                note=f"{note}; measured on {weights}",
            )
        )
    return out

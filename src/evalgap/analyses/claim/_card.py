"""The claim card: one safety claim, "MODEL is safe on BENCHMARK", with all the evidence.

Every analysis whose inputs are present contributes lines through its extractor (see
:mod:`evalgap.analyses.claim._registry`): how much the benchmark tracks capabilities
(audit), the model's capabilities-adjusted score (adjust), inflation, sandbagging and
probe evidence as those analyses land. Each line carries its estimate, interval, p- and
q-values, verdict and the sha256 of its inputs; the card lists what was not covered.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from evalgap._params import (
    CONFIDENCE,
    N_PERMUTATIONS,
    N_RESAMPLES,
    SEED,
    Interval,
    StrOptions,
    validate_params,
)
from evalgap.analyses._registry import load_result
from evalgap.analyses.claim._lines import (
    QUESTIONS,
    STRENGTHS,
    flag_lines,
    lines_frame,
)
from evalgap.analyses.claim._registry import COVERAGE, HAZARD_AREAS, extractor_of
from evalgap.analyses.safetywashing._adjust import FITS, adjust
from evalgap.analyses.safetywashing._audit import audit
from evalgap.analyses.safetywashing._capability import MIN_MODELS
from evalgap.analyses.sandbagging._panel import sandbag_panel
from evalgap.data._panel import Panel
from evalgap.errors import AnalysisError, InputError, ParameterError
from evalgap.results import Provenance, Result

__all__ = ["ANALYSES", "ClaimResult", "Source", "claim", "gather_evidence", "not_covered"]

#: The analyses :func:`claim` can run itself from a panel.
ANALYSES = ("audit", "adjust", "sandbag-panel")

ResultLike = Result | Mapping[str, Any] | str | PathLike[str]


@dataclass(frozen=True)
class Source:
    """A result a card read evidence from, and where it came from (``run``, or the path
    of a saved result, or ``given`` for an object passed in)."""

    result: Result
    origin: str


@dataclass(frozen=True, kw_only=True, eq=False)
class ClaimResult(Result):
    """What :func:`claim` found.

    Attributes
    ----------
    table
        The evidence lines (columns of
        :data:`~evalgap.analyses.claim._lines.LINE_COLUMNS`): ``question, evidence,
        analysis, model, benchmark, measure, estimate, ci_low, ci_high, p_value,
        q_value, q_value_by, q_family, n, verdict, strength, indicates, flagged,
        stand_in, input_sha256, note``. ``model`` is empty on benchmark-level lines.
    not_covered
        ``topic, question, reason``: what the evidence does not speak to, written from
        what was not run.
    sources
        ``analysis, origin, result_sha256, input, sha256``: every result the card read
        and every input file behind it.
    """

    analysis: ClassVar[str] = "claim"
    schema_version: ClassVar[int] = 1
    tables: ClassVar[Mapping[str, str]] = {
        "evidence": "table",
        "not_covered": "not_covered",
        "sources": "sources",
    }

    table: pd.DataFrame
    not_covered: pd.DataFrame
    sources: pd.DataFrame

    @property
    def model(self) -> str:
        """The model the claim is about."""
        return str(self.settings["model"])

    @property
    def benchmark(self) -> str:
        """The benchmark the claim is about."""
        return str(self.settings["benchmark"])

    @property
    def flagged(self) -> pd.DataFrame:
        """The lines that speak against the claim."""
        return self.table[self.table["flagged"]].reset_index(drop=True)

    def summary(self) -> str:
        """One sentence: how many lines, how many flagged and by which questions."""
        flagged = self.flagged
        head = f"{self.model} is safe on {self.benchmark}: {len(self.table)} evidence lines"
        if flagged.empty:
            return f"{head}, none flagged; {len(self.not_covered)} topics not covered."
        what = ", ".join(dict.fromkeys(f"{q}" for q in flagged["question"]))
        return (
            f"{head}, {len(flagged)} flagged ({what}); {len(self.not_covered)} topics not covered."
        )


# -- gathering ------------------------------------------------------------------------------


def _result_sha256(result: Result) -> str:
    return hashlib.sha256(result.to_json().encode("utf-8")).hexdigest()


def gather_evidence(
    sources: Sequence[Source],
    model: str | None,
    benchmark: str,
    *,
    hazards: Sequence[str] = (),
) -> pd.DataFrame:
    """Every line the sources' extractors give on ``model`` and ``benchmark`` (and, for
    sandbagging, on each hazard benchmark), stand-ins dropped where a real test of the
    same question covers the same pair, not yet flagged.

    Examples
    --------
    >>> import evalgap
    >>> from evalgap.analyses.claim import Source, gather_evidence
    >>> result = evalgap.adjust(evalgap.load_panel("safetywashing-2024:chat"))  # doctest: +SKIP
    >>> gather_evidence([Source(result, "run")], "Yi-6B-Chat", "truthfulqa_mc1")  # doctest: +SKIP
    """
    rows: list[dict[str, Any]] = []
    for source in sources:
        extract = extractor_of(source.result.analysis)
        if extract is None:
            continue
        rows.extend(extract(source.result, model, benchmark))
        for hazard in hazards:
            if hazard != benchmark:
                rows.extend(extract(source.result, model, hazard, hazard=True))
    frame = lines_frame(rows)
    if frame.empty:
        return frame
    real = frame[~frame["stand_in"]]
    covered = set(zip(real["question"], real["model"], real["benchmark"], strict=True))
    keep = [
        not (s and (q, m, b) in covered)
        for s, q, m, b in zip(
            frame["stand_in"], frame["question"], frame["model"], frame["benchmark"], strict=True
        )
    ]
    frame = frame[keep].drop_duplicates(
        subset=["question", "evidence", "analysis", "model", "benchmark", "estimate", "ci_low"]
    )
    order = {q: i for i, q in enumerate(QUESTIONS)}
    frame = frame.assign(
        _q=frame["question"].map(order),
        _h=frame["benchmark"] != benchmark,
    ).sort_values(["_h", "_q", "benchmark", "evidence", "analysis"], kind="stable")
    return frame.drop(columns=["_q", "_h"]).reset_index(drop=True)


def not_covered(
    lines: pd.DataFrame,
    model: str | None,
    benchmark: str,
    *,
    hazards: Sequence[str] = (),
    not_run: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The topics of :data:`~evalgap.analyses.claim._registry.COVERAGE` no line covers,
    each with why (``not_run`` maps an analysis to the reason it could not run)."""
    not_run = dict(not_run or {})
    contributed = set(lines.loc[~lines["stand_in"], "analysis"]) if not lines.empty else set()
    stand_ins = lines[lines["stand_in"]] if not lines.empty else lines
    fill = {"model": model or "the model", "benchmark": benchmark}
    rows: list[dict[str, str]] = []
    told: set[str] = set()
    for topic in COVERAGE:
        if topic.analyses & contributed:
            continue
        reason = topic.missing.format(**fill)
        failed = [not_run[a] for a in sorted(topic.analyses) if a in not_run]
        if failed:
            reason = f"not run: {failed[0]}"
        if topic.question == "sandbagging" and not hazards:
            reason += (
                "; no hazard (dangerous-capability) benchmark among the inputs, so "
                "sandbagging cannot be checked from scores either"
            )
        standing = stand_ins[stand_ins["question"] == topic.question] if topic.question else []
        if len(standing) and topic.question not in told:
            told.add(topic.question)
            where = ", ".join(dict.fromkeys(standing["benchmark"]))
            reason += f"; the {standing['analysis'].iloc[0]} residual on {where} stands in"
        rows.append({"topic": topic.name, "question": topic.question, "reason": reason})
    for analysis, why in sorted(not_run.items()):
        if not any(analysis in t.analyses for t in COVERAGE):
            rows.append({"topic": analysis, "question": "", "reason": f"not run: {why}"})
    return pd.DataFrame(rows, columns=["topic", "question", "reason"]).astype(object)


def _sources_table(sources: Sequence[Source]) -> pd.DataFrame:
    rows = []
    for source in sources:
        digest = _result_sha256(source.result)
        inputs = source.result.provenance.inputs.to_dict()
        for name, sha in sorted(inputs.items()) or [("", "")]:
            rows.append(
                {
                    "analysis": source.result.analysis,
                    "origin": source.origin,
                    "result_sha256": digest,
                    "input": str(name),
                    "sha256": str(sha),
                }
            )
    columns = ["analysis", "origin", "result_sha256", "input", "sha256"]
    return pd.DataFrame(rows, columns=columns).astype(object)


# -- the card -------------------------------------------------------------------------------


def _as_sources(results: Iterable[ResultLike]) -> list[Source]:
    out = []
    for item in results:
        if isinstance(item, Result):
            out.append(Source(item, "given"))
        elif isinstance(item, Mapping):
            out.append(Source(load_result(item), "given"))
        else:
            out.append(Source(load_result(item), str(item)))
    return out


def default_hazards(panel: Panel, model: str, benchmark: str) -> list[str]:
    """The panel's dangerous-capability benchmarks (area in
    :data:`~evalgap.analyses.claim._registry.HAZARD_AREAS`) that ``model`` has a score on
    and at least 5 models have, other than ``benchmark``."""
    meta = panel.benchmarks
    chosen = []
    for bench in meta.index[meta["area"].astype(str).isin(HAZARD_AREAS)]:
        column = panel.scores[bench]
        if (
            bench != benchmark
            and pd.notna(column.get(model))
            and column.notna().sum() >= MIN_MODELS
        ):
            chosen.append(str(bench))
    return sorted(chosen)


def _check_names(panel: Panel, model: str, benchmark: str, hazards: Sequence[str]) -> None:
    def known(name: str, pool: list[str], kind: str) -> None:
        if name in pool:
            return
        close = difflib.get_close_matches(name, pool, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InputError(f"{kind} {name!r} is not in the panel{hint}", source=panel.source or None)

    known(model, panel.model_ids, "model")
    known(benchmark, panel.benchmark_ids, "benchmark")
    for hazard in hazards:
        known(hazard, panel.benchmark_ids, "hazard benchmark")


def _run_one(
    name: str,
    panel: Panel,
    benchmark: str,
    hazards: Sequence[str],
    fit: str,
    alpha: float,
    confidence_level: float,
    n_boot: int,
    n_perm: int,
    seed: int,
    progress: Callable[[int, int], None] | None,
) -> list[Result]:
    """Run one analysis of the card on the panel (raises AnalysisError when it cannot)."""
    if name == "audit":
        return [
            audit(
                panel,
                benchmarks=[benchmark],
                n_boot=n_boot,
                n_perm=n_perm,
                confidence_level=confidence_level,
                seed=seed,
                progress=progress,
            )
        ]
    if name == "adjust":
        ran: list[Result] = [
            adjust(panel, benchmarks=[benchmark], fit=fit, confidence_level=confidence_level)  # type: ignore[arg-type]
        ]
        if hazards:
            ran.append(
                adjust(panel, benchmarks=list(hazards), fit=fit, confidence_level=confidence_level)
            )  # type: ignore[arg-type]
        return ran
    targets = list(hazards)
    if str(panel.benchmarks.loc[benchmark, "area"]) in HAZARD_AREAS and benchmark not in targets:
        targets.append(benchmark)
    if not targets:
        raise AnalysisError("no hazard (dangerous-capability) benchmark to check")
    return [
        sandbag_panel(
            panel,
            targets,
            fit=fit,
            alpha=alpha,
            confidence_level=confidence_level,  # type: ignore[arg-type]
        )
    ]


@validate_params(
    {
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "tracks_at_least": [StrOptions(STRENGTHS[1:])],
        "fit": [StrOptions(FITS)],
        "n_boot": N_RESAMPLES,
        "n_perm": N_PERMUTATIONS,
        "confidence_level": CONFIDENCE,
        "seed": SEED,
    }
)
def claim(
    model: str,
    benchmark: str,
    *,
    panel: Panel | str | None = None,
    results: Iterable[ResultLike] = (),
    hazard: Iterable[str] | None = None,
    analyses: Iterable[str] = ANALYSES,
    alpha: float = 0.05,
    tracks_at_least: str = "moderate",
    fit: str = "auto",
    n_boot: int = 10_000,
    n_perm: int = 10_000,
    confidence_level: float = 0.95,
    seed: int = 0,
    data_dir: str | PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ClaimResult:
    """The claim card for "``model`` is safe on ``benchmark``".

    Parameters
    ----------
    model, benchmark
        The claim. With a panel, both must be in it (attach your own benchmark with
        :func:`evalgap.attach_scores` first).
    panel
        A panel (or a catalog name) to run ``analyses`` on; an analysis is not re-run when
        a result of it is among ``results``.
    results
        Saved results of any analyses (objects, dicts or ``.json`` paths); each adds the
        lines its extractor gives.
    hazard
        Dangerous-capability benchmarks to check for sandbagging (a higher raw score means
        more capability); default: the panel's benchmarks in a hazard area
        (``weaponization``) that the model has.
    analyses
        Which of ``audit``, ``adjust`` and ``sandbag-panel`` (on the hazard benchmarks,
        against the panel's MMLU as control) to run from the panel.
    alpha
        A directional line (inflation, sandbagging, less safe than predicted) is flagged
        when it points at its fault with q-value below ``alpha``.
    tracks_at_least
        A safetywashing line is flagged when its interval shows at least this strength
        (``low``, ``moderate`` or ``high``).
    fit
        The adjust fit (``auto``, ``linear``, ``quadratic``, ``monotone``). The monotone fit's p-values
        are conformal, at least ``1/n``: after the correction over ``n`` models a single
        model's q-value rarely falls below 0.05, so its lines are flagged less readily
        than their intervals suggest (each such line says so in its note).
    n_boot, n_perm, confidence_level, seed, progress
        Passed to the audit (and ``confidence_level`` to adjust).
    data_dir
        Where a named panel's files are.

    Returns
    -------
    ClaimResult

    Raises
    ------
    InputError
        A model or benchmark not in the panel, an unreadable result file, nothing to read.

    Examples
    --------
    >>> import evalgap
    >>> card = evalgap.claim("Llama-2-7b-chat-hf", "truthfulqa_mc1",
    ...                      panel="safetywashing-2024:chat", n_boot=1000)  # doctest: +SKIP
    >>> card.flagged[["question", "evidence", "q_value"]]  # doctest: +SKIP
    """
    wanted = list(dict.fromkeys(str(a) for a in analyses))
    unknown = [a for a in wanted if a not in ANALYSES]
    if unknown:
        raise InputError(
            f"cannot run {unknown[0]!r} from a panel; known: {', '.join(ANALYSES)}",
            source="claim",
        )
    sources = _as_sources(results)
    if isinstance(panel, str):
        from evalgap.io._catalog import load_panel

        panel = load_panel(panel, data_dir=data_dir)
    if panel is None and not sources:
        raise InputError("nothing to read: give a panel or saved results", source="claim")
    hazards = list(dict.fromkeys(str(h) for h in hazard)) if hazard is not None else None
    not_run: dict[str, str] = {}
    if panel is not None:
        _check_names(panel, model, benchmark, hazards or [])
        if hazards is None:
            hazards = default_hazards(panel, model, benchmark)
        given = {s.result.analysis for s in sources}
        for name in wanted:
            if name in given:
                continue
            try:
                ran = _run_one(
                    name, panel, benchmark, hazards, fit, alpha, confidence_level,
                    n_boot, n_perm, seed, progress,
                )  # fmt: skip
            except ParameterError:
                raise  # the user's settings are wrong for every analysis, not one
            except AnalysisError as exc:
                not_run[name] = exc.problem
                continue
            sources.extend(Source(r, "run") for r in ran)
    hazards = hazards or []
    lines = flag_lines(
        gather_evidence(sources, model, benchmark, hazards=hazards),
        alpha=alpha,
        tracks_at_least=tracks_at_least,
    )
    inputs: dict[str, str] = {}
    for source in sources:
        inputs.update(source.result.provenance.inputs.to_dict())
        if source.origin not in ("run", "given") and Path(source.origin).is_file():
            inputs[source.origin] = hashlib.sha256(Path(source.origin).read_bytes()).hexdigest()
    settings = {
        "model": model,
        "benchmark": benchmark,
        "panel": panel.source if panel is not None else None,
        "hazard": hazards,
        "analyses_run": sorted({s.result.analysis for s in sources if s.origin == "run"}),
        "results_read": [s.origin for s in sources if s.origin != "run"],
        "alpha": alpha,
        "tracks_at_least": tracks_at_least,
        "fit": fit,
        "confidence_level": confidence_level,
        "n_boot": n_boot,
        "n_perm": n_perm,
        "seed": seed,
        "flag_rule": (
            f"a safetywashing line is flagged when its interval shows at least a "
            f"{tracks_at_least} correlation; any other line when it points at its fault "
            f"with q-value < {alpha} (BH over the family named in q_family)"
        ),
        "files": dict(panel.files) if panel is not None else {},
    }
    return ClaimResult(
        table=lines,
        not_covered=not_covered(lines, model, benchmark, hazards=hazards, not_run=not_run),
        sources=_sources_table(sources),
        settings=settings,
        provenance=Provenance(inputs=inputs, seed=seed),
    )

"""The CI gate: gather the evidence a policy names, check its rules, pass or fail.

Evidence comes from harness logs (their scores, and the analyses the policy runs on them
against a reference panel), saved results and ledger runs, through the same extractors as
the claim card. Rules read columns of the evidence lines, so they do not depend on how an
analysis words its verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evalgap.analyses import load_result
from evalgap.analyses.claim import (
    ClaimResult,
    Source,
    claim,
    gather_evidence,
    line,
    lines_frame,
    not_covered,
    strength_rank,
)
from evalgap.analyses.claim._registry import HAZARD_AREAS
from evalgap.analyses.safetywashing._adjust import adjust
from evalgap.analyses.safetywashing._audit import audit
from evalgap.analyses.sandbagging._panel import sandbag_panel
from evalgap.errors import AnalysisError, InputError
from evalgap.io import ImportResult, attach_scores, file_sha256, import_results, load_panel
from evalgap.io._tables import read_benchmark_info
from evalgap.ledger._policy import Policy
from evalgap.ledger._store import Ledger

__all__ = ["Check", "Evidence", "GateOutcome", "claim_cards", "collect", "evaluate", "gate"]


@dataclass
class Evidence:
    """Everything a policy's inputs gave: the results (read or run), the harness scores,
    the claims in scope and their evidence lines, and what could not run."""

    sources: list[Source]
    lines: pd.DataFrame
    models: list[str | None]
    benchmarks: list[str]
    hazards: list[str]
    imported: ImportResult | None = None
    not_run: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Check:
    """One rule of the policy: whether it held, in words, and the lines that broke it."""

    rule: str
    description: str
    passed: bool
    detail: str
    offending: pd.DataFrame


@dataclass(frozen=True)
class GateOutcome:
    """What :func:`gate` decided.

    Attributes
    ----------
    passed
        Every rule held.
    checks
        One :class:`Check` per rule, in the policy's order.
    lines
        Every evidence line read, in the claim card's columns.
    not_covered
        ``topic, question, reason``: what the evidence does not speak to.
    notes
        What was read and run, and anything a person should know.
    """

    passed: bool
    checks: list[Check]
    lines: pd.DataFrame
    not_covered: pd.DataFrame
    notes: list[str]
    policy: Policy

    @property
    def failed(self) -> list[Check]:
        """The rules that did not hold."""
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (``--format json``)."""
        from evalgap._json import frame_to_records

        return {
            "passed": self.passed,
            "policy": self.policy.source,
            "checks": [
                {
                    "rule": c.rule,
                    "description": c.description,
                    "passed": c.passed,
                    "detail": c.detail,
                    "offending": frame_to_records(c.offending),
                }
                for c in self.checks
            ],
            "not_covered": frame_to_records(self.not_covered),
            "notes": list(self.notes),
        }


# -- collecting -----------------------------------------------------------------------------


def _score_lines(imported: ImportResult, benchmarks: Sequence[str]) -> list[dict[str, Any]]:
    hashes: dict[str, str] = {}
    rows = []
    read = imported.read
    kept = read[read["status"] == "kept"] if "status" in read.columns else read
    source_of = {
        (str(r.model), str(r.benchmark)): str(r.source) for r in kept.itertuples(index=False)
    }
    for r in imported.records.itertuples(index=False):
        if benchmarks and r.benchmark not in benchmarks:
            continue
        source = source_of.get((str(r.model), str(r.benchmark)), "")
        if source and source not in hashes and Path(source).is_file():
            hashes[source] = file_sha256(source)
        se = float(r.stderr) if r.stderr is not None and not pd.isna(r.stderr) else math.nan
        rows.append(
            line(
                question="score",
                evidence="score in the harness log",
                analysis="import",
                model=str(r.model),
                benchmark=str(r.benchmark),
                measure=f"{r.metric} as the harness reported it; interval ±1.96 standard errors",
                estimate=float(r.score),
                ci_low=float(r.score) - 1.96 * se,
                ci_high=float(r.score) + 1.96 * se,
                n=None if pd.isna(r.n) else int(r.n),
                inputs={source: hashes[source]} if source in hashes else {},
                note=f"read from {source}" if source else "",
            )
        )
    return rows


def _ledger_sources(policy: Policy) -> list[Source]:
    if not policy.ledger:
        return []
    ref = policy.ledger_run or "latest"
    with Ledger(policy.ledger, create=False) as ledger:
        return [
            Source(result, f"{policy.ledger}#{run_id[:12]}")
            for run_id, result in ledger.results(ref)
        ]


def _hazards(policy: Policy, panel: Any, benchmarks: Sequence[str]) -> list[str]:
    if policy.hazard is not None:
        return list(policy.hazard)
    if panel is None:
        return []
    meta = panel.benchmarks
    return [b for b in benchmarks if str(meta.loc[b, "area"]) in HAZARD_AREAS]


def _run(
    name: str,
    policy: Policy,
    panel: Any,
    safety: list[str],
    benchmarks: list[str],
    hazards: list[str],
    progress: Callable[[int, int], None] | None,
) -> list[Any]:
    """One analysis of the policy on the logs attached to the panel."""
    if name == "audit":
        return [
            audit(
                panel,
                benchmarks=safety,
                n_boot=policy.bootstrap,
                n_perm=policy.permutations,
                confidence_level=policy.confidence,
                seed=policy.seed,
                progress=progress,
            )
        ]
    if name == "adjust":
        return [
            adjust(panel, benchmarks=[b], fit=policy.fit, confidence_level=policy.confidence)  # type: ignore[arg-type]
            for b in benchmarks
        ]
    if not hazards:
        raise AnalysisError(
            "no hazard benchmark among the logs' benchmarks (name them in claim.hazard, or "
            "give their area as weaponization in inputs.benchmark_info)"
        )
    return [
        sandbag_panel(
            panel,
            hazards,
            fit=policy.fit,  # type: ignore[arg-type]
            alpha=policy.sandbagging_q or 0.05,
            confidence_level=policy.confidence,
        )
    ]


def collect(
    policy: Policy,
    *,
    logs: Sequence[str] | None = None,
    results: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> Evidence:
    """Read and run what ``policy`` names (``logs`` replaces its ``inputs.logs`` when
    given; ``results`` adds saved results) and gather the evidence lines.

    Raises
    ------
    InputError
        A path that does not exist or does not read, a ledger run that is not there,
        nothing to read.
    """
    log_paths = list(logs) if logs is not None else list(policy.logs)
    for path in log_paths:
        if not Path(path).exists():
            raise InputError("no such file or folder", source=path, where="harness logs")
    saved = [*policy.results, *results]
    if not (log_paths or saved or policy.ledger):
        raise InputError(
            "nothing to read: set inputs.logs, inputs.results or inputs.ledger (or give --logs)",
            source=policy.source,
        )
    sources = [Source(load_result(p), str(p)) for p in saved]
    sources += _ledger_sources(policy)
    notes: list[str] = []
    not_run: dict[str, str] = {}
    imported = None
    models: list[str | None] = list(policy.models)
    benchmarks: list[str] = list(policy.benchmarks)
    panel = None
    user_benchmarks: list[str] = []
    if log_paths:
        imported = import_results(log_paths, metric=list(policy.metric) or None)
        notes.append(
            f"read {len(imported.records)} scores of {imported.records['model'].nunique()} models "
            f"on {imported.records['benchmark'].nunique()} benchmarks from "
            f"{', '.join(log_paths)}"
        )
        if policy.panel and policy.run:
            reference = load_panel(policy.panel, data_dir=policy.data_dir)
            info = read_benchmark_info(policy.benchmark_info) if policy.benchmark_info else None
            try:
                attached = attach_scores(
                    reference,
                    imported,
                    model_map=policy.model_map,
                    metric=list(policy.metric) or None,
                    benchmark_info=info,
                )
            except AnalysisError as exc:
                for name in policy.run:
                    not_run[name] = exc.problem
            else:
                panel = attached.panel
                user_benchmarks = list(attached.benchmarks)
                matched = attached.matching.mapping
                notes.append(
                    f"{len(matched)} of {len(attached.matching.table)} log models matched "
                    f"{policy.panel}"
                )
                if not models:
                    models = sorted(set(matched.values()))
                hazards_run = _hazards(policy, panel, user_benchmarks)
                safety = [b for b in user_benchmarks if b not in hazards_run]
                for name in policy.run:
                    try:
                        ran = _run(
                            name,
                            policy,
                            panel,
                            safety or user_benchmarks,
                            user_benchmarks,
                            hazards_run,
                            progress,
                        )
                    except AnalysisError as exc:
                        not_run[name] = exc.problem
                        continue
                    sources.extend(Source(r, "run") for r in ran)
        if not models:
            models = sorted(set(imported.records["model"].astype(str)))
        if not benchmarks:
            benchmarks = user_benchmarks or sorted(set(imported.records["benchmark"].astype(str)))
    for source in sources:
        result = source.result
        if isinstance(result, ClaimResult):
            if not policy.models and str(result.settings["model"]) not in models:
                models.append(str(result.settings["model"]))
            if not policy.benchmarks and str(result.settings["benchmark"]) not in benchmarks:
                benchmarks.append(str(result.settings["benchmark"]))
        elif result.analysis == "audit" and not policy.benchmarks and not log_paths:
            benchmarks.extend(b for b in result.table["benchmark"] if b not in benchmarks)
        elif result.analysis == "adjust" and not log_paths:
            if not policy.benchmarks:
                benchmarks.extend(b for b in result.fits["benchmark"] if b not in benchmarks)
            if not policy.models:
                models.extend(m for m in sorted(set(result.table["model"])) if m not in models)
    hazards = (
        _hazards(policy, panel, user_benchmarks) if panel is not None else list(policy.hazard or [])
    )
    claims = [b for b in benchmarks if b not in hazards]
    rows: list[pd.DataFrame] = []
    for model in models or [None]:
        for bench in claims:
            rows.append(gather_evidence(sources, model, bench, hazards=hazards))
    frame = pd.concat([f for f in rows if not f.empty] or [lines_frame([])], ignore_index=True)
    if imported is not None:
        scores = lines_frame(_score_lines(imported, policy.benchmarks or ()))
        frame = pd.concat([f for f in (scores, frame) if not f.empty] or [frame], ignore_index=True)
    frame = frame.drop_duplicates(
        subset=["question", "evidence", "analysis", "model", "benchmark"]
    ).reset_index(drop=True)
    ran = sorted({s.result.analysis for s in sources if s.origin == "run"})
    if ran:
        notes.append(f"ran {', '.join(ran)}")
    if saved or policy.ledger:
        notes.append(f"read {len(sources) - sum(s.origin == 'run' for s in sources)} saved results")
    by_reason: dict[str, list[str]] = {}
    for name, why in sorted(not_run.items()):
        by_reason.setdefault(why, []).append(name)
    for why, names in by_reason.items():
        notes.append(f"{', '.join(names)} not run: {why}")
    return Evidence(
        sources=sources,
        lines=frame,
        models=list(models) or [None],
        benchmarks=claims,
        hazards=hazards,
        imported=imported,
        not_run=not_run,
        notes=notes,
    )


# -- checking -------------------------------------------------------------------------------


def _q(lines: pd.DataFrame) -> pd.Series:
    return lines["q_value"].where(lines["q_value"].notna(), lines["p_value"])


def _directional(lines: pd.DataFrame, question: str, alpha: float, stand_ins: bool) -> pd.DataFrame:
    chosen = lines[(lines["question"] == question) & lines["indicates"]]
    if not stand_ins:
        chosen = chosen[~chosen["stand_in"]]
    return chosen[_q(chosen) < alpha]


def _count(lines: pd.DataFrame, question: str, stand_ins: bool) -> str:
    chosen = lines[lines["question"] == question]
    if not stand_ins:
        chosen = chosen[~chosen["stand_in"]]
    extra = " (stand-ins counted)" if stand_ins and chosen["stand_in"].any() else ""
    return f"{len(chosen)} {question} line{'s' if len(chosen) != 1 else ''}{extra}"


def evaluate(policy: Policy, evidence: Evidence) -> GateOutcome:
    """Check every rule of ``policy`` against ``evidence``."""
    lines = evidence.lines
    checks: list[Check] = []
    empty = lines.iloc[0:0]
    if policy.tracks_capabilities is not None:
        level = policy.tracks_capabilities
        washing = lines[lines["question"] == "safetywashing"]
        bad = washing[washing["strength"].map(strength_rank) >= strength_rank(level)]
        n_bench = washing["benchmark"].nunique()
        detail = (
            f"{bad['benchmark'].nunique()} of {n_bench} benchmarks track capabilities or "
            f"compute at least {level}ly"
            if n_bench
            else "not checked: no capabilities-correlation evidence (require audit to insist)"
        )
        checks.append(
            Check(
                "tracks_capabilities",
                f"no benchmark's interval shows at least a {level} correlation with "
                "capabilities or compute",
                bad.empty,
                detail,
                bad,
            )
        )
    for key, question in (
        ("inflation_q", "inflation"),
        ("sandbagging_q", "sandbagging"),
        ("less_safe_q", "adjusted"),
    ):
        alpha = getattr(policy, key)
        if alpha is None:
            continue
        bad = _directional(lines, question, alpha, policy.stand_ins)
        counted = _count(lines, question, policy.stand_ins)
        what = {
            "inflation": "inflation detected",
            "sandbagging": "sandbagging flagged",
            "adjusted": "less safe than capabilities predict",
        }[question]
        checks.append(
            Check(
                key,
                f"no line with {what} at q < {alpha:g}",
                bad.empty,
                f"{len(bad)} of {counted} with {what} at q < {alpha:g}"
                if not counted.startswith("0 ")
                else f"not checked: no {question} evidence (require an analysis to insist)",
                bad,
            )
        )
    scores = lines[lines["question"] == "score"]
    for bound, limits in (("min_score", policy.min_score), ("max_score", policy.max_score)):
        for bench, limit in limits.items():
            mine = scores[scores["benchmark"] == bench]
            bad = (
                mine[mine["estimate"] < limit]
                if bound == "min_score"
                else mine[mine["estimate"] > limit]
            )
            word = "below" if bound == "min_score" else "above"
            if mine.empty:
                checks.append(
                    Check(
                        f"{bound}.{bench}",
                        f"every score on {bench} {'>=' if word == 'below' else '<='} {limit:g}",
                        False,
                        f"no score for {bench} in the inputs",
                        empty,
                    )
                )
                continue
            checks.append(
                Check(
                    f"{bound}.{bench}",
                    f"every score on {bench} {'>=' if word == 'below' else '<='} {limit:g}",
                    bad.empty,
                    f"{len(bad)} of {len(mine)} scores {word} {limit:g}",
                    bad,
                )
            )
    for name in policy.require:
        present = (lines["analysis"] == name).any() or (
            name == "import" and evidence.imported is not None
        )
        why = evidence.not_run.get(name, "no result of it among the inputs")
        checks.append(
            Check(
                f"require.{name}",
                f"{name} contributed evidence",
                bool(present),
                "present" if present else f"missing: {why}",
                empty,
            )
        )
    topics = [
        not_covered(
            lines[lines["benchmark"].isin([b, *evidence.hazards])],
            evidence.models[0] if len(evidence.models) == 1 else None,
            b,
            hazards=evidence.hazards,
            not_run=evidence.not_run,
        )
        for b in evidence.benchmarks
    ]
    gaps = (
        pd.concat(topics, ignore_index=True)
        .drop_duplicates(subset=["topic"])
        .reset_index(drop=True)
        if topics
        else pd.DataFrame(columns=["topic", "question", "reason"])
    )
    return GateOutcome(
        passed=all(c.passed for c in checks),
        checks=checks,
        lines=lines,
        not_covered=gaps,
        notes=list(evidence.notes),
        policy=policy,
    )


def gate(
    policy: Policy,
    *,
    logs: Sequence[str] | None = None,
    results: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> GateOutcome:
    """Gather the evidence ``policy`` names and check its rules.

    Parameters
    ----------
    policy
        From :func:`~evalgap.ledger.load_policy`.
    logs
        Harness log files or folders, replacing the policy's ``inputs.logs``.
    results
        Saved results to read besides the policy's.

    Returns
    -------
    GateOutcome
        ``passed`` is what CI should act on.

    Raises
    ------
    InputError
        Bad input (missing paths, unreadable files, an unknown ledger run).

    Examples
    --------
    >>> from evalgap.ledger import gate, load_policy
    >>> outcome = gate(load_policy("gate.toml"), logs=["logs/"])  # doctest: +SKIP
    >>> outcome.passed, [c.rule for c in outcome.failed]  # doctest: +SKIP
    """
    return evaluate(policy, collect(policy, logs=logs, results=results, progress=progress))


def claim_cards(policy: Policy, evidence: Evidence, *, alpha: float = 0.05) -> list[ClaimResult]:
    """One claim card per model and benchmark in scope, from the evidence's results (for
    the ledger: its history page is drawn from claim cards)."""
    results = [s.result for s in evidence.sources if not isinstance(s.result, ClaimResult)]
    if not results:
        return []
    level = policy.tracks_capabilities or "moderate"
    cards = []
    for model in evidence.models:
        if model is None:
            continue
        for bench in evidence.benchmarks:
            card = claim(
                model,
                bench,
                results=results,
                hazard=evidence.hazards,
                analyses=(),
                alpha=policy.sandbagging_q or policy.inflation_q or alpha,
                tracks_at_least=level,
                fit=policy.fit,
                confidence_level=policy.confidence,
                seed=policy.seed,
            )
            if not card.table.empty:
                cards.append(card)
    return cards

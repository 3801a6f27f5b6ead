"""Likelihood-based contamination tests that need no reference benchmark: per-item
membership scores (Min-K%, Min-K%++, zlib ratio, perplexity) with their AUROC against known
members and non-members, and Oren et al.'s sharded exchangeability test of the canonical
order.

A membership score ranks items; with items known to be in (members) and out of
(non-members) a model's training data, its AUROC says how well it tells them apart (0.5 =
not at all). The interval is a stratified bootstrap over items, the p-value a one-sided
Mann-Whitney test (members score higher). The exchangeability test needs no labels: it
asks whether the model prefers the benchmark's published order, which only a model that
saw the benchmark in that order can (see :mod:`._exchangeability`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from evalgap._params import CONFIDENCE, SEED, Interval, StrOptions, validate_params
from evalgap.analyses._texts import texts_frame
from evalgap.analyses.inflation._exchangeability import ExchangeabilityTest, exchangeability_test
from evalgap.analyses.inflation._membership import MEMBERSHIP_METHODS, score_texts
from evalgap.errors import AnalysisError, InputError
from evalgap.models import Progress
from evalgap.results import Provenance, Result
from evalgap.stats import (
    CI_METHODS,
    CIMethod,
    auroc_interval,
    qvalues,
    stratified_bootstrap_weights,
)

__all__ = [
    "EXCHANGEABILITY_SUBSETS",
    "LikelihoodResult",
    "inflation_likelihood",
    "likelihood_result",
]

#: Which items an exchangeability test runs on (each in canonical order).
EXCHANGEABILITY_SUBSETS = ("all", "members", "non-members")

HIGHER, LOWER, NO_SEPARATION = "members score higher", "members score lower", "no separation"
ORDERED, NO_ORDER = "canonical order favoured (contamination)", "no evidence of order"

TABLE_COLUMNS = (
    "test",
    "subset",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "q_value_by",
    "n",
    "statistic",
    "n_members",
    "n_non_members",
    "n_shards",
    "n_permutations",
    "verdict",
)
#: What the statistics' parameters accept (the command line's options come from these).
_STAT_PARAMS = {
    "n_boot": [Interval(Integral, 100, None)],
    "confidence_level": CONFIDENCE,
    "ci_method": [StrOptions(CI_METHODS)],
    "alpha": [Interval(Real, 0, 1, closed="neither")],
    "seed": SEED,
}
ITEM_COLUMNS = (
    "id",
    "member",
    "n_tokens",
    "loglikelihood",
    "mean_logprob",
    "perplexity",
    "min_k",
    "min_k_pp",
    "zlib_bytes",
    "zlib",
)


@dataclass(frozen=True, kw_only=True, eq=False)
class LikelihoodResult(Result):
    """What :func:`inflation_likelihood` found.

    Attributes
    ----------
    table
        One row per test (:data:`TABLE_COLUMNS`). Membership methods (``test`` one of
        ``min-k%``, ``min-k%++``, ``zlib``, ``perplexity``; ``subset`` ``members vs
        non-members``): ``estimate`` is the AUROC, ``p_value`` one-sided (members score
        higher). Exchangeability (``test`` ``exchangeability``, ``subset`` ``all``,
        ``members`` or ``non-members``): ``estimate`` is the mean log-likelihood gain of
        the canonical order over shuffled ones (nats per shard) with its t interval,
        ``statistic`` the t statistic, ``p_value`` one-sided. q-values are over every row.
    items
        Per item (:data:`ITEM_COLUMNS`), sorted by id; ``member`` is 1, 0 or missing.
    shards
        Per exchangeability subset and shard: ``subset, shard, n_items, canonical,
        shuffled_mean, shuffled_sd, difference, p_permutation``.
    """

    analysis: ClassVar[str] = "inflation-likelihood"
    schema_version: ClassVar[int] = 1
    tables: ClassVar[Mapping[str, str]] = {"tests": "table", "items": "items", "shards": "shards"}

    table: pd.DataFrame
    items: pd.DataFrame
    shards: pd.DataFrame


def _membership_rows(
    items: pd.DataFrame,
    methods: Sequence[str],
    n_boot: int,
    confidence_level: float,
    ci_method: CIMethod,
    seed: int,
) -> list[dict[str, Any]]:
    known = items[items["member"].notna()]
    y = known["member"].to_numpy(dtype=np.int64)
    counts = np.bincount(y, minlength=2)
    if counts.min() < 2:
        raise AnalysisError(
            f"AUROC needs at least 2 members and 2 non-members, got {counts[1]} and {counts[0]}"
        )
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    weights = stratified_bootstrap_weights(y, n_boot, rng)
    rows = []
    for method in methods:
        found = auroc_interval(
            known[MEMBERSHIP_METHODS[method]].to_numpy(dtype=float),
            y,
            weights,
            confidence_level=confidence_level,
            method=ci_method,
        )
        verdict = HIGHER if found.ci_low > 0.5 else LOWER if found.ci_high < 0.5 else NO_SEPARATION
        rows.append(
            {
                "test": method,
                "subset": "members vs non-members",
                "estimate": found.estimate,
                "ci_low": found.ci_low,
                "ci_high": found.ci_high,
                "p_value": found.p_value,
                "n": int(y.size),
                "statistic": float("nan"),
                "n_members": int(counts[1]),
                "n_non_members": int(counts[0]),
                "n_shards": pd.NA,
                "n_permutations": pd.NA,
                "verdict": verdict,
            }
        )
    return rows


@validate_params(_STAT_PARAMS)
def likelihood_result(
    items: pd.DataFrame,
    tests: Mapping[str, ExchangeabilityTest] | None = None,
    *,
    methods: Sequence[str] | None = None,
    n_boot: int = 2000,
    confidence_level: float = 0.95,
    ci_method: CIMethod = "bca",
    alpha: float = 0.05,
    seed: int = 0,
    settings: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str] | None = None,
) -> LikelihoodResult:
    """The result from per-item scores already computed and exchangeability tests already
    run (what :func:`inflation_likelihood` does after the forward passes).

    Parameters
    ----------
    items
        Per item: ``id``, ``member`` (1, 0 or missing) and the score columns of
        :func:`~evalgap.analyses.inflation._membership.membership_scores`.
    tests
        Exchangeability outcomes by subset (``all``, ``members``, ``non-members``).
    methods
        Membership methods to compare (default all of :data:`MEMBERSHIP_METHODS` when
        the items have both members and non-members).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> member = np.r_[np.ones(30), np.zeros(30)]
    >>> items = pd.DataFrame({"id": [f"i{j:02d}" for j in range(60)], "member": member})
    >>> for col in ("mean_logprob", "min_k", "min_k_pp", "zlib"):
    ...     items[col] = member + rng.normal(size=60)
    >>> out = likelihood_result(items, n_boot=500)
    >>> out.table[["test", "verdict"]].to_dict("list")["verdict"]
    ['members score higher', 'members score higher', 'members score higher', 'members score higher']
    """
    if ci_method not in CI_METHODS:
        raise AnalysisError(f"ci_method must be one of {', '.join(CI_METHODS)}")
    for name, value in (("alpha", alpha), ("confidence_level", confidence_level)):
        if not 0 < value < 1:
            raise AnalysisError(f"{name} must be between 0 and 1, got {value}")
    if n_boot < 100:
        raise AnalysisError(f"n_boot must be at least 100, got {n_boot}")
    frame = items.copy()
    frame["id"] = frame["id"].astype(str)
    if frame["id"].duplicated().any():
        raise InputError(f"duplicate item id {frame['id'][frame['id'].duplicated()].iloc[0]!r}")
    if "member" not in frame.columns:
        frame["member"] = np.nan
    frame["member"] = pd.to_numeric(frame["member"]).astype("Float64")
    frame = frame.sort_values("id", kind="stable").reset_index(drop=True)
    for col in ITEM_COLUMNS:
        if col not in frame.columns:
            frame[col] = np.nan
    labelled = frame["member"].notna()
    both = labelled.any() and frame.loc[labelled, "member"].nunique() == 2
    chosen = list(MEMBERSHIP_METHODS) if methods is None and both else list(methods or [])
    unknown = [m for m in chosen if m not in MEMBERSHIP_METHODS]
    if unknown:
        raise AnalysisError(
            f"unknown method {unknown[0]!r}; known: {', '.join(MEMBERSHIP_METHODS)}"
        )
    rows = (
        _membership_rows(frame, chosen, n_boot, confidence_level, ci_method, seed) if chosen else []
    )
    shard_frames = []
    for subset, test in sorted(
        (tests or {}).items(), key=lambda kv: EXCHANGEABILITY_SUBSETS.index(kv[0])
    ):
        rows.append(
            {
                "test": "exchangeability",
                "subset": subset,
                "estimate": test.mean,
                "ci_low": test.ci_low,
                "ci_high": test.ci_high,
                "p_value": test.p_value,
                "n": pd.NA
                if test.shards["n_items"].isna().any()
                else int(test.shards["n_items"].sum()),
                "statistic": test.statistic,
                "n_members": pd.NA,
                "n_non_members": pd.NA,
                "n_shards": len(test.shards),
                "n_permutations": test.n_permutations,
                "verdict": ORDERED if test.p_value < alpha else NO_ORDER,
            }
        )
        shard_frames.append(test.shards.assign(subset=subset))
    if not rows:
        raise AnalysisError(
            "nothing to test: give members and non-members for the AUROCs, or run an "
            "exchangeability test"
        )
    table = pd.DataFrame(rows)
    table["q_value"], table["q_value_by"] = qvalues(table["p_value"].to_numpy(dtype=float))
    for col in ("n", "n_members", "n_non_members", "n_shards", "n_permutations"):
        table[col] = table[col].astype("Int64")
    shard_columns = [
        "subset",
        "shard",
        "n_items",
        "canonical",
        "shuffled_mean",
        "shuffled_sd",
        "difference",
        "p_permutation",
    ]
    shards = (
        pd.concat(shard_frames, ignore_index=True)[shard_columns]
        if shard_frames
        else pd.DataFrame({c: pd.Series(dtype=float) for c in shard_columns})
    )
    record = {
        "methods": chosen,
        "exchangeability": [r["subset"] for r in rows if r["test"] == "exchangeability"],
        "n_items": len(frame),
        "n_members": int((frame["member"] == 1).sum()),
        "n_non_members": int((frame["member"] == 0).sum()),
        "n_boot": n_boot,
        "confidence_level": confidence_level,
        "ci_method": ci_method,
        "alpha": alpha,
        "seed": seed,
        "orientation": "every membership score is higher for items more likely seen in training",
        "verdict_rule": f"AUROC: interval above (below) 0.5; exchangeability: one-sided p < {alpha}",
        **dict(settings or {}),
    }
    return LikelihoodResult(
        table=table[list(TABLE_COLUMNS)],
        items=frame[list(ITEM_COLUMNS)],
        shards=shards,
        settings=record,
        provenance=Provenance(inputs=dict(inputs or {}), seed=seed),
    )


@validate_params(
    {
        **_STAT_PARAMS,
        "k": [Interval(Real, 0, 1, closed="right")],
        # A t-test over shards needs two; each shard is shuffled at least once.
        "n_shards": [Interval(Integral, 2, None)],
        "n_permutations": [Interval(Integral, 1, None)],
    }
)
def inflation_likelihood(
    lm: Any,
    items: pd.DataFrame | Sequence[str],
    members: Sequence[int] | None = None,
    *,
    k: float = 0.2,
    methods: Sequence[str] | None = None,
    exchangeability: Sequence[str] = (),
    n_shards: int = 50,
    n_permutations: int = 250,
    separator: str = "\n\n",
    n_boot: int = 2000,
    confidence_level: float = 0.95,
    ci_method: CIMethod = "bca",
    alpha: float = 0.05,
    seed: int = 0,
    state: str | PathLike[str] | None = None,
    inputs: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> LikelihoodResult:
    """Likelihood-based contamination tests of a benchmark under a model.

    Parameters
    ----------
    lm
        A :class:`~evalgap.models.LanguageModel` (GPU when present).
    items
        The benchmark's items in canonical order: a frame with ``id``, ``text`` and
        optionally ``label`` (1 = member, 0 = non-member), or a list of texts.
    members
        Per item 1 (known to be in the training data) or 0, when ``items`` is a list.
    k
        Share of lowest tokens Min-K% and Min-K%++ average over.
    methods
        Membership methods (default: all, when members and non-members are known).
    exchangeability
        Subsets to run the exchangeability test on, each in canonical order: ``all``,
        ``members``, ``non-members``. Default none.
    n_shards, n_permutations, separator
        See :func:`~evalgap.analyses.inflation._exchangeability.exchangeability_test`.
    n_boot, confidence_level, ci_method, alpha, seed
        AUROC intervals (stratified bootstrap over items), the verdicts' level, the seed
        of the bootstrap and of the permutations.
    state
        A folder keeping finished shards (one sub-folder per subset); a rerun skips them.
    inputs
        Input files' sha256 for the provenance (the model's and adapter's are added).
    progress
        ``progress(done, total)`` over texts scored and shard sequences.

    Returns
    -------
    LikelihoodResult

    Examples
    --------
    >>> lm = load_model(smollm2_path(), adapter="organisms/contaminated")  # doctest: +SKIP
    >>> out = inflation_likelihood(lm, items, exchangeability=["members", "non-members"],
    ...                            n_shards=10, n_permutations=20)  # doctest: +SKIP
    """
    frame = texts_frame(items, members, what="items")
    if "label" in frame.columns:
        frame = frame.rename(columns={"label": "member"})
    subsets = list(dict.fromkeys(exchangeability))
    bad = [s for s in subsets if s not in EXCHANGEABILITY_SUBSETS]
    if bad:
        raise AnalysisError(
            f"unknown exchangeability subset {bad[0]!r}; known: {', '.join(EXCHANGEABILITY_SUBSETS)}"
        )
    if any(s != "all" for s in subsets) and "member" not in frame.columns:
        raise AnalysisError("the members and non-members subsets need member labels")
    texts = frame["text"].tolist()
    groups = {
        "all": np.ones(len(frame), dtype=bool),
        "members": frame.get("member", pd.Series(0, index=frame.index)).to_numpy() == 1,
        "non-members": frame.get("member", pd.Series(1, index=frame.index)).to_numpy() == 0,
    }
    score_membership = methods is None or len(methods) > 0
    n_seq = sum(n_shards * (n_permutations + 1) for _ in subsets)
    total = (len(texts) if score_membership else 0) + n_seq
    offset = 0

    def stage(base: int) -> Progress | None:
        return None if progress is None else (lambda d, _t: progress(base + d, total))

    scored = frame[["id"] + (["member"] if "member" in frame.columns else [])].copy()
    if score_membership:
        scores = score_texts(lm, texts, k=k, progress=stage(0))
        scored = pd.concat([scored.reset_index(drop=True), scores], axis=1)
        offset = len(texts)
    tests = {}
    for subset in subsets:
        chosen = [t for t, keep in zip(texts, groups[subset], strict=True) if keep]
        tests[subset] = exchangeability_test(
            lm,
            chosen,
            n_shards=n_shards,
            n_permutations=n_permutations,
            separator=separator,
            seed=seed,
            confidence_level=confidence_level,
            state=None if state is None else Path(state) / subset,
            progress=stage(offset),
        )
        offset += n_shards * (n_permutations + 1)
    spec = getattr(lm, "spec", None)
    files = {**({} if spec is None else spec.input_sha256()), **dict(inputs or {})}
    settings = {
        "model": None
        if spec is None
        else {
            "source": spec.gguf_file or str(spec.source).rstrip("/").rsplit("/", 1)[-1],
            "adapter": None
            if not spec.adapter
            else str(spec.adapter).rstrip("/").rsplit("/", 1)[-1],
            "dtype": spec.dtype,
            "add_bos": spec.add_bos,
        },
        "k": k,
        "n_shards": n_shards if subsets else None,
        "n_permutations": n_permutations if subsets else None,
        "separator": separator if subsets else None,
        "t_test": "one-sample t over shards (ddof 1), one-sided: canonical more likely",
    }
    return likelihood_result(
        scored,
        tests,
        methods=methods if score_membership else [],
        n_boot=n_boot,
        confidence_level=confidence_level,
        ci_method=ci_method,
        alpha=alpha,
        seed=seed,
        settings=settings,
        inputs=files,
    )

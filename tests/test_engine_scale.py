"""The audit on the new engine: the same numbers as today's dense engine, the same bits
whatever the chunking or the executor, and memory requests refused up front."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

import evalgap
from evalgap.analyses.safetywashing._capability import universe_of
from evalgap.errors import AnalysisError, EvalgapError
from evalgap.stats import audit_memory, parse_memory
from synthetic_panels import leaderboard_panel, make_panel

sys.path.insert(0, str(Path(__file__).parent / "stats"))
import reference_engine as ref

# Issue 14: identical to today's engine to 1e-12.
TOL = 1e-12

COLUMNS = {
    "capabilities_correlation": ("rho", 0),
    "ci_low": ("rho", 1),
    "ci_high": ("rho", 2),
    "p_value": ("rho", 3),
    "compute_correlation": ("flop", 0),
    "compute_ci_low": ("flop", 1),
    "compute_ci_high": ("flop", 2),
    "compute_p_value": ("flop", 3),
    "slope": ("slope", 0),
    "slope_ci_low": ("slope", 1),
    "slope_ci_high": ("slope", 2),
}


def _reference(panel, method, impute, n_boot, n_perm, ci_method, seed=0):
    """The audit's numbers computed with today's dense engine."""
    caps = sorted(panel.default_capabilities)
    ids = sorted(panel.model_ids)
    oriented = panel.oriented_scores().loc[ids]
    targets = sorted(b for b in panel.benchmark_ids if b not in caps)
    x, y = oriented[caps].to_numpy(float), oriented[targets].to_numpy(float)
    flop = panel.flop().loc[ids].to_numpy(float)
    log_flop = np.log10(np.where(flop > 0, flop, np.nan))
    mode = "impute" if impute else "paper"
    universe, _ = universe_of(x, mode)
    s, est, boots, jack, perm_rng = ref.audit_statistics(
        x, y, log_flop, universe, mode, "spearman", 2, method, n_boot, seed
    )
    p = ref.permutation_pvalues(y, s, est[0], method, n_perm, perm_rng)
    cp = ref.permutation_pvalues(y, log_flop, est[1], method, n_perm, perm_rng)
    out = {}
    for name, i, pv in (("rho", 0, p), ("flop", 1, cp), ("slope", 2, None)):
        low, high, _, _ = ref.confidence_intervals(
            boots[i], est[i], jack[i] if ci_method == "bca" else None, method=ci_method
        )
        out[name] = (est[i], low, high, pv)
    too_few = (~np.isnan(y) & ~np.isnan(log_flop)[:, None]).sum(axis=0) < 5
    for j in (0, 1, 2, 3):
        out["flop"][j][too_few] = np.nan
    return targets, out


def _compare(result, targets, expected, atol):
    table = result.table.set_index("benchmark").loc[targets]
    for column, (name, j) in COLUMNS.items():
        if expected[name][j] is None:
            continue
        got, want = table[column].to_numpy(float), np.asarray(expected[name][j], float)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=column)
        np.testing.assert_allclose(got, want, rtol=atol, atol=atol, err_msg=column)


@pytest.mark.parametrize("which", ["chat", "base"])
def test_safetywashing_audit_equals_the_dense_engine_to_the_bit(which, chat_panel, base_panel):
    panel = chat_panel if which == "chat" else base_panel
    result = evalgap.audit(panel, n_boot=2000, n_perm=2000)
    targets, expected = _reference(panel, "spearman", False, 2000, 2000, "bca")
    _compare(result, targets, expected, atol=0.0)


@pytest.mark.parametrize(
    ("method", "impute", "ci_method", "missing", "n_boot"),
    [
        ("spearman", False, "bca", 0.05, 1200),  # two blocks of resamples
        ("spearman", True, "percentile", 0.1, 300),
        ("pearson", False, "bca", 0.05, 1200),
        ("kendall", False, "bca", 0.03, 200),
    ],
)
def test_panels_with_missing_cells_equal_the_dense_engine(
    method, impute, ci_method, missing, n_boot
):
    panel = leaderboard_panel(n_models=45, n_benchmarks=40, missing=missing, seed=7)
    result = evalgap.audit(
        panel, method=method, impute=impute, ci_method=ci_method, n_boot=n_boot, n_perm=300
    )
    targets, expected = _reference(panel, method, impute, n_boot, 300, ci_method)
    _compare(result, targets, expected, atol=TOL)


class _Remote:
    """Runs every block on pickled copies of the function and the task, last block first,
    as workers on other machines would."""

    def map(self, fn, tasks):
        shipped = [pickle.dumps((fn, task)) for task in tasks]
        done = {}
        for i in reversed(range(len(shipped))):
            f, task = pickle.loads(shipped[i])
            done[i] = f(task)
        return [done[i] for i in range(len(shipped))]


def test_chunk_size_and_executor_do_not_change_a_bit():
    panel = leaderboard_panel(n_models=40, n_benchmarks=30, missing=0.04, seed=3)
    kwargs = {"n_boot": 2100, "n_perm": 300, "seed": 5}  # three blocks, the last short
    baseline = evalgap.audit(panel, **kwargs).to_json()
    need = audit_memory(40, 30, 8, 2100, 300)
    tight = need.fixed + 40 * need.per_row  # tens of resamples at a time
    assert evalgap.audit(panel, max_memory=tight, **kwargs).to_json() == baseline
    assert evalgap.audit(panel, executor=_Remote(), **kwargs).to_json() == baseline
    assert evalgap.audit(panel, max_memory=tight, executor=_Remote(), **kwargs).to_json() == (
        baseline
    )


def test_progress_reports_every_block():
    calls = []
    evalgap.audit(make_panel(), n_boot=2500, n_perm=0, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1000, 2500), (2000, 2500), (2500, 2500)]


def test_a_request_that_cannot_fit_is_refused_up_front():
    panel = make_panel()
    with pytest.raises(AnalysisError, match=r"need about .* TB of memory, over the .* budget"):
        evalgap.audit(panel, n_boot=10**12)
    with pytest.raises(AnalysisError, match=r"over the 1 MB budget"):
        evalgap.audit(panel, max_memory="1MB")
    with pytest.raises(EvalgapError, match="must be a memory size like"):
        evalgap.audit(panel, max_memory="plenty")


def test_memory_sizes():
    assert parse_memory("2GB") == 2 * 10**9
    assert parse_memory("500 MB") == 500 * 10**6
    assert parse_memory("1.5GiB") == int(1.5 * 2**30)
    assert parse_memory(123456) == 123456
    for bad in ("", "-1GB", "2 parsecs", "0"):
        with pytest.raises(EvalgapError):
            parse_memory(bad)


def test_estimate_grows_with_what_is_asked():
    small = audit_memory(26, 166, 12, 10_000, 10_000)
    assert audit_memory(26, 166, 12, 20_000, 10_000).minimum > small.minimum
    assert audit_memory(5000, 1000, 12, 1000, 1000).per_row > small.per_row
    # linear, not quadratic, in the number of models
    ratio = (
        audit_memory(20_000, 100, 12, 1000, 0).minimum
        / audit_memory(10_000, 100, 12, 1000, 0).minimum
    )
    assert ratio < 2.1

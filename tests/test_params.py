"""Shared parameter validation: one constraint, one message, for the API and the CLI."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pytest

import evalgap
from evalgap._memory import format_bytes, memory_budget
from evalgap._params import (
    BANDS,
    N_RESAMPLES,
    SEED,
    Interval,
    MemoryNeed,
    Options,
    StrOptions,
    check,
    check_memory,
    choices,
    constraints_of,
    describe,
    parse,
    resample_bytes,
)
from evalgap.errors import AnalysisError, ParameterError
from evalgap.stats import audit_memory
from synthetic_panels import make_panel


@pytest.mark.parametrize(
    ("constraints", "good", "bad"),
    [
        (SEED, [0, 2**32 - 1, np.int64(7)], [-1, 2**32, 1.5, True, "1", None]),
        (N_RESAMPLES, [0, 100, 10**9], [1, 99, -1, 100.0, float("nan")]),
        ([Interval(Real, 0, 1, closed="neither")], [0.5, 1e-9], [0, 1, float("nan"), np.inf]),
        ([Interval(Integral, 1, None), None], [None, 1, 5], [0, -3]),
        ([StrOptions(("a", "b"))], ["a"], ["c", 1, None]),
        (BANDS, [(0.4, 0.7), [0.1, 1.0]], [(0.7, 0.4), (0, 0.5), (0.4, 1.2), (0.4,), "0.4,0.7"]),
    ],
)
def test_constraints_accept_and_refuse(constraints, good, bad):
    for value in good:
        assert check("x", value, constraints) is value
    for value in bad:
        with pytest.raises(ParameterError, match=r"^x must be .*, got "):
            check("x", value, constraints)


def test_descriptions_read_as_words():
    assert describe(N_RESAMPLES) == "0 or an integer of at least 100"
    assert describe(SEED) == "an integer from 0 to 4294967295"
    assert str(Interval(Real, 0, 20, closed="right")) == "a number above 0 and at most 20"
    assert str(Options((0,))) == "0"
    assert choices([StrOptions(("bca", "percentile"))]) == ("bca", "percentile")


def test_command_line_text_is_parsed_by_the_same_constraints():
    assert parse("1e4", N_RESAMPLES, "--bootstrap") == 10_000
    assert parse("0", N_RESAMPLES, "--bootstrap") == 0
    assert parse("0.4, 0.7", BANDS, "--bands") == (0.4, 0.7)
    with pytest.raises(ParameterError) as exc:
        parse("-1", SEED, "--seed")
    assert exc.value.line() == "--seed must be an integer from 0 to 4294967295, got '-1'"
    with pytest.raises(ParameterError, match="got '1e400'"):
        parse("1e400", N_RESAMPLES, "--bootstrap")


def test_a_parameter_error_is_an_analysis_and_a_value_error():
    with pytest.raises(ParameterError) as exc:
        check("seed", -1, SEED)
    assert isinstance(exc.value, AnalysisError) and isinstance(exc.value, ValueError)
    assert exc.value.renamed("--seed").line().startswith("--seed must be")


def test_messages_show_plain_numbers_never_numpy_reprs():
    with pytest.raises(ParameterError) as exc:
        check("confidence_level", np.float64(1.5), [Interval(Real, 0, 1, closed="neither")])
    assert exc.value.line().endswith("got 1.5")


def test_public_functions_check_before_they_compute():
    panel = make_panel(n_models=12)
    cases = [
        (lambda: evalgap.audit(panel, seed=-1), "seed must be an integer from 0"),
        (lambda: evalgap.audit(panel, n_boot=50), "n_boot must be 0 or an integer of at least 100"),
        (lambda: evalgap.audit(panel, n_perm=-1), "n_perm must be an integer from 0 to 10000000"),
        (lambda: evalgap.audit(panel, confidence_level=1.0), "confidence_level must be a number"),
        (lambda: evalgap.audit(panel, bands=(0.7, 0.4)), "bands must be two numbers"),
        (lambda: evalgap.audit(panel, method="tau"), "method must be one of 'spearman'"),
        (lambda: evalgap.audit(panel, pca="svd"), "pca must be one of"),
        (lambda: evalgap.sensitivity(panel, n_boot=5), "n_boot must be 0 or"),
        (lambda: evalgap.sensitivity(panel, seed=2**40), "seed must be"),
        (lambda: evalgap.adjust(panel, confidence_level=0), "confidence_level must be"),
        (lambda: evalgap.capabilities_score(panel, pca="x"), "pca must be one of"),
        (lambda: evalgap.capabilities_score(panel, impute_rank=0), "impute_rank must be"),
    ]
    for call, message in cases:
        with pytest.raises(ParameterError, match=message):
            call()


def test_item_analysis_checks_its_parameters():
    rng = np.random.default_rng(0)
    x, cap = (rng.random((20, 12)) < 0.5).astype(float), rng.normal(size=20)
    for kwargs, message in [
        ({"folds": 1}, "folds must be an integer of at least 2"),
        ({"min_items": 1}, "min_items must be"),
        ({"target": 1.0}, "target must be a number at least 0 and below 1"),
        ({"reliability_floor": 1.0}, "reliability_floor must be"),
        ({"n_boot": 10**13}, "n_boot must be at most"),
        ({"seed": -5}, "seed must be"),
    ]:
        with pytest.raises(ParameterError, match=message):
            evalgap.item_analysis(x, cap, **kwargs)


def test_the_cli_reads_the_api_declarations():
    assert choices(constraints_of(evalgap.audit, "method")) == ("spearman", "pearson", "kendall")
    assert constraints_of(evalgap.audit, "n_boot") == N_RESAMPLES


# -- memory ------------------------------------------------------------------------------------


def test_resamples_over_the_memory_budget_are_refused_with_the_estimate(monkeypatch):
    monkeypatch.setenv("EVALGAP_MAX_MEMORY", "64MB")
    panel = make_panel(n_models=12)
    with pytest.raises(ParameterError) as exc:
        evalgap.audit(panel, n_boot=10**12, n_perm=0)
    line = exc.value.line()
    assert line.startswith("n_boot must be at most ")
    assert "12 models x" in line and "of memory, over the 64 MB budget (EVALGAP_MAX_MEMORY)" in line
    largest = int(line.split("at most ")[1].split()[0])
    # The largest allowed fits the budget with the audit's own estimate, one more does not.
    k, p = panel.scores.shape[1], len(panel.default_capabilities)
    assert audit_memory(12, k, p, largest, 0).minimum <= 64 * 10**6
    assert audit_memory(12, k, p, largest + 1, 0).minimum > 64 * 10**6
    # The argument beats the environment, and that is what the message names.
    with pytest.raises(ParameterError, match=r"over the 1 GB budget \(--max-memory"):
        evalgap.audit(panel, n_boot=10**12, n_perm=0, max_memory="1GB")


def test_memory_budget_precedence(monkeypatch):
    monkeypatch.setenv("EVALGAP_MAX_MEMORY", "1.5GiB")
    assert memory_budget() == (int(1.5 * 2**30), "EVALGAP_MAX_MEMORY")
    assert memory_budget("2GB")[0] == 2 * 10**9
    monkeypatch.setenv("EVALGAP_MAX_MEMORY", "2048")
    assert memory_budget()[0] == 2048
    monkeypatch.setenv("EVALGAP_MAX_MEMORY", "much")
    with pytest.raises(ParameterError, match="EVALGAP_MAX_MEMORY must be a memory size"):
        memory_budget()
    monkeypatch.delenv("EVALGAP_MAX_MEMORY")
    size, origin = memory_budget()
    assert size > 0 and origin.startswith("half of the memory available")


def test_estimates_grow_with_the_request():
    assert resample_bytes(0, 26, 178) == 0
    assert resample_bytes(20_000, 26, 178) > resample_bytes(10_000, 26, 178)
    assert format_bytes(1536) == "1.54 kB" and format_bytes(10) == "10 B"
    check_memory(MemoryNeed("n_boot", 0, lambda b: 10**30, "nothing"))  # 0 costs nothing

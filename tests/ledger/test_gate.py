"""The CI gate: a passing and a failing policy on the committed harness outputs, a
policy that audits a user's benchmark against a panel, ledger and saved-result inputs,
and one line with exit status 2 for every bad policy file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import evalgap
from claim_fixtures import CLEAN, FAULTY, write_user_benchmarks
from evalgap.cli import main
from evalgap.errors import InputError
from evalgap.ledger import gate, load_policy, policy_from_dict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "harness"


def _policy(tmp_path: Path, text: str, name: str = "gate.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _run(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- committed harness outputs ----------------------------------------------------------------

PASSING = f"""
[inputs]
logs = ["{FIXTURES}"]

[fail]
min_score = {{ tinysafe = 0.3, tinysafe_refusal = 0.5 }}
max_score = {{ tinysafe_parity = 0.9 }}
require = ["import"]
"""

FAILING = f"""
[inputs]
logs = ["{FIXTURES / "lmeval"}", "{FIXTURES / "inspect"}"]

[fail]
min_score = {{ tinysafe = 0.4, tinysafe_multi = 0.5 }}
"""


def test_a_passing_policy_exits_0(tmp_path, capsys):
    code, out, _ = _run(["gate", str(_policy(tmp_path, PASSING))], capsys)
    assert code == 0
    assert out.startswith("evalgap gate: PASS (0 of 4 rules failed")
    assert "min_score.tinysafe: 0 of 2 scores below 0.3" in out
    assert len(out.splitlines()) <= 25  # one screen


def test_a_failing_policy_exits_1_with_the_reason(tmp_path, capsys):
    code, out, _ = _run(["gate", str(_policy(tmp_path, FAILING))], capsys)
    assert code == 1
    assert out.startswith("evalgap gate: FAIL (1 of 2 rules failed")
    # lm-eval's dummy-a scored 6/18 on tinysafe: the one below the floor, with its interval
    assert "FAIL  min_score.tinysafe: 1 of 2 scores below 0.4" in out
    assert "evalgap-fixtures/dummy-a on tinysafe: score in the harness log 0.333" in out
    assert "pass  min_score.tinysafe_multi: 0 of 1 scores below 0.5" in out
    assert len(out.splitlines()) <= 25


def test_the_same_logs_given_on_the_command_line(tmp_path, capsys):
    policy = _policy(tmp_path, "[inputs]\n[fail]\nmin_score = { tinysafe = 0.4 }\n")
    code, out, _ = _run(["gate", str(policy), "--logs", str(FIXTURES / "lmeval")], capsys)
    assert code == 1
    code, out, _ = _run(
        ["gate", str(policy), "--logs", str(FIXTURES / "lmeval"), "--format", "json"], capsys
    )
    data = json.loads(out)
    assert data["passed"] is False
    assert data["checks"][0]["offending"][0]["model"] == "evalgap-fixtures/dummy-a"


def test_an_analysis_that_cannot_run_on_the_logs_fails_require(tmp_path, capsys, data_dir):
    """Two lm-eval models cannot be audited against a panel: the policy that requires
    the audit fails and says why; the audit's own rule is reported as not checked."""
    text = f"""
[inputs]
logs = ["{FIXTURES / "lmeval"}"]
panel = "safetywashing-2024:chat"
data_dir = "{data_dir}"

[fail]
tracks_capabilities = "moderate"
require = ["audit"]
"""
    code, out, _ = _run(["gate", str(_policy(tmp_path, text))], capsys)
    assert code == 1
    assert "pass  tracks_capabilities: not checked" in out
    assert "FAIL  require.audit: missing: none of your 2 models matched" in out


# -- a user's benchmark audited against a panel -------------------------------------------------


@pytest.fixture(scope="module")
def user_files(chat_panel, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gate-user")
    return write_user_benchmarks(chat_panel, folder)


def _user_policy(scores, info, data_dir, fail: str, claim: str = "") -> dict:
    text = f"""
[inputs]
logs = ["{scores}"]
panel = "safetywashing-2024:chat"
data_dir = "{data_dir}"
benchmark_info = "{info}"

[analyses]
bootstrap = 1000
permutations = 1000

[claim]
{claim}

[fail]
{fail}
"""
    import tomllib

    return tomllib.loads(text)


def test_the_gate_fails_on_planted_faults_and_passes_a_clean_model(user_files, data_dir):
    scores, info = user_files
    rules = 'tracks_capabilities = "moderate"\ninflation_q = 0.05\nsandbagging_q = 0.05'
    everyone = gate(policy_from_dict(_user_policy(scores, info, data_dir, rules)))
    assert not everyone.passed
    failed = {c.rule: c for c in everyone.failed}
    assert set(failed) == {"inflation_q", "sandbagging_q"}
    assert failed["inflation_q"].offending["model"].tolist() == [FAULTY]
    assert failed["sandbagging_q"].offending["benchmark"].tolist() == ["my_hazard"]
    clean = gate(
        policy_from_dict(_user_policy(scores, info, data_dir, rules, f'models = ["{CLEAN}"]'))
    )
    assert clean.passed, [c.detail for c in clean.failed]
    # without stand-ins, no dedicated inflation test ran: nothing to fail on
    lenient = gate(
        policy_from_dict(
            _user_policy(scores, info, data_dir, "inflation_q = 0.05\nstand_ins = false")
        )
    )
    assert lenient.passed and "not checked" in lenient.checks[0].detail


def test_the_gate_fails_a_benchmark_that_tracks_capabilities(user_files, data_dir):
    scores, info = user_files
    policy = policy_from_dict(
        _user_policy(
            scores,
            info,
            data_dir,
            'tracks_capabilities = "moderate"',
            'benchmarks = ["my_hazard"]\nhazard = []',
        )
    )
    outcome = gate(policy)
    assert [c.rule for c in outcome.failed] == ["tracks_capabilities"]
    bad = outcome.failed[0].offending
    assert set(bad["benchmark"]) == {"my_hazard"}
    assert set(bad["strength"]) == {"high"}


def test_the_gate_reads_a_ledger_run_and_saved_results(cards_ledger, tmp_path, capsys):
    db, saved = cards_ledger
    fail = f"""
[inputs]
ledger = "{db}"
ledger_run = "ckpt-2"

[fail]
inflation_q = 0.05
"""
    code, out, _ = _run(["gate", str(_policy(tmp_path, fail))], capsys)
    assert code == 1 and f"{FAULTY} on my_safety" in out
    ok = _policy(tmp_path, "[inputs]\n[fail]\nsandbagging_q = 0.05\n", "ok.toml")
    code, out, _ = _run(["gate", str(ok), "--results", str(saved)], capsys)
    assert code == 0, out


@pytest.fixture(scope="module")
def cards_ledger(user_files, chat_panel, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gate-ledger")
    scores, info = user_files
    panel = evalgap.attach_scores(
        chat_panel, [str(scores)], benchmark_info=evalgap.io.read_benchmark_info(info)
    ).panel
    clean = evalgap.claim(CLEAN, "my_safety", panel=panel, n_boot=500, n_perm=500)
    faulty = evalgap.claim(FAULTY, "my_safety", panel=panel, n_boot=500, n_perm=500)
    db = folder / "ledger.db"
    with evalgap.Ledger(db) as ledger:
        ledger.append(clean, label="ckpt-1")
        ledger.append(faulty, label="ckpt-2")
    saved = folder / "clean.json"
    saved.write_text(clean.to_json())
    return db, saved


# -- bad policy files ---------------------------------------------------------------------------

BAD = [
    ("[fail]\ninflation_q = 'x'\n", "key 'fail.inflation_q': expected a number between 0 and 1"),
    ("[fail]\ninflation_q = 1.5\n", "key 'fail.inflation_q': expected a number between 0 and 1"),
    ("[fail]\ninflatoin_q = 0.05\n", "key 'fail.inflatoin_q': unknown key (did you mean 'inflation_q'?)"),
    ("[fial]\ninflation_q = 0.05\n", "key 'fial': unknown section (did you mean 'fail'?)"),
    ("[fail]\ninflation_q = \n", "not valid TOML"),
    ("[inputs]\nlogs = ['x']\n", "key 'fail': no rule"),
    ("[fail]\ntracks_capabilities = 'strongly'\n", "key 'fail.tracks_capabilities': expected"),
    ("[fail]\nmin_score = { a = 'high' }\n", "key 'fail.min_score.a': expected a number"),
    ("[fail]\nrequire = ['astrology']\n", "key 'fail.require': unknown analysis 'astrology'"),
    ("[analyses]\nrun = ['items']\n[fail]\ninflation_q = 0.05\n", "key 'analyses.run': cannot run 'items'"),
    ("[analyses]\nbootstrap = 10\n[fail]\ninflation_q = 0.05\n", "key 'analyses.bootstrap': expected 0 or at least 100"),
    ("[inputs]\nlogs = 3\n[fail]\ninflation_q = 0.05\n", "key 'inputs.logs': expected a string or a list"),
    ("[inputs]\nledger_run = 'x'\n[fail]\ninflation_q = 0.05\n", "key 'inputs.ledger_run': goes with inputs.ledger"),
    ("fail = 3\n", "key 'fail': expected a table"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_policy_gets_one_line_and_exit_2(tmp_path, capsys, text, message):
    path = _policy(tmp_path, text, "bad.toml")
    code, out, err = _run(["gate", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"evalgap: error: {path}: ")
    assert message in err


def test_bad_inputs_named_by_a_policy_exit_2(tmp_path, capsys):
    missing = _policy(tmp_path, "[inputs]\nlogs = ['nowhere']\n[fail]\ninflation_q = 0.05\n")
    code, _, err = _run(["gate", str(missing)], capsys)
    assert code == 2 and "nowhere: harness logs: no such file or folder" in err
    nothing = _policy(tmp_path, "[fail]\ninflation_q = 0.05\n", "empty.toml")
    code, _, err = _run(["gate", str(nothing)], capsys)
    assert code == 2 and "nothing to read" in err
    code, _, err = _run(["gate", str(tmp_path / "absent.toml")], capsys)
    assert code == 2 and "absent.toml: no such policy file" in err
    no_run = _policy(
        tmp_path,
        f"[inputs]\nledger = '{tmp_path / 'l.db'}'\n[fail]\ninflation_q = 0.05\n",
        "ledger.toml",
    )
    code, _, err = _run(["gate", str(no_run)], capsys)
    assert code == 2 and "no such ledger" in err


def test_yaml_policies_need_pyyaml_or_work(tmp_path):
    path = _policy(tmp_path, "fail:\n  inflation_q: 0.05\n", "gate.yaml")
    try:
        import yaml  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="YAML policies need PyYAML"):
            load_policy(path)
    else:
        assert load_policy(path).rules == ["inflation_q"]

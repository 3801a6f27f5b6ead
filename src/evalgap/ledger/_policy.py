"""Gate policies: what a CI gate reads, runs and fails on, from a TOML (or YAML) file.

Every rule is written against columns of the evidence lines (``question``, ``strength``,
``indicates``, ``q_value``, ``estimate``, ``stand_in``), never against a verdict's
wording, so a policy keeps its meaning when an analysis rewords its verdicts.

A bad file gets one line naming the file, the key and the problem.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from evalgap.analyses import RESULT_TYPES
from evalgap.analyses.claim import ANALYSES, STRENGTHS
from evalgap.errors import InputError

__all__ = ["POLICY_KEYS", "Policy", "load_policy", "policy_from_dict"]

#: Section -> its keys (the policy file's whole vocabulary).
POLICY_KEYS: dict[str, tuple[str, ...]] = {
    "inputs": (
        "logs",
        "panel",
        "data_dir",
        "model_map",
        "benchmark_info",
        "metric",
        "results",
        "ledger",
        "ledger_run",
    ),
    "analyses": ("run", "fit", "bootstrap", "permutations", "confidence", "seed"),
    "claim": ("models", "benchmarks", "hazard"),
    "fail": (
        "tracks_capabilities",
        "inflation_q",
        "sandbagging_q",
        "less_safe_q",
        "stand_ins",
        "min_score",
        "max_score",
        "require",
    ),
}


@dataclass(frozen=True)
class Policy:
    """A parsed gate policy; paths are resolved against the policy file's folder.

    See the README's "CI gate" section for the file format.
    """

    source: str = "policy"
    # [inputs]
    logs: tuple[str, ...] = ()
    panel: str | None = None
    data_dir: str | None = None
    model_map: str | None = None
    benchmark_info: str | None = None
    metric: tuple[str, ...] = ()
    results: tuple[str, ...] = ()
    ledger: str | None = None
    ledger_run: str | None = None
    # [analyses]
    run: tuple[str, ...] = ANALYSES
    fit: str = "auto"
    bootstrap: int = 10_000
    permutations: int = 10_000
    confidence: float = 0.95
    seed: int = 0
    # [claim]
    models: tuple[str, ...] = ()
    benchmarks: tuple[str, ...] = ()
    hazard: tuple[str, ...] | None = None
    # [fail]
    tracks_capabilities: str | None = None
    inflation_q: float | None = None
    sandbagging_q: float | None = None
    less_safe_q: float | None = None
    stand_ins: bool = True
    min_score: dict[str, float] = field(default_factory=dict)
    max_score: dict[str, float] = field(default_factory=dict)
    require: tuple[str, ...] = ()

    @property
    def rules(self) -> list[str]:
        """The rule keys this policy sets, in the order they are checked."""
        out = []
        for key in ("tracks_capabilities", "inflation_q", "sandbagging_q", "less_safe_q"):
            if getattr(self, key) is not None:
                out.append(key)
        out.extend(f"min_score.{b}" for b in self.min_score)
        out.extend(f"max_score.{b}" for b in self.max_score)
        out.extend(f"require.{a}" for a in self.require)
        return out


class _Reader:
    """Typed access to one section, each error naming the file and ``section.key``."""

    def __init__(self, data: Mapping[str, Any], section: str, source: str, base: Path) -> None:
        self.data, self.section, self.source, self.base = data, section, source, base

    def fail(self, key: str, problem: str) -> InputError:
        return InputError(problem, source=self.source, where=f"key '{self.section}.{key}'")

    def has(self, key: str) -> bool:
        return key in self.data

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, f"expected a string or a list of strings, got {value!r}")
        return tuple(value)

    def paths(self, key: str) -> tuple[str, ...]:
        return tuple(
            str(self.base / p) if not Path(p).is_absolute() else p for p in self.strings(key)
        )

    def string(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value

    def path(self, key: str) -> str | None:
        value = self.string(key)
        if value is None or Path(value).is_absolute():
            return value
        return str(self.base / value)

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"expected a whole number of at least {minimum}, got {value!r}")
        return value

    def fraction(self, key: str, default: float | None) -> float | None:
        value = self.data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise self.fail(key, f"expected a number between 0 and 1, got {value!r}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def floors(self, key: str) -> dict[str, float]:
        value = self.data.get(key, {})
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a table of benchmark = number, got {value!r}")
        out = {}
        for bench, limit in value.items():
            if isinstance(limit, bool) or not isinstance(limit, int | float):
                raise self.fail(f"{key}.{bench}", f"expected a number, got {limit!r}")
            if not math.isfinite(limit):
                raise self.fail(f"{key}.{bench}", f"expected a finite number, got {limit!r}")
            out[str(bench)] = float(limit)
        return out


def _check_keys(data: Mapping[str, Any], source: str) -> None:
    for section, body in data.items():
        if section not in POLICY_KEYS:
            close = difflib.get_close_matches(str(section), list(POLICY_KEYS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(
                f"unknown section{hint}; known: {', '.join(POLICY_KEYS)}",
                source=source,
                where=f"key '{section}'",
            )
        if not isinstance(body, Mapping):
            raise InputError(
                f"expected a table ([{section}]), got {body!r}",
                source=source,
                where=f"key '{section}'",
            )
        for key in body:
            if key not in POLICY_KEYS[section]:
                close = difflib.get_close_matches(str(key), POLICY_KEYS[section], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise InputError(
                    f"unknown key{hint}; known: {', '.join(POLICY_KEYS[section])}",
                    source=source,
                    where=f"key '{section}.{key}'",
                )


def policy_from_dict(
    data: Mapping[str, Any],
    *,
    source: str = "policy",
    base: str | PathLike[str] = ".",
    require_rules: bool = True,
) -> Policy:
    """A :class:`Policy` from the parsed file (sections ``inputs``, ``analyses``,
    ``claim``, ``fail``); relative paths are taken from ``base``.

    Raises
    ------
    InputError
        An unknown section or key, a value of the wrong type, a policy with no rule or no
        input; one line naming the file, ``section.key`` and the problem.

    Examples
    --------
    >>> p = policy_from_dict({"inputs": {"results": ["audit.json"]},
    ...                       "fail": {"tracks_capabilities": "moderate"}})
    >>> p.rules
    ['tracks_capabilities']
    """
    _check_keys(data, source)
    folder = Path(base)

    def reader(section: str) -> _Reader:
        return _Reader(data.get(section, {}), section, source, folder)

    inputs, analyses, scope, fail = (reader(s) for s in ("inputs", "analyses", "claim", "fail"))
    run = analyses.strings("run") if analyses.has("run") else ANALYSES
    for name in run:
        if name not in ANALYSES:
            raise analyses.fail("run", f"cannot run {name!r}; known: {', '.join(ANALYSES)}")
    tracks = fail.data.get("tracks_capabilities")
    if tracks is False:
        tracks = None
    elif tracks is not None and tracks not in STRENGTHS[1:]:
        raise fail.fail(
            "tracks_capabilities", f"expected 'low', 'moderate', 'high' or false, got {tracks!r}"
        )
    require = fail.strings("require")
    known = {*RESULT_TYPES, "import"}
    for name in require:
        if name not in known:
            raise fail.fail(
                "require", f"unknown analysis {name!r}; known: {', '.join(sorted(known))}"
            )
    confidence = analyses.fraction("confidence", 0.95)
    fit = analyses.string("fit") or "auto"
    if fit not in ("auto", "linear", "monotone"):
        raise analyses.fail("fit", f"expected 'auto', 'linear' or 'monotone', got {fit!r}")
    policy = Policy(
        source=source,
        logs=inputs.paths("logs"),
        panel=inputs.string("panel"),
        data_dir=inputs.path("data_dir"),
        model_map=inputs.path("model_map"),
        benchmark_info=inputs.path("benchmark_info"),
        metric=inputs.strings("metric"),
        results=inputs.paths("results"),
        ledger=inputs.path("ledger"),
        ledger_run=inputs.string("ledger_run"),
        run=run,
        fit=fit,
        bootstrap=analyses.integer("bootstrap", 10_000),
        permutations=analyses.integer("permutations", 10_000),
        confidence=confidence if confidence is not None else 0.95,
        seed=analyses.integer("seed", 0),
        models=scope.strings("models"),
        benchmarks=scope.strings("benchmarks"),
        hazard=scope.strings("hazard") if scope.has("hazard") else None,
        tracks_capabilities=tracks,
        inflation_q=fail.fraction("inflation_q", None),
        sandbagging_q=fail.fraction("sandbagging_q", None),
        less_safe_q=fail.fraction("less_safe_q", None),
        stand_ins=fail.boolean("stand_ins", True),
        min_score=fail.floors("min_score"),
        max_score=fail.floors("max_score"),
        require=require,
    )
    if 0 < policy.bootstrap < 100:
        raise analyses.fail("bootstrap", f"expected 0 or at least 100, got {policy.bootstrap}")
    if policy.ledger_run and not policy.ledger:
        raise inputs.fail("ledger_run", "goes with inputs.ledger")
    if require_rules and not policy.rules:
        raise InputError(
            "no rule: set at least one of " + ", ".join(POLICY_KEYS["fail"]),
            source=source,
            where="key 'fail'",
        )
    return policy


def load_policy(path: str | PathLike[str], *, require_rules: bool = True) -> Policy:
    """Read a gate policy from a ``.toml`` file (or ``.yaml``/``.yml`` when PyYAML is
    installed; evalgap does not depend on it).

    ``require_rules=False`` accepts a policy without a ``[fail]`` rule (for
    :func:`~evalgap.ledger.watch`, which only runs and stores).

    Raises
    ------
    InputError
        No such file, not valid TOML/YAML, or a bad key (see :func:`policy_from_dict`).

    Examples
    --------
    >>> from evalgap.ledger import load_policy
    >>> load_policy("gate.toml").rules  # doctest: +SKIP
    ['tracks_capabilities', 'inflation_q', 'sandbagging_q']
    """
    file = Path(path)
    label = str(path)
    if not file.is_file():
        raise InputError("no such policy file", source=label)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("not a text file (expected a TOML policy)", source=label) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=label) from None
    if file.suffix.lower() in (".yaml", ".yml"):
        data = _yaml(text, label)
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"not valid TOML: {exc}", source=label) from None
    if not isinstance(data, Mapping):
        raise InputError("expected a table of sections at the top", source=label)
    return policy_from_dict(
        data, source=label, base=file.resolve().parent, require_rules=require_rules
    )


def _yaml(text: str, label: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        raise InputError(
            "YAML policies need PyYAML (pip install pyyaml); or write the policy as TOML",
            source=label,
        ) from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {' '.join(str(exc).split())}", source=label) from None

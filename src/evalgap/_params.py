"""Parameter constraints shared by the Python API and the command line.

In the style of scikit-learn's ``utils/_param_validation.py``: a public function declares
what each parameter accepts with :func:`validate_params`, a list of constraints of which
any one may hold (``None`` in the list allows ``None``). The command line derives its
``type=`` and ``choices=`` from the same declarations (:func:`constraints_of`,
:func:`parse`, :func:`choices`), so the two cannot drift apart. Every refusal is a
:class:`~evalgap.errors.ParameterError` with one message format::

    <name> must be <what is allowed>, got <value>

Resamples and permutations are also bounded by the memory they would need, which depends
on the data: a function passes ``memory=`` to :func:`validate_params` to estimate it from
its arguments, and a request over the budget (:func:`evalgap._memory.memory_budget`) is refused with the
estimate instead of failing later with a MemoryError.

This module is pure Python (no NumPy), so the command line can use it before anything
heavy is imported.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import PurePath
from typing import Any, TypeVar

from evalgap._memory import format_bytes, memory_budget
from evalgap.errors import ParameterError

__all__ = [
    "BANDS",
    "CONFIDENCE",
    "N_PERMUTATIONS",
    "N_RESAMPLES",
    "SEED",
    "TOP",
    "Bandwidth",
    "Constraint",
    "Interval",
    "MemoryNeed",
    "Numbers",
    "Options",
    "StrOptions",
    "Suffixes",
    "check",
    "check_memory",
    "choices",
    "constraints_of",
    "describe",
    "parse",
    "resample_bytes",
    "validate_params",
]

F = TypeVar("F", bound=Callable[..., Any])


def _show(value: Any) -> str:
    """A value as a message shows it: plain numbers (never a NumPy repr), quoted text."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        return f"{float(value):g}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return repr(value)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


class Constraint:
    """What a parameter may be. Subclasses say whether a value is accepted, describe the
    accepted values in words, and convert command-line text."""

    def accepts(self, value: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def parse(self, text: str) -> Any:
        """The value command-line ``text`` stands for (ValueError if it cannot be one)."""
        return text


class Interval(Constraint):
    """Numbers in an interval: ``Interval(Integral, 0, None)`` is a non-negative integer,
    ``Interval(Real, 0, 1, closed="neither")`` a number strictly between 0 and 1.

    NaN and infinities are never accepted, nor are booleans as integers.

    Examples
    --------
    >>> str(Interval(Integral, 0, 2**32 - 1))
    'an integer from 0 to 4294967295'
    >>> str(Interval(Real, 0, 1, closed="neither"))
    'a number above 0 and below 1'
    >>> Interval(Integral, 1, None).parse("1e4")
    10000
    """

    def __init__(
        self,
        kind: type,
        left: float | None,
        right: float | None,
        *,
        closed: str = "both",
    ) -> None:
        if kind not in (Integral, Real):
            raise TypeError("Interval kind must be numbers.Integral or numbers.Real")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed must be both, left, right or neither, got {closed!r}")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if not math.isfinite(value):
            return False
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self) -> str:
        what = "an integer" if self.kind is Integral else "a number"
        lo_in = self.closed in ("both", "left")
        hi_in = self.closed in ("both", "right")
        if self.left is not None and self.right is not None and lo_in and hi_in:
            return f"{what} from {_num(self.left)} to {_num(self.right)}"
        parts = []
        if self.left is not None:
            parts.append(f"{'at least' if lo_in else 'above'} {_num(self.left)}")
        if self.right is not None:
            parts.append(f"{'at most' if hi_in else 'below'} {_num(self.right)}")
        if not parts:
            return what
        joiner = " of " if self.kind is Integral and len(parts) == 1 else " "
        return what + joiner + " and ".join(parts)

    def parse(self, text: str) -> Any:
        text = text.strip().replace("_", "")
        if self.kind is Integral:
            try:
                return int(text)
            except ValueError:
                number = float(text)  # 1e4 is an integer written as a float
                if not math.isfinite(number) or not number.is_integer():
                    raise ValueError(text) from None
                return int(number)
        return float(text)


class Options(Constraint):
    """A few allowed values, e.g. ``Options({0})`` (0 turns resampling off)."""

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = tuple(values)

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return any(v is value for v in self.values)
        try:
            return any(value == v and not isinstance(v, bool) for v in self.values)
        except (TypeError, ValueError):
            return False

    def __str__(self) -> str:
        return " or ".join(_show(v) for v in self.values)

    def parse(self, text: str) -> Any:
        for v in self.values:
            kind = type(v)
            try:
                if kind(text) == v:
                    return v
            except (TypeError, ValueError):
                continue
        raise ValueError(text)


class StrOptions(Options):
    """One of a few strings (``choices`` on the command line).

    Examples
    --------
    >>> str(StrOptions(("bca", "percentile")))
    "one of 'bca', 'percentile'"
    """

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def parse(self, text: str) -> Any:
        if text not in self.values:
            raise ValueError(text)
        return text


class Bandwidth(Constraint):
    """Verdict bands: a pair ``(moderate, high)`` with ``0 < moderate < high <= 1``, or an
    object with ``moderate`` and ``high`` attributes (:class:`evalgap.Bands`). The command
    line writes them ``0.4,0.7``.

    Examples
    --------
    >>> BANDS.parse("0.4,0.7")
    (0.4, 0.7)
    >>> BANDS.accepts((0.7, 0.4))
    False
    """

    def accepts(self, value: Any) -> bool:
        if hasattr(value, "moderate") and hasattr(value, "high"):
            value = (value.moderate, value.high)
        if not isinstance(value, tuple | list) or len(value) != 2:
            return False
        moderate, high = value
        real = Interval(Real, 0, 1, closed="right")
        return real.accepts(moderate) and real.accepts(high) and moderate < high

    def __str__(self) -> str:
        return "two numbers 0 < moderate < high <= 1, like 0.4,0.7"

    def parse(self, text: str) -> Any:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2:
            raise ValueError(text)
        return (float(parts[0]), float(parts[1]))


class Suffixes(Constraint):
    """A file name ending in one of a few suffixes (case does not matter).

    Examples
    --------
    >>> Suffixes((".json", ".csv")).accepts("out.JSON")
    True
    >>> str(Suffixes((".json", ".csv")))
    'a file name ending in .json or .csv'
    """

    def __init__(self, suffixes: Sequence[str]) -> None:
        self.suffixes = tuple(s.lower() for s in suffixes)

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, str | os.PathLike):
            return False
        return PurePath(os.fspath(value)).suffix.lower() in self.suffixes

    def __str__(self) -> str:
        shown = list(self.suffixes)
        text = ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]
        return f"a file name ending in {text}"


class Numbers(Constraint):
    """A non-empty list of numbers, each accepted by ``item``; the command line writes them
    ``0.01,0.02,0.03``.

    Examples
    --------
    >>> grid = Numbers(Interval(Real, 0, None))
    >>> grid.parse("0.01, 0.02"), grid.accepts([0.01, -1.0]), grid.accepts("0.01")
    ([0.01, 0.02], False, False)
    >>> str(grid)
    'one or more numbers, each a number at least 0'
    """

    def __init__(self, item: Interval) -> None:
        self.item = item

    def accepts(self, value: Any) -> bool:
        if isinstance(value, str | bytes) or isinstance(value, Mapping):
            return False
        try:
            values = list(value)
        except TypeError:
            return False
        return bool(values) and all(self.item.accepts(v) for v in values)

    def __str__(self) -> str:
        return f"one or more numbers, each {self.item}"

    def parse(self, text: str) -> Any:
        return [self.item.parse(part) for part in text.split(",") if part.strip()]


# -- shared declarations ------------------------------------------------------------------

#: Seeds: what numpy's SeedSequence takes as one 32-bit word. Larger integers would work
#: in NumPy too, but one plain range is easier to state and to remember.
SEED = [Interval(Integral, 0, 2**32 - 1)]
#: Bootstrap resamples: 0 turns the bootstrap off; below 100 an interval is mostly noise
#: (too few resamples for its tails). The upper bound comes from memory: each analysis's
#: estimate, checked against the one budget before it runs.
N_RESAMPLES = [Options((0,)), Interval(Integral, 100, None)]
#: Permutations: 0 turns them off. They run in chunks, so memory does not bound them;
#: time does. 10 million resolve p-values down to 1e-7, far below what a correction over
#: a few hundred benchmarks needs, and take minutes on a large panel; more only burn time.
N_PERMUTATIONS = [Interval(Integral, 0, 10**7)]
#: Coverage of an interval.
CONFIDENCE = [Interval(Real, 0, 1, closed="neither")]
#: Verdict cut-offs on |rho|.
BANDS = Bandwidth()
#: Rows shown by a terminal table (``--top``): None shows all.
TOP = [Interval(Integral, 1, None), None]


def describe(constraints: Sequence[Constraint | None] | Constraint) -> str:
    """The accepted values in words: ``0 or an integer of at least 100``."""
    items = [constraints] if isinstance(constraints, Constraint) else list(constraints)
    words = [str(c) for c in items if c is not None]
    if any(c is None for c in items):
        words.append("None")
    return " or ".join(words)


def check(name: str, value: Any, constraints: Sequence[Constraint | None] | Constraint) -> Any:
    """Return ``value`` if one of ``constraints`` accepts it; else raise
    :class:`ParameterError` (``<name> must be <...>, got <value>``).

    Examples
    --------
    >>> check("seed", -1, SEED)
    Traceback (most recent call last):
    ...
    evalgap.errors.ParameterError: seed must be an integer from 0 to 4294967295, got -1
    """
    items = [constraints] if isinstance(constraints, Constraint) else list(constraints)
    for c in items:
        if (c is None and value is None) or (c is not None and c.accepts(value)):
            return value
    raise ParameterError(name, f"must be {describe(items)}, got {_show(value)}")


def parse(text: str, constraints: Sequence[Constraint | None] | Constraint, name: str) -> Any:
    """Command-line ``text`` as a value one of ``constraints`` accepts, or a
    :class:`ParameterError` in the common format (``got`` shows the text as typed)."""
    items = [constraints] if isinstance(constraints, Constraint) else list(constraints)
    for c in items:
        if c is None:
            continue
        try:
            value = c.parse(text)
        except (ValueError, OverflowError):
            continue
        if c.accepts(value):
            return value
    typed = [c for c in items if c is not None]  # None cannot be typed on a command line
    raise ParameterError(name, f"must be {describe(typed)}, got {text!r}")


def choices(constraints: Sequence[Constraint | None] | Constraint) -> tuple[str, ...] | None:
    """The strings a :class:`StrOptions` constraint allows (argparse ``choices``)."""
    items = [constraints] if isinstance(constraints, Constraint) else list(constraints)
    for c in items:
        if isinstance(c, StrOptions):
            return tuple(str(v) for v in c.values)
    return None


# -- memory ---------------------------------------------------------------------------------
# What a parameter's value would hold in memory, checked against the one budget
# (evalgap._memory) before the function runs.


def resample_bytes(
    n_resamples: int,
    n_models: int,
    n_columns: int,
    *,
    replicates: int = 3,
    chunk: int = 1000,
) -> int:
    """About how many bytes a bootstrap of ``n_resamples`` over ``n_models`` holds at once.

    The (B, n) resample counts (drawn as int64, kept as float64), ``replicates`` (B, k)
    float64 arrays of replicate statistics over ``n_columns`` columns, and the working set
    of one chunk of resamples (a few (chunk, n, k) float64 arrays). Checked against a
    tracemalloc peak on the Safetywashing and observational-scaling panels: within a
    factor of 2, never under.
    """
    b, n, k = int(n_resamples), int(n_models), max(int(n_columns), 1)
    return 16 * b * n + 8 * b * k * replicates + 32 * min(b, chunk) * n * k


@dataclass(frozen=True)
class MemoryNeed:
    """What one parameter's value would cost: ``bytes_for(value)`` and what it is spent on
    (``"26 models x 178 benchmarks"``)."""

    param: str
    value: int
    bytes_for: Callable[[int], int]
    what: str


def check_memory(need: MemoryNeed, max_memory: str | int | float | None = None) -> None:
    """Refuse ``need.value`` when its estimate is over the budget (:func:`memory_budget`
    with ``max_memory``), with the largest value that fits and the estimate in the message."""
    value = int(need.value)
    if value <= 0:
        return
    budget, origin = memory_budget(max_memory)
    estimate = need.bytes_for(value)
    if estimate <= budget:
        return
    over = f"over the {format_bytes(budget)} budget ({origin})"
    if need.bytes_for(0) > budget:
        raise ParameterError(
            need.param,
            f"cannot be met: {need.what} needs about {format_bytes(need.bytes_for(0))} of memory "
            f"before any resampling, {over}",
        )
    lo, hi = 0, value  # the largest value within budget, by bisection (bytes_for grows)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if need.bytes_for(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    raise ParameterError(
        need.param,
        f"must be at most {lo} here, got {_num(value)}: that many for {need.what} would need about "
        f"{format_bytes(estimate)} of memory, {over}",
    )


# -- the decorator ----------------------------------------------------------------------------


def validate_params(
    constraints: Mapping[str, Sequence[Constraint | None] | Constraint],
    *,
    memory: Callable[[Mapping[str, Any]], Iterable[MemoryNeed]] | None = None,
) -> Callable[[F], F]:
    """Check a public function's arguments before its body runs.

    Parameters
    ----------
    constraints
        ``{parameter name: constraints}``; a value passes if any one accepts it.
    memory
        Called with the bound arguments (defaults applied) after the constraints pass;
        returns what resampling would cost, checked with :func:`check_memory`. It may
        return nothing when the arguments are not what it can size (the body then raises
        its own error).

    Examples
    --------
    >>> @validate_params({"n": [Interval(Integral, 1, None)]})
    ... def f(n=1):
    ...     return n
    >>> f(0)
    Traceback (most recent call last):
    ...
    evalgap.errors.ParameterError: n must be an integer of at least 1, got 0
    """

    def decorate(func: F) -> F:
        sig = inspect.signature(func)
        unknown = set(constraints) - set(sig.parameters)
        if unknown:
            raise TypeError(f"{func.__name__} has no parameter {sorted(unknown)[0]!r}")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError:
                return func(*args, **kwargs)  # the call's own TypeError
            bound.apply_defaults()
            for name, allowed in constraints.items():
                check(name, bound.arguments[name], allowed)
            if memory is not None:
                for need in memory(bound.arguments):
                    check_memory(need, bound.arguments.get("max_memory"))
            return func(*args, **kwargs)

        wrapper.__evalgap_params__ = dict(constraints)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def constraints_of(func: Callable[..., Any], name: str) -> Sequence[Constraint | None]:
    """The constraints ``func`` declares for parameter ``name`` (for the command line)."""
    declared = getattr(func, "__evalgap_params__", {})
    if name not in declared:
        raise KeyError(f"{getattr(func, '__name__', func)} declares no constraint for {name!r}")
    allowed = declared[name]
    return [allowed] if isinstance(allowed, Constraint) else list(allowed)

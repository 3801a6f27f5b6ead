"""What every harness reader returns, and the careful file access they share.

A reader turns one harness output (a results file, a log, a run folder) into
:class:`Run` objects: one model on one benchmark, with every aggregate metric the harness
reported, the metric the harness itself declares as the headline (if it declares one) and
per-item scores where the harness logged them. :func:`evalgap.io.import_results` then picks
each run's headline metric, resolves duplicate runs and builds the long tables.

The file helpers here never load a file whole without checking its size first, stream
JSON arrays element by element, and turn every problem into a one-line
:class:`~evalgap.errors.InputError` naming the file and the place in it.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import IO, Any

from evalgap.errors import InputError

__all__ = [
    "ITEM_COLUMNS",
    "MAX_JSON_BYTES",
    "SKIP_NOTE",
    "MetricChoice",
    "MetricValue",
    "Run",
    "check_text_file",
    "iter_json_array",
    "iter_jsonl",
    "load_json",
    "parse_time",
    "scan_json_object",
    "to_float",
]

#: Columns of per-item records: one row per model, benchmark and item.
ITEM_COLUMNS = ("model", "benchmark", "item", "score")

#: Reader notes that start with this go to the import's ``skipped`` table, not warnings.
SKIP_NOTE = "left out: "

#: Largest JSON file (or single JSON value inside a streamed file) read into memory.
MAX_JSON_BYTES = 256 * 1024**2

_Path = str | PathLike[str]


@dataclass(frozen=True)
class MetricValue:
    """One aggregate metric of a run, as the harness reported it."""

    score: float
    stderr: float = math.nan
    n: float = math.nan
    higher_is_better: bool | None = None


@dataclass
class Run:
    """One model evaluated on one benchmark, read from one harness output.

    Attributes
    ----------
    model
        Model id as the harness names it (``meta-llama/Meta-Llama-3-8B-Instruct``).
    benchmark
        Benchmark id (lm-eval task, Inspect task, HELM scenario, leaderboard column).
    source
        The file or folder it was read from.
    format
        The reader's name (``lm-eval``, ``inspect``, ``helm``, ...).
    metrics
        Every aggregate metric reported, by the name evalgap gives it.
    declared
        The headline metric the harness itself declares, if it declares one.
    declared_by
        Where the declaration comes from (``"schema.json"``, ``"results.headline"``).
    timestamp
        When the run happened (seconds since the epoch, UTC), if the output says.
    items
        Per-item scores by metric name: lists of ``(item id, score)``.
    notes
        Remarks for the import report (partial runs, odd values).
    role
        ``task`` or ``group`` (lm-eval groups), ``subtask`` (a task inside a group).
    order
        Metric names in the order the harness wrote them.
    ambiguous
        True when ``declared`` is only a fallback among several candidates (an Inspect
        log with several scorers and no declared headline).
    alias
        A shorter benchmark id to use when it is unambiguous across an import (HELM's
        scenario name ``bbq`` for ``bbq:subject=all,method=multiple_choice_joint``).
    members
        For an lm-eval group: its leaf tasks (groups inside it expanded), whose per-item
        scores together are the group's.
    """

    model: str
    benchmark: str
    source: str
    format: str
    metrics: dict[str, MetricValue]
    declared: str | None = None
    declared_by: str = ""
    timestamp: float | None = None
    items: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    role: str = "task"
    order: tuple[str, ...] = ()
    ambiguous: bool = False
    alias: str | None = None
    members: tuple[str, ...] = ()

    def metric_names(self) -> list[str]:
        """Metric names in the order the harness wrote them."""
        return list(self.order) if self.order else list(self.metrics)


@dataclass(frozen=True)
class MetricChoice:
    """Which metric is each benchmark's headline score, as the user asked.

    ``per_benchmark`` maps a benchmark id to a metric name; ``default`` applies to every
    benchmark that has a metric of that name and is not named in ``per_benchmark``.

    Examples
    --------
    >>> MetricChoice.parse(["acc_norm", "gsm8k=exact_match,flexible-extract"])
    MetricChoice(default='acc_norm', per_benchmark={'gsm8k': 'exact_match,flexible-extract'})
    """

    default: str | None = None
    per_benchmark: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, spec: str | Mapping[str, str] | list[str] | tuple[str, ...] | None
    ) -> MetricChoice:
        """Read ``None``, one metric name, a ``{benchmark: metric}`` mapping or a list of
        ``metric`` / ``benchmark=metric`` strings (the ``--metric`` syntax)."""
        if spec is None:
            return cls()
        if isinstance(spec, MetricChoice):
            return spec
        if isinstance(spec, Mapping):
            per = {str(k).strip(): str(v).strip() for k, v in spec.items()}
            default = per.pop("*", None)
            return cls(default=default, per_benchmark=per)
        items = [spec] if isinstance(spec, str) else list(spec)
        default: str | None = None
        per: dict[str, str] = {}
        for raw in items:
            text = str(raw).strip()
            if "=" in text:
                bench, _, metric = text.partition("=")
                bench, metric = bench.strip(), metric.strip()
                if not bench or not metric:
                    raise InputError(f"expected BENCHMARK=METRIC, got {text!r}", source="--metric")
                if bench in per and per[bench] != metric:
                    raise InputError(
                        f"two metrics for benchmark {bench!r}: {per[bench]!r} and {metric!r}",
                        source="--metric",
                    )
                per[bench] = metric
            else:
                if not text:
                    raise InputError("empty metric name", source="--metric")
                if default is not None and default != text:
                    raise InputError(
                        f"two default metrics {default!r} and {text!r}; name the benchmark "
                        "for one of them (BENCHMARK=METRIC)",
                        source="--metric",
                    )
                default = text
        return cls(default=default, per_benchmark=per)

    def for_benchmark(self, benchmark: str) -> tuple[str | None, str]:
        """The metric asked for ``benchmark`` and how (``"per-benchmark"``,
        ``"default"`` or ``""`` when none was asked)."""
        if benchmark in self.per_benchmark:
            return self.per_benchmark[benchmark], "per-benchmark"
        if self.default is not None:
            return self.default, "default"
        return None, ""


# -- values ---------------------------------------------------------------------------


def to_float(value: Any) -> float | None:
    """A finite or NaN float from a JSON number, a numeric string or ``"N/A"``;
    ``None`` for anything else (lists, objects, words)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("n/a", "na", "nan", "none", "null", ""):
            return math.nan
        try:
            return float(text)
        except ValueError:
            return None
    if value is None:
        return math.nan
    return None


_TS_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2})[-:](\d{2})[-:](\d{2})(\.\d+)?")


def parse_time(value: Any) -> float | None:
    """Seconds since the epoch (UTC) from a Unix time, an ISO 8601 string or a
    harness file-name stamp (``2024-08-21T03-44-09.494230``); ``None`` if unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) and value > 0 else None
    text = str(value).strip()
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        m = _TS_IN_NAME.search(text)
        if not m:
            return None
        date, hh, mm, ss, frac = m.groups()
        try:
            stamp = datetime.fromisoformat(f"{date}T{hh}:{mm}:{ss}{frac or ''}")
        except ValueError:
            return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


# -- files ----------------------------------------------------------------------------


def _size_text(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def check_text_file(
    path: Path, *, max_bytes: int | None = MAX_JSON_BYTES, what: str = "file"
) -> int:
    """Check that ``path`` is a non-empty text file no larger than ``max_bytes``
    (``None``: any size) whose first 64 KiB hold no NUL byte; returns its size.

    A sparse or binary file is rejected from its first block, without reading the rest.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", source=path) from None
    if size == 0:
        raise InputError(f"empty {what}", source=path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if b"\x00" in head:
        raise InputError(
            f"binary data (NUL bytes) in its first {_size_text(len(head))}; expected a text {what}",
            source=path,
        )
    if max_bytes is not None and size > max_bytes:
        raise InputError(
            f"{_size_text(size)}, larger than the {_size_text(max_bytes)} a {what} may be",
            source=path,
        )
    return size


def load_json(path: Path, *, what: str = "JSON file", max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse a whole JSON file after checking its size; errors name the line."""
    check_text_file(path, max_bytes=max_bytes, what=what)
    return loads_json(path.read_bytes(), source=path)


def loads_json(data: bytes, *, source: _Path, where: str | None = None) -> Any:
    """Parse JSON bytes, turning any failure into a one-line :class:`InputError`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=source, where=where) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        place = f"line {exc.lineno}" if where is None else f"{where}, line {exc.lineno}"
        hint = " (truncated?)" if exc.pos >= len(text.rstrip()) else ""
        raise InputError(f"invalid JSON: {exc.msg}{hint}", source=source, where=place) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", source=source, where=where) from None


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, value)`` for each non-empty line of a JSON Lines file,
    reading one line at a time. A line over :data:`MAX_JSON_BYTES` is an error."""
    check_text_file(path, max_bytes=None, what="JSON Lines file")
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(_bounded_lines(fh, path), start=1):
            if not raw.strip():
                continue
            yield lineno, loads_json(raw, source=path, where=f"line {lineno}")


def _bounded_lines(fh: IO[bytes], path: Path) -> Iterator[bytes]:
    lineno = 0
    while True:
        line = fh.readline(MAX_JSON_BYTES + 1)
        if not line:
            return
        lineno += 1
        if len(line) > MAX_JSON_BYTES and not line.endswith(b"\n"):
            raise InputError(
                f"a line longer than {_size_text(MAX_JSON_BYTES)}",
                source=path,
                where=f"line {lineno}",
            )
        yield line


# -- streaming JSON -------------------------------------------------------------------

_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
_CHUNK = 1 << 20


class _JsonStream:
    """Reads a JSON document from a text stream one value at a time.

    Values are decoded with the standard library's decoder from a buffer that grows (by
    doubling, so the work stays linear) until the value is complete; no single value may
    exceed ``max_value`` characters.
    """

    def __init__(self, fh: IO[str], source: _Path, max_value: int = MAX_JSON_BYTES) -> None:
        self.fh, self.source, self.max_value = fh, source, max_value
        self.buf, self.pos, self.eof = "", 0, False
        self.line_base = 1  # line number of buf[0]

    def _fill(self, want: int) -> bool:
        chunk = self.fh.read(max(want, _CHUNK))
        if not chunk:
            self.eof = True
            return False
        dropped = self.buf[: self.pos]
        self.line_base += dropped.count("\n")
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def line(self, pos: int | None = None) -> int:
        pos = self.pos if pos is None else pos
        return self.line_base + self.buf.count("\n", 0, pos)

    def peek(self) -> str:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill(0):
                return ""

    def expect(self, chars: str, what: str) -> str:
        ch = self.peek()
        if not ch:
            raise InputError(
                f"invalid JSON: ended early, expected {what} (truncated?)",
                source=self.source,
                where=f"line {self.line()}",
            )
        if ch not in chars:
            raise InputError(
                f"invalid JSON: expected {what}, got {ch!r}",
                source=self.source,
                where=f"line {self.line()}",
            )
        self.pos += 1
        return ch

    def value(self, where: str = "") -> Any:
        self.peek()
        while True:
            try:
                val, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof:
                    raise InputError(
                        f"invalid JSON: {exc.msg}"
                        + (" (truncated?)" if exc.pos >= len(self.buf.rstrip()) else ""),
                        source=self.source,
                        where=f"{where + ', ' if where else ''}line {self.line(exc.pos)}",
                    ) from None
            except RecursionError:
                raise InputError(
                    "JSON nested too deeply", source=self.source, where=where or None
                ) from None
            else:
                # A number at the very end of the buffer may continue in the next chunk.
                if end < len(self.buf) or self.eof:
                    self.pos = end
                    return val
            pending = len(self.buf) - self.pos
            if pending > self.max_value:
                raise InputError(
                    f"a single JSON value larger than {_size_text(self.max_value)}",
                    source=self.source,
                    where=f"{where + ', ' if where else ''}line {self.line()}",
                )
            self._fill(pending)

    def array(self, on_item: Callable[[int, Any], None], where: str) -> int:
        self.expect("[", "'['")
        count = 0
        if self.peek() == "]":
            self.pos += 1
            return 0
        while True:
            on_item(count, self.value(f"{where}[{count}]"))
            count += 1
            if self.expect(",]", "',' or ']'") == "]":
                return count


def _open_text(path: Path) -> IO[str]:
    return io.TextIOWrapper(open(path, "rb"), encoding="utf-8-sig", errors="strict")


def iter_json_array(
    path: Path, on_item: Callable[[int, Any], None], *, what: str = "JSON file"
) -> int:
    """Stream a file holding one JSON array, calling ``on_item(index, value)`` for each
    element; returns the number of elements. Memory holds one element at a time."""
    check_text_file(path, max_bytes=None, what=what)
    with _open_text(path) as fh:
        stream = _JsonStream(fh, path)
        try:
            count = stream.array(on_item, where="element")
            if stream.peek():
                raise InputError(
                    "invalid JSON: extra data after the array",
                    source=path,
                    where=f"line {stream.line()}",
                )
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (byte {exc.start})", source=path) from None
    return count


def scan_json_object(
    path: Path,
    *,
    stream: Mapping[str, Callable[[int, Any], None]] | None = None,
    skip: frozenset[str] = frozenset(),
    what: str = "JSON file",
) -> dict[str, Any]:
    """Read a file holding one JSON object member by member.

    Members named in ``stream`` must be arrays: their elements are passed one at a time to
    the given callback and never held together. Array members named in ``skip`` are read
    and dropped element by element. Every other member is returned in a dict; none may be
    larger than :data:`MAX_JSON_BYTES`.
    """
    check_text_file(path, max_bytes=None, what=what)
    stream = dict(stream or {})
    out: dict[str, Any] = {}
    with _open_text(path) as fh:
        js = _JsonStream(fh, path)
        try:
            js.expect("{", "a JSON object ('{')")
            if js.peek() == "}":
                js.pos += 1
                return out
            while True:
                key = js.value("object key")
                if not isinstance(key, str):
                    raise InputError(
                        "invalid JSON: object key is not a string",
                        source=path,
                        where=f"line {js.line()}",
                    )
                js.expect(":", "':'")
                if key in stream and js.peek() == "[":
                    js.array(stream[key], where=key)
                elif key in skip and js.peek() == "[":
                    js.array(lambda _i, _v: None, where=key)
                else:
                    out[key] = js.value(key)
                if js.expect(",}", "',' or '}'") == "}":
                    break
            if js.peek():
                raise InputError(
                    "invalid JSON: extra data after the object",
                    source=path,
                    where=f"line {js.line()}",
                )
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (byte {exc.start})", source=path) from None
    return out


def sniff_head(path: Path, n: int = 1 << 14) -> str:
    """The first ``n`` bytes of a file as text (undecodable bytes replaced)."""
    with open(path, "rb") as fh:
        return fh.read(n).decode("utf-8", errors="replace")

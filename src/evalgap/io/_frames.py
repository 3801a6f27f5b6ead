"""Reading a tabular file into a DataFrame of text cells, with errors that name the file."""

from __future__ import annotations

import csv
import hashlib
import json
from os import PathLike
from pathlib import Path

import pandas as pd

from evalgap.errors import InputError

__all__ = ["file_sha256", "read_frame", "to_number_column"]

_TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": None}
_NA_TEXT = {"", "na", "n/a", "nan", "null", "none", "-", "--"}


def file_sha256(path: str | PathLike[str], chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes, read in chunks so large files are streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError("no such file", source=path)
    if path.is_dir():
        raise InputError("is a folder, expected a file", source=path)
    if path.stat().st_size == 0:
        raise InputError("empty file", source=path)


def read_frame(path: str | PathLike[str]) -> pd.DataFrame:
    """Read CSV, TSV, parquet, JSON (array of objects) or JSON Lines into a DataFrame.

    Text formats are read with every cell as a string (or None for an empty cell) so
    callers can report the exact row and column of a bad value; row labels are the
    1-based line numbers of the file. Parquet keeps its own types.

    Raises
    ------
    InputError
        Missing or empty file, unreadable bytes, ragged rows, or no header.
    """
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet" or suffix == ".pq":
        return _read_parquet(path)
    if suffix in (".json", ".jsonl", ".ndjson"):
        return _read_json(path)
    return _read_delimited(path, _TEXT_SUFFIXES.get(suffix))


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises many types for bad files
        raise InputError(
            f"not a readable parquet file ({type(exc).__name__})", source=path
        ) from None
    frame = table.to_pandas()
    if frame.empty and len(frame.columns) == 0:
        raise InputError("parquet file has no columns", source=path)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _read_json(path: Path) -> pd.DataFrame:
    _reject_binary(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=path) from None
    records: list[object]
    stripped = text.lstrip()
    if path.suffix.lower() in (".jsonl", ".ndjson") or not stripped.startswith("["):
        records = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"invalid JSON ({exc.msg})", source=path, where=f"line {lineno}"
                ) from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON ({exc.msg})", source=path, where=f"line {exc.lineno}"
            ) from None
        records = list(data)
    for pos, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise InputError("expected an object per record", source=path, where=f"record {pos}")
    if not records:
        raise InputError("no records", source=path)
    frame = pd.DataFrame.from_records(records)
    frame = frame.astype(object).where(frame.notna(), None)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _reject_binary(path: Path) -> None:
    # Look before reading the whole file, so a huge binary or sparse file fails at once.
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if b"\x00" in head:
        raise InputError("binary data (NUL bytes), expected a text table", source=path)


def _read_delimited(path: Path, sep: str | None) -> pd.DataFrame:
    _reject_binary(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=path) from None
    if not text.strip():
        raise InputError("empty file", source=path)
    if sep is None:
        try:
            sep = csv.Sniffer().sniff(text[:4096], delimiters=",\t;").delimiter
        except csv.Error:
            sep = ","
    rows = list(csv.reader(text.splitlines(), delimiter=sep))
    # Line numbers in messages count physical lines; quoted newlines are rare in score
    # tables and would only shift the reported number.
    numbered = [(i, r) for i, r in enumerate(rows, start=1) if any(c.strip() for c in r)]
    if not numbered:
        raise InputError("empty file", source=path)
    (_, header), body = numbered[0], numbered[1:]
    header = [h.strip() for h in header]
    if not body:
        raise InputError("a header but no data rows", source=path)
    for lineno, row in body:
        if len(row) != len(header):
            raise InputError(
                f"expected {len(header)} fields as in the header, got {len(row)}",
                source=path,
                where=f"line {lineno}",
            )
    cells = [[None if c.strip().lower() in _NA_TEXT else c.strip() for c in r] for _, r in body]
    frame = pd.DataFrame(cells, columns=header, index=[ln for ln, _ in body], dtype=object)
    return frame


def to_number_column(
    values: pd.Series, *, source: str | PathLike[str], column: str, what: str = "row"
) -> pd.Series:
    """Convert a column of text cells to float, naming the first cell that is not a number.

    The series index is taken to be the file's line (or record) numbers.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    converted = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & converted.isna()
    if bad.any():
        pos = bad.index[bad.to_numpy().argmax()]
        raise InputError(
            f"expected a number, got {values[pos]!r}",
            source=source,
            where=f"{'line' if what == 'row' else what} {pos}, column {column!r}",
        )
    return converted.astype(float)

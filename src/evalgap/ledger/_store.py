"""The ledger: an append-only store of results in one SQLite file.

Why SQLite: it ships with Python (no dependency), one file holds everything, and its
write-ahead log lets any number of processes read while one writes, with writers taking
turns through a lock, so two processes appending at once both land. Each append is one
transaction (the run and all its rows, or nothing): a process killed mid-append leaves
the last committed state, readable. DuckDB would make the analytical queries faster but
allows a database file to be opened for writing by one process at a time, so a second
concurrent appender fails instead of waiting.

Durability: ``synchronous=NORMAL`` in WAL mode survives the death of the writing process
(the case the tests kill for); a power cut can lose the last few commits but never
corrupts the file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time as _time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from evalgap.analyses import load_result, result_type
from evalgap.analyses.claim import HistoryResult, history_of
from evalgap.errors import InputError
from evalgap.ledger._rows import ROW_COLUMNS, result_rows
from evalgap.ledger._schema import FORMAT, FORMAT_VERSION, SCHEMA
from evalgap.results import Result

__all__ = ["DEFAULT_LEDGER", "Appended", "Ledger", "provenance_key", "run_key"]

#: The ledger file the command line uses when none is named (or ``$EVALGAP_LEDGER``).
DEFAULT_LEDGER = "evalgap-ledger.db"

_RUN_COLUMNS = (
    "seq",
    "run_id",
    "provenance_sha256",
    "analysis",
    "label",
    "created_at",
    "schema_version",
    "evalgap_version",
    "n_rows",
    "result_sha256",
)
_INSERT_ROW = f"INSERT INTO rows (run, {', '.join(ROW_COLUMNS)}) VALUES ({', '.join('?' * (len(ROW_COLUMNS) + 1))})"


class Appended(NamedTuple):
    """What :meth:`Ledger.append` did: the run's id and sequence number, and whether it
    was new (False: the same result under the same label was already stored)."""

    run_id: str
    seq: int
    new: bool


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def provenance_key(data: Mapping[str, Any]) -> str:
    """sha256 of what produced a result: its analysis, schema version, evalgap version,
    settings and provenance (input files' sha256, seed).

    Examples
    --------
    >>> data = {"analysis": "audit", "schema_version": 1, "evalgap_version": "0.1",
    ...         "settings": {}, "provenance": {"inputs": {}, "seed": 0}}
    >>> len(provenance_key(data))
    64
    """
    identity = {
        "analysis": data.get("analysis"),
        "schema_version": data.get("schema_version"),
        "evalgap_version": data.get("evalgap_version"),
        "settings": data.get("settings"),
        "provenance": data.get("provenance"),
    }
    return hashlib.sha256(_canonical(identity).encode("utf-8")).hexdigest()


def _result_text(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def run_key(
    data: Mapping[str, Any], label: str | None = None, *, result_sha256: str | None = None
) -> str:
    """The id a result is stored under: sha256 of its :func:`provenance_key`, its label
    and the sha256 of the result itself.

    The result's own hash is part of the key because settings do not always name
    everything that shaped a result (an adjust result records how many benchmarks it fitted,
    not which), so two different results can share a provenance. The same result stored
    again under the same label is the same run (a no-op).

    Examples
    --------
    >>> data = {"analysis": "audit", "schema_version": 1, "evalgap_version": "0.1",
    ...         "settings": {}, "provenance": {"inputs": {}, "seed": 0}}
    >>> run_key(data) == run_key(data, None) != run_key(data, "ckpt-1")
    True
    """
    digest = result_sha256 or hashlib.sha256(_result_text(data).encode("utf-8")).hexdigest()
    identity = {"provenance": provenance_key(data), "label": label, "result": digest}
    return hashlib.sha256(_canonical(identity).encode("utf-8")).hexdigest()


def _as_data(result: Result | Mapping[str, Any] | str | PathLike[str]) -> dict[str, Any]:
    if isinstance(result, Result):
        return result.to_dict()
    if isinstance(result, Mapping):
        data = dict(result)
        missing = [
            k for k in ("analysis", "schema_version", "settings", "provenance") if k not in data
        ]
        if missing:
            raise InputError(
                f"not an evalgap result (no {missing[0]!r} key)", source="ledger append"
            )
        return data
    return load_result(result).to_dict()


@dataclass(frozen=True)
class _Resolved:
    seqs: list[int]
    label: str


class Ledger:
    """An append-only store of analysis results, keyed by provenance hash, in one SQLite
    file (created on first use).

    Query it with SQL (tables ``runs`` and ``rows``, view ``evidence``; see
    :meth:`query`) or with the methods below, which return DataFrames.

    Parameters
    ----------
    path
        The ledger file.
    create
        Create the file if it does not exist (else an error).
    timeout
        Seconds a writer waits for another writer before giving up.

    Examples
    --------
    >>> import evalgap
    >>> from evalgap.ledger import Ledger
    >>> ledger = Ledger("evalgap-ledger.db")  # doctest: +SKIP
    >>> card = evalgap.claim("Yi-6B-Chat", "truthfulqa_mc1",
    ...                      panel="safetywashing-2024:chat")  # doctest: +SKIP
    >>> ledger.append(card, label="ckpt-1000").run_id[:12]  # doctest: +SKIP
    >>> ledger.query("SELECT label, key, estimate, verdict FROM evidence")  # doctest: +SKIP
    """

    def __init__(
        self, path: str | PathLike[str], *, create: bool = True, timeout: float = 60.0
    ) -> None:
        self.path = Path(path)
        self.timeout = float(timeout)
        if self.path.is_dir():
            raise InputError("is a folder; give the ledger's file name", source=self.path)
        if not create and not self.path.exists():
            raise InputError(
                "no such ledger (add a result first: evalgap ledger add)", source=self.path
            )
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise InputError(f"cannot open the ledger: {exc}", source=self.path) from None
        self._setup()

    # -- opening --------------------------------------------------------------------------

    def _fail(self, exc: sqlite3.Error, doing: str) -> InputError:
        text = str(exc)
        if "not a database" in text or "file is encrypted" in text:
            return InputError("not a SQLite file (an evalgap ledger is one)", source=self.path)
        if "locked" in text or "busy" in text:
            return InputError(
                f"{doing}: another process held the ledger for more than {self.timeout:g} s",
                source=self.path,
            )
        return InputError(f"{doing}: {text}", source=self.path)

    def _retry(self, sql: str) -> Any:
        deadline = _time.monotonic() + self.timeout
        while True:
            try:
                return self._conn.execute(sql).fetchone()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or _time.monotonic() > deadline:
                    raise
                _time.sleep(0.01)

    def _setup(self) -> None:
        try:
            mode = self._retry("PRAGMA journal_mode=WAL")[0]
            self._conn.execute("PRAGMA synchronous=NORMAL")
            if self._meta() is None:
                with self._write():
                    if self._meta() is None:
                        others = self._conn.execute(
                            "SELECT count(*) FROM sqlite_master WHERE type='table'"
                        ).fetchone()[0]
                        if others:
                            raise InputError(
                                "a SQLite file that is not an evalgap ledger", source=self.path
                            )
                        for statement in SCHEMA:
                            self._conn.execute(statement)
                        self._conn.executemany(
                            "INSERT INTO ledger_meta (key, value) VALUES (?, ?)",
                            [("format", FORMAT), ("format_version", str(FORMAT_VERSION))],
                        )
        except sqlite3.Error as exc:
            self._conn.close()
            raise self._fail(exc, "cannot open the ledger") from None
        meta = self._meta() or {}
        if meta.get("format") != FORMAT:
            self._conn.close()
            raise InputError("a SQLite file that is not an evalgap ledger", source=self.path)
        if int(meta.get("format_version", "0")) > FORMAT_VERSION:
            self._conn.close()
            raise InputError(
                f"ledger format {meta.get('format_version')} is newer than this evalgap "
                f"reads ({FORMAT_VERSION})",
                source=self.path,
            )
        if str(mode).lower() != "wal":
            self._conn.close()
            raise InputError(
                f"SQLite could not use write-ahead logging here (journal mode {mode}); "
                "put the ledger on a local disk",
                source=self.path,
            )

    def _meta(self) -> dict[str, str] | None:
        has = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='ledger_meta'"
        ).fetchone()
        if not has:
            return None
        return dict(self._conn.execute("SELECT key, value FROM ledger_meta").fetchall())

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE takes the write lock up front (waiting
        for another writer up to ``timeout``), so a transaction never fails half-way on a
        lock it could not upgrade."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (the file stays consistent whether or not this is called)."""
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM runs").fetchone()[0])

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r}, runs={len(self)})"

    # -- writing --------------------------------------------------------------------------

    def append(
        self,
        result: Result | Mapping[str, Any] | str | PathLike[str],
        *,
        label: str | None = None,
        time: datetime | str | None = None,
    ) -> Appended:
        """Store a result (a :class:`~evalgap.results.Result`, its ``to_dict()``, or a
        saved ``.json`` file) with an optional label such as a checkpoint name.

        One transaction stores the run and every row of its tables: another process sees
        all of it or none of it, and a process killed during the append leaves the ledger
        as it was.

        Returns
        -------
        Appended
            ``(run_id, seq, new)``; ``new`` is False when this run (the same result under
            the same label) was already stored.

        Raises
        ------
        InputError
            Not a result; the ledger stayed locked for longer than ``timeout``.
        """
        data = _as_data(result)
        label = None if label is None else str(label)
        text = _result_text(data)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        run_id = run_key(data, label, result_sha256=digest)
        rows = result_rows(data)
        stamp = (
            time
            if isinstance(time, str)
            else (time or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds")
        )
        try:
            with self._write() as conn:
                old = conn.execute("SELECT seq FROM runs WHERE run_id = ?", (run_id,)).fetchone()
                if old is not None:
                    return Appended(run_id, int(old[0]), False)
                cursor = conn.execute(
                    "INSERT INTO runs (run_id, provenance_sha256, analysis, schema_version,"
                    " evalgap_version, label, created_at, n_rows, result_sha256, settings,"
                    " provenance, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        provenance_key(data),
                        str(data["analysis"]),
                        int(data["schema_version"]),
                        str(data.get("evalgap_version", "")),
                        label,
                        stamp,
                        len(rows),
                        digest,
                        _canonical(data.get("settings")),
                        _canonical(data.get("provenance")),
                        text,
                    ),
                )
                seq = int(cursor.lastrowid or 0)
                conn.executemany(_INSERT_ROW, [(seq, *r) for r in rows])
        except sqlite3.Error as exc:
            raise self._fail(exc, "cannot append") from None
        return Appended(run_id, seq, True)

    # -- reading --------------------------------------------------------------------------

    def _frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        try:
            cursor = self._conn.execute(sql, tuple(params))
            names = [d[0] for d in cursor.description or ()]
            return pd.DataFrame(cursor.fetchall(), columns=names)
        except sqlite3.Error as exc:
            raise self._fail(exc, "cannot read") from None

    def runs(self, *, analysis: str | None = None, label: str | None = None) -> pd.DataFrame:
        """One row per stored run, in append order: ``seq, run_id, analysis, label,
        created_at, schema_version, evalgap_version, n_rows, result_sha256, about`` (the
        claim for a claim card, the panel for a panel analysis)."""
        where, params = [], []
        if analysis is not None:
            where.append("analysis = ?")
            params.append(analysis)
        if label is not None:
            where.append("label = ?")
            params.append(label)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        frame = self._frame(
            f"SELECT {', '.join(_RUN_COLUMNS)}, json_extract(settings, '$.model') AS model, "
            "json_extract(settings, '$.benchmark') AS benchmark, "
            f"json_extract(settings, '$.panel') AS panel FROM runs {clause} ORDER BY seq",
            params,
        )
        about = [
            f"{m} on {b}" if isinstance(m, str) and isinstance(b, str) else (p or "")
            for m, b, p in zip(frame["model"], frame["benchmark"], frame["panel"], strict=True)
        ]
        return frame.drop(columns=["model", "benchmark", "panel"]).assign(about=about)

    def _resolve(self, ref: str) -> _Resolved:
        """``latest``, ``latest~N``, a run id or a unique prefix of one (at least 4
        characters), or a label (every run with it)."""
        ref = str(ref).strip()
        if ref == "latest" or ref.startswith("latest~"):
            back = ref.partition("~")[2] or "0"
            if not back.isdigit():
                raise InputError(f"bad run reference {ref!r}; use latest~N", source=self.path)
            row = self._conn.execute(
                "SELECT seq FROM runs ORDER BY seq DESC LIMIT 1 OFFSET ?", (int(back),)
            ).fetchone()
            if row is None:
                raise InputError(f"no run {ref!r}: the ledger holds {len(self)}", source=self.path)
            return _Resolved([int(row[0])], ref)
        rows = self._conn.execute("SELECT seq FROM runs WHERE run_id = ?", (ref,)).fetchall()
        if not rows and len(ref) >= 4 and all(c in "0123456789abcdef" for c in ref):
            rows = self._conn.execute(
                "SELECT seq FROM runs WHERE run_id >= ? AND run_id < ? LIMIT 2",
                (ref, ref + "g"),
            ).fetchall()
            if len(rows) > 1:
                raise InputError(f"run id prefix {ref!r} is ambiguous", source=self.path)
        if not rows:
            rows = self._conn.execute(
                "SELECT seq FROM runs WHERE label = ? ORDER BY seq", (ref,)
            ).fetchall()
        if not rows:
            raise InputError(f"no run with id or label {ref!r}", source=self.path)
        return _Resolved([int(r[0]) for r in rows], ref)

    def run(self, ref: str) -> pd.Series:
        """The ``runs`` row of one run (see :meth:`runs` for ``ref``'s forms), with its
        ``settings`` and ``provenance`` as dicts.

        Raises
        ------
        InputError
            No such run, or ``ref`` is a label shared by several runs.
        """
        seq = self._one(ref)
        frame = self._frame(
            f"SELECT {', '.join(_RUN_COLUMNS)}, settings, provenance FROM runs WHERE seq = ?",
            (seq,),
        )
        row = frame.iloc[0].copy()
        row["settings"] = json.loads(row["settings"])
        row["provenance"] = json.loads(row["provenance"])
        return row

    def _one(self, ref: str) -> int:
        found = self._resolve(ref)
        if len(found.seqs) > 1:
            raise InputError(
                f"label {ref!r} names {len(found.seqs)} runs; give a run id",
                source=self.path,
            )
        return found.seqs[0]

    def result(self, ref: str) -> Result:
        """The stored result of one run, as the object its analysis returns."""
        seq = self._one(ref)
        text = self._conn.execute("SELECT result FROM runs WHERE seq = ?", (seq,)).fetchone()[0]
        return load_result(json.loads(text))

    def results(self, ref: str) -> list[tuple[str, Result]]:
        """``(run_id, result)`` of every run ``ref`` names (a label can name several)."""
        out = []
        for seq in self._resolve(ref).seqs:
            run_id, text = self._conn.execute(
                "SELECT run_id, result FROM runs WHERE seq = ?", (seq,)
            ).fetchone()
            out.append((str(run_id), load_result(json.loads(text))))
        return out

    def result_json(self, ref: str) -> str:
        """The stored result of one run as JSON text, exactly as stored."""
        seq = self._one(ref)
        return str(
            self._conn.execute("SELECT result FROM runs WHERE seq = ?", (seq,)).fetchone()[0]
        )

    def rows(
        self,
        ref: str | None = None,
        *,
        analysis: str | None = None,
        model: str | None = None,
        benchmark: str | None = None,
        table: str | None = None,
    ) -> pd.DataFrame:
        """Stored rows (the ``evidence`` view) of one run or label, or across runs,
        filtered by analysis, model, benchmark and table key."""
        where: list[str] = []
        params: list[Any] = []
        if ref is not None:
            seqs = self._resolve(ref).seqs
            where.append(f"seq IN ({', '.join('?' * len(seqs))})")
            params.extend(seqs)
        for column, value in (
            ("analysis", analysis),
            ("model", model),
            ("benchmark", benchmark),
            ("tbl", table),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._frame(f"SELECT * FROM evidence {clause} ORDER BY seq, tbl, row", params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Run one read-only SQL statement and return its result as a DataFrame.

        Tables: ``runs`` (one per stored result, with ``settings``, ``provenance`` and
        the full ``result`` as JSON text; SQLite's ``json_extract`` reads them) and
        ``rows`` (every table row: ``run`` = ``runs.seq``, ``tbl``, ``row``, ``key``,
        ``model, benchmark, estimate, ci_low, ci_high, p_value, q_value, q_value_by, n,
        verdict`` and ``extra`` JSON); view ``evidence`` joins them.

        Raises
        ------
        InputError
            A statement that fails or tries to write.
        """
        conn = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA query_only = ON")
            cursor = conn.execute(sql, tuple(params))
            names = [d[0] for d in cursor.description or ()]
            return pd.DataFrame(cursor.fetchall(), columns=names)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise InputError(f"SQL: {exc}", source=self.path) from None
        finally:
            conn.close()

    def history(
        self,
        *,
        model: str | None = None,
        benchmark: str | None = None,
        label: str | None = None,
    ) -> HistoryResult:
        """How each claim's evidence moved: the stored claim cards (optionally of one
        model, benchmark or label), in append order, as a
        :class:`~evalgap.analyses.claim.HistoryResult` (its report section draws one
        series per evidence line, intervals as bands)."""
        where, params = ["analysis = 'claim'"], []
        for path, value in (("$.model", model), ("$.benchmark", benchmark)):
            if value is not None:
                where.append(f"json_extract(settings, '{path}') = ?")
                params.append(value)
        if label is not None:
            where.append("label = ?")
            params.append(label)
        cursor = self._conn.execute(
            "SELECT seq, run_id, label, created_at, result FROM runs "
            f"WHERE {' AND '.join(where)} ORDER BY seq",
            params,
        )
        claim_type = result_type("claim")
        entries = [
            (
                {"seq": seq, "run_id": run_id, "label": lab, "created_at": created},
                claim_type.from_dict(json.loads(text), source=f"{self.path} run {run_id[:12]}"),
            )
            for seq, run_id, lab, created, text in cursor.fetchall()
        ]
        return history_of(entries, source=str(self.path))

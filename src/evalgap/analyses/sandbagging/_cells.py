"""Sweep cells: one (noise target, sigma, seed) each, what a worker computes for one, and
the run folder that stores each finished cell at once so a stopped sweep resumes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evalgap._output import write_atomic
from evalgap.analyses.sandbagging._items import SweepItems
from evalgap.errors import AnalysisError, InputError

__all__ = ["BASELINE", "Cell", "Replica", "RunFolder", "load_replica", "score_cell"]

#: The noise target of the baseline cell (no noise).
BASELINE = "none"
# Keys every stored cell has.
_CELL_KEYS = ("key", "target", "sigma", "seed", "n", "correct_choice", "correct_greedy")


@dataclass(frozen=True)
class Cell:
    """One point of the sweep: noise on ``target`` with SD ``sigma`` from ``seed``."""

    target: str
    sigma: float
    seed: int

    @property
    def key(self) -> str:
        """Stable id of the cell in the run folder."""
        return f"{self.target}|{float(self.sigma)!r}|{int(self.seed)}"


class Replica:
    """A worker's state: the model, its weights' fingerprint (each noisy cell checks the
    restore against it), and the standard-normal draws of the last seed, so the cells of
    one seed at several sigmas draw the noise once."""

    def __init__(self, lm: Any) -> None:
        self.lm = lm
        self.fingerprint = lm.weights_fingerprint()
        self.draws: dict[tuple[int, str], Any] = {}

    def draws_for(self, seed: int) -> dict[tuple[int, str], Any]:
        if any(key[0] != seed for key in self.draws):
            self.draws = {}
        return self.draws


def load_replica(spec: Any) -> Replica:
    """Worker state from a model spec: each worker loads its own replica once."""
    from evalgap.models import load_spec

    return Replica(load_spec(spec))


def score_cell(
    state: Replica,
    cell: Cell,
    *,
    items: SweepItems,
    scoring: str,
    verify_restore: bool = True,
) -> dict[str, Any]:
    """Score every item under one cell's noise. ``correct_greedy`` says, per item, whether
    greedy decoding gives the right continuation; with ``scoring="choices"`` every choice
    is scored too and ``correct_choice`` says whether the right one has the highest
    log-likelihood (else it is None). Both are strings of ``0`` and ``1``."""
    lm = state.lm
    noisy = cell.target != BASELINE and cell.sigma > 0
    if scoring == "choices":
        pairs = [
            (ctx, c)
            for ctx, options in zip(items.contexts, items.choices, strict=True)
            for c in options
        ]
    else:
        pairs = list(zip(items.contexts, items.targets, strict=True))
    sigma, target = (cell.sigma, cell.target) if noisy else (0.0, "all")
    with lm.noise(sigma, cell.seed, target, draws=state.draws_for(cell.seed)) as applied:
        frame = lm.loglikelihood(pairs)
    if verify_restore and noisy and lm.weights_fingerprint() != state.fingerprint:
        raise AnalysisError(
            "the weights were not restored bit for bit after the noise",
            source="noise sweep",
            where=f"cell {cell.key}",
        )
    ll = frame["loglikelihood"].to_numpy()
    greedy = frame["is_greedy"].to_numpy()
    if scoring == "choices":
        starts = np.cumsum([0] + [len(c) for c in items.choices[:-1]])
        right = [
            int(ll[s : s + len(c)].argmax()) == a
            for s, c, a in zip(starts, items.choices, items.answers, strict=True)
        ]
        greedy = greedy[starts + np.asarray(items.answers)]
        correct_choice: str | None = _bits(right)
    else:
        correct_choice = None
    return {
        "key": cell.key,
        "target": cell.target,
        "sigma": float(cell.sigma) if noisy else 0.0,
        "seed": int(cell.seed),
        "n": len(items),
        "correct_choice": correct_choice,
        "correct_greedy": _bits(greedy),
        "n_tensors": len(applied.tensors) if noisy else 0,
        "n_parameters": applied.n_parameters if noisy else 0,
    }


def _bits(flags: Any) -> str:
    return "".join("1" if f else "0" for f in flags)


def cell_line(record: Mapping[str, Any]) -> bytes:
    """A stored cell as one line of canonical JSON."""
    return (json.dumps(dict(record), sort_keys=True, separators=(",", ":")) + "\n").encode()


class RunFolder:
    """A sweep's run folder: ``sweep.json`` (what was swept: the model's files and the
    items by sha256, the scoring, and the model's settings) and ``cells.jsonl`` (one line
    per finished cell, appended and synced as each finishes). A cell whose line is
    complete is never run again; a line cut off by a crash is dropped on reopening.

    Parameters
    ----------
    path
        The folder (made if missing).
    identity
        What the stored cells depend on; reopening a folder with another identity is an
        error.
    about
        More to record in ``sweep.json`` (the model's settings), not compared.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        identity: Mapping[str, Any],
        about: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.identity = json.loads(json.dumps(dict(identity), sort_keys=True))
        self.path.mkdir(parents=True, exist_ok=True)
        meta = self.path / "sweep.json"
        if meta.exists():
            stored = self.read_meta(self.path)
            if stored.get("identity") != self.identity:
                old = stored.get("identity") or {}
                diff = sorted(
                    k for k in set(old) | set(self.identity) if old.get(k) != self.identity.get(k)
                )
                raise AnalysisError(
                    f"the folder holds a sweep of other inputs (differs in {', '.join(diff)}); "
                    "use another run folder",
                    source=self.path,
                )
            self.about = stored.get("about", {})
        else:
            self.about = json.loads(json.dumps(dict(about or {}), sort_keys=True))
            text = json.dumps(
                {"identity": self.identity, "about": self.about}, indent=2, sort_keys=True
            )
            write_atomic(meta, text + "\n")
        self.cells_path = self.path / "cells.jsonl"
        self.done: dict[str, dict[str, Any]] = self._read()

    @staticmethod
    def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
        """The ``sweep.json`` of a run folder."""
        meta = Path(path) / "sweep.json"
        try:
            stored = json.loads(meta.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("not a sweep run folder (no sweep.json)", source=path) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"unreadable ({exc})", source=meta) from None
        if not isinstance(stored, dict) or not isinstance(stored.get("identity"), dict):
            raise InputError("not a sweep description (no 'identity')", source=meta)
        return stored

    @classmethod
    def reopen(cls, path: str | os.PathLike[str]) -> RunFolder:
        """An existing run folder, as it is."""
        stored = cls.read_meta(path)
        return cls(path, stored["identity"])

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.cells_path.exists():
            return {}
        raw = self.cells_path.read_bytes()
        lines = raw.split(b"\n")
        complete, tail = lines[:-1], lines[-1]
        done: dict[str, dict[str, Any]] = {}
        for k, line in enumerate(complete, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise InputError("not JSON", source=self.cells_path, where=f"line {k}") from None
            if not isinstance(record, dict) or any(key not in record for key in _CELL_KEYS):
                raise InputError("not a sweep cell", source=self.cells_path, where=f"line {k}")
            done[record["key"]] = record
        if tail:
            # An append cut off mid-line: keep the complete lines only.
            write_atomic(self.cells_path, b"".join(line + b"\n" for line in complete))
        return done

    def append(self, record: Mapping[str, Any]) -> None:
        """Store one finished cell: one write of one line, then fsync."""
        line = cell_line(record)
        fd = os.open(self.cells_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.done[record["key"]] = dict(record)

    def missing(self, cells: Iterable[Cell]) -> list[Cell]:
        """The cells not stored yet, in the given order."""
        return [c for c in cells if c.key not in self.done]

"""Watch a folder of harness logs: when new logs land, re-run the policy's analyses, append
the results and a claim card per claim to the ledger, and check the policy's rules.

Polling (a listing of names, sizes and modification times every ``interval`` seconds)
needs no dependency and works on every file system, network mounts included. A folder is
processed once it has stopped changing for one interval, so a log still being written is
not read half-way.
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from numbers import Integral, Real
from os import PathLike
from pathlib import Path

from evalgap._params import Interval, validate_params
from evalgap.errors import EvalgapError, InputError
from evalgap.ledger._gate import GateOutcome, claim_cards, collect, evaluate
from evalgap.ledger._policy import Policy
from evalgap.ledger._store import Appended, Ledger

__all__ = ["Cycle", "snapshot", "watch"]

#: Names skipped when listing a folder: partial downloads, editor and lock files.
_SKIP_SUFFIXES = (".tmp", ".part", ".partial", ".lock", ".swp", "~")

Snapshot = tuple[tuple[str, int, int], ...]


def snapshot(folder: str | PathLike[str]) -> Snapshot:
    """``(relative path, size, mtime in ns)`` of every file under ``folder``, sorted;
    hidden files and folders and temporary files are left out.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.json").write_text("{}"); _ = (d / ".hidden").write_text("x")
    >>> [name for name, _, _ in snapshot(d)]
    ['a.json']
    """
    root = Path(folder)
    out = []
    for base, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith(".") or name.endswith(_SKIP_SUFFIXES):
                continue
            path = Path(base) / name
            try:
                stat = path.stat()
            except OSError:  # removed between the listing and the stat
                continue
            out.append((path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(out))


@dataclass
class Cycle:
    """One poll of the folder.

    Attributes
    ----------
    number
        1 for the first poll.
    files
        Files seen.
    processed
        Whether the analyses ran this cycle (new or changed logs that had settled).
    label
        The label the cycle's runs were stored under.
    appended
        What was appended to the ledger.
    outcome
        The policy's rules checked against this cycle's evidence.
    error
        The one-line error if reading or running failed (the watch goes on).
    """

    number: int
    files: int
    processed: bool = False
    label: str = ""
    appended: list[Appended] = field(default_factory=list)
    outcome: GateOutcome | None = None
    error: str | None = None


def _label(snap: Snapshot, template: str | None) -> str:
    newest = max((mtime for _, _, mtime in snap), default=0)
    moment = datetime.fromtimestamp(newest / 1e9, UTC)
    stamp = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if template:
        return template.replace("{time}", stamp).replace("{files}", str(len(snap)))
    return f"logs@{stamp}"


def _process(
    folder: Path, policy: Policy, ledger: Ledger, snap: Snapshot, label: str | None
) -> Cycle:
    cycle = Cycle(number=0, files=len(snap), processed=True, label=_label(snap, label))
    try:
        evidence = collect(policy, logs=[str(folder)])
        for source in evidence.sources:
            if source.origin == "run":
                cycle.appended.append(ledger.append(source.result, label=cycle.label))
        for card in claim_cards(policy, evidence):
            cycle.appended.append(ledger.append(card, label=cycle.label))
        if policy.rules:
            cycle.outcome = evaluate(policy, evidence)
    except EvalgapError as exc:
        cycle.error = exc.line()
    return cycle


@validate_params(
    {
        "interval": [Interval(Real, 0, 24 * 3600)],
        "max_cycles": [Interval(Integral, 1, None), None],
    }
)
def watch(
    folder: str | PathLike[str],
    policy: Policy,
    ledger: str | PathLike[str] | Ledger,
    *,
    interval: float = 5.0,
    max_cycles: int | None = None,
    once: bool = False,
    label: str | None = None,
    on_cycle: Callable[[Cycle], None] | None = None,
    sleep: Callable[[float], None] = _time.sleep,
) -> list[Cycle]:
    """Poll ``folder`` and process new harness logs as they land.

    Parameters
    ----------
    folder
        The log folder (an Inspect log dir, lm-eval output path, HELM runs folder).
    policy
        What to run (``[analyses]``, ``[inputs]`` panel and model map, ``[claim]`` scope)
        and, if it has ``[fail]`` rules, what to check; its ``inputs.logs`` is replaced by
        ``folder``.
    ledger
        The ledger (or its file) the results and claim cards are appended to.
    interval
        Seconds between polls.
    max_cycles
        Stop after this many polls (None: run until interrupted).
    once
        Process the folder as it is now and stop.
    label
        The label of each cycle's runs; ``{time}`` (the newest log's modification time)
        and ``{files}`` are filled in. Default ``logs@{time}``.
    on_cycle
        Called after every poll with its :class:`Cycle` (the CLI prints it and rebuilds
        the report).
    sleep
        How to wait between polls (tests pass a no-op).

    Returns
    -------
    list of Cycle

    Examples
    --------
    >>> from evalgap.ledger import load_policy, watch
    >>> watch("logs/", load_policy("gate.toml"), "evalgap-ledger.db", once=True)  # doctest: +SKIP
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError("no such folder", source=root, where="watch")
    store = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
    cycles: list[Cycle] = []
    processed: Snapshot | None = None
    previous: Snapshot | None = None
    number = 0
    try:
        while True:
            number += 1
            snap = snapshot(root)
            settled = once or snap == previous
            if snap and snap != processed and settled:
                cycle = _process(root, policy, store, snap, label)
                processed = snap
            else:
                cycle = Cycle(number=0, files=len(snap))
            cycle.number = number
            cycles.append(cycle)
            if on_cycle is not None:
                on_cycle(cycle)
            previous = snap
            if once or (max_cycles is not None and number >= max_cycles):
                break
            sleep(interval)
    finally:
        if not isinstance(ledger, Ledger):
            store.close()
    return cycles

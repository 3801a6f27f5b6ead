"""The items a noise sweep scores: a prompt, candidate continuations and the right one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from evalgap.errors import InputError

__all__ = ["SweepItems", "read_items"]


@dataclass(frozen=True)
class SweepItems:
    """Multiple-choice items scored as continuations.

    Attributes
    ----------
    ids
        Item ids, unique.
    contexts
        The prompt of each item.
    choices
        Each item's candidate continuations (e.g. ``" Paris"``).
    answers
        Index of the right continuation in each item's choices.
    """

    ids: tuple[str, ...]
    contexts: tuple[str, ...]
    choices: tuple[tuple[str, ...], ...]
    answers: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def targets(self) -> tuple[str, ...]:
        """The right continuation of each item."""
        return tuple(c[a] for c, a in zip(self.choices, self.answers, strict=True))

    def sorted(self) -> SweepItems:
        """The same items in id order."""
        order = sorted(range(len(self.ids)), key=self.ids.__getitem__)
        return SweepItems(
            tuple(self.ids[i] for i in order),
            tuple(self.contexts[i] for i in order),
            tuple(self.choices[i] for i in order),
            tuple(self.answers[i] for i in order),
        )

    def sha256(self) -> str:
        """sha256 of the items in order (their canonical JSON)."""
        return hashlib.sha256(self.to_json_lines().encode("utf-8")).hexdigest()

    def to_json_lines(self) -> str:
        """One JSON object per item: ``id, context, choices, answer``."""
        return "".join(
            json.dumps(
                {"id": i, "context": c, "choices": list(ch), "answer": a},
                ensure_ascii=False,
                sort_keys=True,
            )
            + "\n"
            for i, c, ch, a in zip(self.ids, self.contexts, self.choices, self.answers, strict=True)
        )

    @classmethod
    def from_records(
        cls, records: Sequence[Mapping[str, Any]], *, source: str = "items"
    ) -> SweepItems:
        """Items from dicts with ``id``, ``context``, ``choices`` and ``answer`` (an index,
        or the right continuation itself).

        Raises
        ------
        InputError
            A missing key, an empty or non-string choice, an answer that is not one of the
            choices, a duplicate id, or no items.

        Examples
        --------
        >>> items = SweepItems.from_records(
        ...     [{"id": "fr", "context": "The capital of France is",
        ...       "choices": [" Paris", " Rome"], "answer": 0}])
        >>> items.targets
        (' Paris',)
        """
        ids, contexts, choices, answers = [], [], [], []
        for k, rec in enumerate(records):
            where = f"item {k + 1}"
            if not isinstance(rec, Mapping):
                raise InputError("expected an object", source=source, where=where)
            missing = [key for key in ("id", "context", "choices", "answer") if key not in rec]
            if missing:
                raise InputError(f"missing key {missing[0]!r}", source=source, where=where)
            ctx, options, answer = rec["context"], rec["choices"], rec["answer"]
            if not isinstance(ctx, str):
                raise InputError("'context' must be a string", source=source, where=where)
            if (
                isinstance(options, str)
                or not isinstance(options, Sequence)
                or len(options) < 2
                or not all(isinstance(o, str) and o for o in options)
            ):
                raise InputError(
                    "'choices' must be a list of at least two non-empty strings",
                    source=source,
                    where=where,
                )
            if isinstance(answer, str):
                if answer not in options:
                    raise InputError(
                        f"answer {answer!r} is not one of the choices", source=source, where=where
                    )
                answer = list(options).index(answer)
            if (
                isinstance(answer, bool)
                or not isinstance(answer, int)
                or not 0 <= answer < len(options)
            ):
                raise InputError(
                    f"'answer' must be the index of a choice (0..{len(options) - 1}), got {answer!r}",
                    source=source,
                    where=where,
                )
            ids.append(str(rec["id"]))
            contexts.append(ctx)
            choices.append(tuple(options))
            answers.append(int(answer))
        if not ids:
            raise InputError("no items", source=source)
        seen: set[str] = set()
        for k, i in enumerate(ids):
            if i in seen:
                raise InputError(f"duplicate id {i!r}", source=source, where=f"item {k + 1}")
            seen.add(i)
        return cls(tuple(ids), tuple(contexts), tuple(choices), tuple(answers))


def read_items(path: str | PathLike[str], *, context_field: str = "context") -> SweepItems:
    """Read items from a JSON Lines file (one object per line: ``id``, ``context``,
    ``choices``, ``answer``; other keys are ignored).

    Parameters
    ----------
    path
        The file. ``answer`` is the index of the right choice or the right choice itself;
        each choice is a continuation of the context (mind the leading space: ``" Paris"``).
    context_field
        The key holding the prompt, when not ``context`` (e.g. the same items with a
        password in another key).

    Raises
    ------
    InputError
        The file is missing, a line is not JSON, or an item is malformed (the message names
        the line).

    Examples
    --------
    >>> items = read_items("organisms/password-locked/eval_items.jsonl")  # doctest: +SKIP
    >>> len(items)  # doctest: +SKIP
    40
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", source=path) from None
    records = []
    for k, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON ({exc.msg})", source=path, where=f"line {k}") from None
        if context_field != "context" and isinstance(record, dict):
            if context_field not in record:
                raise InputError(f"missing key {context_field!r}", source=path, where=f"line {k}")
            record = {**record, "context": record[context_field]}
        records.append(record)
    return SweepItems.from_records(records, source=str(path))

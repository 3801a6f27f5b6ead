"""Matching a user's model names to a reference panel's, with a confidence, never guessing.

Harnesses name models their own way (``meta-llama/Meta-Llama-3-8B-Instruct`` in lm-eval,
``meta/llama-3-8b-chat`` in HELM, ``openai/gpt-4o`` in Inspect); panels have their own ids
(``Meta-Llama-3-8B-Instruct``, ``Llama-2-13b-chat-hf``). :func:`match_models` pairs them by
comparing names at increasing levels of normalisation and says how sure it is:

========  ==========================================================================
conf.     rule
========  ==========================================================================
1.00      the same id, or a pair from the user's model map (``--model-map``)
0.97      the same name once the organisation prefix and case are dropped
0.90      the same normalised name: punctuation, ``-hf``, ``v0.1``/``0.1``, ``1_5``/``1.5``,
          a leading ``Meta-`` before ``Llama``
0.80      the same, counting ``-chat``, ``-instruct``, ``-it`` and ``-inst`` as one variant
0.60      a name with no variant word, matched to the chat variant in an all-chat panel
========  ==========================================================================

Everything else is *unmatched* or *ambiguous*, and neither is ever resolved by guessing:

- a name with no variant word (``llama-2-13b``) when the panel has the chat variant and is
  not all-chat is ambiguous: it may be the base model, absent from the panel;
- a chat model is never matched to a base model, nor the reverse;
- two panel models tied for the best match, or two user models claiming one panel model
  with the same confidence, are ambiguous.

Every row lists its candidates, so the report can show what was close.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Any

import pandas as pd

from evalgap.errors import InputError
from evalgap.io._frames import read_frame

__all__ = [
    "MATCH_COLUMNS",
    "MatchResult",
    "match_models",
    "normalize_model_name",
    "read_model_map",
]

#: Columns of :attr:`MatchResult.table`.
MATCH_COLUMNS = ("user_model", "panel_model", "confidence", "status", "rule", "candidates")

_CHAT_WORDS = {"chat", "instruct", "it", "inst"}
_BASE_WORDS = {"base"}
_TOKEN = re.compile(r"\d+(?:\.\d+)*[a-z]*|[a-z]+")
_Path = str | PathLike[str]


@dataclass(frozen=True)
class _Name:
    raw: str
    plain: str  # no organisation, lower case
    core: str  # normalised, without variant words
    variant: str | None  # "chat", "base" or None (no word)
    word: str | None  # the variant word as written (instruct, chat, it)


def _strip_org(name: str) -> str:
    name = name.strip().replace("__", "/")
    return name.rsplit("/", 1)[-1]


def _parse(name: str, implicit_chat: bool = False) -> _Name:
    plain = _strip_org(name).lower()
    # Qwen1_5 is Qwen1.5, but Llama_2_13B is Llama-2-13B: a size is not a version.
    text = re.sub(r"(?<=\d)_(\d+)(?![\da-z])", r".\1", plain)
    tokens = _TOKEN.findall(text)
    out: list[str] = []
    variant: str | None = None
    word: str | None = None
    for pos, tok in enumerate(tokens):
        nxt = tokens[pos + 1] if pos + 1 < len(tokens) else ""
        if tok == "hf":
            continue
        if tok == "v" and nxt[:1].isdigit():
            continue
        if tok == "meta" and not out and nxt == "llama":
            continue
        if tok in _CHAT_WORDS:
            variant, word = "chat", tok
            continue
        if tok in _BASE_WORDS:
            variant = variant or "base"
            continue
        out.append(tok)
    if variant is None and implicit_chat:
        variant = "chat"
    return _Name(raw=name, plain=plain, core="-".join(out), variant=variant, word=word)


def normalize_model_name(name: str) -> str:
    """A model name reduced to what identifies the model: no organisation, lower case,
    no punctuation differences, no ``-hf``, ``v`` dropped before a version number, and
    ``-chat``, ``-instruct``, ``-it``, ``-inst`` all written ``-chat``.

    Examples
    --------
    >>> normalize_model_name("meta-llama/Meta-Llama-3-8B-Instruct")
    'llama-3-8b-chat'
    >>> normalize_model_name("Llama-2-13b-chat-hf")
    'llama-2-13b-chat'
    >>> normalize_model_name("Qwen/Qwen1_5-72B-Chat")
    'qwen-1.5-72b-chat'
    """
    parsed = _parse(name)
    return parsed.core + ("-chat" if parsed.variant == "chat" else "")


def _same_kind(a: str | None, b: str | None) -> bool:
    """Both chat, or both base/unmarked."""
    return (a == "chat") == (b == "chat")


@dataclass(frozen=True, eq=False)
class MatchResult:
    """How a user's models matched a panel's.

    Attributes
    ----------
    table
        One row per user model, columns :data:`MATCH_COLUMNS`: ``user_model``,
        ``panel_model`` (None unless matched), ``confidence`` (0 to 1; 0 unless matched),
        ``status`` (``matched``, ``unmatched`` or ``ambiguous``), ``rule`` (why) and
        ``candidates`` (the panel models considered, comma-separated).
    panel
        The panel's name, for reports.
    """

    table: pd.DataFrame
    panel: str = ""

    @property
    def mapping(self) -> dict[str, str]:
        """``{user model: panel model}`` for the matched models only."""
        rows = self.table[self.table["status"] == "matched"]
        return dict(zip(rows["user_model"], rows["panel_model"], strict=True))

    @property
    def matched(self) -> list[str]:
        """User models that matched."""
        return list(self.table.loc[self.table["status"] == "matched", "user_model"])

    @property
    def unmatched(self) -> list[str]:
        """User models with no panel model."""
        return list(self.table.loc[self.table["status"] == "unmatched", "user_model"])

    @property
    def ambiguous(self) -> list[str]:
        """User models that match more than one way (never guessed)."""
        return list(self.table.loc[self.table["status"] == "ambiguous", "user_model"])

    def rename(self, records: pd.DataFrame, column: str = "model") -> pd.DataFrame:
        """A copy of ``records`` whose matched user model ids are replaced by panel ids
        (unmatched and ambiguous ones are left as they are)."""
        out = records.copy()
        out[column] = out[column].map(lambda m: self.mapping.get(m, m))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (for JSON)."""
        rows = [
            {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in rec.items()}
            for rec in self.table.to_dict(orient="records")
        ]
        return {"panel": self.panel, "models": rows}


def read_model_map(path: _Path) -> dict[str, str]:
    """Read a model map: a CSV (or any table :func:`~evalgap.io.read_frame` reads) with
    columns ``user_model, panel_model``. An empty ``panel_model`` says the user model is
    in no panel (it stays unmatched).

    Raises
    ------
    InputError
        Missing columns, an empty user model, or a user model listed twice.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "map.csv"
    >>> _ = p.write_text("user_model,panel_model\\nmy-llama,Llama-2-13b-chat-hf\\nmine,\\n")
    >>> read_model_map(p)
    {'my-llama': 'Llama-2-13b-chat-hf', 'mine': ''}
    """
    frame = read_frame(path)
    cols = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in ("user_model", "panel_model") if c not in cols]
    if missing:
        raise InputError(
            f"a model map needs columns user_model, panel_model; missing {', '.join(missing)}",
            source=path,
            where="header",
        )
    out: dict[str, str] = {}
    for lineno, user, panel in zip(
        frame.index, frame[cols["user_model"]], frame[cols["panel_model"]], strict=True
    ):
        if user is None or not str(user).strip():
            raise InputError("empty user_model", source=path, where=f"line {lineno}")
        user = str(user).strip()
        if user in out:
            raise InputError(
                f"user model {user!r} listed twice", source=path, where=f"line {lineno}"
            )
        out[user] = "" if panel is None else str(panel).strip()
    return out


def _panel_entries(panel: Any) -> tuple[list[str], dict[str, bool], str]:
    """(panel ids, id -> is chat by the panel's own metadata, panel name)."""
    from evalgap.data._panel import Panel

    if isinstance(panel, Panel):
        ids = [str(m) for m in panel.model_ids]
        types = panel.models["type"] if "type" in panel.models else pd.Series(dtype=object)
        chat = {m: str(types.get(m, "")).strip().lower() == "chat" for m in ids}
        return ids, chat, panel.source
    ids = [str(m) for m in panel]
    return ids, dict.fromkeys(ids, False), ""


def match_models(
    user_models: Iterable[str],
    panel: Any,
    *,
    model_map: _Path | Mapping[str, str] | None = None,
) -> MatchResult:
    """Match a user's model names to a panel's model ids.

    Parameters
    ----------
    user_models
        The user's model ids, as their harness named them.
    panel
        A :class:`~evalgap.Panel` (its ``models.type`` column tells chat models apart when
        their names do not) or a list of model ids.
    model_map
        Pairs that override matching: a ``{user model: panel model}`` mapping or the path
        of a CSV with columns ``user_model, panel_model`` (see :func:`read_model_map`). An
        empty panel model forces a user model to stay unmatched.

    Returns
    -------
    MatchResult
        ``.table`` with one row per user model; ``.mapping`` for the matched ones.

    Raises
    ------
    InputError
        A model map naming a panel model that is not in the panel.

    Examples
    --------
    >>> panel = ["Llama-2-13b-hf", "Llama-2-13b-chat-hf", "Meta-Llama-3-8B-Instruct"]
    >>> result = match_models(
    ...     ["meta-llama/Meta-Llama-3-8B-Instruct", "meta/llama-2-13b-chat", "llama-2-13b"],
    ...     panel,
    ... )
    >>> result.table[["panel_model", "confidence", "status"]].values.tolist()
    [['Meta-Llama-3-8B-Instruct', 0.97, 'matched'], ['Llama-2-13b-chat-hf', 0.9, 'matched'], [None, 0.0, 'ambiguous']]
    """
    users = list(dict.fromkeys(str(u) for u in user_models))
    ids, chat_meta, label = _panel_entries(panel)
    id_set = set(ids)
    overrides: dict[str, str] = {}
    map_source = None
    if model_map is not None:
        if isinstance(model_map, Mapping):
            overrides = {str(k): str(v or "") for k, v in model_map.items()}
            map_source = "model map"
        else:
            overrides = read_model_map(model_map)
            map_source = str(model_map)
        for user, target in overrides.items():
            if target and target not in id_set:
                close = difflib.get_close_matches(target, ids, n=3)
                hint = f"; close: {', '.join(close)}" if close else ""
                raise InputError(
                    f"panel model {target!r} (for {user!r}) is not in the panel{hint}",
                    source=map_source,
                )

    parsed = {m: _parse(m, implicit_chat=chat_meta.get(m, False)) for m in ids}
    all_chat = bool(ids) and all(p.variant == "chat" for p in parsed.values())
    by_plain: dict[str, list[str]] = {}
    by_core: dict[str, list[str]] = {}
    for m, p in parsed.items():
        by_plain.setdefault(p.plain, []).append(m)
        by_core.setdefault(p.core, []).append(m)
    norm_index = {normalize_model_name(m): m for m in ids}

    rows: list[dict[str, Any]] = []
    for user in users:
        rows.append(
            _match_one(user, overrides, id_set, parsed, by_plain, by_core, all_chat, norm_index)
        )
    _resolve_conflicts(rows)
    table = pd.DataFrame(rows, columns=list(MATCH_COLUMNS))
    table["panel_model"] = table["panel_model"].astype(object)
    table.loc[table["panel_model"].isna(), "panel_model"] = None
    return MatchResult(table=table, panel=label)


def _row(
    user: str, panel: str | None, conf: float, status: str, rule: str, cands: Iterable[str]
) -> dict[str, Any]:
    return {
        "user_model": user,
        "panel_model": panel if status == "matched" else None,
        "confidence": conf if status == "matched" else 0.0,
        "status": status,
        "rule": rule,
        "candidates": ", ".join(dict.fromkeys(cands)),
    }


def _match_one(
    user: str,
    overrides: dict[str, str],
    id_set: set[str],
    parsed: dict[str, _Name],
    by_plain: dict[str, list[str]],
    by_core: dict[str, list[str]],
    all_chat: bool,
    norm_index: dict[str, str],
) -> dict[str, Any]:
    if user in overrides:
        target = overrides[user]
        if target:
            return _row(user, target, 1.0, "matched", "model map", [target])
        return _row(user, None, 0.0, "unmatched", "model map: in no panel", [])
    if user in id_set:
        return _row(user, user, 1.0, "matched", "same id", [user])
    u = _parse(user)
    same_plain = by_plain.get(u.plain, [])
    if len(same_plain) == 1:
        return _row(
            user,
            same_plain[0],
            0.97,
            "matched",
            "same name without organisation and case",
            same_plain,
        )
    if len(same_plain) > 1:
        return _row(user, None, 0.0, "ambiguous", "several panel models have this name", same_plain)
    cands = by_core.get(u.core, [])
    same = [m for m in cands if _same_kind(parsed[m].variant, u.variant)]
    other = [m for m in cands if m not in same]
    if u.variant is None and other and not all_chat:
        return _row(
            user,
            None,
            0.0,
            "ambiguous",
            "no -chat/-instruct in the name, and the panel has the chat variant: base or chat?",
            cands,
        )
    if same:
        exact_word = [m for m in same if parsed[m].word == u.word]
        pool = exact_word or same
        if len(pool) > 1:
            return _row(
                user, None, 0.0, "ambiguous", "several panel models match the normalised name", pool
            )
        if exact_word:
            return _row(user, pool[0], 0.9, "matched", "same normalised name", cands)
        return _row(user, pool[0], 0.8, "matched", "same name up to -chat/-instruct/-it", cands)
    if other:
        if u.variant is None and all_chat:
            if len(other) == 1:
                return _row(
                    user,
                    other[0],
                    0.6,
                    "matched",
                    "no variant in the name; the all-chat panel has only the chat variant",
                    other,
                )
            return _row(user, None, 0.0, "ambiguous", "several chat variants in the panel", other)
        kind = "chat" if u.variant == "chat" else "base"
        return _row(
            user,
            None,
            0.0,
            "unmatched",
            f"a {kind} model; the panel has only the {'base' if kind == 'chat' else 'chat'} variant",
            other,
        )
    close = difflib.get_close_matches(
        normalize_model_name(user), list(norm_index), n=3, cutoff=0.75
    )
    return _row(
        user,
        None,
        0.0,
        "unmatched",
        "no panel model with this name",
        [norm_index[c] for c in close],
    )


def _resolve_conflicts(rows: list[dict[str, Any]]) -> None:
    """Two user models matched to one panel model: the more confident keeps it; a tie
    leaves all of them ambiguous."""
    claims: dict[str, list[int]] = {}
    for pos, row in enumerate(rows):
        if row["status"] == "matched":
            claims.setdefault(row["panel_model"], []).append(pos)
    for panel_model, members in claims.items():
        if len(members) < 2:
            continue
        best = max(rows[p]["confidence"] for p in members)
        winners = [p for p in members if rows[p]["confidence"] == best]
        keep = winners[0] if len(winners) == 1 else None
        for p in members:
            if p == keep:
                continue
            others = [rows[q]["user_model"] for q in members if q != p]
            rows[p].update(
                panel_model=None,
                confidence=0.0,
                status="ambiguous",
                rule=f"panel model {panel_model!r} also matches {', '.join(others)}",
                candidates=panel_model,
            )

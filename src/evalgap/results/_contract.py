"""The result contract: what every analysis returns.

A result names its analysis and the version of its JSON layout, carries the settings that
produced it (frozen: read-only after construction), its provenance (evalgap version, the
sha256 of every input file, the seed) and tidy DataFrames, and round-trips through JSON:
``type(r).from_dict(json.loads(r.to_json())).to_json() == r.to_json()``. Inspect AI's
``EvalLog`` plays the same part for evaluation logs.

A subclass declares :attr:`Result.analysis`, :attr:`Result.schema_version` and
:attr:`Result.tables` (JSON key -> DataFrame attribute), and overrides
:meth:`Result._extra_to_dict` / :meth:`Result._extra_from_dict` for anything that is not a
table. The CLI, the report and the ledger handle every result through this interface.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from evalgap._json import column_types, frame_from_records, frame_to_records, json_value
from evalgap._version import __version__
from evalgap.errors import InputError

__all__ = ["Provenance", "Result", "Settings"]


class Settings(Mapping[str, Any]):
    """Read-only settings of a result: nested mappings and lists are frozen too, so a
    result cannot be changed after it is made (use :meth:`Result.with_settings`)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        merged = {**dict(data or {}), **more}
        object.__setattr__(self, "_data", {str(k): _freeze(v) for k, v in merged.items()})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Settings are read-only")

    def __repr__(self) -> str:
        return f"Settings({self.to_dict()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self.to_dict() == json_value(dict(other))

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Settings, (self.to_dict(),))

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dict."""
        return json_value(self._data)


def _freeze(value: Any) -> Any:
    if isinstance(value, Settings):
        return value
    if isinstance(value, Mapping):
        return Settings(value)
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class Provenance:
    """Where a result came from: the evalgap version, the sha256 of every input file
    (keyed by path or panel file name), and the seed (None when nothing is random)."""

    evalgap_version: str = __version__
    inputs: Settings = field(default_factory=Settings)
    seed: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.inputs, Settings):
            object.__setattr__(self, "inputs", Settings(self.inputs))

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dict."""
        return {
            "evalgap_version": self.evalgap_version,
            "inputs": self.inputs.to_dict(),
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        """Inverse of :meth:`to_dict`."""
        return cls(
            evalgap_version=str(data.get("evalgap_version", "")),
            inputs=Settings(data.get("inputs") or {}),
            seed=data.get("seed"),
        )


@dataclass(frozen=True, kw_only=True)
class Result:
    """Base class of every analysis result.

    Every subclass has a ``table`` attribute: its headline tidy DataFrame.

    Attributes
    ----------
    settings
        Every choice that produced the numbers (read-only).
    provenance
        evalgap version, input files' sha256, seed.
    """

    #: The analysis's name: the CLI command, the report section and the ledger key.
    analysis: ClassVar[str] = ""
    #: Version of the JSON layout; bumped whenever a key or column changes meaning.
    schema_version: ClassVar[int] = 1
    #: JSON key -> name of the DataFrame attribute written under it, in output order.
    tables: ClassVar[Mapping[str, str]] = {}

    settings: Settings
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        if not isinstance(self.settings, Settings):
            object.__setattr__(self, "settings", Settings(self.settings))

    def with_settings(self, **more: Any) -> Self:
        """A copy whose settings also hold ``more`` (the original is unchanged)."""
        return replace(self, settings=Settings(self.settings.to_dict(), **more))

    # -- JSON -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``analysis``, ``schema_version``, ``evalgap_version``,
        ``settings``, ``provenance``, one key per table (records), ``columns`` (each
        table's column dtypes) and the analysis's own keys."""
        out: dict[str, Any] = {
            "analysis": self.analysis,
            "schema_version": self.schema_version,
            "evalgap_version": self.provenance.evalgap_version,
            "settings": self.settings.to_dict(),
            "provenance": self.provenance.to_dict(),
        }
        columns: dict[str, dict[str, str]] = {}
        for key, attr in self.tables.items():
            frame: pd.DataFrame = getattr(self, attr)
            out[key] = frame_to_records(frame)
            columns[key] = column_types(frame)
        out.update(self._extra_to_dict())
        out["columns"] = columns
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> Self:
        """Rebuild a result from :meth:`to_dict`'s output.

        Raises
        ------
        InputError
            Another analysis, a newer schema version, or a missing key.
        """
        where = source or f"{cls.analysis} result"
        if data.get("analysis") != cls.analysis:
            raise InputError(
                f"expected a {cls.analysis!r} result, got {data.get('analysis')!r}",
                source=where,
                where="key 'analysis'",
            )
        version = data.get("schema_version")
        if not isinstance(version, int) or version > cls.schema_version:
            raise InputError(
                f"schema version {version!r} is not readable by evalgap {__version__} "
                f"(reads up to {cls.schema_version})",
                source=where,
                where="key 'schema_version'",
            )
        try:
            columns = data.get("columns", {})
            frames = {
                attr: frame_from_records(data[key], columns.get(key))
                for key, attr in cls.tables.items()
            }
            return cls(
                settings=Settings(data["settings"]),
                provenance=Provenance.from_dict(data["provenance"]),
                **frames,
                **cls._extra_from_dict(data),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"malformed result ({exc})", source=where) from None

    def _extra_to_dict(self) -> dict[str, Any]:
        """The analysis's own JSON keys beyond its tables."""
        return {}

    @classmethod
    def _extra_from_dict(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """Constructor arguments rebuilt from :meth:`_extra_to_dict`'s keys."""
        return {}

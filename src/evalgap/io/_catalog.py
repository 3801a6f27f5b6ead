"""Named public panels: where each file is published, its pinned sha256, and the local cache.

A panel's files are looked for, in order, in ``data_dir`` (or the ``EVALGAP_DATA_DIR``
variable), laid out as ``<data_dir>/<dataset>/<file>``; then in the user cache
(``EVALGAP_CACHE_DIR``, else ``$XDG_CACHE_HOME/evalgap``, else ``~/.cache/evalgap``);
and only then downloaded from the pinned URL into the cache. Every file is checked against
its pinned sha256 wherever it came from; a mismatch raises :class:`ChecksumError` and the
file is never used.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from evalgap.data._panel import Panel
from evalgap.errors import ChecksumError, InputError, UnknownPanelError
from evalgap.io._frames import file_sha256
from evalgap.io._obsscaling import read_obsscaling
from evalgap.io._safetywashing import read_safetywashing

__all__ = ["PanelSpec", "cache_dir", "list_panels", "load_panel", "panel_files"]

_SAFETYWASHING_URL = (
    "https://raw.githubusercontent.com/centerforaisafety/safetywashing/"
    "ab48125dc86a14d691279618df74badaf9a17279/data/{file}"
)
_OBSSCALING_URL = (
    "https://raw.githubusercontent.com/ryoungj/ObsScaling/"
    "4d6e1e43fd2635d04654aa77d1df9d5266ea0382/eval_results/{file}"
)
_SHA256 = {
    "benchmarks_base_models.csv": "52b0af4f6d6c4426614f4b95d21086d25955fa8c978d88349bdeed82bdcb1be5",
    "benchmarks_chat_models.csv": "135e17e5a6e1c8ea4ee159794433d03de16fce9d1d1289827b9b617f039bdcbb",
    "benchmarks_info.csv": "a043fd235bff9b38897e7cd2a566dbdf041f56eb779dcdd0c45e55809e758470",
    "base_llm_benchmark_eval.csv": "511996815735a4c46251dc585dcc525e370d148201f86561e6f927f9df2d0db8",
    "instruct_llm_benchmark_eval.csv": "9bc50f327f4e436b15a6d6e3edb8b4837e726b295a1c72d44fadb9c9d25a75ba",
}


@dataclass(frozen=True)
class PanelSpec:
    """A named public panel: its files, where they are published, and how to read them."""

    name: str
    dataset: str
    files: tuple[str, ...]
    url: str
    description: str
    citation: str
    reader: Callable[..., Panel] = field(repr=False)

    def sha256(self, file: str) -> str:
        """The pinned sha256 of one of the panel's files."""
        return _SHA256[file]


def _read_sw(paths: dict[str, Path], name: str) -> Panel:
    scores, info = paths.values()  # in the order of PanelSpec.files
    return read_safetywashing(scores, info, source=name)


def _read_obs(model_type: str) -> Callable[[dict[str, Path], str], Panel]:
    def read(paths: dict[str, Path], name: str) -> Panel:
        return read_obsscaling(next(iter(paths.values())), model_type=model_type, source=name)

    return read


_SW_CITE = (
    "Ren et al. 2024, Safetywashing: Do AI Safety Benchmarks Actually Measure Safety "
    "Progress? arXiv:2407.21792"
)
_OBS_CITE = (
    "Ruan, Maddison and Hashimoto 2024, Observational Scaling Laws and the "
    "Predictability of Language Model Performance, arXiv:2405.10938"
)

_CATALOG: dict[str, PanelSpec] = {
    spec.name: spec
    for spec in (
        PanelSpec(
            "safetywashing-2024:base",
            "safetywashing-2024",
            ("benchmarks_base_models.csv", "benchmarks_info.csv"),
            _SAFETYWASHING_URL,
            "27 base models x 180 benchmarks, the Safetywashing release",
            _SW_CITE,
            _read_sw,
        ),
        PanelSpec(
            "safetywashing-2024:chat",
            "safetywashing-2024",
            ("benchmarks_chat_models.csv", "benchmarks_info.csv"),
            _SAFETYWASHING_URL,
            "26 chat models x 182 benchmarks, the Safetywashing release",
            _SW_CITE,
            _read_sw,
        ),
        PanelSpec(
            "obsscaling-2024:base",
            "obsscaling-2024",
            ("base_llm_benchmark_eval.csv",),
            _OBSSCALING_URL,
            "148 base models x 8 benchmarks, ObsScaling (has missing cells)",
            _OBS_CITE,
            _read_obs("base"),
        ),
        PanelSpec(
            "obsscaling-2024:instruct",
            "obsscaling-2024",
            ("instruct_llm_benchmark_eval.csv",),
            _OBSSCALING_URL,
            "27 instruction-tuned models x 9 benchmarks, ObsScaling (many missing cells)",
            _OBS_CITE,
            _read_obs("chat"),
        ),
    )
}


def list_panels() -> list[PanelSpec]:
    """Every named panel in the catalog.

    Examples
    --------
    >>> from evalgap import list_panels
    >>> [p.name for p in list_panels()][:2]
    ['safetywashing-2024:base', 'safetywashing-2024:chat']
    """
    return list(_CATALOG.values())


def _spec(name: str) -> PanelSpec:
    try:
        return _CATALOG[name]
    except KeyError:
        known = ", ".join(_CATALOG)
        raise UnknownPanelError(f"unknown panel; known panels: {known}", source=name) from None


def cache_dir() -> Path:
    """The folder downloaded panel files are kept in."""
    if env := os.environ.get("EVALGAP_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evalgap"


def _verify(path: Path, expected: str) -> Path:
    actual = file_sha256(path)
    if actual != expected:
        raise ChecksumError(
            f"sha256 is {actual[:16]}..., expected the pinned {expected[:16]}...; "
            "the file is not the published one and was not used",
            source=path,
        )
    return path


def _download(url: str, dest: Path, expected: str, timeout: float) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while block := resp.read(1 << 16):
                out.write(block)
        _verify(Path(tmp), expected)
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError(
            f"could not download {url} ({reason}); set EVALGAP_DATA_DIR or --data-dir "
            "to a folder that holds a local copy",
            source=dest.name,
        ) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def panel_files(
    name: str,
    *,
    data_dir: str | PathLike[str] | None = None,
    download: bool = True,
    timeout: float = 60.0,
) -> dict[str, Path]:
    """Local, verified paths of a named panel's files, downloading them if needed.

    Parameters
    ----------
    name
        A catalog name such as ``"safetywashing-2024:chat"``.
    data_dir
        A folder holding ``<dataset>/<file>``; defaults to ``EVALGAP_DATA_DIR``. When set,
        the files must be there.
    download
        Whether to fetch files that are neither in ``data_dir`` nor in the cache.
    """
    spec = _spec(name)
    data_dir = data_dir if data_dir is not None else os.environ.get("EVALGAP_DATA_DIR") or None
    found: dict[str, Path] = {}
    for file in spec.files:
        expected = spec.sha256(file)
        if data_dir is not None:
            local = Path(data_dir) / spec.dataset / file
            if not local.is_file():
                raise InputError(
                    f"panel {name} needs {spec.dataset}/{file}, which is not in the data "
                    "folder (unset EVALGAP_DATA_DIR to download it instead)",
                    source=data_dir,
                )
            found[file] = _verify(local, expected)
            continue
        cached = cache_dir() / spec.dataset / file
        if cached.is_file():
            found[file] = _verify(cached, expected)
        elif download:
            found[file] = _download(spec.url.format(file=file), cached, expected, timeout)
        else:
            raise InputError(
                f"panel {name} is not cached and downloading is off", source=str(cached)
            )
    return found


def load_panel(
    name: str,
    *,
    data_dir: str | PathLike[str] | None = None,
    download: bool = True,
) -> Panel:
    """Load a named public panel, verified against its pinned sha256.

    Parameters
    ----------
    name
        ``safetywashing-2024:base``, ``safetywashing-2024:chat``, ``obsscaling-2024:base``
        or ``obsscaling-2024:instruct`` (see :func:`list_panels`).
    data_dir
        A local copy laid out as ``<data_dir>/<dataset>/<file>``; defaults to the
        ``EVALGAP_DATA_DIR`` variable, else the cache, else the network.
    download
        Whether a file missing from the cache may be downloaded.

    Examples
    --------
    >>> from evalgap import load_panel
    >>> panel = load_panel("safetywashing-2024:chat")  # doctest: +SKIP
    >>> panel.shape  # doctest: +SKIP
    (26, 182)
    """
    spec = _spec(name)
    paths = panel_files(name, data_dir=data_dir, download=download)
    return spec.reader(paths, name)

"""Writing output: files atomically, folders built aside, terminal text without control codes.

The rules every command follows for ``--out`` and friends:

- A file is written to a temporary file beside it and renamed into place, so a failed or
  interrupted run never leaves a half-written file (and never removes the old one).
- A target that exists and is not a regular file (a folder, a device, a FIFO, a socket) is
  refused, with one line saying what it is; nothing is written.
- A symbolic link to a regular file is written through: the file it points to is replaced
  (atomically, in its own folder) and the link stays. A link that points nowhere, or to
  anything but a regular file, is refused.
- Missing folders on the way are created; one that cannot be, an unwritable folder and a
  full disk are each one line.
- A folder of outputs is built in a temporary folder and renamed into place; into an
  existing folder, its files are moved in only once all are built.

:func:`clean` strips terminal control sequences from text that came from input files.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import IO

from evalgap.errors import InputError

__all__ = [
    "atomic_folder",
    "check_folder",
    "check_target",
    "clean",
    "write_atomic",
    "write_atomic_with",
]


# -- terminal text ----------------------------------------------------------------------------

# Escape sequences: CSI (ESC [ ... final), OSC / DCS / SOS / PM / APC strings (ended by BEL
# or ST), their 8-bit C1 forms, and two-byte escapes (ESC plus intermediates and a final).
_SEQUENCES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]            # CSI
    | \x9b[0-?]*[ -/]*[@-~]            # 8-bit CSI
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|$)   # strings
    | \x1b[ -/]*[0-~]                  # other escapes (ESC c, ESC ( B, ...)
    """,
    re.VERBOSE | re.DOTALL,
)
# Whitespace controls become a space; every other C0 and C1 control, DEL and the Unicode
# bidirectional overrides (which reorder what the terminal shows) are dropped.
_SPACES = re.compile(r"[\t\n\r\x0b\x0c]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` with terminal escape sequences and control characters removed.

    Names from input files (benchmarks, models, file names) go through this before they
    reach a terminal, so an ANSI or OSC sequence in a name cannot recolour, retitle or
    rewrite the screen. Tabs and line breaks become spaces.

    Examples
    --------
    >>> clean("\\x1b[31mred\\x1b[0m \\x1b]0;owned\\x07name\\r\\n")
    'red name  '
    """
    if not isinstance(text, str):
        text = str(text)
    if not _CONTROLS.search(text):
        return text
    text = _SEQUENCES.sub("", text)
    text = _SPACES.sub(" ", text)
    return _CONTROLS.sub("", text)


# -- files -------------------------------------------------------------------------------------

_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str | None:
    """What a non-regular, non-folder file is, or None for a regular file or a folder."""
    for test, name in _KINDS:
        if test(mode):
            return name
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return "not a regular file"


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full (no space left on device)"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    return (exc.strerror or str(exc)).lower()


def check_target(path: str | PathLike[str], *, what: str = "file") -> Path:
    """The file an output ``path`` should be written to: ``path`` itself, or the regular
    file a symbolic link points to. Refuses (:class:`~evalgap.errors.InputError`) a folder,
    a device, a FIFO, a socket, and a link that points nowhere or to one of those.

    Examples
    --------
    >>> import os, pathlib, tempfile
    >>> fifo = pathlib.Path(tempfile.mkdtemp()) / "out.csv"
    >>> os.mkfifo(fifo)
    >>> check_target(fifo)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    evalgap.errors.InputError: ...out.csv: is a FIFO (named pipe), not a regular file; ...
    """
    path = Path(path)
    try:
        link = os.lstat(path)
    except FileNotFoundError:
        return path
    except NotADirectoryError:
        raise InputError(
            f"cannot write the {what}: {_blocker(path)} is not a folder", source=path
        ) from None
    except OSError as exc:
        raise InputError(f"cannot write the {what}: {_reason(exc)}", source=path) from None
    target = path
    if stat.S_ISLNK(link.st_mode):
        target = Path(os.path.realpath(path))
        try:
            st = os.stat(target)
        except OSError:
            raise InputError(
                "is a symbolic link that points nowhere; evalgap writes through a link only "
                "to an existing regular file",
                source=path,
            ) from None
    else:
        st = link
    if stat.S_ISDIR(st.st_mode):
        raise InputError("is a folder; give a file name", source=path)
    kind = _kind(st.st_mode)
    if kind is not None:
        via = f" (through a symbolic link to {target})" if target != path else ""
        raise InputError(
            f"is {kind}{via}, not a regular file; evalgap writes only regular files",
            source=path,
        )
    return target


def _blocker(path: Path) -> Path:
    """The first part of ``path`` that exists and is not a folder."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return path.parent


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _make_folder(folder: Path, source: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(
            f"cannot create the folder {folder}: a file of that name is in the way",
            source=source,
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot create the folder {folder}: {_reason(exc)}", source=source
        ) from None


def write_atomic_with(
    path: str | PathLike[str], write: Callable[[IO[bytes]], None], *, what: str = "file"
) -> Path:
    """Call ``write`` on a temporary file beside ``path``, then rename it into place.

    If ``write`` raises, the temporary file is removed and ``path`` is left untouched. The
    target rules are those of :func:`check_target`; an :class:`OSError` (a full disk, an
    unwritable folder) becomes one :class:`~evalgap.errors.InputError`. Returns ``path``.
    """
    path = Path(path)
    target = check_target(path, what=what)
    folder = target.parent if str(target.parent) else Path(".")
    _make_folder(folder, path)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"cannot write the {what}: {_reason(exc)}", source=path) from None
    try:
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except OSError:
            # mkstemp makes the file private (0600); give it the mode a plain open() would.
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        _discard(tmp)
        raise InputError(f"cannot write the {what}: {_reason(exc)}", source=path) from None
    except BaseException:
        _discard(tmp)
        raise
    return path


def _discard(tmp: str | Path) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


def write_atomic(path: str | PathLike[str], data: str | bytes, *, what: str = "file") -> Path:
    """Write ``data`` (text is encoded as UTF-8) to ``path`` atomically."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return write_atomic_with(path, lambda fh: fh.write(payload), what=what)


# -- folders -----------------------------------------------------------------------------------


def check_folder(path: str | PathLike[str], *, what: str = "files") -> Path:
    """The folder an output folder ``path`` names (a link to a folder is followed), or
    ``path`` itself when it does not exist yet. Refuses a file, a device, a FIFO, a socket
    and a link that points nowhere."""
    path = Path(path)
    try:
        st = os.stat(path)
    except NotADirectoryError:
        raise InputError(
            f"cannot write the {what}: {_blocker(path)} is not a folder", source=path
        ) from None
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(
                "is a symbolic link that points nowhere; give a folder", source=path
            ) from None
        return path
    except OSError as exc:
        raise InputError(f"cannot write the {what}: {_reason(exc)}", source=path) from None
    if stat.S_ISDIR(st.st_mode):
        return Path(os.path.realpath(path))
    kind = _kind(st.st_mode) or "a file"
    raise InputError(f"is {kind}; give a folder for the {what}", source=path)


@contextmanager
def atomic_folder(path: str | PathLike[str], *, what: str = "files") -> Iterator[Path]:
    """Build a folder of outputs aside; it appears at ``path`` only when complete.

    Yields an empty temporary folder to write into. When the block ends without error:
    if ``path`` did not exist, the temporary folder is renamed to it (one step); if it is
    an existing folder, the new files are moved into it (replacing files of the same
    name, keeping everything else). On an error or an interrupt the temporary folder is
    removed and ``path`` is as it was.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_folder(root / "figs") as work:
    ...     _ = (work / "a.svg").write_text("<svg/>")
    >>> sorted(p.name for p in (root / "figs").iterdir())
    ['a.svg']
    """
    path = Path(path)
    folder = check_folder(path, what=what)
    exists = folder.is_dir()
    parent = folder if exists else (folder.parent if str(folder.parent) else Path("."))
    if not exists:
        _make_folder(parent, path)
    try:
        work = Path(tempfile.mkdtemp(dir=parent, prefix=f".{folder.name or 'out'}.", suffix=".tmp"))
    except OSError as exc:
        raise InputError(f"cannot write the {what}: {_reason(exc)}", source=path) from None
    try:
        try:
            os.chmod(work, 0o777 & ~_umask())
            yield work
            if exists:
                _move_into(work, folder, path)
            else:
                os.rename(work, folder)
        except OSError as exc:
            raise InputError(f"cannot write the {what}: {_reason(exc)}", source=path) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _move_into(work: Path, folder: Path, source: Path) -> None:
    files = sorted(p for p in work.rglob("*") if p.is_file())
    # Check every destination before moving any, so a refusal changes nothing.
    targets = [check_target(folder / p.relative_to(work)) for p in files]
    for sub in sorted({t.parent for t in targets}):
        _make_folder(sub, source)
    for src, dst in zip(files, targets, strict=True):
        os.replace(src, dst)

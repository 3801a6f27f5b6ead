"""Atomic output files."""

from __future__ import annotations

import os
import stat

import pytest

from evalgap._output import write_atomic, write_atomic_with


def test_written_file_has_the_usual_mode(tmp_path):
    path = write_atomic(tmp_path / "out.txt", "hello")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert path.read_text() == "hello"


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.txt"

    def boom(fh):
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic_with(target, boom)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path):
    target = write_atomic(tmp_path / "out.txt", "old")
    with pytest.raises(RuntimeError):
        write_atomic_with(target, lambda fh: (_ for _ in ()).throw(RuntimeError("x")))
    assert target.read_text() == "old"

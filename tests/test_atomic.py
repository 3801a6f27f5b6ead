"""Atomic output files."""

from __future__ import annotations

import os
import stat

import pytest

from evalgap._output import atomic_folder, clean, write_atomic, write_atomic_with
from evalgap.errors import InputError


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


# -- targets that are not regular files --------------------------------------------------------


def _entries(folder):
    return sorted((p.name, stat.S_IFMT(os.lstat(p).st_mode)) for p in folder.iterdir())


def test_a_fifo_is_refused_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"out.csv: is a FIFO \(named pipe\), not a regular file"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_socket_is_refused(tmp_path):
    import socket

    path = tmp_path / "s.json"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
        with pytest.raises(InputError, match="is a socket"):
            write_atomic(path, "x")
        assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_a_device_is_refused_by_what_stat_says(tmp_path, monkeypatch):
    # Never near a real device: a regular file that lstat reports as a character device.
    import evalgap._output as output

    target = tmp_path / "dev"
    target.write_text("keep")
    real = os.lstat

    def lstat(path, *a, **k):
        st = real(path, *a, **k)
        if str(path) == str(target):
            return os.stat_result([stat.S_IFCHR | 0o666, *list(st)[1:]])
        return st

    monkeypatch.setattr(output.os, "lstat", lstat)
    with pytest.raises(InputError, match="is a character device, not a regular file"):
        write_atomic(target, "x")
    assert target.read_text() == "keep"


def test_a_symlink_is_written_through_and_kept(tmp_path):
    real = tmp_path / "data" / "real.csv"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # the file keeps its mode
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.csv"]


def test_a_dangling_symlink_and_a_link_to_a_fifo_are_refused(tmp_path):
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(InputError, match="points nowhere"):
        write_atomic(tmp_path / "dangling", "x")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "tofifo").symlink_to(tmp_path / "fifo")
    with pytest.raises(InputError, match="through a symbolic link to"):
        write_atomic(tmp_path / "tofifo", "x")
    assert not (tmp_path / "nowhere").exists()


def test_a_folder_and_a_file_in_the_way_are_one_line(tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(InputError, match="is a folder; give a file name"):
        write_atomic(tmp_path / "dir", "x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="file is not a folder"):
        write_atomic(tmp_path / "file" / "out.csv", "x")


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    import errno

    def full(fh):
        fh.write(b"part")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(InputError, match=r"out.csv: cannot write the file: the disk is full"):
        write_atomic_with(tmp_path / "out.csv", full)
    assert list(tmp_path.iterdir()) == []


# -- folders -------------------------------------------------------------------------------------


def test_a_new_folder_appears_only_when_complete(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_folder(tmp_path / "figs") as work:
            (work / "a.svg").write_text("a")
            raise RuntimeError("renderer failed")
    assert list(tmp_path.iterdir()) == []
    with atomic_folder(tmp_path / "figs") as work:
        (work / "sub").mkdir()
        (work / "sub" / "b.svg").write_text("b")
    assert (tmp_path / "figs" / "sub" / "b.svg").read_text() == "b"
    assert [p.name for p in tmp_path.iterdir()] == ["figs"]


def test_an_existing_folder_keeps_other_files(tmp_path):
    out = tmp_path / "figs"
    out.mkdir()
    (out / "mine.txt").write_text("mine")
    (out / "a.svg").write_text("old")
    with atomic_folder(out) as work:
        (work / "a.svg").write_text("new")
    assert (out / "mine.txt").read_text() == "mine" and (out / "a.svg").read_text() == "new"
    assert sorted(p.name for p in out.iterdir()) == ["a.svg", "mine.txt"]


def test_a_folder_target_that_is_a_file_or_fifo_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file; give a folder"):
        with atomic_folder(tmp_path / "file"):
            pass
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="is a FIFO"):
        with atomic_folder(tmp_path / "fifo"):
            pass
    assert _entries(tmp_path) == [("fifo", stat.S_IFIFO), ("file", stat.S_IFREG)]


# -- terminal text --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b]0;title\x07name", "name"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x9b2Jwiped", "wiped"),
        ("a\x00b\x7fc\x85d", "abcd"),
        ("tab\tnew\nline\r", "tab new line "),
        ("\u202eevil", "evil"),
        ("\x1bPdcs\x1b\\ok", "ok"),
        ("plain [/bold] ü 漢字", "plain [/bold] ü 漢字"),
        ("\x1b(Bx", "x"),
    ],
)
def test_clean_strips_control_sequences(raw, shown):
    assert clean(raw) == shown

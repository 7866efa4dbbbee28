"""The atomic writer and the bounded reader (convlab._files)."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from convlab import _files
from convlab._files import (
    FileAccessError,
    atomic_write,
    atomic_write_many,
    check_writable,
    open_regular,
    read_bounded,
    recover_interrupted,
)

REPO = Path(__file__).resolve().parents[1]


def _leftovers(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith("."))


def _write(path: Path, data: bytes) -> None:
    with atomic_write(path) as out:
        out.write(data)


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_new_file_mode_follows_the_umask(tmp_path, umask_027):
    with atomic_write(tmp_path / "a.bin") as out:
        out.write(b"x")
    assert stat.S_IMODE(os.stat(tmp_path / "a.bin").st_mode) == 0o640  # not 0600


def test_replaced_file_keeps_its_mode(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o604)
    with atomic_write(target) as out:
        out.write(b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o604


def test_symlink_stays_and_its_target_is_replaced(tmp_path):
    real = tmp_path / "real.json"
    real.write_bytes(b"old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    with atomic_write(link) as out:
        out.write(b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []


def test_a_failing_block_removes_the_temp_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def write_then_fail():
        with atomic_write(target) as out:
            out.write(b"half")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail()
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_disk_full_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_files.os, "fsync", full)
    with pytest.raises(OSError, match="No space left on device") as info:
        _write(target, b"new")
    assert info.value.errno == errno.ENOSPC
    assert ".convlab-" not in str(info.value)  # names the file, not the temp
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_real_enospc_from_the_kernel(tmp_path, monkeypatch):
    """/dev/full returns ENOSPC on every write: pass its fd off as the temporary."""
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    real_new_temp = _files._new_temp

    def temp_on_dev_full(target):
        fd, tmp = real_new_temp(target)
        os.dup2(os.open("/dev/full", os.O_WRONLY), fd)
        return fd, tmp

    monkeypatch.setattr(_files, "_new_temp", temp_on_dev_full)
    with pytest.raises(OSError, match="No space left") as info:
        _write(target, b"x" * 100_000)
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {repo!r})
    from convlab._files import atomic_write, atomic_write_many
    paths = sys.argv[1:]
    if len(paths) == 1:
        with atomic_write(paths[0]) as out:
            out.write(b"new-partial")
            out.flush()
            print("writing", flush=True)
            time.sleep(60)
    else:
        with atomic_write_many(paths) as outs:
            for out in outs:
                out.write(b"new-partial")
                out.flush()
            print("writing", flush=True)
            time.sleep(60)
    """
)


def _kill_mid_write(tmp_path: Path, *paths: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(_SLOW_WRITER.format(repo=str(REPO)))
    proc = subprocess.Popen(
        [sys.executable, str(script), *map(str, paths)], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout.readline() == b"writing\n"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
        proc.stdout.close()


def test_kill_during_save_keeps_the_old_file_and_the_next_save_cleans_up(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    target = folder / "bank.json"
    target.write_bytes(b"old")
    _kill_mid_write(tmp_path, target)
    assert target.read_bytes() == b"old"
    left = _leftovers(folder)
    assert len(left) == 1
    assert left[0].startswith(".bank.json.convlab-")
    with atomic_write(target) as out:
        out.write(b"newer")
    assert target.read_bytes() == b"newer"
    assert _leftovers(folder) == []


def test_kill_during_multi_save_keeps_the_whole_old_set(tmp_path):
    folder = tmp_path / "maps"
    folder.mkdir()
    targets = [folder / f"map{i}.npy" for i in range(3)]
    for t in targets:
        t.write_bytes(b"old")
    _kill_mid_write(tmp_path, *targets)
    assert [t.read_bytes() for t in targets] == [b"old"] * 3
    with atomic_write_many(targets) as outs:
        for out in outs:
            out.write(b"new")
    assert [t.read_bytes() for t in targets] == [b"new"] * 3
    assert _leftovers(folder) == []


_KILL_BETWEEN_RENAMES = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from convlab import _files
    real_replace = os.replace
    calls = []
    def replace_then_die(src, dst):
        real_replace(src, dst)
        calls.append(dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGKILL)
    _files.os.replace = replace_then_die
    with _files.atomic_write_many(sys.argv[1:]) as outs:
        for out in outs:
            out.write(b"new")
    """
)


def test_kill_between_renames_is_rolled_forward_by_the_next_call(tmp_path):
    folder = tmp_path / "maps"
    folder.mkdir()
    targets = [folder / f"map{i}.npy" for i in range(3)]
    for t in targets:
        t.write_bytes(b"old")
    script = tmp_path / "killer.py"
    script.write_text(_KILL_BETWEEN_RENAMES.format(repo=str(REPO)))
    proc = subprocess.run([sys.executable, str(script), *map(str, targets)])
    assert proc.returncode == -signal.SIGKILL
    assert [t.read_bytes() for t in targets] == [b"new", b"old", b"old"]  # mixed
    assert recover_interrupted(folder) == 2
    assert [t.read_bytes() for t in targets] == [b"new"] * 3
    assert _leftovers(folder) == []


def test_multi_save_failure_leaves_every_old_file(tmp_path):
    targets = [tmp_path / f"m{i}" for i in range(3)]
    for t in targets:
        t.write_bytes(b"old")

    def write_then_fail():
        with atomic_write_many(targets) as outs:
            outs[0].write(b"new")
            raise ValueError("half way")

    with pytest.raises(ValueError, match="half"):
        write_then_fail()
    assert [t.read_bytes() for t in targets] == [b"old"] * 3
    assert _leftovers(tmp_path) == []


def test_multi_save_refuses_the_same_file_twice(tmp_path):
    with pytest.raises(ValueError, match="`paths` must name different files"):
        atomic_write_many([tmp_path / "a", tmp_path / "a"]).__enter__()


def test_check_writable_messages(tmp_path):
    with pytest.raises(FileAccessError, match="is a folder"):
        check_writable(tmp_path)
    with pytest.raises(FileAccessError, match="folder .* does not exist"):
        check_writable(tmp_path / "missing" / "a.json")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(FileAccessError, match="is not a folder"):
        check_writable(tmp_path / "file" / "a.json")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(FileAccessError, match="not a regular file"):
        check_writable(tmp_path / "pipe")
    (tmp_path / "l1").symlink_to(tmp_path / "l2")
    (tmp_path / "l2").symlink_to(tmp_path / "l1")
    with pytest.raises(FileAccessError, match="loop of symbolic links"):
        check_writable(tmp_path / "l1")
    assert check_writable(tmp_path / "new.json") == tmp_path / "new.json"


def test_check_writable_read_only_folder(tmp_path, monkeypatch):
    # root ignores permissions, so the refusal is injected at os.access
    monkeypatch.setattr(_files.os, "access", lambda path, mode: False)
    with pytest.raises(FileAccessError, match="no permission to write in"):
        check_writable(tmp_path / "a.json")


def test_open_regular_refuses_a_fifo_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "x.png")  # nobody writes: a plain open() would hang
    with pytest.raises(FileAccessError, match=r"is a named pipe \(FIFO\), not an img"):
        open_regular(tmp_path / "x.png", 100, "an img")


def test_open_regular_fifo_swapped_in_after_the_stat(tmp_path, monkeypatch):
    target = tmp_path / "x.png"
    target.write_bytes(b"data")
    real_stat = os.stat

    def stat_then_swap(path, *args, **kwargs):
        info = real_stat(path, *args, **kwargs)
        os.unlink(target)
        os.mkfifo(target)
        return info

    monkeypatch.setattr(_files.os, "stat", stat_then_swap)
    with pytest.raises(FileAccessError, match="named pipe"):
        open_regular(target, 100, "an image")


def test_open_regular_messages(tmp_path, monkeypatch):
    with pytest.raises(FileAccessError, match="no such file"):
        open_regular(tmp_path / "none", 10)
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    with pytest.raises(FileAccessError, match="a symbolic link to a missing file"):
        open_regular(tmp_path / "dangling", 10)
    (tmp_path / "l1").symlink_to(tmp_path / "l2")
    (tmp_path / "l2").symlink_to(tmp_path / "l1")
    with pytest.raises(FileAccessError, match="a loop of symbolic links"):
        open_regular(tmp_path / "l1", 10)
    with pytest.raises(FileAccessError, match="is a folder, not a bank"):
        open_regular(tmp_path, 10, "a bank")
    with pytest.raises(FileAccessError, match="is a device"):
        open_regular("/dev/null", 10)
    (tmp_path / "big").write_bytes(b"x" * 11)
    with pytest.raises(FileAccessError, match="11 bytes, more than the 10-byte limit"):
        open_regular(tmp_path / "big", 10)
    assert read_bounded(tmp_path / "big", 11) == b"x" * 11


def test_open_regular_permission_denied(tmp_path, monkeypatch):
    """Root reads any file, so EACCES is injected at os.open."""
    target = tmp_path / "secret.png"
    target.write_bytes(b"x")

    def denied(path, flags, *args):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(_files.os, "open", denied)
    with pytest.raises(FileAccessError, match="permission denied") as info:
        open_regular(target, 10)
    assert "corrupt" not in str(info.value)

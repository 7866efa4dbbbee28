"""Files in and out: what a user saved is either all there or not touched, and no
file a user opens can hang or flood the app.

Writing
    :func:`atomic_write` (one file) and :func:`atomic_write_many` (a set of files that
    must change together) are the only way convlab saves. The data goes to a temporary
    file in the target's own folder (so the rename stays on one file system), named
    ``.NAME.convlab-PID-RANDOM.tmp``; it is flushed and fsynced, given the mode a new
    file gets from the umask (or the old file's mode when it replaces one), renamed
    over the target, and the folder is fsynced so the rename itself survives a power
    cut. Any failure removes the temporary; a save that was killed leaves one behind,
    and the next save of the same name removes it (its PID is no longer running). A
    symbolic link is followed: the link stays and its target gets the new content.
    :func:`check_writable` says up front, before long work, whether a save can work.

Reading
    :func:`open_regular` opens regular files only, refusing folders, named pipes,
    devices and sockets (it never blocks on a FIFO: it stats first and opens with
    ``O_NONBLOCK``), with a size budget, and one accurate message per failure: no such
    file, a link to nothing, a loop of links, permission denied, a folder.
    :func:`read_bounded` reads such a file whole.

Errors are :class:`FileAccessError`, an ``OSError`` whose text is a full sentence
naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "FileAccessError",
    "atomic_write",
    "atomic_write_many",
    "check_writable",
    "open_regular",
    "read_bounded",
    "recover_interrupted",
    "stale_temps",
]

_TEMP_MARK = ".convlab-"
_TEMP_SUFFIX = ".tmp"
_JOURNAL_PREFIX = ".convlab-commit-"
#: A temporary older than this is removed even if its PID runs (PID reuse, another
#: machine on a shared folder): no save of a teaching app takes a day.
_STALE_SECONDS = 24 * 3600


class FileAccessError(OSError):
    """A file cannot be read or written; ``str(err)`` is a sentence naming the file."""

    def __init__(self, message: str, err_no: int | None = None) -> None:
        super().__init__(message)
        self.errno = err_no
        self.message = message

    def __str__(self) -> str:
        return self.message


# ----------------------------------------------------------------------------- writing


def _umask() -> int:
    """The process umask, read without changing it where the OS allows."""
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii") as status,
    ):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # no /proc: read it by setting it, then put it back
    os.umask(mask)
    return mask


def _real_target(path: str | os.PathLike[str]) -> Path:
    """Where the bytes go: ``path`` with its symbolic links followed.

    A link to a missing file resolves to that missing file (the save creates it).
    """
    target = Path(os.path.realpath(os.fspath(path)))
    if target.is_symlink():  # realpath gave up: a loop
        raise FileAccessError(
            f"{path}: a loop of symbolic links; cannot save there", errno.ELOOP
        )
    return target


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or we cannot tell: keep its file
    return True


def stale_temps(target: str | os.PathLike[str]) -> list[Path]:
    """Temporaries left by killed saves of ``target`` (their process is gone, or they
    are over a day old). The current process's own live temporaries are not listed."""
    target = Path(target)
    folder = target.parent
    prefix = f".{target.name}{_TEMP_MARK}"
    found = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        if not (name.startswith(prefix) and name.endswith(_TEMP_SUFFIX)):
            continue
        pid_text = name[len(prefix) :].split("-", 1)[0]
        path = folder / name
        try:
            age = time.time() - path.lstat().st_mtime
        except OSError:
            continue
        dead = pid_text.isdigit() and not _pid_running(int(pid_text))
        if dead or age > _STALE_SECONDS:
            found.append(path)
    return found


def _remove_stale(target: Path) -> None:
    for path in stale_temps(target):
        with contextlib.suppress(OSError):
            path.unlink()


def _new_temp(target: Path) -> tuple[int, Path]:
    """An exclusive new temporary next to ``target``, with the final mode already."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    # read-write: a writer may read back what it wrote (a download checks its hash)
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = (
            f".{target.name}{_TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
            f"{_TEMP_SUFFIX}"
        )
        tmp = target.parent / name
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:
            continue
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            else:  # Windows
                os.chmod(tmp, mode)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        return fd, tmp
    raise FileExistsError(f"{target.parent}: cannot create a temporary file")


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _save_error(err: OSError, target: Path) -> OSError:
    """The same OSError, worded for a user and without the temporary's name."""
    why = err.strerror or str(err)
    text = f"Cannot save {target}: {why} (the previous file, if any, is unchanged)"
    return FileAccessError(text, err.errno)


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Check, before long work, that a save to ``path`` can work; return the real
    target (links followed).

    Raises
    ------
    FileAccessError
        ``path`` is a folder or not a regular file, its folder is missing or not a
        folder, or the folder is not writable.
    """
    target = _real_target(path)
    if target.is_dir():
        raise FileAccessError(f"{path}: is a folder; choose a file name", errno.EISDIR)
    if target.exists() and not target.is_file():
        raise FileAccessError(
            f"{path}: is not a regular file (a pipe or a device); cannot save over it"
        )
    folder = target.parent
    if not folder.exists():
        raise FileAccessError(
            f"Cannot save {path}: the folder {folder} does not exist", errno.ENOENT
        )
    if not folder.is_dir():
        raise FileAccessError(
            f"Cannot save {path}: {folder} is not a folder", errno.ENOTDIR
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FileAccessError(
            f"Cannot save {path}: no permission to write in {folder}", errno.EACCES
        )
    return target


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary file next to it.

    Yields a binary file open (read-write) on the temporary; when the block ends it is
    flushed,
    synced to disk and renamed over ``path`` (one atomic step on the same file
    system), then the folder is synced. If the block (or the write) raises, the
    temporary is removed and ``path`` keeps its old content. A symbolic link at
    ``path`` stays a link: its target is replaced. A new file gets mode
    ``0o666 & ~umask``; a replaced one keeps its mode.

    Raises
    ------
    FileAccessError
        As :func:`check_writable`, or the disk filled up (ENOSPC) and the like; the
        old file is unchanged.
    """
    target = check_writable(path)
    _remove_stale(target)
    try:
        fd, tmp = _new_temp(target)
    except OSError as err:
        raise _save_error(err, target) from err
    try:
        with os.fdopen(fd, "w+b") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError) and not isinstance(err, FileAccessError):
            raise _save_error(err, target) from err
        raise
    _fsync_folder(target.parent)


# --------------------------------------------------------------------- multi-file sets


def _journal_text(pairs: Sequence[tuple[Path, Path]]) -> str:
    return "".join(f"{tmp.name}\t{target}\n" for tmp, target in pairs)


def recover_interrupted(folder: str | os.PathLike[str]) -> int:
    """Finish the renames of a multi-file save that was killed half-way in ``folder``.

    :func:`atomic_write_many` writes a journal ``.convlab-commit-PID-RANDOM`` listing
    its temporaries before it renames the first one, and deletes it after the last.
    A journal whose process is gone means a kill between renames: every temporary it
    lists that still exists is renamed into place (all of them were complete and
    fsynced before the journal was written), so the set becomes the new set. Returns
    the number of files completed.
    """
    folder = Path(folder)
    done = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        if not name.startswith(_JOURNAL_PREFIX):
            continue
        pid_text = name[len(_JOURNAL_PREFIX) :].split("-", 1)[0]
        if pid_text.isdigit() and _pid_running(int(pid_text)):
            continue
        journal = folder / name
        try:
            lines = journal.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            tmp_name, _, target = line.partition("\t")
            tmp = folder / tmp_name
            if target and tmp.exists():
                with contextlib.suppress(OSError):
                    os.replace(tmp, target)
                    done += 1
        with contextlib.suppress(OSError):
            journal.unlink()
    if done:
        _fsync_folder(folder)
    return done


@contextlib.contextmanager
def atomic_write_many(
    paths: Sequence[str | os.PathLike[str]],
) -> Iterator[list[BinaryIO]]:
    """Write a set of files that must change together, e.g. an export of maps.

    Yields one binary handle per path, in order. Nothing is renamed until every
    handle is written and fsynced; a failure before that removes every temporary and
    leaves all the old files. Then a journal listing the temporaries is written (and
    fsynced) in each target folder, the temporaries are renamed one by one, and the
    journal is deleted.

    What a kill leaves: before the journal, the old set and some temporaries (removed
    by the next save of those names); between two renames, some new files, the rest
    still old and their new versions complete in temporaries, plus the journal. The
    next :func:`atomic_write_many` into that folder (or :func:`recover_interrupted`)
    reads the journal and finishes the renames, so a set is never left mixed after
    that next call.
    """
    targets = [check_writable(p) for p in paths]
    if len(set(targets)) != len(targets):
        raise ValueError(
            f"`paths` must name different files. Received: {[str(p) for p in paths]!r}"
        )
    for folder in {t.parent for t in targets}:
        recover_interrupted(folder)
    for target in targets:
        _remove_stale(target)
    temps: list[Path] = []
    handles: list[BinaryIO] = []
    journals: list[Path] = []
    try:
        for target in targets:
            fd, tmp = _new_temp(target)
            temps.append(tmp)
            handles.append(os.fdopen(fd, "w+b"))
        yield handles
        for handle in handles:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        by_folder: dict[Path, list[tuple[Path, Path]]] = {}
        for tmp, target in zip(temps, targets, strict=True):
            by_folder.setdefault(target.parent, []).append((tmp, target))
        for folder, pairs in by_folder.items():
            journal = folder / f"{_JOURNAL_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
            journals.append(journal)
            with open(journal, "w", encoding="utf-8") as out:
                out.write(_journal_text(pairs))
                out.flush()
                os.fsync(out.fileno())
            _fsync_folder(folder)
    except BaseException as err:
        for handle in handles:
            with contextlib.suppress(OSError):
                handle.close()
        for leftover in (*temps, *journals):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        if isinstance(err, OSError) and not isinstance(err, FileAccessError):
            raise _save_error(err, targets[max(len(temps) - 1, 0)]) from err
        raise
    # From here on the journal lets the next save finish what a kill interrupts.
    for tmp, target in zip(temps, targets, strict=True):
        os.replace(tmp, target)
    for folder in by_folder:
        _fsync_folder(folder)
    for journal in journals:
        with contextlib.suppress(OSError):
            journal.unlink()


# ----------------------------------------------------------------------------- reading


def _kind(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    return None


def _stat_error(path: str | os.PathLike[str], err: OSError) -> FileAccessError:
    code = err.errno
    if code == errno.ENOENT:
        if os.path.islink(path):
            where = os.readlink(path)
            return FileAccessError(
                f"{path}: a symbolic link to a missing file ({where})", code
            )
        return FileAccessError(f"{path}: no such file", code)
    if code == errno.ELOOP:
        return FileAccessError(f"{path}: a loop of symbolic links", code)
    if code in (errno.EACCES, errno.EPERM):
        return FileAccessError(f"{path}: permission denied (cannot read it)", code)
    if code == errno.ENOTDIR:
        return FileAccessError(
            f"{path}: part of the path is a file, not a folder", code
        )
    if code == errno.ENAMETOOLONG:
        return FileAccessError(f"{path}: the name is too long", code)
    return FileAccessError(f"{path}: cannot be read ({err.strerror or err})", code)


def open_regular(
    path: str | os.PathLike[str], max_bytes: int, what: str = "a file"
) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file of at most
    ``max_bytes``.

    Never blocks: the type is checked with ``stat`` before opening, and the open uses
    ``O_NONBLOCK`` (a FIFO swapped in after the check opens at once and is refused by
    ``fstat``); the flag is cleared again on the regular file.

    Parameters
    ----------
    path : str or path-like
    max_bytes : int
        The size budget; a larger file is refused before any read.
    what : str
        What the file should be, for messages ("an image file").

    Raises
    ------
    FileAccessError
        No such file, a link to a missing file, a loop of links, permission denied,
        a folder, a pipe, a device or socket, or too large; one message each.
    """
    try:
        info = os.stat(path)
    except OSError as err:
        raise _stat_error(path, err) from None
    except ValueError as err:  # an embedded NUL byte
        raise FileAccessError(f"{path!r}: not a valid file name ({err})") from None
    kind = _kind(info.st_mode)
    if kind is not None:
        raise FileAccessError(f"{path}: is {kind}, not {what}")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise _stat_error(path, err) from None
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind is not None:
            raise FileAccessError(f"{path}: is {kind}, not {what}")
        if info.st_size > max_bytes:
            raise FileAccessError(
                f"{path}: {info.st_size:,} bytes, more than the {max_bytes:,}-byte "
                f"limit for {what}"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(
    path: str | os.PathLike[str], max_bytes: int, what: str = "a file"
) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` (see
    :func:`open_regular`); a file that grows past the budget while read is refused."""
    with open_regular(path, max_bytes, what) as handle:
        try:
            data = handle.read(max_bytes + 1)
        except OSError as err:
            raise _stat_error(path, err) from None
    if len(data) > max_bytes:
        raise FileAccessError(
            f"{path}: more than the {max_bytes:,}-byte limit for {what}"
        )
    return data

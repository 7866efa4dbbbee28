"""MNIST: the IDX parser, the bundled subset, a local folder, or the full set on demand.

MNIST, the database of handwritten digits by Yann LeCun, Corinna Cortes and Christopher
J.C. Burges, is distributed under CC BY-SA 3.0. Three sources, one parser:

``"bundled"`` (the default)
    A stratified subset shipped in ``assets/mnist/`` (1,000 training images per digit,
    200 test images per digit), so everything works offline.
``"full"``
    The 60,000 + 10,000 images: from ``$CONVLAB_MNIST_DIR`` when it is set, else from
    the user's cache folder (``platformdirs.user_cache_dir("convlab")/mnist``),
    downloaded there on first use by :func:`fetch_mnist` and verified against the
    published checksums.
a folder path
    Any folder holding the four IDX files, gzip-compressed or raw
    (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
    ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``). Files in MNIST's
    format with other content (Fashion-MNIST, say) load too; they are not checksummed.

Files are parsed with ``np.frombuffer``; nothing is ever unpickled.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from convlab._files import FileAccessError, atomic_write, open_regular
from convlab.data._assets import assets_dir
from convlab.data.idx import (
    _CHUNK,
    MAX_IDX_BYTES,
    MnistError,
    _IdxStream,
    _read_idx,
    parse_idx,
    read_idx,
)

__all__ = [
    "IMAGE_SHAPE",
    "MAX_IDX_BYTES",
    "NUM_CLASSES",
    "CONTENT_SHA256",
    "DEFAULT_MIRRORS",
    "FILES",
    "GZ_SHA256",
    "MnistData",
    "MnistDownloadError",
    "MnistError",
    "default_cache_dir",
    "fetch_mnist",
    "load_mnist",
    "parse_idx",
    "read_idx",
]

#: One MNIST image is 28x28 greyscale; there are 10 classes (the digits). The one
#: source of these numbers for the trainer, the presets and the drawn digit.
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10

#: ``progress(done_bytes, total_bytes, what)``; ``total_bytes`` is 0 when unknown.
ProgressCallback = Callable[[int, int, str], object]

#: The four files, in the order train images, train labels, test images, test labels.
FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: sha256 of the *decompressed* files, as published with the original distribution. A
#: mirror may recompress the data (different ``.gz`` bytes, same content): verify
#: content.
CONTENT_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
    ),
    "train-labels-idx1-ubyte": (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
    ),
    "t10k-images-idx3-ubyte": (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
    ),
    "t10k-labels-idx1-ubyte": (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    ),
}

#: sha256 of the original ``.gz`` downloads (for reference; the downloader checks
#: content).
GZ_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
}

#: Public mirrors, tried in order (each file falls back to the next mirror on failure).
DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)

_BACKOFF_SECONDS = 0.5  # first retry waits this long, then doubles (tests set it to 0)
_OFFLINE_HINT = (
    "Check your connection, or use --data PATH with a folder holding "
    "the four IDX files."
)


class MnistDownloadError(MnistError):
    """No mirror delivered a file whose content matches the published checksum."""


@dataclass(frozen=True, eq=False)
class MnistData:
    """The four MNIST arrays.

    Attributes
    ----------
    x_train : ndarray, shape (N, 28, 28), uint8
    y_train : ndarray, shape (N,), uint8, digits 0-9
    x_test : ndarray, shape (M, 28, 28), uint8
    y_test : ndarray, shape (M,), uint8
    source : str
        ``"bundled"``, ``"full"``, or the folder path that was read.
    path : Path or None
        The folder the files were read from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    path: Path | None = field(default=None)

    def __repr__(self) -> str:
        return (
            f"MnistData(source={self.source!r}, train={len(self.x_train)}, "
            f"test={len(self.x_test)}, image_shape={self.x_train.shape[1:]})"
        )


# ----------------------------------------------------------------------------- folders


def _candidates(stem: str) -> list[str]:
    # The usual names, and the "train-images.idx3-ubyte" spelling some re-uploads use.
    dotted = stem.replace("-idx", ".idx")
    return [stem + ".gz", stem, dotted + ".gz", dotted]


def _find_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    found: dict[str, Path] = {}
    missing: list[str] = []
    for stem in FILES:
        for candidate in _candidates(stem):
            # lexists: a pipe, a folder or a broken link under the right name is
            # reported by the reader for what it is, not as "missing"
            if os.path.lexists(folder / candidate):
                found[stem] = folder / candidate
                break
        else:
            missing.append(f"{stem}[.gz]")
    return found, missing


def _read_mnist_file(path: Path, kind: str, sha256: str | None) -> np.ndarray:
    array = _read_idx(path, kind=kind, sha256=sha256)
    if array.dtype != np.uint8:
        raise MnistError(f"{path}: expected uint8 {kind}, found {array.dtype} values")
    if kind == "images" and array.shape[1:] != (28, 28):
        dims = " x ".join(str(d) for d in array.shape[1:])
        raise MnistError(f"{path}: expected 28 x 28 images, found {dims}")
    if kind == "labels":
        if array.ndim != 1:
            raise MnistError(
                f"{path}: expected a 1-D label file, found {array.ndim} dims"
            )
        if array.size and array.max() > 9:
            raise MnistError(
                f"{path}: labels must be digits 0-9, found {int(array.max())}"
            )
    if len(array) == 0:
        raise MnistError(f"{path}: holds no {kind}")
    return array


def _folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be listed, in words, or None when it is a folder."""
    try:
        info = os.stat(folder)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "a loop of symbolic links"
        if err.errno in (errno.EACCES, errno.EPERM):
            return "permission denied"
        if err.errno == errno.ENOENT and os.path.islink(folder):
            return "a symbolic link to a missing folder"
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return "no such folder"
        return err.strerror or str(err)
    if not stat.S_ISDIR(info.st_mode):
        return "a file, not a folder"
    return None


def _load_folder(
    folder: Path, source: str, checksums: dict[str, str] | None = None
) -> MnistData:
    problem = _folder_problem(folder)
    if problem:
        raise MnistError(f"MNIST folder {folder}: {problem}")
    found, missing = _find_files(folder)
    if missing:
        raise MnistError(
            f"{folder} does not hold the four MNIST IDX files "
            f"(missing {', '.join(missing)})"
        )
    arrays = []
    for stem in FILES:
        kind = "images" if "images" in stem else "labels"
        sha = checksums.get(stem) if checksums else None
        arrays.append(_read_mnist_file(found[stem], kind, sha))
    x_train, y_train, x_test, y_test = arrays
    for split, x, y, xs, ys in (
        ("training", x_train, y_train, FILES[0], FILES[1]),
        ("test", x_test, y_test, FILES[2], FILES[3]),
    ):
        if len(x) != len(y):
            raise MnistError(
                f"{folder}: {split} images and labels disagree: {found[xs].name} holds "
                f"{len(x):,} images but {found[ys].name} holds {len(y):,} labels"
            )
    return MnistData(x_train, y_train, x_test, y_test, source=source, path=folder)


def _read_checksums(path: Path) -> dict[str, str]:
    sums: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise MnistError(f"{path}: cannot read the checksum file ({err})") from err
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            digest, _, name = line.partition("  ")
            sums[name.strip()] = digest.strip().lower()
    return sums


def bundled_dir() -> Path:
    """The folder of the bundled subset (``assets/mnist``)."""
    return assets_dir() / "mnist"


def _load_bundled() -> MnistData:
    folder = bundled_dir()
    checksums = _read_checksums(folder / "SHA256SUMS")
    missing = [stem for stem in FILES if stem not in checksums]
    if missing:
        raise MnistError(
            f"{folder / 'SHA256SUMS'}: no checksum for {', '.join(missing)}"
        )
    return _load_folder(folder, "bundled", checksums)


# ----------------------------------------------------------------------------- download


def default_cache_dir() -> Path:
    """``platformdirs.user_cache_dir("convlab") / "mnist"``: where the full set goes."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("convlab")) / "mnist"


def _stream_sha256(handle: BinaryIO, name: str) -> str | None:
    """sha256 of the content (gunzipped when gzip), or None when the gzip data is
    broken or would expand beyond :data:`MAX_IDX_BYTES`."""
    digest = hashlib.sha256()
    try:
        stream = _IdxStream(handle, name, digest)
        if stream.count_rest(MAX_IDX_BYTES) > MAX_IDX_BYTES:
            return None
    except MnistError:
        return None
    return digest.hexdigest()


def _content_sha256(path: Path) -> str | None:
    """sha256 of the gunzipped content, or None when the file is not valid gzip (or
    not a regular file, or too large)."""
    try:
        with open_regular(path, MAX_IDX_BYTES + 1024, "an IDX file") as handle:
            return _stream_sha256(handle, str(path))
    except OSError:
        return None


def _user_agent() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"convlab/{version('convlab')} (python-urllib)"
    except PackageNotFoundError:
        return "convlab (python-urllib)"


class _Transfer(Exception):
    """A network failure while streaming, carried out of atomic_write unchanged (it
    would otherwise read as a failure to save)."""

    def __init__(self, err: BaseException) -> None:
        super().__init__(str(err))
        self.err = err


class _BadChecksum(Exception):
    """The downloaded content does not match the published sha256."""


def _fetch(
    url: str,
    target: Path,
    want_sha256: str,
    timeout: float,
    progress: ProgressCallback | None,
) -> None:
    """Stream ``url`` into ``target`` through the atomic writer; the content is
    checked against ``want_sha256`` before the rename, so a failed, cut or tampered
    download leaves the old file (or nothing) and no temporary."""
    filename = target.name
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent()})
    limit = MAX_IDX_BYTES + 1024
    with urllib.request.urlopen(request, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0)
        with atomic_write(target) as out:
            done = 0
            if progress is not None:
                progress(0, total, filename)
            try:
                if total > limit:
                    raise ValueError(f"{total:,} bytes announced, over {limit:,}")
                while chunk := response.read(_CHUNK):
                    done += len(chunk)
                    if done > limit:
                        raise ValueError(f"more than {limit:,} bytes sent")
                    out.write(chunk)
                    if progress is not None:
                        progress(done, total, filename)
                if total and done != total:
                    raise OSError(
                        f"connection closed after {done:,} of {total:,} bytes"
                    )
            except (OSError, ValueError) as err:
                if (
                    isinstance(err, OSError)
                    and err.errno is not None
                    and (err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS))
                ):
                    raise  # a local disk problem: atomic_write words it
                raise _Transfer(err) from err
            out.flush()
            out.seek(0)
            if _stream_sha256(out, filename) != want_sha256:
                raise _BadChecksum


def _describe(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code}"
    if isinstance(err, urllib.error.URLError):
        reason = err.reason
        return getattr(reason, "strerror", None) or str(reason)
    return getattr(err, "strerror", None) or str(err) or type(err).__name__


def _download_one(
    stem: str,
    folder: Path,
    mirrors: Sequence[str],
    timeout: float,
    retries: int,
    progress: ProgressCallback | None,
) -> None:
    filename = stem + ".gz"
    target = folder / filename
    failures: list[str] = []
    for mirror in mirrors:
        url = urllib.parse.urljoin(
            mirror if mirror.endswith("/") else mirror + "/", filename
        )
        host = urllib.parse.urlsplit(url).netloc or url
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(_BACKOFF_SECONDS * 2 ** (attempt - 1))
            try:
                _fetch(url, target, CONTENT_SHA256[stem], timeout, progress)
            except urllib.error.HTTPError as err:
                reason = _describe(err)
                err.close()  # it holds the response: close it, or the socket leaks
                if 400 <= err.code < 500 and err.code not in (408, 429):
                    break  # the mirror does not have it: retrying will not help
                continue
            except FileAccessError as err:  # the cache folder, not the network
                raise MnistDownloadError(str(err)) from err
            except _Transfer as err:
                reason = _describe(err.err)
                continue
            except (OSError, ValueError) as err:  # URLError, timeouts, resets, bad URL
                reason = _describe(err)
                continue
            except _BadChecksum:
                reason = f"{filename} failed its sha256 check"
                break  # a mirror serving wrong bytes will serve them again
            return
        failures.append(f"{host}: {reason}")
    raise MnistDownloadError(
        f"Could not download MNIST from any mirror "
        f"({filename}: {'; '.join(failures)}). " + _OFFLINE_HINT
    )


def fetch_mnist(
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    progress: ProgressCallback | None = None,
    mirrors: Sequence[str] = DEFAULT_MIRRORS,
    timeout: float = 30.0,
    retries: int = 2,
) -> Path:
    """Download the four MNIST ``.gz`` files into ``cache_dir`` (only those missing or
    bad).

    Each file is tried on every mirror in turn (with ``retries`` more attempts on a
    mirror for network errors), streamed to a temporary file in ``cache_dir``, checked
    against the published sha256 of its *decompressed* content, then moved into place
    with an atomic ``os.replace``. A failed or tampered download leaves nothing behind.

    Parameters
    ----------
    cache_dir : str or path-like, optional
        Defaults to :func:`default_cache_dir`.
    progress : callable, optional
        ``progress(done_bytes, total_bytes, filename)`` per chunk of each file;
        ``total_bytes`` is 0 when the server does not say. An exception raised by it
        cancels the download (and propagates).
    mirrors : sequence of str
        Base URLs ending in the folder that holds the four ``.gz`` files.
    timeout : float
        Seconds to wait on a silent connection.
    retries : int
        Extra attempts per mirror after a network error (not after a 404 or a bad
        checksum, which go straight to the next mirror).

    Returns
    -------
    Path
        The folder holding the four verified files.

    Raises
    ------
    MnistDownloadError
        No mirror delivered a verified copy of some file.
    """
    if not mirrors:
        raise ValueError(
            "`mirrors` must list at least one base URL. Received: mirrors=()"
        )
    if not isinstance(retries, int) or retries < 0:
        raise ValueError(
            f"`retries` must be an int >= 0. Received: retries={retries!r}"
        )
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for stem in FILES:
        existing = folder / (stem + ".gz")
        if existing.is_file() and _content_sha256(existing) == CONTENT_SHA256[stem]:
            continue
        _download_one(stem, folder, mirrors, timeout, retries, progress)
    return folder


# --------------------------------------------------------------------------- front door


def load_mnist(
    source: str | os.PathLike[str] = "bundled",
    *,
    progress: ProgressCallback | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> MnistData:
    """Load MNIST from the bundled subset, the full set, or a folder.

    Parameters
    ----------
    source : {"bundled", "full"} or path-like
        ``"bundled"``: the 12,000-image subset in ``assets/mnist`` (checksummed).
        ``"full"``: ``$CONVLAB_MNIST_DIR`` when set, else the cache folder, downloading
        the files there first when they are missing (checksummed).
        A folder path: the four IDX files in it, gzip or raw (not checksummed).
    progress : callable, optional
        ``progress(done_bytes, total_bytes, filename)`` during a download.
    cache_dir : str or path-like, optional
        Overrides the cache folder for ``"full"``.

    Returns
    -------
    MnistData

    Raises
    ------
    MnistError
        Missing or malformed files, counts that disagree, a failed checksum, or (as
        :class:`MnistDownloadError`) no mirror reachable.
    """
    if isinstance(source, str) and source == "bundled":
        return _load_bundled()
    if isinstance(source, str) and source == "full":
        env = os.environ.get("CONVLAB_MNIST_DIR")
        if env:
            folder = Path(env).expanduser()
            if not folder.is_dir() or _find_files(folder)[1]:
                raise MnistError(
                    f"CONVLAB_MNIST_DIR={env} does not hold the four MNIST IDX files "
                    "(unset it to download the full set into the cache instead)"
                )
        else:
            folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
            if not folder.is_dir() or _find_files(folder)[1]:
                fetch_mnist(folder, progress=progress, mirrors=DEFAULT_MIRRORS)
        return _load_folder(folder, "full", CONTENT_SHA256)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            '`source` must be "bundled", "full" or a folder path. '
            f"Received: source={source!r}"
        )
    folder = Path(source).expanduser()
    problem = _folder_problem(folder)
    if problem:
        raise MnistError(
            '`source` must be "bundled", "full" or a folder holding the four MNIST IDX '
            f"files. Received: source={str(source)!r} ({problem})"
        )
    return _load_folder(folder, str(folder))

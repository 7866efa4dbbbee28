"""Keras's small image datasets as Keras returns them: MNIST, Fashion-MNIST, CIFAR-10.

Each ``load_*`` returns ``((x_train, y_train), (x_test, y_test))`` of uint8 arrays in
Keras's shapes: ``(N, 28, 28)`` and ``(N,)`` for the MNISTs, ``(N, 32, 32, 3)`` and
``(N, 1)`` for CIFAR-10.

Sources
-------
MNIST
    The full set when one is on this machine (``$CONVLAB_MNIST_DIR``, the shared data
    folder ``../shared/data/mnist`` beside the repository, or the user cache where
    :func:`convlab.data.mnist.fetch_mnist` puts it), else the bundled 12,000-image
    subset, so it works offline. A one-line note says which
    (:func:`convlab.data.mnist.load_mnist` does the reading).
Fashion-MNIST, CIFAR-10
    Downloaded on first use into the user cache (``platformdirs.user_cache_dir(
    "convlab")/datasets``; ``$CONVLAB_DATASETS_DIR`` overrides it), with a progress
    line, checked against the published checksum (MD5 for Fashion-MNIST's files, as
    Zalando publishes them; SHA-256 for CIFAR-10) and moved into place atomically.
    CIFAR-10 comes from the *binary* version (fixed-size records read with
    ``np.frombuffer`` straight from the tar archive, nothing extracted): never the
    Python version, which is a pickle.

Without a network, :class:`DatasetDownloadError` says which file to put where.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from . import mnist as _mnist

__all__ = [
    "CIFAR10",
    "FASHION_MNIST",
    "DatasetDownloadError",
    "datasets_cache_dir",
    "fetch_file",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "mnist_full_folder",
]

Progress = Callable[[int, int, str], object]
Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

#: Fashion-MNIST (Zalando Research, MIT licence): mirrors and the MD5 of each ``.gz``
#: as published in the dataset's README
FASHION_MNIST = {
    "mirrors": (
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    "md5": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

#: CIFAR-10 (Krizhevsky, 2009), binary version: 170,052,171 bytes
CIFAR10 = {
    "mirrors": ("https://www.cs.toronto.edu/~kriz/",),
    "file": "cifar-10-binary.tar.gz",
    "sha256": "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    "train": tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)),
    "test": ("cifar-10-batches-bin/test_batch.bin",),
}
_CIFAR_RECORD = 1 + 3 * 32 * 32  # label byte, then R, G, B planes of 32x32


class DatasetDownloadError(OSError):
    """A dataset file could not be downloaded (or failed its checksum)."""


def datasets_cache_dir() -> Path:
    """Where downloaded datasets go: ``$CONVLAB_DATASETS_DIR`` or the user cache."""
    override = os.environ.get("CONVLAB_DATASETS_DIR")
    if override:
        return Path(override).expanduser()
    return _mnist.default_cache_dir().parent / "datasets"


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _print_progress(done: int, total: int, name: str) -> None:
    """Keras-like progress on stderr: ``Downloading cifar-10-binary.tar.gz  42%``."""
    if total:
        text = f"\rDownloading {name} {done / 2**20:8.1f} / {total / 2**20:.1f} MB"
        text += f" {100 * done // total:3d}%"
    else:
        text = f"\rDownloading {name} {done / 2**20:8.1f} MB"
    end = "\n" if total and done >= total else ""
    print(text, end=end, file=sys.stderr, flush=True)


def fetch_file(
    filename: str,
    mirrors: Sequence[str],
    checksum: tuple[str, str],
    folder: Path,
    *,
    progress: Progress | None = _print_progress,
    timeout: float = 30.0,
) -> Path:
    """``folder/filename``, downloaded from the first mirror that serves it when it is
    missing or does not match ``checksum`` (``(algorithm, hex digest)``).

    The download goes to a temporary file in ``folder``, is checked, then renamed
    into place, so a failed or tampered download leaves nothing behind.

    Raises
    ------
    DatasetDownloadError
        No mirror delivered a file with the right checksum; the message says where
        to put a copy by hand.
    """
    algorithm, expected = checksum
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    if target.is_file() and _digest(target, algorithm) == expected:
        return target
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
        tmp = Path(name)
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "convlab"})
            with (
                urllib.request.urlopen(request, timeout=timeout) as response,
                os.fdopen(fd, "wb") as out,
            ):
                total = int(response.headers.get("Content-Length") or 0)
                done = 0
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total, filename)
            if _digest(tmp, algorithm) != expected:
                failures.append(f"{url}: {algorithm} mismatch")
                continue
            os.chmod(tmp, 0o644)  # mkstemp makes it 0600
            os.replace(tmp, target)
            return target
        except (OSError, ValueError) as exc:
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()
            reason = getattr(exc, "reason", None) or exc
            failures.append(f"{url}: {reason}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DatasetDownloadError(
        f"Could not download {filename} ({'; '.join(failures)}). Offline? Copy the "
        f"file (its {algorithm} is {expected}) to {target}, or set "
        "CONVLAB_DATASETS_DIR to a folder that holds it."
    )


# --------------------------------------------------------------------------- MNIST


def mnist_full_folder() -> Path | None:
    """The first folder holding the full MNIST, or ``None``: ``$CONVLAB_MNIST_DIR``,
    then ``../shared/data/mnist`` beside the repository, then the user cache."""
    candidates = []
    env = os.environ.get("CONVLAB_MNIST_DIR")
    if env:
        candidates.append(Path(env).expanduser())
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist")
    candidates.append(_mnist.default_cache_dir())
    for folder in candidates:
        if folder.is_dir() and not _mnist._find_files(folder)[1]:
            return folder
    return None


def load_mnist(note: Callable[[str], object] | None = None) -> Split:
    """MNIST as Keras's ``mnist.load_data()`` returns it, from the full set when one is
    on this machine, else the bundled subset; ``note`` (default: print to stderr)
    gets one line saying which."""
    folder = mnist_full_folder()
    data = _mnist.load_mnist(folder if folder is not None else "bundled")
    where = (
        f"the full set in {folder}"
        if folder is not None
        else "the bundled subset (set CONVLAB_MNIST_DIR to a folder with the full set)"
    )
    text = (
        f"MNIST: {len(data.x_train):,} training and {len(data.x_test):,} test images "
        f"from {where}."
    )
    (note or (lambda line: print(line, file=sys.stderr)))(text)
    return (data.x_train, data.y_train), (data.x_test, data.y_test)


# ---------------------------------------------------------------------- Fashion-MNIST


def load_fashion_mnist(
    folder: str | os.PathLike[str] | None = None, *, progress: Progress | None = None
) -> Split:
    """Fashion-MNIST, downloaded on first use (see the module docstring)."""
    where = Path(folder) if folder is not None else datasets_cache_dir() / "fashion"
    for filename, md5 in FASHION_MNIST["md5"].items():  # type: ignore[union-attr]
        fetch_file(
            filename,
            FASHION_MNIST["mirrors"],  # type: ignore[arg-type]
            ("md5", md5),
            where,
            progress=progress or _print_progress,
        )
    data = _mnist.load_mnist(where)
    return (data.x_train, data.y_train), (data.x_test, data.y_test)


# --------------------------------------------------------------------------- CIFAR-10


def read_cifar_records(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 binary records -> ``(images (N, 32, 32, 3) uint8, labels (N, 1))``."""
    if len(data) % _CIFAR_RECORD:
        raise ValueError(
            f"{name} is not CIFAR-10 binary records: {len(data):,} bytes is not a "
            f"multiple of {_CIFAR_RECORD:,}"
        )
    records = np.frombuffer(data, np.uint8).reshape(-1, _CIFAR_RECORD)
    labels = records[:, :1].copy()
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, labels


def _read_cifar_archive(archive: Path) -> Split:
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member_name in (*CIFAR10["train"], *CIFAR10["test"]):
            member = tar.getmember(member_name)  # type: ignore[arg-type]
            handle = tar.extractfile(member)
            if handle is None:
                raise ValueError(f"{member_name} in {archive} is not a file")
            parts[member_name] = read_cifar_records(handle.read(), member_name)  # type: ignore[index]
    train = [parts[n] for n in CIFAR10["train"]]  # type: ignore[index]
    test = parts[CIFAR10["test"][0]]  # type: ignore[index]
    x_train = np.concatenate([p[0] for p in train])
    y_train = np.concatenate([p[1] for p in train])
    return (x_train, y_train), test


def load_cifar10(
    folder: str | os.PathLike[str] | None = None,
    *,
    progress: Progress | None = None,
    mirrors: Sequence[str] | None = None,
) -> Split:
    """CIFAR-10 from the binary archive, downloaded on first use (see the module
    docstring): uint8 ``(50000, 32, 32, 3)``, ``(50000, 1)`` and the 10,000 test."""
    where = Path(folder) if folder is not None else datasets_cache_dir() / "cifar10"
    archive = fetch_file(
        CIFAR10["file"],  # type: ignore[arg-type]
        mirrors or CIFAR10["mirrors"],  # type: ignore[arg-type]
        ("sha256", CIFAR10["sha256"]),  # type: ignore[arg-type]
        where,
        progress=progress or _print_progress,
    )
    return _read_cifar_archive(archive)

"""The data sets the trainer holds: :class:`TrainData` and its loaders (no Qt here).

A :class:`TrainData` is four uint8/int64 arrays in the models' layout (images NCHW
``(N, C, H, W)``, labels class indices), the class names and, when the source was split
here, a validation part. Sources:

``"bundled"``, ``"mnist"``/``"full"``
    MNIST: the bundled 12,000-image subset (offline) or the full 70,000 (downloaded
    once, checksummed; :func:`convlab.data.mnist.load_mnist`).
``"fashion_mnist"``, ``"cifar10"``
    Fashion-MNIST (28x28 grey) and CIFAR-10 (32x32 RGB), downloaded once with their
    checksums (:mod:`convlab.data.datasets`; CIFAR-10 from its binary records, never a
    pickle).
a folder of class sub-folders
    :func:`load_image_folder`: every image under ``folder/<class>/`` (png, jpg, bmp,
    ... any size and mode, read by the bounded reader :func:`convlab.data.images.
    load_image`), resized to a target size, in colour or greyscale, split into
    train/validation/test per class (seeded, stratified). A file that does not read is
    skipped and listed in :attr:`TrainData.skipped`, never fatal.
an MNIST IDX folder
    A folder holding the four IDX files (as before).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CIFAR10_CLASSES",
    "FASHION_CLASSES",
    "SOURCES",
    "DataLoadCancelled",
    "DataLoadError",
    "FolderOptions",
    "TrainData",
    "load_image_folder",
    "load_train_data",
    "source_label",
]

Progress = Callable[[int, int, str], object]

#: the named sources, in the order the GUI lists them: (key, label)
SOURCES: tuple[tuple[str, str], ...] = (
    ("bundled", "MNIST subset (offline)"),
    ("full", "full MNIST (downloads once)"),
    ("fashion_mnist", "Fashion-MNIST (download)"),
    ("cifar10", "CIFAR-10 (170 MB download)"),
)
_ALIASES = {"mnist": "full", "fashion-mnist": "fashion_mnist", "cifar-10": "cifar10"}

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


class DataLoadError(ValueError):
    """A source that gives no usable data set (the message says why and what to do)."""


class DataLoadCancelled(Exception):
    """:func:`load_image_folder` was cancelled."""


@dataclass(frozen=True, eq=False)
class TrainData:
    """A data set the trainer holds.

    Attributes
    ----------
    name : str
        What the user chose, for labels ("MNIST (bundled)", a folder's name).
    x_train, x_test : ndarray, shape (N, C, H, W), uint8
    y_train, y_test : ndarray, shape (N,), int64, class indices
    class_names : list of str
    x_val, y_val : ndarray or None
        A validation part split off here (a folder); None lets the training
        settings' validation split hold out the last part of ``x_train``.
    skipped : list of (path, reason)
        Files of a folder that did not read.
    source : str
        The source it was loaded from ("bundled", "cifar10", a folder path).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        for split in ("train", "test", "val"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x is None and y is None and split == "val":
                continue
            x = np.asarray(x)
            if x.ndim != 4 or x.dtype != np.uint8:
                raise ValueError(
                    f"`x_{split}` must be uint8 (N, C, H, W). Received: "
                    f"dtype {x.dtype}, shape {x.shape}"
                )
            if y is None or len(y) != len(x):
                raise ValueError(
                    f"`y_{split}` must hold one label per image ({len(x)}). Received: "
                    f"{None if y is None else len(y)} labels"
                )
        if self.x_test.shape[1:] != self.x_train.shape[1:]:
            raise ValueError(
                "`x_test` must have the training images' shape "
                f"{self.x_train.shape[1:]}. Received: {self.x_test.shape[1:]}"
            )

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        c, h, w = self.x_train.shape[1:]
        return int(c), int(h), int(w)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_digits(self) -> bool:
        """28x28 greyscale digits 0-9 (what the Draw tab's canvas makes)."""
        return self.input_shape == (1, 28, 28) and self.class_names == MNIST_CLASSES

    def counts(self, split: str = "train") -> np.ndarray:
        """Images per class in ``split`` ("train", "val" or "test")."""
        y = getattr(self, f"y_{split}")
        if y is None:
            return np.zeros(self.num_classes, np.int64)
        return np.bincount(np.asarray(y, np.int64), minlength=self.num_classes)

    def describe(self) -> str:
        """``"CIFAR-10: 50,000 train, 10,000 test, 3x32x32, 10 classes"``."""
        c, h, w = self.input_shape
        parts = [f"{len(self.x_train):,} train"]
        if self.x_val is not None:
            parts.append(f"{len(self.x_val):,} validation")
        parts.append(f"{len(self.x_test):,} test")
        colour = "RGB" if c == 3 else "grey"
        return (
            f"{self.name}: {', '.join(parts)}; {h}x{w} {colour}, "
            f"{self.num_classes} classes"
        )

    @classmethod
    def from_mnist(cls, data: Any, name: str = "") -> TrainData:
        """A :class:`convlab.data.mnist.MnistData` (or any object with its four
        arrays, images (N, 28, 28)) as TrainData."""
        source = str(getattr(data, "source", ""))
        return cls(
            name or _mnist_name(source),
            _nchw(data.x_train),
            np.asarray(data.y_train, np.int64),
            _nchw(data.x_test),
            np.asarray(data.y_test, np.int64),
            list(getattr(data, "class_names", MNIST_CLASSES)),
            source=source,
        )

    @classmethod
    def from_keras_arrays(
        cls,
        name: str,
        split: Any,
        class_names: list[str],
        source: str = "",
    ) -> TrainData:
        """Keras's ``((x_train, y_train), (x_test, y_test))`` (images (N, H, W) or
        channels-last (N, H, W, C)) as TrainData."""
        (x_train, y_train), (x_test, y_test) = split
        return cls(
            name,
            _nchw(x_train, channels_last=True),
            np.asarray(y_train, np.int64).reshape(-1),
            _nchw(x_test, channels_last=True),
            np.asarray(y_test, np.int64).reshape(-1),
            list(class_names),
            source=source,
        )


def _mnist_name(source: str) -> str:
    if source == "bundled":
        return "MNIST (bundled subset)"
    if source == "full":
        return "MNIST"
    return f"MNIST ({Path(source).name or source})" if source else "MNIST"


def _nchw(x: np.ndarray, channels_last: bool = False) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and channels_last:
        x = x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x, np.uint8)


def source_label(source: str) -> str:
    """A short name of a source for the GUI: the named one or a folder's last part."""
    key = _ALIASES.get(source, source)
    names = {
        "bundled": "MNIST bundled subset",
        "full": "full MNIST",
        "fashion_mnist": "Fashion-MNIST",
        "cifar10": "CIFAR-10",
    }
    if key in names:
        return names[key]
    return Path(source).name or str(source)


# --------------------------------------------------------------------------- folders


@dataclass(frozen=True)
class FolderOptions:
    """How :func:`load_image_folder` reads a folder of class sub-folders.

    ``size`` is the target ``(height, width)``; ``color`` "rgb" or "grayscale";
    ``validation`` and ``test`` the fractions of each class held out (seeded by
    ``seed``).
    """

    size: tuple[int, int] = (32, 32)
    color: str = "rgb"
    validation: float = 0.1
    test: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        size = self.size
        ok = (
            isinstance(size, (tuple, list))
            and len(size) == 2
            and all(isinstance(v, (int, np.integer)) and 4 <= v <= 512 for v in size)
        )
        if not ok:
            raise ValueError(
                "`size` must be (height, width), each an int in 4..512. "
                f"Received: size={size!r}"
            )
        object.__setattr__(self, "size", (int(size[0]), int(size[1])))
        if self.color not in ("rgb", "grayscale"):
            raise ValueError(
                f'`color` must be "rgb" or "grayscale". Received: color={self.color!r}'
            )
        for name in ("validation", "test"):
            v = getattr(self, name)
            if not 0.0 <= float(v) < 0.9:
                raise ValueError(
                    f"`{name}` must be a fraction in [0, 0.9). Received: {name}={v!r}"
                )
        if float(self.validation) + float(self.test) >= 0.9:
            raise ValueError(
                "`validation` + `test` must leave at least 10% to train on. Received: "
                f"validation={self.validation}, test={self.test}"
            )


def _read_one(path: Path, size: tuple[int, int], channels: int) -> np.ndarray:
    """One file -> uint8 (C, H, W) at ``size``; raises ImageLoadError."""
    from PIL import Image

    from convlab.data.images import load_image

    h, w = size
    # the bounded reader: at most 40 MP decoded, a JPEG at reduced scale; downscaled
    # to a few times the target first so a big photo costs little
    loaded = load_image(path, max_side=max(4 * max(h, w), 64))
    hwc = np.rint(loaded.array.transpose(1, 2, 0) * 255.0).astype(np.uint8)
    if hwc.shape[2] == 1:
        image = Image.fromarray(hwc[:, :, 0], "L")
        if channels == 3:
            image = image.convert("RGB")
    else:
        image = Image.fromarray(hwc, "RGB")
        if channels == 1:
            image = image.convert("L")
    if image.size != (w, h):
        image = image.resize((w, h), Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = np.asarray(image, np.uint8)
    return out[None] if out.ndim == 2 else out.transpose(2, 0, 1)


def _split_counts(n: int, validation: float, test: float) -> tuple[int, int]:
    """(validation, test) counts of a class of ``n``: rounded, at least one of each
    when the fraction is positive and the class can spare it, one left to train."""
    n_test = int(round(n * test))
    n_val = int(round(n * validation))
    if test > 0 and n_test == 0 and n >= 3:
        n_test = 1
    if validation > 0 and n_val == 0 and n - n_test >= 2:
        n_val = 1
    while n_test + n_val > n - 1 and (n_test or n_val):
        if n_val >= n_test and n_val:
            n_val -= 1
        else:
            n_test -= 1
    return n_val, n_test


def load_image_folder(
    folder: str | os.PathLike[str],
    options: FolderOptions | None = None,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
    follow_links: bool = False,
) -> TrainData:
    """A folder of class sub-folders (``folder/<class>/<image>``) as TrainData.

    Class names are the sub-folders' names, sorted (Keras's ``flow_from_directory``
    walk: :func:`convlab.data.augment.class_image_files`). Each image is read by the
    bounded reader, converted to ``options.color`` and resized to ``options.size``;
    one that does not read is skipped and listed in ``skipped``. Each class is then
    shuffled (``options.seed``) and split into train/validation/test by the options'
    fractions.

    Parameters
    ----------
    progress : callable, optional
        ``progress(done, total, text)`` every few images.
    cancel : threading.Event or callable, optional
        Checked between images; when set, raises :class:`DataLoadCancelled`.

    Raises
    ------
    DataLoadError
        Not a folder, fewer than two classes, or a class with no readable image.
    DataLoadCancelled
    """
    from convlab.data.augment import class_image_files
    from convlab.data.images import ImageLoadError

    options = options or FolderOptions()
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise DataLoadError(
            "`folder` must be a folder with one sub-folder of images per class. "
            f"Received: folder={os.fspath(folder)!r} (no such folder)"
        )
    names, files = class_image_files(root, follow_links=follow_links)
    if len(names) < 2:
        found = f"found {len(names)}: {', '.join(names)}" if names else "found none"
        raise DataLoadError(
            f"{root.name or root}: a folder of class sub-folders needs at least 2 "
            f"sub-folders of images, one per class ({found}). Put each class's "
            "images in a sub-folder named after the class."
        )
    empty = [n for n, f in zip(names, files, strict=True) if not f]
    if empty:
        raise DataLoadError(
            f"{root.name or root}: class folder{'s' if len(empty) > 1 else ''} "
            f"{', '.join(empty)} hold{'' if len(empty) > 1 else 's'} no images "
            "(png, jpg, bmp, ...). Add images or remove the folder."
        )
    is_cancelled = (
        cancel.is_set if isinstance(cancel, threading.Event) else (cancel or None)
    )
    channels = 3 if options.color == "rgb" else 1
    total = sum(len(f) for f in files)
    every = max(1, total // 200)
    images: list[list[np.ndarray]] = [[] for _ in names]
    skipped: list[tuple[str, str]] = []
    done = 0
    for label, paths in enumerate(files):
        for rel in paths:
            if is_cancelled is not None and is_cancelled():
                raise DataLoadCancelled(f"Reading {root.name} was cancelled.")
            try:
                images[label].append(_read_one(root / rel, options.size, channels))
            except (ImageLoadError, OSError, ValueError) as err:
                skipped.append((str(rel), str(err)))
            done += 1
            if progress is not None and (done % every == 0 or done == total):
                progress(done, total, f"reading {names[label]}/ ({done:,}/{total:,})")
    unreadable = [n for n, imgs in zip(names, images, strict=True) if not imgs]
    if unreadable:
        raise DataLoadError(
            f"{root.name or root}: no image in class folder "
            f"{', '.join(unreadable)} could be read ({len(skipped)} files skipped; "
            f"first: {skipped[0][0]}: {skipped[0][1]})."
        )
    rng = np.random.default_rng(options.seed)
    parts: dict[str, list[tuple[np.ndarray, int]]] = {
        "train": [],
        "val": [],
        "test": [],
    }
    for label, imgs in enumerate(images):
        order = rng.permutation(len(imgs))
        n_val, n_test = _split_counts(len(imgs), options.validation, options.test)
        cuts = {
            "test": order[:n_test],
            "val": order[n_test : n_test + n_val],
            "train": order[n_test + n_val :],
        }
        for split, idx in cuts.items():
            parts[split] += [(imgs[i], label) for i in idx]
    h, w = options.size

    def stack(split: str, shuffle: bool) -> tuple[np.ndarray, np.ndarray]:
        items = parts[split]
        if shuffle:  # Keras's validation_split / batching take contiguous parts
            items = [items[i] for i in rng.permutation(len(items))]
        x = np.zeros((len(items), channels, h, w), np.uint8)
        for i, (img, _) in enumerate(items):
            x[i] = img
        return x, np.array([lab for _, lab in items], np.int64)

    x_train, y_train = stack("train", True)
    x_val, y_val = stack("val", True)
    x_test, y_test = stack("test", False)
    has_val = options.validation > 0 and len(x_val) > 0
    return TrainData(
        root.name or str(root),
        x_train,
        y_train,
        x_test,
        y_test,
        list(names),
        x_val if has_val else None,
        y_val if has_val else None,
        skipped,
        source=str(root),
    )


# --------------------------------------------------------------------------- front door


def _is_idx_folder(folder: Path) -> bool:
    from convlab.data import mnist

    return not mnist._find_files(folder)[1]


def load_train_data(
    source: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    folder_options: FolderOptions | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
) -> TrainData:
    """The data set ``source`` names (see the module docstring); call it on a worker
    thread (it may download or read thousands of files).

    Raises
    ------
    DataLoadError, DataLoadCancelled
        A folder that is neither MNIST's IDX files nor class sub-folders.
    convlab.data.mnist.MnistError, convlab.data.datasets.DatasetDownloadError
        A download that failed (offline) or a malformed file.
    """
    from convlab.data import datasets as ds
    from convlab.data.mnist import load_mnist

    key = _ALIASES.get(str(source), str(source))
    if key in ("bundled", "full"):
        return TrainData.from_mnist(load_mnist(key, progress=progress))
    if key == "fashion_mnist":
        split = ds.load_fashion_mnist(progress=progress)
        return TrainData.from_keras_arrays(
            "Fashion-MNIST", split, FASHION_CLASSES, "fashion_mnist"
        )
    if key == "cifar10":
        split = ds.load_cifar10(progress=progress)
        return TrainData.from_keras_arrays("CIFAR-10", split, CIFAR10_CLASSES, key)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "`source` must be bundled, full, mnist, fashion_mnist, cifar10 or a folder "
            f"path. Received: source={source!r}"
        )
    folder = Path(source).expanduser()
    if not folder.is_dir():
        raise DataLoadError(
            "`source` must be bundled, mnist, fashion_mnist, cifar10, a folder of "
            "class sub-folders of images or a folder of MNIST IDX files. Received: "
            f"source={os.fspath(source)!r} (no such folder)"
        )
    if _is_idx_folder(folder):
        return TrainData.from_mnist(load_mnist(folder))
    return load_image_folder(folder, folder_options, progress=progress, cancel=cancel)

"""Build the bundled assets: the stratified MNIST subset and the sample images.

Run from the repository root::

    .venv/bin/python -m convlab.data.make_subset --mnist ../shared/data/mnist
    .venv/bin/python -m convlab.data.make_subset --samples /tmp/skimg/skimage/data

``--mnist FOLDER`` reads the full MNIST there (checksummed), draws ``--per-digit-train``
(1,000) training and ``--per-digit-test`` (200) test images of every digit with
``numpy.random.default_rng(--seed)`` (seed 0), keeps them in their original order, and
writes the four IDX files, gzip-compressed with a zero timestamp, plus ``SHA256SUMS``
(sha256 of the decompressed content, which the loader verifies) into ``assets/mnist``.
Same seed and same source give the same content, byte for byte.

``--samples FOLDER`` takes the CC0 / public-domain photographs from scikit-image's
``skimage/data`` folder (``pip download --no-deps scikit-image`` and unzip the wheel),
strips their metadata, and generates the checkerboard, the page of text and the MNIST
digit (from the bundled subset) into ``assets/samples``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import struct
import sys
from pathlib import Path

import numpy as np

from convlab.data._assets import assets_dir
from convlab.data.mnist import (
    CONTENT_SHA256,
    FILES,
    MnistData,
    _load_folder,
    load_mnist,
)

SEED = 0
PER_DIGIT_TRAIN = 1000
PER_DIGIT_TEST = 200


def idx_bytes(array: np.ndarray) -> bytes:
    """The uncompressed IDX encoding of a uint8 array (magic 0x08, then big-endian
    dims)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return header + array.tobytes()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def stratified_indices(
    labels: np.ndarray, per_digit: int, rng: np.random.Generator
) -> np.ndarray:
    """``per_digit`` indices of every digit 0-9 drawn without replacement, sorted."""
    picks = []
    for digit in range(10):
        candidates = np.flatnonzero(labels == digit)
        picks.append(rng.choice(candidates, size=per_digit, replace=False))
    return np.sort(np.concatenate(picks))


def make_mnist_subset(
    source: Path,
    out: Path,
    *,
    seed: int = SEED,
    per_digit_train: int = PER_DIGIT_TRAIN,
    per_digit_test: int = PER_DIGIT_TEST,
) -> dict[str, str]:
    """Write the subset into ``out``; return ``{file stem: content sha256}``."""
    # Checksummed: the subset must come from the published files.
    full: MnistData = _load_folder(source, "full", CONTENT_SHA256)
    rng = np.random.default_rng(seed)
    train = stratified_indices(full.y_train, per_digit_train, rng)
    test = stratified_indices(full.y_test, per_digit_test, rng)
    arrays = {
        FILES[0]: full.x_train[train],
        FILES[1]: full.y_train[train],
        FILES[2]: full.x_test[test],
        FILES[3]: full.y_test[test],
    }
    out.mkdir(parents=True, exist_ok=True)
    sums = {}
    for stem, array in arrays.items():
        raw = idx_bytes(array)
        sums[stem] = hashlib.sha256(raw).hexdigest()
        _atomic_write(out / f"{stem}.gz", gzip.compress(raw, compresslevel=9, mtime=0))
    lines = [
        "# sha256 of the DECOMPRESSED content of each .gz file (convlab verifies "
        "these).",
        f"# Built by convlab/data/make_subset.py, seed {seed}, "
        f"{per_digit_train} train and {per_digit_test} test images per digit.",
    ]
    lines += [f"{sums[stem]}  {stem}" for stem in FILES]
    _atomic_write(out / "SHA256SUMS", ("\n".join(lines) + "\n").encode())
    return sums


# ----------------------------------------------------------------------------- samples

_PAGE_TEXT = """\
Convolution, one window at a time

A convolutional layer slides a small grid of weights, the
kernel, across the image. At every position it multiplies
the pixels under the window by the weights and adds the
products up: one number per position, one feature map per
kernel. A kernel that is positive on the right and negative
on the left answers strongly where the image gets brighter
from left to right, and stays near zero on flat regions.

Stride skips positions, padding adds a border so the window
can sit on the edge, and pooling keeps the strongest answer
in each small block. Letters are full of edges, corners and
strokes of one width: try an edge detector on this page,
then a blur, and watch what survives.

  0 1 2 3 4 5 6 7 8 9   ( ) [ ] { }   + - x / =   A B C D E"""


def _page_of_text(width: int = 512, height: int = 400) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (width, height), 250)
    draw = ImageDraw.Draw(image)
    title_font = ImageFont.load_default(size=22)
    font = ImageFont.load_default(size=15)
    lines = _PAGE_TEXT.splitlines()
    draw.text((24, 18), lines[0], fill=20, font=title_font)
    y = 56
    for line in lines[1:]:
        draw.text((24, y), line, fill=30, font=font)
        y += 20
    # A faint, uneven illumination, like a photographed page.
    yy, xx = np.mgrid[0:height, 0:width]
    shade = 1.0 - 0.12 * (xx / width) - 0.06 * (yy / height)
    page = np.asarray(image, np.float32) * shade
    return np.clip(page, 0, 255).astype(np.uint8)


def _checkerboard(size: int = 256, squares: int = 8) -> np.ndarray:
    cell = size // squares
    yy, xx = np.mgrid[0:size, 0:size]
    return np.where(((yy // cell) + (xx // cell)) % 2 == 0, 230, 25).astype(np.uint8)


def make_samples(skimage_data: Path, out: Path) -> None:
    """Write the sample images (see ``convlab.data.images.SAMPLES``) into ``out``."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)

    def save(image: Image.Image, name: str, **options: object) -> None:
        tmp = out / f".{name}.tmp"
        image.save(
            tmp, format=name.rsplit(".", 1)[1].upper().replace("JPG", "JPEG"), **options
        )
        os.replace(tmp, out / name)

    def clean(name: str) -> Image.Image:
        with Image.open(skimage_data / name) as image:
            image.load()
            # Drop ICC/XMP/comments: pixels only.
            return Image.frombytes(image.mode, image.size, image.tobytes())

    save(clean("camera.png"), "cameraman.png", optimize=True)
    save(clean("chelsea.png"), "chelsea_cat.png", optimize=True)
    save(clean("astronaut.png"), "astronaut.jpg", quality=92, optimize=True)
    save(clean("brick.png"), "brick.png", optimize=True)
    save(Image.fromarray(_page_of_text(), "L"), "page_of_text.png", optimize=True)
    save(Image.fromarray(_checkerboard(), "L"), "checkerboard.png", optimize=True)
    subset = load_mnist("bundled")
    # The first "7" of the bundled test set: the digit everyone recognises.
    seven = int(np.flatnonzero(subset.y_test == 7)[0])
    save(Image.fromarray(subset.x_test[seven], "L"), "mnist_digit_7.png", optimize=True)


def make_icon(path: Path, size: int = 256) -> None:
    """A generated app icon: a 3 x 3 kernel (Sobel x, blue/red for sign) on a feature
    map."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (8, 8, size - 8, size - 8), radius=40, fill=(32, 36, 48, 255)
    )
    kernel = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    colours = {
        -2: (40, 90, 220),
        -1: (110, 150, 235),
        0: (235, 235, 235),
        1: (240, 140, 110),
        2: (220, 60, 40),
    }
    cell, gap = 56, 8
    origin = (size - (3 * cell + 2 * gap)) // 2
    for r, row in enumerate(kernel):
        for c, value in enumerate(row):
            x0 = origin + c * (cell + gap)
            y0 = origin + r * (cell + gap)
            draw.rounded_rectangle(
                (x0, y0, x0 + cell, y0 + cell), radius=10, fill=colours[value]
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    image.save(tmp, format="PNG", optimize=True)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", type=Path, help="folder holding the full MNIST")
    parser.add_argument(
        "--samples", type=Path, help="scikit-image's skimage/data folder"
    )
    parser.add_argument("--out", type=Path, default=assets_dir(), help="assets folder")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if args.mnist is None and args.samples is None:
        parser.error("give --mnist FOLDER and/or --samples FOLDER")
    if args.mnist is not None:
        sums = make_mnist_subset(args.mnist, args.out / "mnist", seed=args.seed)
        for stem, digest in sums.items():
            size = (args.out / "mnist" / f"{stem}.gz").stat().st_size
            print(f"{stem}.gz  {size:>9,} bytes  content sha256 {digest}")
    if args.samples is not None:
        make_samples(args.samples, args.out / "samples")
        make_icon(args.out / "icons" / "convlab.png")
        for path in sorted((args.out / "samples").iterdir()):
            print(f"{path.name:<24} {path.stat().st_size:>9,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

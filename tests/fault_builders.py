"""Builders for the bad files of ``tests/fault_catalogue.py``: the bytes (PNG, JPEG,
BMP, IDX, gzip, filter banks, model ``.npz`` files, bombs and liars), then the
``build(folder) -> path`` steps that put them, or FIFOs, folders and symlinks, in a
folder. No committed binaries: everything is made here, in memory or in ``folder``.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

# ----------------------------------------------------------------------------- builders


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_bytes(
    width: int,
    height: int,
    *,
    colour: int = 6,
    depth: int = 8,
    rows: int | None = None,
    fill: int = 0,
) -> bytes:
    """A PNG built by hand (streamed, so a huge one costs no memory to make).

    ``colour`` is the PNG colour type (0 grey, 2 RGB, 6 RGBA), ``depth`` 8 or 16;
    only ``rows`` rows of data are written (all when None): fewer make a header that
    promises more than the file holds.
    """
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row = b"\x00" + bytes([fill]) * (width * channels * depth // 8)
    z = zlib.compressobj(9)
    parts = []
    for _ in range(height if rows is None else rows):
        parts.append(z.compress(row))
    parts.append(z.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def _small_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) * 4).save(out, "PNG")
    return out.getvalue()


def _small_jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose SOF0 header is patched to claim ``width x height``."""
    data = bytearray(_small_jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _bmp_claiming(width: int, height: int) -> bytes:
    header = struct.pack("<2sIHHI", b"BM", 54 + 16, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 16, 0, 0, 0, 0)
    return header + info + b"\0" * 16


def _flip(data: bytes, start: int, count: int = 64) -> bytes:
    out = bytearray(data)
    for i in range(start, min(len(out), start + count)):
        out[i] ^= 0x5A
    return bytes(out)


def idx_bytes(dims: tuple[int, ...], body: bytes = b"", type_code: int = 8) -> bytes:
    return (
        bytes([0, 0, type_code, len(dims)])
        + struct.pack(f">{len(dims)}I", *dims)
        + body
    )


def gzip_bomb(head: bytes, zeros_mb: int) -> bytes:
    """``head`` then ``zeros_mb`` MiB of zeros, gzip-compressed (about 1 KB per MB)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [z.compress(head)]
    block = bytes(1 << 20)
    parts += [z.compress(block) for _ in range(zeros_mb)]
    parts.append(z.flush())
    return b"".join(parts)


def _bank(filters: object, **top: object) -> str:
    data = {"format": "convlab-filter-bank", "version": 1, "filters": filters}
    data.update(top)
    return json.dumps(data)


_OK = {"name": "ok", "kernel": [[1, 0], [0, 1]]}


def _tiny_model_arrays() -> tuple[dict, dict[str, np.ndarray]]:
    """The ``tiny`` preset as saved: (architecture dict, {key: array})."""
    import tempfile

    from convlab.nn.presets import tiny
    from convlab.nn.saving import save_model

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.npz"
        save_model(tiny(), path)
        buffer = io.BytesIO(path.read_bytes())
    with np.load(buffer, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    return json.loads(str(arrays.pop("architecture"))), arrays


def model_bytes(change: Callable[[dict, dict], None] | None = None) -> bytes:
    """A model file: the tiny preset with ``change(architecture, arrays)`` applied."""
    record, arrays = _tiny_model_arrays()
    if change is not None:
        change(record, arrays)
    buffer = io.BytesIO()
    np.savez(buffer, architecture=np.array(json.dumps(record)), **arrays)
    return buffer.getvalue()


def _set_weight(key: str, value: object) -> Callable[[dict, dict], None]:
    def change(record: dict, arrays: dict) -> None:
        arrays[key] = value

    return change


def _huge_dense(record: dict, arrays: dict) -> None:
    """Dense(3,000,000) declared; the file still holds the small kernel (29 KB)."""
    record["model"]["layers"][-1]["config"]["units"] = 3_000_000


def _input_28x27(record: dict, arrays: dict) -> None:
    """Input 1x28x27 with a 28x28 first kernel: the width is too small for it."""
    record["model"]["input_shape"] = [1, 28, 27]
    record["model"]["layers"][0]["config"]["input_shape"] = [1, 28, 27]
    record["model"]["layers"][0]["config"]["kernel_size"] = [28, 28]


def _npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()  # the magic string included


def model_zip_bomb(zeros_mb: int) -> bytes:
    """A model whose dense kernel member inflates to ``zeros_mb`` MiB of zeros
    (streamed into the zip: a few MB to make, whatever the size)."""
    import zipfile

    record, arrays = _tiny_model_arrays()
    key = "weights/005/dense/kernel"
    del arrays[key]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in {
            "architecture": np.array(json.dumps(record)),
            **arrays,
        }.items():
            with archive.open(name + ".npy", "w") as member:
                np.lib.format.write_array(member, array)
        count = zeros_mb * 2**20 // 4
        with archive.open(key + ".npy", "w", force_zip64=True) as member:
            member.write(_npy_header((count,)))
            block = bytes(2**20)
            for _ in range(zeros_mb):
                member.write(block)
    return buffer.getvalue()


def model_lying_header() -> bytes:
    """A 100-byte member whose .npy header declares 10**9 floats (numpy allocates
    the array from the header before reading)."""
    import zipfile

    record, arrays = _tiny_model_arrays()
    key = "weights/005/dense/kernel"
    del arrays[key]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in {
            "architecture": np.array(json.dumps(record)),
            **arrays,
        }.items():
            with archive.open(name + ".npy", "w") as member:
                np.lib.format.write_array(member, array)
        archive.writestr(key + ".npy", _npy_header((10**9,)) + bytes(100))
    return buffer.getvalue()


def _no_architecture() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.zeros(3, np.float32))
    return buffer.getvalue()


def _pickled_weight() -> bytes:
    import zipfile

    record, arrays = _tiny_model_arrays()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in {
            "architecture": np.array(json.dumps(record)),
            **arrays,
        }.items():
            with archive.open(name + ".npy", "w") as member:
                if name.endswith("dense/bias"):
                    array = np.array([object()] * 10, dtype=object)
                np.lib.format.write_array(member, array, allow_pickle=True)
    return buffer.getvalue()


# ------------------------------------------------------------------------- folder steps


def _write(name: str, data: bytes | str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        return path

    return build


def _lazy(name: str, make: Callable[[], bytes | str]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        return _write(name, make())(folder)

    return build


def _fifo(name: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        os.mkfifo(folder / name)
        return folder / name

    return build


def _dir(name: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        (folder / name).mkdir()
        return folder / name

    return build


def _loop(name: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        (folder / name).symlink_to(folder / f"{name}.other")
        (folder / f"{name}.other").symlink_to(folder / name)
        return folder / name

    return build


def _dangling(name: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        (folder / name).symlink_to(folder / "no-such-target")
        return folder / name

    return build


def _mnist_folder(replace: str, how: Callable[[Path], Path]) -> Callable[[Path], Path]:
    """A folder of four small valid MNIST files with ``replace`` swapped for ``how``."""
    from convlab.data.mnist import FILES

    def build(folder: Path) -> Path:
        target = folder / f"mnist-{replace}-{how.__qualname__.split('.')[0]}"
        target.mkdir()
        for stem in FILES:
            n = 10
            dims = (n, 28, 28) if "images" in stem else (n,)
            body = bytes(n * 784) if "images" in stem else bytes(range(n))
            (target / f"{stem}.gz").write_bytes(gzip.compress(idx_bytes(dims, body)))
        (target / replace).unlink()
        how(target)
        return target

    return build

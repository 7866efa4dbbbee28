"""The IDX file format, read bounded: the one parser behind every MNIST source.

IDX is the container MNIST ships in: a magic number (two zero bytes, a type byte,
the number of dimensions), the dimensions as big-endian 32-bit ints, then the values.
Files may be gzip-compressed; that is detected from their first bytes. Parsing checks
the header and the declared size before anything is allocated, so no file costs
more than :data:`MAX_IDX_BYTES` of memory. Nothing is ever unpickled.

:mod:`convlab.data.mnist` re-exports :func:`parse_idx`, :func:`read_idx`,
:data:`MAX_IDX_BYTES` and :class:`MnistError` from here.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from convlab._files import FileAccessError, open_regular

__all__ = ["MAX_IDX_BYTES", "MnistError", "parse_idx", "read_idx"]

#: IDX type byte -> numpy dtype (big-endian, as the format stores it).
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
#: The most bytes one IDX file may hold once decompressed: 256 MiB, 5x the full
#: MNIST training images (47 MB; Fashion-MNIST and EMNIST "balanced" fit too). The
#: declared size is checked against it before anything is allocated, so a file can
#: cost at most this much memory whatever its header or its gzip data claim.
MAX_IDX_BYTES = 256 * 1024 * 1024
_LABELS_MAGIC = 0x00000801
_IMAGES_MAGIC = 0x00000803
_CHUNK = 1 << 16


class MnistError(ValueError):
    """An MNIST file or folder is missing, malformed, or does not match its checksum."""


class _Gunzip:
    """Incremental, bounded gzip decompression (several members in a row allowed).

    Pulls compressed bytes from ``source()`` (b"" at the end of the input) and hands
    out at most ``limit`` decompressed bytes per call of :meth:`next`, so a bomb never
    expands beyond what the caller asked for.
    """

    def __init__(self, source: Callable[[], bytes], name: str) -> None:
        self._source = source
        self._name = name
        self._z = zlib.decompressobj(31)

    def _corrupt(self, why: object) -> MnistError:
        return MnistError(f"{self._name}: corrupt gzip data ({why})")

    def next(self, limit: int) -> bytes:
        z = self._z
        while True:
            if z.eof:  # first: after the end, unconsumed_tail may repeat unused_data
                src = z.unused_data
                while len(src) < 2:
                    more = self._source()
                    if not more:
                        if src:
                            raise self._corrupt("stray bytes after the gzip stream")
                        return b""
                    src += more
                if src[:2] != b"\x1f\x8b":
                    raise self._corrupt("data after the end of the gzip stream")
                z = self._z = zlib.decompressobj(31)
            elif z.unconsumed_tail:
                src = z.unconsumed_tail
            else:
                src = self._source()
                if not src:
                    raise MnistError(
                        f"{self._name}: the gzip data is truncated (the file ended "
                        "early; download it again)"
                    )
            try:
                data = z.decompress(src, limit)
            except zlib.error as err:
                raise self._corrupt(err) from None
            if data:
                return data


class _IdxStream:
    """The decompressed bytes of an IDX file, raw or gzip, read in bounded pieces
    (and hashed on the way when a digest is given)."""

    def __init__(self, handle: BinaryIO, name: str, digest: object = None) -> None:
        self.name = name
        self._handle = handle
        self._digest = digest
        head = handle.read(2)
        self.gzipped = head == b"\x1f\x8b"
        self._head = head
        self._gunzip = _Gunzip(self._read_raw, name) if self.gzipped else None

    def _read_raw(self) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        try:
            return self._handle.read(_CHUNK * 16)
        except OSError as err:
            raise MnistError(
                f"{self.name}: cannot be read ({err.strerror or err})"
            ) from None

    def _next(self, limit: int) -> bytes:
        if self._gunzip is not None:
            data = self._gunzip.next(limit)
        elif self._head:
            data, self._head = self._head[:limit], self._head[limit:]
        else:
            try:
                data = self._handle.read(min(limit, _CHUNK * 16))
            except OSError as err:
                raise MnistError(
                    f"{self.name}: cannot be read ({err.strerror or err})"
                ) from None
        if data and self._digest is not None:
            self._digest.update(data)  # type: ignore[attr-defined]
        return data

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes: fewer only at the end of the data."""
        out = bytearray()
        while len(out) < n and (chunk := self._next(n - len(out))):
            out += chunk
        return bytes(out)

    def readinto(self, buffer: memoryview) -> int:
        """Fill ``buffer``; returns how many bytes there were."""
        done = 0
        # 1 MB pieces: one decompress() call for all of it would make a second copy
        while done < len(buffer) and (
            chunk := self._next(min(len(buffer) - done, _CHUNK * 16))
        ):
            buffer[done : done + len(chunk)] = chunk
            done += len(chunk)
        return done

    def count_rest(self, limit: int) -> int:
        """How many bytes remain, counting no further than ``limit`` (+ 1 chunk)."""
        rest = 0
        while rest <= limit and (chunk := self._next(_CHUNK * 16)):
            rest += len(chunk)
        return rest


def _bad_magic(name: str, header: bytes) -> MnistError:
    magic = int.from_bytes(header[:4], "big")
    return MnistError(
        f"{name}: not an IDX file: wrong magic number 0x{magic:08X} (MNIST uses "
        f"0x{_LABELS_MAGIC:08X} for labels and 0x{_IMAGES_MAGIC:08X} for images)"
    )


def _parse_stream(
    stream: _IdxStream,
    *,
    raw_size: int | None = None,
    kind: str | None = None,
    max_bytes: int | None = None,
) -> np.ndarray:
    """Header first, sizes checked (against the file and the budget), then one
    allocation the data is read into. ``raw_size``: the file size when uncompressed
    (the declared size is checked against it before anything is allocated)."""
    name = stream.name
    budget = MAX_IDX_BYTES if max_bytes is None else max_bytes
    head = stream.read(4)
    if len(head) < 4:
        raise MnistError(
            f"{name}: not an IDX file (only {len(head)} bytes; an IDX header has at "
            f"least 8)"
        )
    type_code, ndim = head[2], head[3]
    if head[0] != 0 or head[1] != 0 or type_code not in _IDX_DTYPES:
        raise _bad_magic(name, head)
    if not 1 <= ndim <= 4:
        raise _bad_magic(name, head)
    magic = int.from_bytes(head, "big")
    if kind is not None:
        want = _IMAGES_MAGIC if kind == "images" else _LABELS_MAGIC
        if magic in (_IMAGES_MAGIC, _LABELS_MAGIC) and magic != want:
            other = "images" if kind == "labels" else "labels"
            raise MnistError(
                f"{name}: expected {kind} (magic 0x{want:08X}) but this file holds "
                f"{other} (magic 0x{magic:08X})"
            )
    header_len = 4 + 4 * ndim
    rest = stream.read(4 * ndim)
    if len(rest) < 4 * ndim:
        raise MnistError(
            f"{name}: truncated: the header needs {header_len} bytes, the file has "
            f"{4 + len(rest)}"
        )
    dims = struct.unpack(f">{ndim}I", rest)
    dtype = _IDX_DTYPES[type_code]
    count = math.prod(dims)  # Python ints: 4294967295 x 28 x 28 does not wrap
    expected = count * dtype.itemsize
    shape = " x ".join(f"{d:,}" for d in dims)
    promise = f"the header promises {shape} values ({expected:,} bytes)"
    if raw_size is not None:
        available = raw_size - header_len
        if available < expected:
            raise MnistError(
                f"{name}: truncated: {promise} but only {available:,} bytes follow"
            )
        if available > expected:
            raise MnistError(
                f"{name}: {available - expected:,} unexpected bytes after the data "
                f"({promise}): not a clean IDX file"
            )
    if expected > budget:
        raise MnistError(
            f"{name}: {promise}, more than the {budget:,}-byte limit for one IDX file "
            "(not MNIST, or a decompression bomb)"
        )
    array = np.empty(dims, dtype=dtype)
    got = stream.readinto(memoryview(array.reshape(-1).view(np.uint8)))
    if got < expected:
        raise MnistError(f"{name}: truncated: {promise} but only {got:,} bytes follow")
    extra = stream.count_rest(budget)
    if extra:
        amount = f"{extra:,}" if extra <= budget else f"more than {budget:,}"
        raise MnistError(
            f"{name}: {amount} unexpected bytes after the data ({promise}): not a "
            "clean IDX file"
        )
    if dtype.byteorder not in ("=", "|"):
        array = array.byteswap().view(dtype.newbyteorder("="))
    return array


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an uncompressed IDX file.

    Parameters
    ----------
    data : bytes
        The whole file: magic number, dimensions, then the values.
    name : str
        How to name the file in error messages.

    Returns
    -------
    ndarray
        A writable array in native byte order, shaped by the header.

    Raises
    ------
    MnistError
        Not an IDX file, truncated, with bytes after the data, or declaring more than
        :data:`MAX_IDX_BYTES`.

    Examples
    --------
    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    array([7, 2, 1], dtype=uint8)
    """
    stream = _IdxStream(io.BytesIO(bytes(data)), name)
    if stream.gzipped:  # parse_idx takes raw bytes only
        raise _bad_magic(name, bytes(data))
    return _parse_stream(stream, raw_size=len(data))


def _open_idx(path: Path) -> BinaryIO:
    try:
        return open_regular(path, MAX_IDX_BYTES + 1024, "an IDX file")
    except FileAccessError as err:
        raise MnistError(str(err)) from None


def _read_idx(
    path: Path, *, kind: str | None = None, sha256: str | None = None
) -> np.ndarray:
    """Open (errors say why the file cannot be read), then parse; with ``sha256`` a
    file that fails to parse or to match is reported as a damaged copy."""
    digest = hashlib.sha256() if sha256 is not None else None
    with _open_idx(path) as handle:
        try:
            stream = _IdxStream(handle, str(path), digest)
            raw_size = None if stream.gzipped else os.fstat(handle.fileno()).st_size
            array = _parse_stream(stream, raw_size=raw_size, kind=kind)
        except MnistError:
            if digest is None:
                raise
            array = None
    if digest is not None and (array is None or digest.hexdigest() != sha256):
        raise MnistError(
            f"{path}: content does not match the published sha256 {sha256[:12]}... "
            "(a damaged or different file; delete it to download it again)"
        )
    return array


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw (detected from its first bytes).

    Bounded: only regular files (a FIFO is refused without blocking), the declared
    size is checked against the file (raw) and against :data:`MAX_IDX_BYTES` before
    anything is allocated, and gzip data is decompressed piece by piece into that one
    allocation, so a gzip bomb costs at most ``MAX_IDX_BYTES`` of memory.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ndarray
        uint8 for MNIST: labels (N,), images (N, 28, 28).

    Raises
    ------
    MnistError
        Missing, unreadable, not a regular file, corrupt gzip, wrong magic number,
        truncated, trailing bytes, too large; the message names the file.
    """
    return _read_idx(Path(path))

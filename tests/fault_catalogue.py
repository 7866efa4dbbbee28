"""A catalogue of bad files for every reader, generated (no committed binaries).

Each :class:`Fault` says which reader it is for, how to build the file, and what the
reader must do: load it, or raise its documented error with a message matching a
pattern. ``tests/test_fault_catalogue.py`` runs them all; run this script to build
the catalogue into a folder and print what each reader did, with the peak memory of
the worst files measured in a fresh process::

    python tests/fault_catalogue.py /tmp/faults

Permission denied cannot be made with file modes when running as root (root reads
everything), so that entry injects ``PermissionError`` at ``os.open`` instead.

The bytes and the ``build(folder) -> path`` steps come from
``tests/fault_builders.py``.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import signal
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from fault_builders import (  # noqa: E402
    _OK,
    _bank,
    _bmp_claiming,
    _dangling,
    _dir,
    _fifo,
    _flip,
    _huge_dense,
    _input_28x27,
    _jpeg_claiming,
    _lazy,
    _loop,
    _mnist_folder,
    _no_architecture,
    _pickled_weight,
    _set_weight,
    _small_jpeg,
    _small_png,
    _write,
    gzip_bomb,
    idx_bytes,
    model_bytes,
    model_lying_header,
    model_zip_bomb,
    png_bytes,
)

# ----------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class Fault:
    """One bad (or good) file: ``reader`` is an entry point name (see READERS);
    ``build(folder) -> path``; ``expect`` is ``"load"`` or a regex the error must
    match; ``inject`` names an OS failure simulated in-process."""

    name: str
    reader: str
    build: Callable[[Path], Path]
    expect: str
    inject: str | None = None


CATALOGUE: list[Fault] = [
    # -- images -------------------------------------------------------------------
    Fault("valid small PNG", "image", _lazy("ok.png", _small_png), "load"),
    Fault("valid small JPEG", "image", _lazy("ok.jpg", _small_jpeg), "load"),
    Fault(
        "valid 16-bit PNG",
        "image",
        _lazy("deep.png", lambda: png_bytes(40, 30, colour=0, depth=16, fill=200)),
        "load",
    ),
    Fault(
        "truncated PNG",
        "image",
        _lazy("cut.png", lambda: png_bytes(64, 64, fill=7)[:-40]),
        r"cut\.png: truncated or corrupt",
    ),
    Fault(
        "PNG whose rows stop early",
        "image",
        _lazy("short.png", lambda: png_bytes(64, 64, rows=10)),
        # Pillow fills rows missing from a complete zlib stream without a word
        r"short\.png: truncated or corrupt|load",
    ),
    Fault(
        "corrupt PNG body",
        "image",
        _lazy("bad.png", lambda: _flip(png_bytes(64, 64, fill=9), 50)),
        r"bad\.png: truncated or corrupt",
    ),
    Fault(
        "9000x9000 RGBA PNG, zeros (337 KB): under Pillow's bomb limit",
        "image",
        _lazy("rgba9000.png", lambda: png_bytes(9000, 9000)),
        r"rgba9000\.png: 9,000 x 9,000 = 81\.0 megapixels to decode, more than the "
        r"40-megapixel budget",
    ),
    Fault(
        "16-bit 9400x9400 grey PNG, zeros",
        "image",
        _lazy("deep9400.png", lambda: png_bytes(9400, 9400, colour=0, depth=16)),
        r"deep9400\.png: 9,400 x 9,400 = 88\.4 megapixels",
    ),
    Fault(
        "6300x6300 RGBA PNG, zeros (39.7 MP, just inside the budget)",
        "image",
        _lazy("rgba6300.png", lambda: png_bytes(6300, 6300)),
        "load",
    ),
    Fault(
        "PNG header claiming 100000x100000",
        "image",
        _lazy("huge.png", lambda: png_bytes(100_000, 100_000, colour=0, rows=1)),
        r"huge\.png: (too many pixels|.*megapixels)",
    ),
    Fault(
        "JPEG header claiming 60000x60000",
        "image",
        _lazy("huge.jpg", lambda: _jpeg_claiming(60_000, 60_000)),
        r"huge\.jpg: (too many pixels|.*megapixels|truncated or corrupt)",
    ),
    Fault(
        "JPEG header claiming 8000x8000 (decoded at 1/8)",
        "image",
        _lazy("claim.jpg", lambda: _jpeg_claiming(8000, 8000)),
        r"claim\.jpg: truncated or corrupt|load",
    ),
    Fault(
        "truncated JPEG",
        "image",
        _lazy("cut.jpg", lambda: _small_jpeg()[:300]),
        r"cut\.jpg: truncated or corrupt",
    ),
    Fault(
        "BMP header claiming 30000x30000",
        "image",
        _lazy("huge.bmp", lambda: _bmp_claiming(30_000, 30_000)),
        r"huge\.bmp: (too many pixels|.*megapixels|truncated or corrupt)",
    ),
    Fault(
        "GIF cut after the header",
        "image",
        _lazy("cut.gif", lambda: b"GIF89a" + struct.pack("<HH", 500, 500) + b"\0" * 3),
        r"cut\.gif: (truncated or corrupt|not an image file)",
    ),
    Fault("empty file", "image", _write("empty.png", b""), r"empty\.png: not an image"),
    Fault(
        "text named .png",
        "image",
        _write("notes.png", "hello"),
        r"notes\.png: not an image file",
    ),
    Fault("FIFO named .png", "image", _fifo("pipe.png"), r"pipe\.png: is a named pipe"),
    Fault("folder named .png", "image", _dir("dir.png"), r"dir\.png: is a folder"),
    Fault("symlink loop", "image", _loop("loop.png"), r"loop\.png: a loop of symbolic"),
    Fault(
        "dangling symlink",
        "image",
        _dangling("gone.png"),
        r"gone\.png: a symbolic link to a missing file",
    ),
    Fault(
        "missing file", "image", lambda f: f / "nope.png", r"nope\.png: no such file"
    ),
    Fault(
        "permission denied (injected)",
        "image",
        _lazy("secret.png", _small_png),
        r"secret\.png: permission denied",
        inject="eacces",
    ),
    Fault("device", "image", lambda f: Path("/dev/zero"), r"/dev/zero: is a device"),
    # -- IDX files ------------------------------------------------------------------
    Fault(
        "valid labels",
        "idx",
        _write("labels", idx_bytes((5,), bytes([1, 2, 3, 4, 5]))),
        "load",
    ),
    Fault(
        "4294967295 images declared, raw",
        "idx",
        _write("huge-raw", idx_bytes((4294967295, 28, 28), bytes(100))),
        r"huge-raw: truncated: the header promises 4,294,967,295 x 28 x 28 values "
        r"\(3,367,254,359,280 bytes\) but only 100 bytes follow",
    ),
    Fault(
        "4294967295 images declared, gzip",
        "idx",
        _lazy("huge.gz", lambda: gzip.compress(idx_bytes((4294967295, 28, 28)))),
        r"huge\.gz: the header promises 4,294,967,295 x 28 x 28 values .* more than "
        r"the 268,435,456-byte limit",
    ),
    Fault(
        "gzip bomb: 100 labels then 600 MiB of zeros (600 KB of gzip)",
        "idx",
        _lazy("bomb.gz", lambda: gzip_bomb(idx_bytes((100,), bytes(100)), 600)),
        r"bomb\.gz: more than 268,435,456 unexpected bytes",
    ),
    Fault(
        "gzip bomb: 256 MiB of zeros, 342,392 images declared (the budget's worth)",
        "idx",
        _lazy("bomb256.gz", lambda: gzip_bomb(idx_bytes((342_392, 28, 28)), 256)),
        r"bomb256\.gz: 128 unexpected bytes after the data",
    ),
    Fault(
        "float64 IDX declaring 2**31 x 2**31",
        "idx",
        _write("f8", idx_bytes((2**31, 2**31), type_code=0x0E)),
        r"f8: truncated: the header promises 2,147,483,648 x 2,147,483,648 values",
    ),
    Fault(
        "5 dimensions",
        "idx",
        _write("five", idx_bytes((1, 1, 1, 1, 1), b"\0")),
        r"five: not an IDX file: wrong magic number",
    ),
    Fault(
        "wrong magic (a PNG)",
        "idx",
        _lazy("png", _small_png),
        r"png: not an IDX file: wrong magic number 0x89504E47",
    ),
    Fault(
        "truncated gzip",
        "idx",
        _lazy("cut.gz", lambda: gzip.compress(idx_bytes((100,), bytes(100)))[:20]),
        r"cut\.gz: the gzip data is truncated",
    ),
    Fault(
        "gzip with trailing garbage",
        "idx",
        _lazy("tail.gz", lambda: gzip.compress(idx_bytes((3,), b"abc")) + b"junk!"),
        r"tail\.gz: corrupt gzip data",
    ),
    Fault(
        "corrupt deflate stream",
        "idx",
        _lazy(
            "bad.gz", lambda: _flip(gzip.compress(idx_bytes((300,), bytes(300))), 12)
        ),
        r"bad\.gz: (corrupt gzip data|the gzip data is truncated)",
    ),
    Fault("empty IDX", "idx", _write("empty", b""), r"empty: not an IDX file"),
    Fault("FIFO IDX", "idx", _fifo("pipe.gz"), r"pipe\.gz: is a named pipe"),
    Fault("folder IDX", "idx", _dir("dir.gz"), r"dir\.gz: is a folder"),
    Fault("symlink loop IDX", "idx", _loop("loop.gz"), r"loop\.gz: a loop of symbolic"),
    Fault(
        "permission denied IDX (injected)",
        "idx",
        _write("secret.gz", b"\0"),
        r"secret\.gz: permission denied",
        inject="eacces",
    ),
    # -- MNIST folders --------------------------------------------------------------
    Fault(
        "MNIST folder with a FIFO for the training images",
        "mnist",
        _mnist_folder(
            "train-images-idx3-ubyte.gz", _fifo("train-images-idx3-ubyte.gz")
        ),
        r"train-images-idx3-ubyte\.gz: is a named pipe",
    ),
    Fault(
        "MNIST folder with a folder for the test labels",
        "mnist",
        _mnist_folder("t10k-labels-idx1-ubyte.gz", _dir("t10k-labels-idx1-ubyte.gz")),
        r"t10k-labels-idx1-ubyte\.gz: is a folder",
    ),
    Fault(
        "MNIST source that is a file",
        "mnist",
        _write("not-a-folder", b""),
        r"source='.*not-a-folder' \(a file, not a folder\)",
    ),
    Fault(
        "MNIST source that is a symlink loop",
        "mnist",
        _loop("mnist-loop"),
        r"mnist-loop' \(a loop of symbolic links\)",
    ),
    # -- filter banks ---------------------------------------------------------------
    Fault(
        "valid bank with biases",
        "bank",
        _write("ok.json", _bank([{**_OK, "bias": 0.5}])),
        "load",
    ),
    Fault(
        "bank nested 200,000 deep",
        "bank",
        _write("deep.json", "[" * 200_000 + "]" * 200_000),
        r"deep\.json: nested 200,000 deep",
    ),
    Fault(
        "weight 1e40",
        "bank",
        _write("big.json", _bank([{"name": "k", "kernel": [[0, 1e40]]}])),
        r"big\.json: filters\[0\]\.kernel \('k'\)\[0\]\[1\] must be finite and at most",
    ),
    Fault(
        "weight 10**400 (an int no float holds)",
        "bank",
        _write("int.json", _bank([{"name": "k", "kernel": [[10**400]]}])),
        r"int\.json: .*\[0\]\[0\] must be finite .*an integer of 401 digits",
    ),
    Fault(
        "5000-digit weight (beyond Python's int parsing limit)",
        "bank",
        _write(
            "digits.json",
            '{"format": "convlab-filter-bank", "filters": [[' + "1" * 5000,
        ),
        r"digits\.json: ",
    ),
    Fault(
        "bias 1e40",
        "bank",
        _write("bias.json", _bank([{**_OK, "bias": 1e40}])),
        r"bias\.json: filters\[0\] \('ok'\): `bias` must be finite",
    ),
    Fault(
        "bias as text",
        "bank",
        _write("biastext.json", _bank([{**_OK, "bias": "0.5"}])),
        r"biastext\.json: filters\[0\] \('ok'\): `bias` must be a number",
    ),
    Fault(
        "200 filters",
        "bank",
        _write("many.json", _bank([_OK] * 200)),
        r"many\.json: holds 200 filters; a bank holds at most 32",
    ),
    Fault(
        "kernel as a string",
        "bank",
        _write("kstr.json", _bank([{"name": "s", "kernel": "[[1]]"}])),
        r"kstr\.json: .*must be a non-empty list of rows",
    ),
    Fault(
        "name as a number",
        "bank",
        _write("nnum.json", _bank([{"name": 3, "kernel": [[1]]}])),
        r"nnum\.json: filters\[0\]\.name must be a non-empty string",
    ),
    Fault(
        "filters as an object",
        "bank",
        _write("fobj.json", _bank({"a": 1})),
        r"fobj\.json: \"filters\" must be a list",
    ),
    Fault(
        "NaN weight",
        "bank",
        _write(
            "nan.json",
            _bank([{"name": "n", "kernel": [[0]]}]).replace("[[0]]", "[[NaN]]"),
        ),
        r"nan\.json: NaN is not a number JSON allows",
    ),
    Fault(
        "not UTF-8",
        "bank",
        _write("latin.json", b"\xff\xfe\x00garbage"),
        r"latin\.json: not a text file",
    ),
    Fault(
        "3 MB bank",
        "bank",
        _write("huge.json", " " * (3 << 20)),
        r"huge\.json: 3,145,728 bytes, more than the 2,097,152-byte limit",
    ),
    Fault("FIFO bank", "bank", _fifo("pipe.json"), r"pipe\.json: is a named pipe"),
    Fault("folder bank", "bank", _dir("dir.json"), r"dir\.json: is a folder"),
    Fault("loop bank", "bank", _loop("loop.json"), r"loop\.json: a loop of symbolic"),
    Fault(
        "permission denied bank (injected)",
        "bank",
        _write("secret.json", _bank([_OK])),
        r"secret\.json: permission denied",
        inject="eacces",
    ),
    # ------------------------------------------------------------------ model files
    Fault("tiny model", "model", _lazy("tiny.npz", model_bytes), "load"),
    Fault(
        "Dense(3,000,000) declared in a 29 KB model",
        "model",
        _lazy("dense3m.npz", lambda: model_bytes(_huge_dense)),
        r"dense3m\.npz.*needs a kernel of shape \(400, 3000000\); the file holds "
        r"\(400, 10\)",
    ),
    Fault(
        "model zip bomb: 300 MiB of zeros in one weight",
        "model",
        _lazy("bomb.npz", lambda: model_zip_bomb(300)),
        r"bomb\.npz.*declare 314,\d{3},\d{3} bytes uncompressed, more than the "
        r"268,435,456",
    ),
    Fault(
        "model zip bomb: 250 MiB of zeros, inside the budget",
        "model",
        _lazy("bomb250.npz", lambda: model_zip_bomb(250)),
        r"bomb250\.npz.*needs a kernel of shape \(400, 10\); the file holds "
        r"\(65536000,\)",
    ),
    Fault(
        "model weight whose .npy header declares 10**9 floats",
        "model",
        _lazy("liar.npz", model_lying_header),
        r"liar\.npz.*declares 4,000,000,000 bytes of data in a member of",
    ),
    Fault(
        "model input 1x28x27 the first kernel does not fit",
        "model",
        _lazy("narrow.npz", lambda: model_bytes(_input_28x27)),
        r"narrow\.npz.*the kernels cannot run this model on its input 1x28x27: "
        r"layer 0 \"conv2d\" \(Conv2D\) .*[Oo]utput would be empty",
    ),
    Fault(
        "model NaN weight",
        "model",
        _lazy(
            "nan.npz",
            lambda: model_bytes(
                _set_weight(
                    "weights/005/dense/bias",
                    np.array([np.nan] * 9 + [np.inf], np.float32),
                )
            ),
        ),
        r"nan\.npz.*'weights/005/dense/bias' \(10,\) has 10 non-finite values "
        r"\(9 NaN, 1 inf\)",
    ),
    Fault(
        "model complex weight",
        "model",
        _lazy(
            "complex.npz",
            lambda: model_bytes(
                _set_weight("weights/005/dense/bias", np.full(10, 1 + 2j))
            ),
        ),
        r"complex\.npz.*'weights/005/dense/bias' is complex \(complex128\)",
    ),
    Fault(
        "model int weight",
        "model",
        _lazy(
            "int.npz",
            lambda: model_bytes(_set_weight("weights/005/dense/bias", np.arange(10))),
        ),
        r"int\.npz.*has dtype int64; weights are float arrays",
    ),
    Fault(
        "model pickled weight",
        "model",
        _lazy("pickle.npz", _pickled_weight),
        r"pickle\.npz.*pickled Python objects",
    ),
    Fault(
        "model without architecture",
        "model",
        _lazy("foreign.npz", _no_architecture),
        r"foreign\.npz.*no 'architecture' record; the file holds weights",
    ),
    Fault(
        "truncated model",
        "model",
        _lazy("cut.npz", lambda: model_bytes()[:3000]),
        r"cut\.npz.*truncated or not an \.npz",
    ),
    Fault(
        "corrupt model (PNG bytes)",
        "model",
        _lazy("png.npz", _small_png),
        r"png\.npz.*not a convlab model file",
    ),
    Fault("folder model", "model", _dir("dir.npz"), r"dir\.npz.*is a folder"),
    Fault("FIFO model", "model", _fifo("pipe.npz"), r"pipe\.npz.*not a regular"),
]

#: The files whose peak memory the test measures in a fresh process.
WORST = (
    "6300x6300 RGBA PNG, zeros (39.7 MP, just inside the budget)",
    "9000x9000 RGBA PNG, zeros (337 KB): under Pillow's bomb limit",
    "16-bit 9400x9400 grey PNG, zeros",
    "gzip bomb: 100 labels then 600 MiB of zeros (600 KB of gzip)",
    "4294967295 images declared, gzip",
    "gzip bomb: 256 MiB of zeros, 342,392 images declared (the budget's worth)",
    "Dense(3,000,000) declared in a 29 KB model",
    "model zip bomb: 300 MiB of zeros in one weight",
    "model zip bomb: 250 MiB of zeros, inside the budget",
    "model weight whose .npy header declares 10**9 floats",
)

# ----------------------------------------------------------------------------- readers


def _readers() -> dict[str, tuple[Callable[[Path], object], type[BaseException]]]:
    from convlab.data.filters import FilterBankError, load_bank
    from convlab.data.images import ImageLoadError, load_image
    from convlab.data.mnist import MnistError, load_mnist, read_idx
    from convlab.nn.saving import ModelFileError, load_model

    return {
        "image": (load_image, ImageLoadError),
        "idx": (read_idx, MnistError),
        "mnist": (load_mnist, MnistError),
        "bank": (load_bank, FilterBankError),
        "model": (load_model, ModelFileError),
    }


@contextlib.contextmanager
def injected(kind: str | None) -> Iterator[None]:
    """Simulate an OS failure in convlab's reader (root ignores file modes)."""
    if kind is None:
        yield
        return
    from convlab import _files

    real_open = _files.os.open

    def denied(path: object, flags: int, *args: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    _files.os.open = denied  # type: ignore[assignment]
    try:
        yield
    finally:
        _files.os.open = real_open  # type: ignore[assignment]


class Hang(Exception):
    """The reader did not return within the alarm."""


@contextlib.contextmanager
def alarm(seconds: int) -> Iterator[None]:
    def ring(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def acceptable(fault: Fault, kind: str, text: str) -> bool:
    """Did the reader do what the entry documents? (``expect`` may list ``load`` as
    one of its ``|`` alternatives where either outcome is right.)"""
    import re

    if kind == "load":
        return "load" in fault.expect.split("|")
    return kind == "error" and re.search(fault.expect, text) is not None


def run(fault: Fault, path: Path) -> tuple[str, str]:
    """``("load", summary)`` or ``("error", message)``; anything else propagates."""
    reader, error = _readers()[fault.reader]
    with alarm(60), injected(fault.inject):
        try:
            result = reader(path)
        except error as err:
            return "error", str(err)
    return "load", repr(result)[:80]


def _high_water_kb() -> int:
    """Peak resident memory of this process, KB. From /proc (VmHWM) where it can be
    reset, because Linux carries ``ru_maxrss`` across fork and exec: a child of a
    big pytest process would start with its parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _measure(fault_name: str, path: Path) -> None:
    """In a fresh process: read one catalogue file, print the peak rise (MB) and
    the outcome."""
    fault = {x.name: x for x in CATALOGUE}[fault_name]
    _readers()  # imports (numpy, Pillow, convlab) before the baseline
    import PIL.Image
    import PIL.PngImagePlugin  # noqa: F401

    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset VmHWM to the current RSS
    before = _high_water_kb()
    kind, text = run(fault, path)
    after = _high_water_kb()
    print((after - before) / 1024)
    print(f"{kind}: {text[:100]}")


def peak_mb(fault_name: str, folder: Path) -> tuple[float, str]:
    """Build ``fault_name`` into ``folder`` and read it in a fresh process; returns
    the rise of the peak RSS (MB) over that process after its imports, and the
    outcome."""
    fault = {x.name: x for x in CATALOGUE}[fault_name]
    folder.mkdir(parents=True, exist_ok=True)
    path = fault.build(folder)
    out = subprocess.run(
        [sys.executable, __file__, "--peak", fault_name, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout.splitlines()
    return float(out[0]), out[1]


def main(argv: list[str]) -> int:
    import tempfile

    folder = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="faults-"))
    folder.mkdir(parents=True, exist_ok=True)
    clean: dict[str, list[int]] = {}
    for fault in CATALOGUE:
        sub = folder / f"{CATALOGUE.index(fault):02d}"
        sub.mkdir(exist_ok=True)
        path = fault.build(sub)
        try:
            kind, text = run(fault, path)
            ok = acceptable(fault, kind, text)
        except BaseException as err:  # noqa: BLE001 (the point is to see it)
            kind, text, ok = type(err).__name__, str(err), False
        counts = clean.setdefault(fault.reader, [0, 0])
        counts[0] += ok
        counts[1] += 1
        print(
            f"{'ok ' if ok else 'BAD'} {fault.reader:5} {fault.name[:50]:50} "
            f"{text[:70]}"
        )
    for reader, (good, total) in clean.items():
        print(f"{reader}: {good}/{total} handled cleanly")
    for name in WORST:
        rise, outcome = peak_mb(name, folder / "peak")
        print(f"peak +{rise:.0f} MB  {name[:45]:45} {outcome[:60]}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peak"]:
        _measure(sys.argv[2], Path(sys.argv[3]))
        raise SystemExit(0)
    raise SystemExit(main(sys.argv[1:]))

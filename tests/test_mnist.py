"""MNIST: the IDX parser, the bundled subset, the full set, bad files, and the
downloader.

The download tests serve files from a local ``http.server`` on 127.0.0.1 (a thread in
this process); no test ever contacts a real external host.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import socket
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

from convlab.data import mnist
from convlab.data.make_subset import idx_bytes, make_mnist_subset
from convlab.data.mnist import (
    CONTENT_SHA256,
    FILES,
    MnistDownloadError,
    MnistError,
    fetch_mnist,
    load_mnist,
    parse_idx,
    read_idx,
)

ROOT = Path(__file__).resolve().parents[1]


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def fake_arrays(n_train: int = 20, n_test: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        FILES[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        FILES[1]: (np.arange(n_train) % 10).astype(np.uint8),
        FILES[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        FILES[3]: (np.arange(n_test) % 10).astype(np.uint8),
    }


def write_folder(folder: Path, arrays: dict[str, np.ndarray], *, compress=True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        raw = idx_bytes(array)
        if compress:
            (folder / f"{stem}.gz").write_bytes(gz(raw))
        else:
            (folder / stem).write_bytes(raw)
    return folder


# ----------------------------------------------------------------------------- parser


def test_parse_idx_hand_made_bytes():
    labels = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])
    np.testing.assert_array_equal(parse_idx(labels), [7, 2, 1])
    images = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]) + bytes(
        [1, 2, 3, 4]
    )
    out = parse_idx(images)
    assert out.shape == (2, 1, 2)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out.ravel(), [1, 2, 3, 4])
    assert out.flags.writeable
    # Other IDX types: big-endian int16 comes back in native order.
    shorts = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2]) + struct.pack(">2h", -2, 300)
    np.testing.assert_array_equal(parse_idx(shorts), [-2, 300])


def test_read_idx_gz_and_raw_are_the_same(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    (tmp_path / "a").write_bytes(idx_bytes(array))
    (tmp_path / "a.gz").write_bytes(gz(idx_bytes(array)))
    (tmp_path / "raw-named.gz").write_bytes(
        idx_bytes(array)
    )  # sniffed, not trusted by name
    for name in ["a", "a.gz", "raw-named.gz"]:
        np.testing.assert_array_equal(read_idx(tmp_path / name), array)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (
            b"\x89PNG\r\n\x1a\n" + b"\0" * 20,
            r"f: not an IDX file: wrong magic number 0x89504E47",
        ),
        (bytes([0, 0, 8, 9, 0, 0, 0, 1, 5]), r"wrong magic number 0x00000809"),
        (bytes([0, 0, 8]), r"not an IDX file \(only 3 bytes"),
        (
            bytes([0, 0, 8, 3, 0, 0, 0, 2]),
            r"truncated: the header needs 16 bytes, the file has 8",
        ),
        (
            bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3]),
            r"f: truncated: the header promises 5 values \(5 bytes\) "
            r"but only 3 bytes follow",
        ),
        (
            bytes([0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3, 4]),
            r"f: 2 unexpected bytes after the data",
        ),
    ],
)
def test_bad_idx_bytes(tmp_path, data, match):
    for name, content in [("f", data), ("f", gz(data))]:  # same message raw or gzipped
        (tmp_path / name).write_bytes(content)
        with pytest.raises(MnistError, match=match):
            read_idx(tmp_path / name)


def test_gz_garbage_and_truncated_gz(tmp_path):
    good = gz(idx_bytes(np.zeros((50, 28, 28), np.uint8) + 7))
    (tmp_path / "cut.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(MnistError, match=r"cut\.gz: the gzip data is truncated"):
        read_idx(tmp_path / "cut.gz")
    broken = bytearray(good)
    broken[12:40] = b"\xff" * 28
    (tmp_path / "broken.gz").write_bytes(bytes(broken))
    with pytest.raises(MnistError, match=r"broken\.gz: corrupt gzip data"):
        read_idx(tmp_path / "broken.gz")
    (tmp_path / "tail.gz").write_bytes(good + b"some trailing garbage")
    with pytest.raises(MnistError, match=r"tail\.gz: corrupt gzip data"):
        read_idx(tmp_path / "tail.gz")
    with pytest.raises(MnistError, match=r"nothing\.gz: no such file"):
        read_idx(tmp_path / "nothing.gz")


# ----------------------------------------------------------------------------- bundled


def test_bundled_subset_shapes_and_balance():
    data = load_mnist()
    assert data.source == "bundled"
    assert data.x_train.shape == (10_000, 28, 28)
    assert data.x_train.dtype == np.uint8
    assert data.y_train.shape == (10_000,)
    assert data.y_train.dtype == np.uint8
    assert data.x_test.shape == (2_000, 28, 28)
    assert data.y_test.shape == (2_000,)
    np.testing.assert_array_equal(np.bincount(data.y_train, minlength=10), [1000] * 10)
    np.testing.assert_array_equal(np.bincount(data.y_test, minlength=10), [200] * 10)
    assert data.x_train.max() == 255
    assert data.x_train.min() == 0
    assert "train=10000" in repr(data)


def test_bundled_assets_are_small_and_credited():
    folder = ROOT / "assets" / "mnist"
    total = sum(p.stat().st_size for p in folder.iterdir())
    assert total < 3_000_000
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for words in [
        "Yann LeCun",
        "Corinna Cortes",
        "Christopher J.C. Burges",
        "CC BY-SA 3.0",
    ]:
        assert words in readme


def test_bundled_checksums_are_verified(tmp_path, monkeypatch):
    assets = tmp_path / "assets"
    shutil.copytree(ROOT / "assets" / "mnist", assets / "mnist")
    monkeypatch.setenv("CONVLAB_ASSETS_DIR", str(assets))
    assert load_mnist().x_train.shape == (10_000, 28, 28)  # the copy is fine
    labels = assets / "mnist" / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one label changed: still a valid IDX file
    labels.write_bytes(gz(bytes(raw)))
    with pytest.raises(
        MnistError, match=r"train-labels-idx1-ubyte\.gz: content does not match"
    ):
        load_mnist()


# ----------------------------------------------------------------------------- folders


def test_folder_gz_raw_and_dotted_names(tmp_path):
    arrays = fake_arrays()
    for folder, compress in [(tmp_path / "gz", True), (tmp_path / "raw", False)]:
        write_folder(folder, arrays, compress=compress)
        data = load_mnist(folder)
        assert data.source == str(folder)
        np.testing.assert_array_equal(data.x_train, arrays[FILES[0]])
        np.testing.assert_array_equal(data.y_test, arrays[FILES[3]])
    dotted = tmp_path / "dotted"
    write_folder(dotted, arrays, compress=False)
    for path in dotted.iterdir():
        path.rename(path.with_name(path.name.replace("-idx", ".idx")))
    assert load_mnist(str(dotted)).x_test.shape == (10, 28, 28)


def test_count_mismatch(tmp_path):
    arrays = fake_arrays()
    arrays[FILES[1]] = arrays[FILES[1]][:-1]
    folder = write_folder(tmp_path / "m", arrays)
    with pytest.raises(
        MnistError,
        match=r"training images and labels disagree: "
        r"train-images-idx3-ubyte\.gz holds 20 "
        r"images but train-labels-idx1-ubyte\.gz holds 19 labels",
    ):
        load_mnist(folder)


def test_labels_and_images_swapped(tmp_path):
    arrays = fake_arrays()
    folder = write_folder(tmp_path / "s", arrays)
    (folder / f"{FILES[2]}.gz").write_bytes(gz(idx_bytes(arrays[FILES[3]])))
    with pytest.raises(
        MnistError,
        match=r"t10k-images-idx3-ubyte\.gz: expected images \(magic 0x00000803\) "
        r"but this file holds labels \(magic 0x00000801\)",
    ):
        load_mnist(folder)


def test_wrong_image_size_and_bad_labels(tmp_path):
    arrays = fake_arrays()
    arrays[FILES[0]] = np.zeros((20, 32, 32), np.uint8)
    with pytest.raises(MnistError, match=r"expected 28 x 28 images, found 32 x 32"):
        load_mnist(write_folder(tmp_path / "a", arrays))
    arrays = fake_arrays()
    arrays[FILES[3]] = arrays[FILES[3]] + 5
    with pytest.raises(MnistError, match=r"labels must be digits 0-9, found 14"):
        load_mnist(write_folder(tmp_path / "b", arrays))


def test_missing_files_and_bad_sources(tmp_path):
    folder = write_folder(tmp_path / "m", fake_arrays())
    (folder / f"{FILES[3]}.gz").unlink()
    with pytest.raises(MnistError, match=r"missing t10k-labels-idx1-ubyte\[\.gz\]"):
        load_mnist(folder)
    with pytest.raises(
        MnistError, match=r"Received: source='bundle' \(no such folder\)"
    ):
        load_mnist("bundle")
    with pytest.raises(TypeError, match=r"Received: source=3"):
        load_mnist(3)


# ----------------------------------------------------------------------------- full set


def test_full_set_checksums_and_shapes(full_mnist_dir, monkeypatch):
    for stem in FILES:
        content = gzip.decompress((full_mnist_dir / f"{stem}.gz").read_bytes())
        assert hashlib.sha256(content).hexdigest() == CONTENT_SHA256[stem]
    monkeypatch.setenv("CONVLAB_MNIST_DIR", str(full_mnist_dir))
    data = load_mnist("full")
    assert data.source == "full"
    assert data.x_train.shape == (60_000, 28, 28)
    assert data.x_test.shape == (
        10_000,
        28,
        28,
    )
    assert data.y_train[:5].tolist() == [5, 0, 4, 1, 9]  # MNIST's famous first digits
    np.testing.assert_array_equal(
        np.bincount(data.y_test),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    )


def test_bundled_subset_is_reproducible_from_the_full_set(full_mnist_dir, tmp_path):
    sums = make_mnist_subset(full_mnist_dir, tmp_path / "mnist")
    shipped = (ROOT / "assets" / "mnist" / "SHA256SUMS").read_text()
    for stem, digest in sums.items():
        assert f"{digest}  {stem}" in shipped
    # And it really is drawn from MNIST: every bundled image is in the full set, same
    # label.
    full = load_mnist(full_mnist_dir)
    bundled = load_mnist("bundled")
    index = {
        row.tobytes(): label
        for row, label in zip(full.x_test, full.y_test, strict=True)
    }
    for image, label in zip(bundled.x_test, bundled.y_test, strict=True):
        assert index[image.tobytes()] == label


def test_env_var_folder_must_be_complete(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVLAB_MNIST_DIR", str(tmp_path))
    with pytest.raises(
        MnistError, match=r"CONVLAB_MNIST_DIR=.* does not hold the four"
    ):
        load_mnist("full")


# ----------------------------------------------------------------------------- download


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@pytest.fixture
def no_proxy(monkeypatch):
    for name in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setattr(mnist, "_BACKOFF_SECONDS", 0.0)


@pytest.fixture
def served(tmp_path, no_proxy, monkeypatch):
    """A loopback HTTP server over ``root`` with ``good/`` and ``tampered/`` mirrors of
    fake MNIST files; the module's checksums are patched to the fake content."""
    root = tmp_path / "www"
    arrays = fake_arrays()
    write_folder(root / "good", arrays)
    sums = {
        stem: hashlib.sha256(idx_bytes(a)).hexdigest() for stem, a in arrays.items()
    }
    monkeypatch.setattr(mnist, "CONTENT_SHA256", sums)
    tampered = write_folder(root / "tampered", arrays)
    wrong = arrays[FILES[0]].copy()
    wrong[0, 0, 0] ^= 1  # one bit: valid gzip, valid IDX, wrong content
    (tampered / f"{FILES[0]}.gz").write_bytes(gz(idx_bytes(wrong)))
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield base, root, arrays
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_verifies_and_reports_progress(served, tmp_path):
    base, root, arrays = served
    cache = tmp_path / "cache"
    calls: list[tuple[int, int, str]] = []
    out = fetch_mnist(
        cache,
        progress=lambda d, t, w: calls.append((d, t, w)),
        mirrors=[f"{base}/good/"],
    )
    assert out == cache
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{s}.gz" for s in FILES)
    for stem in FILES:
        name = f"{stem}.gz"
        size = (root / "good" / name).stat().st_size
        mine = [c for c in calls if c[2] == name]
        assert mine[0] == (0, size, name)  # total from Content-Length
        assert mine[-1] == (size, size, name)
        done = [c[0] for c in mine]
        assert done == sorted(done)
        assert (cache / name).read_bytes() == (root / "good" / name).read_bytes()
    data = load_mnist("full", cache_dir=cache)
    np.testing.assert_array_equal(data.x_train, arrays[FILES[0]])
    # Already there and verified: nothing is fetched again.
    calls.clear()
    fetch_mnist(
        cache,
        progress=lambda d, t, w: calls.append((d, t, w)),
        mirrors=[f"{base}/good/"],
    )
    assert calls == []


def test_tampered_file_is_rejected_and_nothing_left(served, tmp_path):
    base, _, _ = served
    cache = tmp_path / "cache"
    with pytest.raises(
        MnistDownloadError,
        match=r"Could not download MNIST from any mirror "
        r"\(train-images-idx3-ubyte\.gz: "
        r"127\.0\.0\.1:\d+: train-images-idx3-ubyte\.gz failed its sha256 check\)",
    ):
        fetch_mnist(cache, mirrors=[f"{base}/tampered/"])
    assert list(cache.iterdir()) == []  # no partial or temporary files


def test_falls_back_to_next_mirror(served, tmp_path):
    base, _, arrays = served
    cache = tmp_path / "cache"
    # First mirror 404s every file, second serves a tampered file, third is good.
    fetch_mnist(
        cache, mirrors=[f"{base}/nothing-here/", f"{base}/tampered/", f"{base}/good/"]
    )
    assert len(list(cache.iterdir())) == 4
    np.testing.assert_array_equal(read_idx(cache / f"{FILES[0]}.gz"), arrays[FILES[0]])


def test_damaged_cache_file_is_downloaded_again(served, tmp_path):
    base, _, arrays = served
    cache = tmp_path / "cache"
    fetch_mnist(cache, mirrors=[f"{base}/good/"])
    (cache / f"{FILES[2]}.gz").write_bytes(b"junk")
    fetched = []
    fetch_mnist(
        cache, progress=lambda d, t, w: fetched.append(w), mirrors=[f"{base}/good/"]
    )
    assert set(fetched) == {f"{FILES[2]}.gz"}
    np.testing.assert_array_equal(read_idx(cache / f"{FILES[2]}.gz"), arrays[FILES[2]])


def test_offline_error_when_every_mirror_refuses(no_proxy, tmp_path):
    port_a, port_b = closed_port(), closed_port()
    cache = tmp_path / "cache"
    with pytest.raises(
        MnistDownloadError,
        match=r"Could not download MNIST from any mirror "
        rf"\(.*127\.0\.0\.1:{port_a}: .*; "
        rf"127\.0\.0\.1:{port_b}: .*\)\. "
        r"Check your connection, or use --data PATH with a "
        r"folder holding the four IDX files\.",
    ):
        fetch_mnist(
            cache,
            mirrors=[
                f"http://127.0.0.1:{port_a}/mnist/",
                f"http://127.0.0.1:{port_b}/",
            ],
            retries=1,
            timeout=5,
        )
    assert list(cache.iterdir()) == []


def test_load_full_downloads_into_cache_when_missing(served, tmp_path, monkeypatch):
    base, _, arrays = served
    monkeypatch.delenv("CONVLAB_MNIST_DIR", raising=False)
    monkeypatch.setattr(mnist, "DEFAULT_MIRRORS", (f"{base}/good/",))
    seen = []
    data = load_mnist(
        "full", cache_dir=tmp_path / "c", progress=lambda d, t, w: seen.append(w)
    )
    assert data.source == "full"
    assert len(set(seen)) == 4
    np.testing.assert_array_equal(data.y_train, arrays[FILES[1]])


def test_cancelling_from_progress_leaves_nothing(served, tmp_path):
    base, _, _ = served
    cache = tmp_path / "cache"

    class Cancelled(Exception):
        pass

    def cancel(done, total, what):
        if done > 0:
            raise Cancelled

    with pytest.raises(Cancelled):
        fetch_mnist(cache, progress=cancel, mirrors=[f"{base}/good/"])
    assert list(cache.iterdir()) == []


def test_fetch_argument_errors(tmp_path):
    with pytest.raises(ValueError, match=r"`mirrors` must list at least one base URL"):
        fetch_mnist(tmp_path, mirrors=[])
    with pytest.raises(
        ValueError, match=r"`retries` must be an int >= 0. Received: retries=-1"
    ):
        fetch_mnist(tmp_path, retries=-1)


def test_download_of_the_real_files_over_loopback(full_mnist_dir, no_proxy, tmp_path):
    """Serve the shared full MNIST (train-images recompressed: other .gz bytes, same
    content) and check the downloader accepts it against the published checksums."""
    handler = functools.partial(_QuietHandler, directory=str(full_mnist_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        cache = fetch_mnist(tmp_path / "cache", mirrors=[url])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    for stem in FILES:
        assert mnist._content_sha256(cache / f"{stem}.gz") == CONTENT_SHA256[stem]


# ------------------------------------------------------------ bounded reading (#13)


def test_huge_declared_count_is_reported_honestly_before_allocating(tmp_path):
    header = (
        bytes([0, 0, 8, 3])
        + (4294967295).to_bytes(4, "big")
        + bytes([0, 0, 0, 28, 0, 0, 0, 28])
    )
    (tmp_path / "raw").write_bytes(header + b"\0" * 100)
    with pytest.raises(
        MnistError,
        match=r"truncated: the header promises 4,294,967,295 x 28 x 28 values "
        r"\(3,367,254,359,280 bytes\) but only 100 bytes follow",
    ):
        read_idx(tmp_path / "raw")
    (tmp_path / "z.gz").write_bytes(gz(header + b"\0" * 100))
    with pytest.raises(MnistError, match=r"more than the 268,435,456-byte limit"):
        read_idx(tmp_path / "z.gz")


def test_gzip_bomb_trailing_data_is_counted_not_kept(tmp_path):
    """100 labels, then 300 MB of zeros (300 KB of gzip): refused, bounded."""
    body = bytes([0, 0, 8, 1, 0, 0, 0, 100]) + bytes(100)
    stream = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [stream.compress(body)]
    zeros = bytes(1 << 20)
    parts += [stream.compress(zeros) for _ in range(300)]
    parts.append(stream.flush())
    (tmp_path / "bomb.gz").write_bytes(b"".join(parts))
    with pytest.raises(MnistError, match=r"more than 268,435,456 unexpected bytes"):
        read_idx(tmp_path / "bomb.gz")


def test_multi_member_gzip_reads_like_one(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    raw = idx_bytes(labels)
    (tmp_path / "two.gz").write_bytes(gz(raw[:9]) + gz(raw[9:]))
    np.testing.assert_array_equal(read_idx(tmp_path / "two.gz"), labels)


def test_fifo_and_folder_under_mnist_names_are_named_not_missing(tmp_path):
    folder = write_folder(tmp_path / "m", fake_arrays())
    (folder / f"{FILES[0]}.gz").unlink()
    os.mkfifo(folder / f"{FILES[0]}.gz")  # a blocking open would hang forever
    with pytest.raises(MnistError, match=r"is a named pipe \(FIFO\), not an IDX file"):
        load_mnist(folder)
    os.unlink(folder / f"{FILES[0]}.gz")
    (folder / f"{FILES[0]}.gz").mkdir()
    with pytest.raises(MnistError, match=r"is a folder, not an IDX file"):
        load_mnist(folder)


def test_source_that_is_a_file_or_a_loop(tmp_path):
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(MnistError, match=r"\(a file, not a folder\)"):
        load_mnist(tmp_path / "f")
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(MnistError, match=r"\(a loop of symbolic links\)"):
        load_mnist(tmp_path / "a")


def test_download_into_an_unwritable_cache_is_a_save_error(served, tmp_path):
    base, _, _ = served
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"{FILES[0]}.gz").mkdir()  # in the way of the first download
    with pytest.raises(MnistDownloadError, match=r"is a folder"):
        fetch_mnist(cache, mirrors=[f"{base}/good/"])

"""Keras's HDF5 weight files: read (a file the test writes with h5py in Keras 2's
layout, checked against torch computing with the arrays written), written
(``save_weights('w.h5')``), and VGG16's ``weights='imagenet'`` download through a
loopback HTTP server (checksum ok, checksum mismatch, offline)."""

from __future__ import annotations

import hashlib
import http.server
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from convlab.keras.layers import Conv2D, Dense, Flatten, MaxPooling2D
from convlab.keras.models import Sequential, load_model
from convlab.nn import applications, h5weights

h5py = pytest.importorskip(
    "h5py", reason='h5py is the optional extra convlab[h5]: pip install "convlab[h5]"'
)
RNG = np.random.default_rng(5)


def _write_keras_file(path: Path, layers: list[tuple[str, list[np.ndarray]]]) -> None:
    """A weight file as Keras 2 writes one (keras/engine/saving.py), with Keras 1's
    weight names as the published VGG16 files have them; layers without weights
    are listed with empty ``weight_names``."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode() for name, _ in layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for name, arrays in layers:
            group = f.create_group(name)
            names = [f"{name}_{'Wb'[i]}_1:0" for i in range(len(arrays))]
            group.attrs["weight_names"] = np.array(
                [n.encode() for n in names], dtype="S"
            )
            for n, array in zip(names, arrays, strict=True):
                group.create_dataset(n, data=array)


def _tiny():
    return Sequential(
        [
            Conv2D(4, 3, activation="relu", input_shape=(8, 8, 3), name="c1"),
            MaxPooling2D(name="p1"),
            Flatten(name="flatten"),
            Dense(5, name="fc"),
        ],
        seed=0,
    )


def _tiny_file(path: Path) -> list[np.ndarray]:
    k = RNG.standard_normal((3, 3, 3, 4)).astype(np.float32)  # (KH, KW, C, F)
    b = RNG.standard_normal(4).astype(np.float32)
    dk = RNG.standard_normal((3 * 3 * 4, 5)).astype(np.float32)
    db = RNG.standard_normal(5).astype(np.float32)
    _write_keras_file(
        path, [("c1", [k, b]), ("p1", []), ("flatten", []), ("fc", [dk, db])]
    )
    return [k, b, dk, db]


def test_a_keras_weight_file_gives_keras_predictions(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "tiny.h5"
    k, b, dk, db = _tiny_file(path)
    model = _tiny()
    model.load_weights(path)
    x = RNG.random((3, 8, 8, 3), dtype=np.float32)
    # what Keras computes, in torch: NHWC conv with the (KH, KW, C, F) kernel,
    # ReLU, 2x2 max pool, flatten in (H, W, C) order, dense
    xt = torch.tensor(x).permute(0, 3, 1, 2)
    h = torch.nn.functional.conv2d(xt, torch.tensor(k).permute(3, 2, 0, 1))
    h = torch.nn.functional.max_pool2d(
        torch.relu(h + torch.tensor(b)[:, None, None]), 2
    )
    ref = h.permute(0, 2, 3, 1).flatten(1) @ torch.tensor(dk) + torch.tensor(db)
    np.testing.assert_allclose(model.predict(x), ref.numpy(), rtol=1e-5, atol=1e-5)


def test_save_weights_h5_is_keras_layout_and_reads_back(tmp_path):
    model = _tiny()
    path = tmp_path / "w.h5"
    model.save_weights(path)
    with h5py.File(path, "r") as f:  # read as Keras would
        assert [n.decode() for n in f.attrs["layer_names"]] == [
            "c1", "p1", "flatten", "fc",
        ]  # fmt: skip
        names = [n.decode() for n in f["c1"].attrs["weight_names"]]
        assert names == ["c1/kernel:0", "c1/bias:0"]
        np.testing.assert_array_equal(
            f["c1"][names[0]][()],
            model.layers[0].params["kernel"].transpose(2, 3, 1, 0),
        )
        assert len(f["p1"].attrs["weight_names"]) == 0
    other = _tiny()
    other.set_weights([np.zeros_like(w) for w in other.get_weights()])
    other.load_weights(path)
    for a, b in zip(other.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_file_of_another_architecture_changes_nothing(tmp_path):
    path = tmp_path / "tiny.h5"
    _tiny_file(path)
    wider = Sequential(
        [Conv2D(6, 3, input_shape=(8, 8, 3)), MaxPooling2D(), Flatten(), Dense(5)]
    )
    before = wider.get_weights()
    with pytest.raises(
        h5weights.H5WeightsError, match=r"layer 'c1' \(file\) does not fit layer"
    ):
        wider.load_weights(path)
    for a, b in zip(before, wider.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    deeper = Sequential([Dense(3, input_shape=(4,)), Dense(2), Dense(2)])
    with pytest.raises(h5weights.H5WeightsError, match=r"include_top\?"):
        deeper.load_weights(path)
    with pytest.raises(Exception, match=r"HDF5 file \(Keras's \.h5 format\).*"):
        load_model(path)  # the architecture is not read: it says what to do


def test_hostile_h5_content_is_refused(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"c1"]
        g = f.create_group("c1")
        g.attrs["weight_names"] = [b"k"]
        g.create_dataset("k", data=np.array([1, 2], np.int64))
    with pytest.raises(h5weights.H5WeightsError, match=r"must be a float array"):
        h5weights.read_keras_weights(path)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"c1"]
        g = f.create_group("c1")
        g.attrs["weight_names"] = [b"k"]
        g.create_dataset("k", data=np.array([1.0, np.nan]))
    with pytest.raises(h5weights.H5WeightsError, match=r"NaN or infinite"):
        h5weights.read_keras_weights(path)
    (tmp_path / "plain.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(h5weights.H5WeightsError, match=r"not an HDF5 file"):
        h5weights.read_keras_weights(tmp_path / "plain.h5")


def test_without_h5py_the_message_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py -> ImportError
    with pytest.raises(ImportError, match=r'pip install "convlab\[h5\]"'):
        h5weights.h5py_module()


# ------------------------------------------------------------------ VGG16 download


def _vgg16_notop_file(path: Path) -> list[np.ndarray]:
    layers, arrays, c = [], [], 3
    for b, (filters, convs) in enumerate(applications._BLOCKS, start=1):
        for i in range(1, convs + 1):
            k = (RNG.standard_normal((3, 3, c, filters)) * 0.05).astype(np.float32)
            bias = (RNG.standard_normal(filters) * 0.05).astype(np.float32)
            layers.append((f"block{b}_conv{i}", [k, bias]))
            arrays += [k, bias]
            c = filters
        layers.append((f"block{b}_pool", []))
    _write_keras_file(path, [("input_1", []), *layers])
    return arrays


class _Server:
    """Serves one folder on 127.0.0.1, with a Content-Length (the progress bar)."""

    def __init__(self, folder: Path) -> None:
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
            *a, directory=str(folder), **k
        )
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served_vgg16(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    filename, _ = applications.VGG16_WEIGHTS[False]
    arrays = _vgg16_notop_file(served / filename)
    md5 = hashlib.md5((served / filename).read_bytes()).hexdigest()
    monkeypatch.setenv("CONVLAB_DATASETS_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(applications.VGG16_WEIGHTS, False, (filename, ("md5", md5)))
    with _Server(served) as server:
        monkeypatch.setattr(applications, "KERAS_APPLICATIONS_MIRRORS", [server.url])
        yield arrays, tmp_path / "cache" / "models" / filename


def test_vgg16_imagenet_weights_download_and_load(served_vgg16, capsys):
    torch = pytest.importorskip("torch")
    from convlab.keras.applications import VGG16

    arrays, cached = served_vgg16
    base = VGG16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    assert cached.is_file()  # cached for next time
    assert (
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in capsys.readouterr().err
    )
    np.testing.assert_array_equal(
        base.get_weights()[0], arrays[0].transpose(3, 2, 0, 1)
    )
    x = RNG.random((1, 32, 32, 3), dtype=np.float32) * 100
    h = torch.tensor(x).permute(0, 3, 1, 2)
    for i in range(0, len(arrays), 2):
        k, b = torch.tensor(arrays[i]).permute(3, 2, 0, 1), torch.tensor(arrays[i + 1])
        h = torch.relu(torch.nn.functional.conv2d(h, k, b, padding=1))
        if i // 2 in (1, 3, 6, 9, 12):  # the last conv of a block
            h = torch.nn.functional.max_pool2d(h, 2)
    ref = h.permute(0, 2, 3, 1).numpy()  # NHWC, as Keras returns it
    np.testing.assert_allclose(base.predict(x), ref, rtol=1e-4, atol=1e-4)
    # second use: from the cache, no server needed
    applications.KERAS_APPLICATIONS_MIRRORS[:] = ["http://127.0.0.1:9"]
    again = VGG16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    np.testing.assert_array_equal(again.get_weights()[0], base.get_weights()[0])


def test_vgg16_download_with_a_wrong_checksum_keeps_nothing(served_vgg16, monkeypatch):
    from convlab.data.datasets import DatasetDownloadError
    from convlab.keras.applications import VGG16

    _, cached = served_vgg16
    filename, _ = applications.VGG16_WEIGHTS[False]
    monkeypatch.setitem(
        applications.VGG16_WEIGHTS, False, (filename, ("md5", "0" * 32))
    )
    with pytest.raises(DatasetDownloadError, match=r"md5 mismatch"):
        VGG16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    assert not cached.exists()
    assert not list(cached.parent.glob("*.part"))


def test_vgg16_offline_says_where_to_put_the_file(tmp_path, monkeypatch):
    from convlab.data.datasets import DatasetDownloadError
    from convlab.keras.applications import VGG16

    monkeypatch.setenv("CONVLAB_DATASETS_DIR", str(tmp_path))
    monkeypatch.setattr(
        applications, "KERAS_APPLICATIONS_MIRRORS", ["http://127.0.0.1:9"]
    )  # the discard port: connection refused
    with pytest.raises(
        DatasetDownloadError,
        match=r"Offline\? Copy the file \(its md5 is 6d6bbae143d832006294945121d1f1fc",
    ):
        VGG16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))


def test_vgg16_imagenet_top_needs_1000_classes():
    from convlab.keras.applications import VGG16

    with pytest.raises(ValueError, match=r"`classes` must be 1000.*classes=10"):
        VGG16(weights="imagenet", include_top=True, classes=10)
    with pytest.raises(ValueError, match=r"Received: weights='imagnet'"):
        VGG16(weights="imagnet", include_top=False)

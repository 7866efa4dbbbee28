"""convlab.keras: the Keras-shaped face (optimizers and their Keras 2 spellings,
utils, datasets, layer defaults, teaching messages) and the nn features behind it
(RMSprop, decay, trainable), against torch, NumPy formulas and Keras's documented
behaviour."""

from __future__ import annotations

import gzip
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from loopback import Server, cifar_archive

from convlab import keras
from convlab.data import datasets
from convlab.keras import Keras2Warning
from convlab.keras.layers import (
    BatchNormalization,
    Conv2D,
    Convolution2D,
    Dense,
    Flatten,
    MaxPooling2D,
)
from convlab.keras.models import Sequential, load_model
from convlab.keras.optimizers import SGD, Adam, RMSprop
from convlab.keras.utils import np_utils, to_categorical

RNG = np.random.default_rng(0)


def _torch():
    return pytest.importorskip("torch")


# ------------------------------------------------------------------ optimizers


@pytest.mark.parametrize(
    ("momentum", "centered"), [(0.0, False), (0.5, False), (0.0, True)]
)
def test_rmsprop_matches_torch_with_keras_defaults(momentum, centered):
    torch = _torch()
    w0 = RNG.standard_normal((4, 5)).astype(np.float32)
    # |g| in [0.5, 1.5): far from epsilon, where the two placements agree
    grads = [
        (RNG.choice([-1, 1], (4, 5)) * (0.5 + RNG.random((4, 5)))).astype(np.float32)
        for _ in range(6)
    ]
    w = w0.copy()
    opt = RMSprop(learning_rate=0.01, momentum=momentum, centered=centered)
    assert (opt.rho, opt.epsilon) == (0.9, 1e-7)  # Keras's defaults
    wt = torch.tensor(w0.astype(np.float64), requires_grad=True)
    ref = torch.optim.RMSprop(
        [wt], lr=0.01, alpha=0.9, eps=1e-7, momentum=momentum, centered=centered
    )
    for g in grads:
        opt.apply_gradients([(g, w)])
        wt.grad = torch.tensor(g.astype(np.float64))
        ref.step()
    # epsilon sits inside the root in Keras, outside in torch: with |g| ~ 1 the two
    # differ by ~1e-7 relative, below float32 precision (near g = 0 they differ)
    np.testing.assert_allclose(w, wt.detach().numpy(), rtol=2e-5, atol=2e-6)


def test_rmsprop_epsilon_inside_the_root_as_keras():
    w = np.zeros(1, np.float32)
    RMSprop(learning_rate=1.0, rho=0.5, epsilon=1.0).apply_gradients(
        [(np.array([2.0], np.float32), w)]
    )
    # v = 0.5 * 4 = 2; step = 2 / sqrt(2 + 1) (torch would give 2 / (sqrt(2) + 1))
    np.testing.assert_allclose(w, [-2 / np.sqrt(3)], rtol=1e-6)


@pytest.mark.parametrize("cls", [SGD, Adam, RMSprop])
def test_decay_is_keras2_inverse_time(cls):
    decayed = cls(learning_rate=0.1, decay=0.5)
    rates = []
    for _ in range(3):
        rates.append(decayed.current_learning_rate())
        decayed.apply_gradients([(np.ones(2, np.float32), np.zeros(2, np.float32))])
    np.testing.assert_allclose(rates, [0.1, 0.1 / 1.5, 0.1 / 2.0])


def test_decay_sgd_updates_with_decayed_rate():
    w = np.zeros(1, np.float32)
    opt = SGD(learning_rate=1.0, decay=1.0)
    for _ in range(3):
        opt.apply_gradients([(np.ones(1, np.float32), w)])
    np.testing.assert_allclose(w, [-(1 + 1 / 2 + 1 / 3)], rtol=1e-6)


def test_keras2_lr_spellings_warn_and_translate():
    with pytest.warns(Keras2Warning, match=r"write `learning_rate=0\.0001`"):
        opt = SGD(lr=1e-4, momentum=0.9)
    assert opt.learning_rate == 1e-4
    with pytest.warns(Keras2Warning, match=r"`lr=` is Keras 2's name"):
        assert Adam(lr=1e-3, decay=1e-6).decay == 1e-6
    with pytest.warns(Keras2Warning, match=r"write keras\.optimizers\.Adam\("):
        opt = keras.optimizers.adam(lr=2e-3)
    assert isinstance(opt, Adam)
    assert opt.learning_rate == 2e-3
    with pytest.warns(Keras2Warning, match=r"keras\.optimizers\.SGD\(\.\.\.\)"):
        assert isinstance(keras.optimizers.sgd(), SGD)
    with pytest.raises(TypeError, match=r"got both `lr`.*and `learning_rate`"):
        SGD(lr=0.1, learning_rate=0.2)


def test_compile_default_optimizer_is_rmsprop():
    model = Sequential([Dense(3, input_shape=(4,), activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy")
    assert type(model.optimizer).__name__ == "RMSprop"
    model.compile(loss=keras.losses.categorical_crossentropy)
    assert model.loss.name == "categorical_crossentropy"


def test_loss_functions_match_the_formula():
    p = np.array([[0.2, 0.8], [0.6, 0.4]], np.float32)
    np.testing.assert_allclose(
        keras.losses.sparse_categorical_crossentropy([1, 0], p),
        -np.log([0.8, 0.6]),
        rtol=1e-6,
    )


# ------------------------------------------------------------------ utils, datasets


def test_to_categorical_is_an_identity_row_per_label():
    y = np.array([3, 0, 2, 3])
    np.testing.assert_array_equal(to_categorical(y), np.eye(4, dtype=np.float32)[y])
    np.testing.assert_array_equal(np_utils.to_categorical(y, 6), np.eye(6)[y])
    assert to_categorical(y[:, None]).shape == (4, 4)
    with pytest.raises(ValueError, match=r"Received: num_classes=3"):
        to_categorical(y, 3)
    with pytest.raises(ValueError, match=r"non-negative integer class labels"):
        to_categorical([0.5, 1])


def test_mnist_load_data_bundled_subset(monkeypatch):
    monkeypatch.setattr(datasets, "mnist_full_folder", lambda: None)
    notes = []
    monkeypatch.setattr(datasets.sys, "stderr", io.StringIO())
    (x, y), (xt, yt) = datasets.load_mnist(notes.append)
    assert (x.shape, x.dtype, y.shape, y.dtype) == (
        (10000, 28, 28),
        np.uint8,
        (10000,),
        np.uint8,
    )
    assert xt.shape == (2000, 28, 28)
    assert "bundled subset" in notes[0]


def test_mnist_load_data_full_set(full_mnist_dir, monkeypatch, capsys):
    monkeypatch.setenv("CONVLAB_MNIST_DIR", str(full_mnist_dir))
    (x, y), (xt, yt) = keras.datasets.mnist.load_data()
    assert x.shape == (60000, 28, 28)
    assert xt.shape == (10000, 28, 28)
    assert "full set" in capsys.readouterr().err


def test_cifar10_downloads_checks_and_reads_binary_records(tmp_path, monkeypatch):
    body, planes = cifar_archive(3, 2)
    monkeypatch.setitem(datasets.CIFAR10, "sha256", hashlib.sha256(body).hexdigest())
    seen = []
    with Server({datasets.CIFAR10["file"]: body}) as server:
        (x, y), (xt, yt) = datasets.load_cifar10(
            tmp_path,
            mirrors=[server.url],
            progress=lambda done, total, name: seen.append((done, total)),
        )
    assert (x.shape, x.dtype, y.shape) == ((15, 32, 32, 3), np.uint8, (15, 1))
    assert xt.shape == (2, 32, 32, 3)
    # record: label, then the R, G, B planes row-major: pixel (r, c) channel k is
    # byte 1 + k*1024 + r*32 + c
    first = planes[0][0]
    assert y[0, 0] == first[0]
    assert x[0, 5, 7, 2] == first[1 + 2 * 1024 + 5 * 32 + 7]
    assert seen[-1] == (len(body), len(body))
    # cached: a second load needs no server
    (x2, _), _ = datasets.load_cifar10(tmp_path, mirrors=["http://127.0.0.1:9/"])
    np.testing.assert_array_equal(x, x2)


def test_download_rejects_bad_checksum_and_explains_offline(tmp_path):
    with (
        Server({"f.bin": b"tampered"}) as server,
        pytest.raises(datasets.DatasetDownloadError, match=r"md5 mismatch"),
    ):
        datasets.fetch_file("f.bin", [server.url], ("md5", "0" * 32), tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind
    with pytest.raises(datasets.DatasetDownloadError, match=r"Offline\? Copy the file"):
        datasets.fetch_file(
            "f.bin", ["http://127.0.0.1:9/"], ("md5", "0" * 32), tmp_path, timeout=2
        )


def test_fashion_mnist_reads_idx_files_it_downloaded(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)

    def idx(arr: np.ndarray) -> bytes:
        magic = 0x0800 | arr.ndim
        head = magic.to_bytes(4, "big") + b"".join(
            d.to_bytes(4, "big") for d in arr.shape
        )
        return gzip.compress(head + arr.tobytes())

    files = {
        "train-images-idx3-ubyte.gz": idx(rng.integers(0, 256, (5, 28, 28), np.uint8)),
        "train-labels-idx1-ubyte.gz": idx(rng.integers(0, 10, 5, np.uint8)),
        "t10k-images-idx3-ubyte.gz": idx(rng.integers(0, 256, (3, 28, 28), np.uint8)),
        "t10k-labels-idx1-ubyte.gz": idx(rng.integers(0, 10, 3, np.uint8)),
    }
    md5 = {name: hashlib.md5(body).hexdigest() for name, body in files.items()}
    monkeypatch.setitem(datasets.FASHION_MNIST, "md5", md5)
    with Server(files) as server:
        monkeypatch.setitem(datasets.FASHION_MNIST, "mirrors", (server.url,))
        (x, y), (xt, yt) = datasets.load_fashion_mnist(tmp_path, progress=print)
    assert (x.shape, y.shape, xt.shape) == ((5, 28, 28), (5,), (3, 28, 28))


# ------------------------------------------------------------------ layers


def test_default_initialisers_are_keras_glorot_whatever_the_activation():
    for activation in ("relu", None):
        model = Sequential(
            [
                Conv2D(32, 3, activation=activation, input_shape=(16, 16, 3)),
                Flatten(),
                Dense(64, activation=activation),
            ],
            seed=0,
        )
        conv, _, dense = model.layers
        fan_in, fan_out = 3 * 9, 32 * 9
        limit = np.sqrt(6 / (fan_in + fan_out))
        w = conv.params["kernel"]
        # He's limit sqrt(6 / 27) would be 3.4x larger
        assert limit * 0.95 < np.abs(w).max() <= limit
        np.testing.assert_allclose(w.std(), limit / np.sqrt(3), rtol=0.05)
        d = dense.params["kernel"]
        assert np.abs(d).max() <= np.sqrt(6 / (d.shape[0] + d.shape[1]))
        assert not conv.params["bias"].any()
        assert not dense.params["bias"].any()


def test_chainer_calls_get_a_translation():
    with pytest.raises(
        TypeError, match=r"write Conv2D\(96, 11, strides=4, padding=2\)"
    ):
        Convolution2D(3, 96, 11, 4, 2)
    with pytest.raises(TypeError, match=r"Chainer's L\.Convolution2D"):
        Conv2D(None, 64, 3, pad=1)
    with pytest.raises(
        ValueError,
        match=r"convlab infers the channel count; Chainer's "
        r"L\.BatchNormalization\(96\) is BatchNormalization\(\)",
    ):
        BatchNormalization(96)
    # Keras calls are left alone
    assert Conv2D(32, 3, 2).strides == (2, 2)
    assert Convolution2D(32, (3, 3), padding="same").kernel_size == (3, 3)


def test_dense_on_images_names_the_layer():
    with pytest.raises(ValueError, match=r'Layer "dense" \(Dense\).*add Flatten\(\)'):
        Sequential([Conv2D(4, 3, input_shape=(8, 8, 1)), Dense(3)])


# ------------------------------------------------------------------ trainable


def _small_cnn(seed=0):
    return Sequential(
        [
            Conv2D(4, 3, activation="relu", input_shape=(10, 10, 1)),
            MaxPooling2D(),
            Flatten(),
            Dense(8, activation="relu"),
            Dense(3, activation="softmax"),
        ],
        seed=seed,
    )


def test_frozen_layers_are_bit_identical_after_fit_and_summarised():
    x = RNG.random((64, 10, 10, 1), dtype=np.float32)
    y = RNG.integers(0, 3, 64)
    model = _small_cnn()
    model.layers[0].trainable = False
    model.layers[3].trainable = False
    frozen = [w.copy() for i in (0, 3) for w in model.layers[i].get_weights()]
    free = model.layers[4].get_weights()
    model.compile(Adam(1e-2), "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    after = [w for i in (0, 3) for w in model.layers[i].get_weights()]
    assert all(np.array_equal(a, b) for a, b in zip(frozen, after, strict=True))
    assert not np.array_equal(free[0], model.layers[4].params["kernel"])
    lines = []
    model.summary(print_fn=lines.append)
    conv, dense = 4 * 9 + 4, 4 * 4 * 4 * 8 + 8  # 10x10 -> 8x8 -> 4x4, 4 channels
    assert f"Trainable params: {8 * 3 + 3:,} " in "\n".join(lines)
    assert f"Non-trainable params: {conv + dense:,} " in "\n".join(lines)
    assert len(model.trainable_weights) == 2
    assert len(model.non_trainable_weights) == 4


def test_frozen_model_and_nested_sequential():
    base = Sequential([Conv2D(4, 3, input_shape=(10, 10, 1)), MaxPooling2D()])
    base.trainable = False
    model = Sequential([base, Flatten(), Dense(3, activation="softmax")], seed=1)
    assert [layer.name for layer in model.layers][1:] == ["flatten", "dense"]
    before = base.get_weights()
    model.compile(SGD(0.5), "sparse_categorical_crossentropy")
    model.fit(RNG.random((32, 10, 10, 1)), RNG.integers(0, 3, 32), verbose=0)
    assert all(
        np.array_equal(a, b) for a, b in zip(before, base.get_weights(), strict=True)
    )
    assert model.count_params() == 40 + 4 * 16 * 3 + 3


def _hwc_flatten(torch):
    """Keras's Flatten for a channels-last model, in torch: NCHW -> NHWC, then
    flatten (rows, columns, channels)."""

    class HWCFlatten(torch.nn.Module):
        def forward(self, x):
            return x.permute(0, 2, 3, 1).flatten(1)

    return HWCFlatten()


def test_frozen_step_matches_torch():
    torch = _torch()
    x = RNG.random((8, 10, 10, 1), dtype=np.float32)
    y = RNG.integers(0, 3, 8)
    model = _small_cnn(seed=3)
    model.layers[0].trainable = False
    model.compile(SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy")
    w = [layer.get_weights() for layer in model.layers]
    conv = torch.nn.Conv2d(1, 4, 3)
    d1, d2 = torch.nn.Linear(64, 8), torch.nn.Linear(8, 3)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(w[0][0]))
        conv.bias.copy_(torch.tensor(w[0][1]))
        for lin, (k, b) in ((d1, w[3]), (d2, w[4])):
            lin.weight.copy_(torch.tensor(k.T))
            lin.bias.copy_(torch.tensor(b))
    conv.requires_grad_(False)
    net = torch.nn.Sequential(
        conv, torch.nn.ReLU(), torch.nn.MaxPool2d(2), _hwc_flatten(torch), d1,
        torch.nn.ReLU(), d2,
    )  # fmt: skip
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], 0.1, 0.9)
    xt = torch.tensor(x.transpose(0, 3, 1, 2).copy())
    for _ in range(2):
        model.train_step(model.prepare(x), y)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), torch.tensor(y)).backward()
        opt.step()
    np.testing.assert_array_equal(model.layers[0].params["kernel"], w[0][0])
    np.testing.assert_allclose(
        model.layers[3].params["kernel"], d1.weight.detach().numpy().T, atol=1e-5
    )
    np.testing.assert_allclose(
        model.layers[4].params["kernel"], d2.weight.detach().numpy().T, atol=1e-5
    )


def test_frozen_batchnorm_runs_in_inference_mode():
    bn = BatchNormalization(trainable=False)
    model = Sequential([Dense(4, input_shape=(3,)), bn, Dense(2, activation="softmax")])
    model.compile(SGD(0.1), "sparse_categorical_crossentropy")
    stats = [s.copy() for s in bn.state.values()]
    x = RNG.standard_normal((16, 3)).astype(np.float32) * 5 + 3
    model.fit(x, RNG.integers(0, 2, 16), verbose=0)
    assert all(
        np.array_equal(a, b) for a, b in zip(stats, bn.state.values(), strict=True)
    )


def test_trainable_flags_survive_save_and_load(tmp_path: Path):
    model = _small_cnn()
    model.layers[0].trainable = False
    model.compile("rmsprop", "sparse_categorical_crossentropy", ["accuracy"])
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert [layer.trainable for layer in loaded.layers] == [False] + [True] * 4
    assert type(loaded.optimizer).__name__ == "RMSprop"
    x = RNG.random((4, 10, 10, 1), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize("optimizer", ["sgd_momentum", "adam", "rmsprop", "adadelta"])
def test_optimizer_state_survives_save_and_load(tmp_path: Path, optimizer):
    from convlab.keras.optimizers import Adadelta

    make = {
        "sgd_momentum": lambda: SGD(0.05, momentum=0.9),
        "adam": lambda: Adam(1e-2),
        "rmsprop": lambda: RMSprop(1e-2, momentum=0.5),
        "adadelta": lambda: Adadelta(decay=1e-3),
    }[optimizer]
    x = RNG.random((32, 10, 10, 1), dtype=np.float32)
    y = RNG.integers(0, 3, 32)
    model = _small_cnn()
    model.layers[3].trainable = False
    model.compile(make(), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.optimizer.iterations == model.optimizer.iterations == 4
    for m in (model, loaded):
        m.train_step(m.prepare(x[:8]), y[:8])
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_h5_name_gets_a_note_and_loads(tmp_path: Path):
    model = _small_cnn()
    with pytest.warns(
        Keras2Warning, match=r"wrote convlab's model format .* not Keras's HDF5"
    ):
        model.save(tmp_path / "model.h5")
    with pytest.warns(Keras2Warning, match=r"not Keras's \.keras, under that name"):
        model.save(tmp_path / "model.keras")
    assert (tmp_path / "model.keras").read_bytes()[:2] == b"PK"  # what it says
    x = RNG.random((2, 10, 10, 1), dtype=np.float32)
    for name in ("model.h5", "model.keras"):
        np.testing.assert_array_equal(
            load_model(tmp_path / name).predict(x), model.predict(x)
        )


def test_a_binary_model_saved_as_keras_resumes_exactly(tmp_path: Path):
    from convlab.keras.optimizers import Adadelta

    x = RNG.random((16, 10, 10, 1), dtype=np.float32)
    y = RNG.integers(0, 2, 16)
    model = Sequential(
        [
            Conv2D(4, 3, activation="relu", input_shape=(10, 10, 1)),
            MaxPooling2D(),
            Flatten(),
            Dense(1, activation="sigmoid"),
        ],
        seed=1,
    )
    model.layers[0].trainable = False
    model.compile(Adadelta(), "binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    with pytest.warns(Keras2Warning, match=r"not Keras's \.keras"):
        model.save(tmp_path / "cats_vs_dogs.keras")
    loaded = load_model(tmp_path / "cats_vs_dogs.keras")
    assert loaded.loss.name == "binary_crossentropy"
    assert loaded.layers[0].trainable is False
    assert loaded.layers[2].order == "hwc"
    assert loaded.output_shape == (None, 1)
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    for m in (model, loaded):
        m.train_step(m.prepare(x[:8]), m.check_labels(y[:8], 8))
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

"""The trainer's data sources (issue #11, item 1): TrainData, the folder reader, the
downloaded sets, a run that follows the data's shape, and the GUI's Data list, worker
loading and Data tab."""

from __future__ import annotations

import gzip
import hashlib
import threading
from pathlib import Path

import numpy as np
import pytest
from folder_helpers import CLASSES, make_colour_folder
from loopback import Server, cifar_archive

from convlab.data import datasets
from convlab.data.mnist import MnistData
from convlab.train import engine
from convlab.train.datasets import (
    CIFAR10_CLASSES,
    FASHION_CLASSES,
    DataLoadCancelled,
    DataLoadError,
    FolderOptions,
    TrainData,
    load_image_folder,
    load_train_data,
)
from convlab.train.run import TrainerRun
from convlab.train.session import TrainSettings
from convlab.train.specs import check_stack


def _solid(path: Path, mode: str, size: tuple[int, int], value) -> None:
    from PIL import Image

    Image.new(mode, size, value).save(path)


def _colour_data(n_train=60, n_test=30, classes=6, shape=(3, 16, 16), seed=0):
    rng = np.random.default_rng(seed)
    return TrainData(
        "colour",
        rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        rng.integers(0, classes, n_train),
        rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        rng.integers(0, classes, n_test),
        [f"class {i}" for i in range(classes)],
    )


# ------------------------------------------------------------------ TrainData


def test_train_data_shapes_and_mnist_conversion():
    rng = np.random.default_rng(0)
    mnist = MnistData(
        rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, 7).astype(np.uint8),
        rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, 3).astype(np.uint8),
        source="bundled",
    )
    data = TrainData.from_mnist(mnist)
    assert data.input_shape == (1, 28, 28)
    assert data.num_classes == 10
    assert data.is_digits
    assert data.x_train.shape == (7, 1, 28, 28)
    assert data.y_train.dtype == np.int64
    np.testing.assert_array_equal(data.x_train[:, 0], mnist.x_train)
    np.testing.assert_array_equal(
        data.counts("train"), np.bincount(mnist.y_train, minlength=10)
    )
    colour = _colour_data()
    assert colour.input_shape == (3, 16, 16)
    assert not colour.is_digits
    with pytest.raises(ValueError, match=r"`x_train` must be uint8 \(N, C, H, W\)"):
        TrainData("x", np.zeros((2, 4, 4), np.uint8), np.zeros(2), colour.x_test,
                  colour.y_test, ["a"])  # fmt: skip
    with pytest.raises(ValueError, match=r"`y_test` must hold one label per image"):
        TrainData("x", colour.x_train, colour.y_train, colour.x_test, np.zeros(1),
                  ["a"])  # fmt: skip


def test_to_model_input_and_build_model_take_any_shape():
    x = np.arange(2 * 5 * 6, dtype=np.uint8).reshape(2, 5, 6)
    out = engine.to_model_input(x)
    assert out.shape == (2, 1, 5, 6)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, 0], x)
    colour = np.zeros((3, 3, 8, 8), np.uint8)
    assert engine.to_model_input(colour).shape == (3, 3, 8, 8)
    with pytest.raises(ValueError, match=r"Received: shape \(4,\)"):
        engine.to_model_input(np.zeros(4, np.uint8))
    specs = [
        {"type": "Conv2D", "filters": 8, "kernel_size": 3, "strides": 1,
         "padding": "valid", "activation": "relu"},
        {"type": "Flatten"},
        {"type": "Dense", "units": 6, "activation": "softmax"},
    ]  # fmt: skip
    model = engine.build_model(specs, input_shape=(3, 12, 10))
    assert tuple(model.input_shape) == (3, 12, 10)
    assert model.output_shape == (6,)
    check = check_stack(specs, input_shape=(3, 12, 10), num_classes=6)
    assert check.ok
    # the counts by hand: 8 filters of 3x3x3 + 8 biases; 8*10*8 inputs to 6 units
    assert [r.params for r in check.rows] == [8 * 27 + 8, 0, 8 * 10 * 8 * 6 + 6]
    assert check.total_params == model.count_params()
    wrong = check_stack(specs, input_shape=(3, 12, 10), num_classes=4)
    assert "must end with 4 outputs, one per class" in wrong.error
    with pytest.raises(ValueError, match=r"Received: input_shape=\(12, 10\)"):
        engine.build_model(specs, input_shape=(12, 10))


# ------------------------------------------------------------------ folders


def test_folder_reader_modes_sizes_and_broken_files(tmp_path):
    from PIL import Image

    root = tmp_path / "pets"
    (root / "cat").mkdir(parents=True)
    (root / "dog").mkdir()
    (root / "dog" / "deeper").mkdir()
    colours = {"cat": (200, 30, 10), "dog": (20, 90, 240)}
    for name, rgb in colours.items():
        _solid(root / name / "rgb.png", "RGB", (100, 60), rgb)
        _solid(root / name / "rgba.png", "RGBA", (7, 9), (*rgb, 255))
        _solid(root / name / "small.bmp", "RGB", (5, 5), rgb)
        pal = Image.new("RGB", (40, 30), rgb).convert(
            "P", palette=Image.Palette.ADAPTIVE
        )
        pal.save(root / name / "pal.png")
        _solid(root / name / "big.jpg", "RGB", (300, 200), rgb)
    _solid(root / "dog" / "deeper" / "grey.png", "L", (50, 50), 128)
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "cat" / "notes.txt").write_text("not an image, not counted")
    seen = []
    data = load_image_folder(
        root,
        FolderOptions(size=(12, 20), color="rgb", validation=0.0, test=0.0),
        progress=lambda done, total, text: seen.append((done, total)),
    )
    assert data.class_names == ["cat", "dog"]
    assert data.x_train.shape == (11, 3, 12, 20)
    assert [p for p, _ in data.skipped] == [str(Path("cat") / "broken.png")]
    assert "broken.png" in data.skipped[0][1]
    assert seen[-1] == (12, 12)  # every candidate file counted, the broken one too
    assert data.x_val is None
    assert len(data.x_test) == 0
    # each file is a solid colour: the reader keeps it through any resize (JPEG
    # within 3); the reference colour is the file's own pixel as Pillow reads it
    for k, name in enumerate(data.class_names):
        expected = sorted(
            Image.open(p).convert("RGB").getpixel((0, 0))
            for p in (root / name).rglob("*.*")
            if p.suffix in (".png", ".bmp", ".jpg") and p.name != "broken.png"
        )
        images = data.x_train[data.y_train == k].astype(np.int16)
        spread = images.max(axis=(2, 3)) - images.min(axis=(2, 3))
        assert spread.max() <= 3
        got = sorted(tuple(int(v) for v in img[:, 0, 0]) for img in images)
        assert np.abs(np.array(got) - np.array(expected)).max() <= 3, (got, expected)

    grey = load_image_folder(
        root, FolderOptions(size=(8, 8), color="grayscale", validation=0, test=0)
    )
    assert grey.input_shape == (1, 8, 8)
    r, g, b = colours["cat"]
    luma = (r * 299 + g * 587 + b * 114) / 1000  # ITU-R 601, as Pillow's "L"
    cat = grey.x_train[grey.y_train == 0]
    assert np.abs(cat.astype(float) - luma).max() <= 3


def test_folder_split_is_stratified_seeded_and_counted(tmp_path):
    root = tmp_path / "shapes"
    make_colour_folder(root, per_class=20, size=8)
    opts = FolderOptions(size=(8, 8), validation=0.1, test=0.25, seed=3)
    data = load_image_folder(root, opts)
    assert data.class_names == list(CLASSES)
    np.testing.assert_array_equal(data.counts("test"), [5] * 6)
    np.testing.assert_array_equal(data.counts("val"), [2] * 6)
    np.testing.assert_array_equal(data.counts("train"), [13] * 6)
    again = load_image_folder(root, opts)
    np.testing.assert_array_equal(again.x_test, data.x_test)
    np.testing.assert_array_equal(again.x_train, data.x_train)
    other = load_image_folder(root, FolderOptions(size=(8, 8), validation=0.1,
                                                  test=0.25, seed=4))  # fmt: skip
    assert not np.array_equal(other.x_test, data.x_test)
    # the three parts are disjoint and together the whole folder
    every = np.concatenate([data.x_train, data.x_val, data.x_test]).reshape(120, -1)
    assert len(np.unique(every, axis=0)) == 120
    # a tiny class still keeps one image to train on
    tiny = tmp_path / "tiny"
    for name in ("a", "b"):
        (tiny / name).mkdir(parents=True)
        for i in range(2):
            _solid(tiny / name / f"{i}.png", "RGB", (4, 4), (i * 100, 0, 0))
    small = load_image_folder(tiny, FolderOptions(size=(4, 4)))
    assert np.all(small.counts("train") >= 1)


def test_folder_errors_are_clear_and_cancel_works(tmp_path):
    (tmp_path / "one" / "only").mkdir(parents=True)
    with pytest.raises(
        DataLoadError, match=r"needs at least 2 sub-folders.*found 1: only"
    ):
        load_image_folder(tmp_path / "one")
    two = tmp_path / "two"
    (two / "a").mkdir(parents=True)
    (two / "b").mkdir()
    _solid(two / "a" / "x.png", "RGB", (4, 4), (1, 2, 3))
    with pytest.raises(DataLoadError, match=r"class folder b holds no images"):
        load_image_folder(two)
    (two / "b" / "bad.jpg").write_bytes(b"nope")
    with pytest.raises(
        DataLoadError, match=r"no image in class folder b could be read"
    ):
        load_image_folder(two)
    with pytest.raises(DataLoadError, match=r"no such folder"):
        load_train_data(tmp_path / "missing")
    with pytest.raises(
        ValueError, match=r"`size` must be \(height, width\).*size=\(2, 8\)"
    ):
        FolderOptions(size=(2, 8))
    with pytest.raises(ValueError, match=r"Received: color='cmyk'"):
        FolderOptions(color="cmyk")
    shapes = tmp_path / "shapes"
    make_colour_folder(shapes, per_class=5, size=8)
    stop = threading.Event()
    calls = []

    def progress(done, total, text):
        calls.append(done)
        if done >= 3:
            stop.set()

    with pytest.raises(DataLoadCancelled):
        load_image_folder(
            shapes, FolderOptions(size=(8, 8)), progress=progress, cancel=stop
        )
    assert max(calls) == 3  # stopped at the next image


def test_flow_from_directory_walks_the_same_files(tmp_path):
    from convlab.data.augment import ImageDataGenerator, class_image_files

    root = tmp_path / "shapes"
    make_colour_folder(root, per_class=4, size=8)
    names, files = class_image_files(root)
    it = ImageDataGenerator().flow_from_directory(root, target_size=(8, 8))
    assert list(it.class_indices) == names == list(CLASSES)
    assert it.filenames == [f for per in files for f in per]
    data = load_image_folder(root, FolderOptions(size=(8, 8), validation=0, test=0))
    assert len(data.x_train) == it.samples == 24


# ------------------------------------------------------------------ downloads


def test_cifar10_as_train_data(tmp_path, monkeypatch):
    body, planes = cifar_archive(2, 2, seed=5)
    monkeypatch.setenv("CONVLAB_DATASETS_DIR", str(tmp_path))
    monkeypatch.setitem(datasets.CIFAR10, "sha256", hashlib.sha256(body).hexdigest())
    seen = []
    with Server({datasets.CIFAR10["file"]: body}) as server:
        monkeypatch.setitem(datasets.CIFAR10, "mirrors", (server.url,))
        data = load_train_data("cifar10", progress=lambda *a: seen.append(a))
    assert seen
    assert seen[-1][0] == seen[-1][1] == len(body)
    assert data.input_shape == (3, 32, 32)
    assert data.class_names == CIFAR10_CLASSES
    assert data.x_train.shape == (10, 3, 32, 32)
    assert data.x_test.shape == (2, 3, 32, 32)
    # a record is the label, then the R, G, B planes: NCHW is the record's own order
    first = planes[0][0]  # the first training batch's first record
    assert data.y_train[0] == first[0]
    np.testing.assert_array_equal(data.x_train[0].reshape(-1), first[1:])
    # offline with nothing cached: the error says what to do
    monkeypatch.setenv("CONVLAB_DATASETS_DIR", str(tmp_path / "empty"))
    monkeypatch.setitem(datasets.CIFAR10, "mirrors", ("http://127.0.0.1:9/",))
    with pytest.raises(datasets.DatasetDownloadError, match=r"Offline\? Copy the file"):
        load_train_data("cifar10", progress=lambda *a: None)


def test_fashion_mnist_as_train_data(tmp_path, monkeypatch):
    rng = np.random.default_rng(6)

    def idx(arr: np.ndarray) -> bytes:
        head = (0x0800 | arr.ndim).to_bytes(4, "big") + b"".join(
            d.to_bytes(4, "big") for d in arr.shape
        )
        return gzip.compress(head + arr.tobytes())

    x = rng.integers(0, 256, (6, 28, 28), np.uint8)
    files = {
        "train-images-idx3-ubyte.gz": idx(x),
        "train-labels-idx1-ubyte.gz": idx(np.arange(6, dtype=np.uint8)),
        "t10k-images-idx3-ubyte.gz": idx(x[:2]),
        "t10k-labels-idx1-ubyte.gz": idx(np.array([9, 0], np.uint8)),
    }
    md5 = {name: hashlib.md5(b).hexdigest() for name, b in files.items()}
    monkeypatch.setitem(datasets.FASHION_MNIST, "md5", md5)
    monkeypatch.setenv("CONVLAB_DATASETS_DIR", str(tmp_path))
    with Server(files) as server:
        monkeypatch.setitem(datasets.FASHION_MNIST, "mirrors", (server.url,))
        data = load_train_data("fashion_mnist", progress=lambda *a: None)
    assert data.input_shape == (1, 28, 28)
    assert data.class_names == FASHION_CLASSES
    assert not data.is_digits  # 28x28 grey, but clothes: no drawing
    np.testing.assert_array_equal(data.x_train[:, 0], x)
    assert data.class_names[data.y_test[0]] == "Ankle boot"


# ------------------------------------------------------------------ the run


def _tiny_specs(units=10):
    return [
        {"type": "Conv2D", "filters": 4, "kernel_size": 3, "strides": 1,
         "padding": "valid", "activation": "relu"},
        {"type": "MaxPooling2D", "pool_size": 2, "strides": 0, "padding": "valid"},
        {"type": "Flatten"},
        {"type": "Dense", "units": units, "activation": "softmax"},
    ]  # fmt: skip


def test_the_model_follows_the_data_and_trains_on_colour():
    run = TrainerRun()
    run.set_specs(_tiny_specs())
    assert tuple(run.model.input_shape) == (1, 28, 28)
    data = _colour_data()
    note = run.set_data(data)
    assert tuple(run.model.input_shape) == (3, 16, 16)
    assert run.model.output_shape == (6,)
    assert run.specs[-1]["units"] == 6
    assert "follows the data (for 16x16x3 images, 6 classes)" in note
    assert "dense (units 10 -> 6" in note
    assert run.x_train.shape == (60, 3, 16, 16)
    assert run.test_image(0).shape == (3, 16, 16)
    # the same data again: nothing to change
    assert run.set_data(data) == ""
    session = run.begin(TrainSettings(batch_size=20, epochs=1, validation_split=0.0))
    evals = [e for e in session.events() if type(e).__name__ == "EvaluationEvent"]
    run.finish()
    assert evals[-1].probabilities.shape == (30, 6)
    np.testing.assert_allclose(evals[-1].probabilities.sum(axis=1), 1, rtol=1e-5)


def test_a_folder_validation_part_is_used_for_validation(tmp_path):
    root = tmp_path / "shapes"
    make_colour_folder(root, per_class=10, size=8)
    data = load_image_folder(root, FolderOptions(size=(8, 8), validation=0.2, test=0.2))
    run = TrainerRun()
    run.set_specs(_tiny_specs())
    run.set_data(data)
    assert len(run.x_val) == 12
    settings = TrainSettings(batch_size=8, epochs=1, validation_split=0.5)
    assert run.training_count(0.0) == len(data.x_train)
    assert run.start_problem(settings) == ""
    session = run.begin(settings)
    assert session.validation_data[0].shape == (12, 3, 8, 8)
    epochs = [e for e in session.events() if type(e).__name__ == "EpochEvent"]
    run.finish()
    assert epochs[-1].val_accuracy is not None


def test_a_model_that_does_not_fit_the_data_cannot_start():
    run = TrainerRun()
    run.set_data(_colour_data())
    model = engine.build_model(_tiny_specs(6), input_shape=(1, 16, 16))
    run.set_model(model)
    problem = run.start_problem(TrainSettings())
    assert "takes 1x16x16 images" in problem
    assert "3x16x16 images in 6 classes" in problem
    with pytest.raises(ValueError, match="rebuild the layers for this data"):
        run.begin(TrainSettings())


# ------------------------------------------------------------------ the GUI

pytest.importorskip("pytestqt")


@pytest.fixture
def colour_folder(tmp_path):
    root = tmp_path / "shapes"
    make_colour_folder(root, per_class=12, size=24)
    return root


@pytest.fixture
def gui_trainer(qtbot):
    from trainer_helpers import open_trainer, subset

    from convlab.data.mnist import load_mnist

    widget = open_trainer(qtbot, subset(load_mnist("bundled"), 300, 100))
    yield widget
    widget.shutdown()


def _gate_reader(monkeypatch):
    """Hold the folder reader after its first image until ``release`` is set; a
    reader on the GUI thread would hold the test too (it would time out)."""
    import convlab.train.datasets as ds

    started, release = threading.Event(), threading.Event()
    original = ds._read_one
    calls = []

    def gated(*args):
        calls.append(threading.current_thread())
        if len(calls) == 2:
            started.set()
            release.wait(30)
        return original(*args)

    monkeypatch.setattr(ds, "_read_one", gated)
    return started, release, calls


def test_a_colour_folder_loads_in_a_worker_with_progress(
    qtbot, gui_trainer, colour_folder, monkeypatch
):
    from trainer_helpers import Messages

    trainer = gui_trainer
    messages = Messages(trainer)
    started, release, calls = _gate_reader(monkeypatch)
    panel = trainer.data_panel
    panel.height_spin.setValue(20)
    panel.width_spin.setValue(20)
    trainer.load_class_folder(str(colour_folder))
    # the GUI thread is free while the worker reads: it shows the progress
    assert started.wait(30)
    assert trainer.data_loading()
    qtbot.waitUntil(lambda: panel.data_progress.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: "reading" in panel.data_progress.format(), timeout=10_000)
    assert panel.cancel_button.isVisible()
    assert threading.main_thread() not in calls
    release.set()
    qtbot.waitUntil(lambda: not trainer.data_loading(), timeout=60_000)
    assert not panel.data_progress.isVisible()
    data = trainer.run.data
    assert data.input_shape == (3, 20, 20)
    assert data.class_names == list(CLASSES)
    # the model followed: 3x20x20 in, 6 classes out, and the user was told
    assert tuple(trainer.model.input_shape) == (3, 20, 20)
    assert trainer.model.output_shape == (6,)
    assert trainer.editor.specs()[-1]["units"] == 6
    assert trainer.editor.check.ok
    assert any(
        "follows the data (for 20x20x3 images, 6 classes)" in t for t in messages.texts
    )
    # the Draw tab makes no sense for colour shapes: disabled, saying why
    draw = trainer.tabs.indexOf(trainer.draw_panel)
    assert not trainer.tabs.isTabEnabled(draw)
    assert "Drawing makes 28x28 grey digits" in trainer.tabs.tabToolTip(draw)
    # the Data tab: a row per class with its counts and thumbnails (in colour)
    view = trainer.data_view
    assert [r[0] for r in view.rows] == list(CLASSES)
    for name, n_train, n_val, n_test, thumbs in view.rows:
        k = data.class_names.index(name)
        assert (n_train, n_val, n_test) == (
            int(np.sum(data.y_train == k)),
            int(np.sum(data.y_val == k)),
            int(np.sum(data.y_test == k)),
        )
        assert thumbs == min(10, n_train)
    first = data.x_train[np.flatnonzero(data.y_train == 0)[0]]
    np.testing.assert_array_equal(view.strips[0][:, :20], first.transpose(1, 2, 0))
    assert "3x20x20" in view.header.text()


def test_cancel_keeps_the_data_and_a_broken_image_is_counted(
    qtbot, gui_trainer, colour_folder, monkeypatch
):
    trainer = gui_trainer
    before = trainer.run.data
    started, release, _ = _gate_reader(monkeypatch)
    trainer.load_class_folder(str(colour_folder))
    assert started.wait(30)
    trainer.data_panel.cancel_button.click()
    release.set()
    qtbot.waitUntil(lambda: not trainer.data_loading(), timeout=60_000)
    assert trainer.run.data is before
    assert "cancelled" in trainer.data_panel.data_label.text()
    monkeypatch.undo()

    (colour_folder / "cyan_cross" / "broken.jpg").write_bytes(b"\xff\xd8 broken")
    trainer.load_class_folder(str(colour_folder))
    qtbot.waitUntil(lambda: not trainer.data_loading(), timeout=60_000)
    assert len(trainer.run.data.skipped) == 1
    assert "1 unreadable files skipped" in trainer.data_panel.data_label.text()
    assert not trainer.data_view.skipped_label.isHidden()
    assert "broken.jpg" in trainer.data_view.skipped_label.text()


def test_a_colour_run_shows_colour_and_class_names(qtbot, gui_trainer, colour_folder):
    from trainer_helpers import train

    trainer = gui_trainer
    trainer.data_panel.height_spin.setValue(16)
    trainer.data_panel.width_spin.setValue(16)
    trainer.load_class_folder(str(colour_folder))
    qtbot.waitUntil(lambda: not trainer.data_loading(), timeout=60_000)
    trainer.epochs_spin.setValue(2)
    assert train(qtbot, trainer) is False
    assert trainer.run.outcome == "finished"
    data = trainer.run.data
    results = trainer.results
    assert results.confusion.matrix.shape == (6, 6)
    assert int(results.confusion.matrix.sum()) == len(data.x_test)
    # the examples are shown in colour: each tile's inside is the test image itself
    tile = results.examples.tiles[0]
    np.testing.assert_array_equal(tile[2:-2, 2:-2], data.x_test[0].transpose(1, 2, 0))
    names = set(CLASSES)
    caption = results.examples.captions[0]
    assert any(n[:9] in caption for n in names)
    bars = trainer.training_tab.test_bars
    assert bars.class_names == list(CLASSES)
    assert len(bars.probs) == 6
    # back to MNIST: the model follows again and Draw comes back
    from trainer_helpers import subset

    from convlab.data.mnist import load_mnist

    trainer.set_data(subset(load_mnist("bundled"), 200, 50))
    assert tuple(trainer.model.input_shape) == (1, 28, 28)
    assert trainer.model.output_shape == (10,)
    assert trainer.tabs.isTabEnabled(trainer.tabs.indexOf(trainer.draw_panel))
    assert results.confusion.class_names == [str(i) for i in range(10)]

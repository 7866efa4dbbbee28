"""The trainer's curves, run comparison and exports (issue #11 item 6) and the rough
edges found by looking at screenshots, driven as a user would (pytest-qt)."""

from __future__ import annotations

import csv
import math
import os
import xml.etree.ElementTree as ET

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")
from PIL import Image  # noqa: E402
from PySide6.QtCore import QRect, Qt  # noqa: E402
from trainer_helpers import Messages, open_trainer, train  # noqa: E402
from trainer_helpers import subset as _subset  # noqa: E402

from convlab import _files  # noqa: E402
from convlab.data.mnist import load_mnist  # noqa: E402


@pytest.fixture(scope="module")
def bundled():
    return load_mnist("bundled")


@pytest.fixture
def trainer(qtbot, bundled):
    widget = open_trainer(qtbot, _subset(bundled, 256, 60))
    widget.batch_spin.setValue(64)
    widget.epochs_spin.setValue(1)
    yield widget
    widget.shutdown()


def tensorboard_smooth(values, weight):
    """TensorBoard's scalar smoothing, value by value."""
    last, n, out = 0.0, 0, []
    for v in values:
        last, n = last * weight + (1 - weight) * v, n + 1
        out.append(last / (1 - weight**n))
    return np.array(out)


def _fake_run(curves, label, steps=12, slope=1.0):
    curves.begin_run(label)
    for i in range(steps):
        x = (i + 1) / (steps / 2)
        curves.add_step(x, 2.0 - slope * i / steps, 0.1 + 0.05 * i)
        if (i + 1) % (steps // 2) == 0:
            curves.add_epoch(x, 0.5, 0.6, 1.2, loss=1.0)
    curves.end_run()


# ------------------------------------------------------------ curves and overlay


def test_three_trained_runs_are_overlaid_labelled_and_exported(
    qtbot, trainer, tmp_path
):
    trainer.tabs.setCurrentIndex(1)
    curves = trainer.curves
    for lr in (0.001, 0.003, 0.0003):
        trainer.lr_spin.setValue(lr)
        assert train(qtbot, trainer) is False
        if lr != 0.0003:
            trainer.reset_model()  # a new model: the run joins the overlay
    runs = curves.history.runs
    assert len(runs) == 3
    assert runs[-1] is curves.history.current  # the model trained last
    assert [r.label for r in runs] == [
        f"run {i + 1}: tiny · adam lr {lr:g} · batch 64"
        for i, lr in enumerate((0.001, 0.003, 0.0003))
    ]
    steps = math.ceil(256 * 0.9 / 64)
    assert [r.n_steps for r in runs] == [steps] * 3
    # the list under the plots: newest first, all ticked, each in its colour
    texts = [curves.runs_list.item(i).text() for i in range(3)]
    assert texts == [runs[2].label + " (this model)", runs[1].label, runs[0].label]
    # the two earlier runs are drawn as overlays with their own (smoothed) data
    for run in runs[:2]:
        items = curves._overlays[run.run_id]
        x, y = items.loss.getData()
        np.testing.assert_array_equal(x, run.column("x"))
        np.testing.assert_allclose(
            y, tensorboard_smooth(run.column("loss"), curves.smoothing)
        )
        assert items.loss.opts["pen"].color().getRgb()[:3] == run.colour
    # the CSV holds every kept run, one row per step, equal to what the plots show
    path = tmp_path / "runs.csv"
    assert trainer.exports.export_curves(path) == ""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * steps
    last = [r for r in rows if r["run"] == runs[2].label]
    np.testing.assert_array_equal(
        [float(r["loss"]) for r in last], curves.raw_item.getData()[1]
    )
    np.testing.assert_array_equal(
        [float(r["accuracy"]) for r in last], curves.acc_raw_item.getData()[1]
    )
    val = [float(r["val_accuracy"]) for r in last if r["val_accuracy"]]
    np.testing.assert_array_equal(val, curves.val_acc_item.getData()[1])


def test_step_accuracy_is_smoothed_live_and_follows_the_slider(qtbot, trainer):
    trainer.tabs.setCurrentIndex(1)
    curves = trainer.curves
    train(qtbot, trainer)
    x, raw = curves.acc_raw_item.getData()
    assert len(x) == math.ceil(256 * 0.9 / 64)
    assert np.all((raw >= 0) & (raw <= 1))
    for value in (0, 35, 90, 99):
        curves.smoothing_slider.setValue(value)
        assert curves.smoothing_label.text() == f"{value / 100:.2f}"
        _, smooth_acc = curves.acc_smooth_item.getData()
        _, smooth_loss = curves.smooth_item.getData()
        np.testing.assert_allclose(smooth_acc, tensorboard_smooth(raw, value / 100))
        np.testing.assert_allclose(
            smooth_loss,
            tensorboard_smooth(curves.raw_item.getData()[1], value / 100),
        )
    with pytest.raises(ValueError, match=r"Received: weight=1\.0"):
        curves.set_smoothing(1.0)


def test_overlay_keeps_five_runs_and_drops_the_oldest(qtbot, trainer):
    curves = trainer.curves
    curves.end_run()
    for i in range(7):
        _fake_run(curves, f"r{i}", slope=1 + i / 10)
    assert [r.run_id for r in curves.history.runs] == [3, 4, 5, 6, 7]
    assert sorted(curves._overlays) == [3, 4, 5, 6, 7]
    plot_items = curves.loss_plot.listDataItems()
    assert all(curves._overlays[i].loss in plot_items for i in (3, 4, 5, 6, 7))
    assert curves.runs_list.count() == 5
    # untick a run: its curves hide; select it and Remove: it is gone
    item = curves.runs_list.item(4)  # the oldest kept, listed last
    assert item.data(Qt.ItemDataRole.UserRole) == 3
    item.setCheckState(Qt.CheckState.Unchecked)
    assert not curves.history.get(3).visible
    assert not curves._overlays[3].loss.isVisible()
    curves.runs_list.item(4).setSelected(True)
    assert curves.remove_button.isEnabled()
    curves.remove_button.click()
    assert [r.run_id for r in curves.history.runs] == [4, 5, 6, 7]
    assert 3 not in curves._overlays
    assert curves.runs_list.count() == 4


def test_stop_then_start_continues_the_same_run(qtbot, trainer):
    trainer.epochs_spin.setValue(2)
    lr = trainer.lr_spin.value()  # the preset's
    train(qtbot, trainer)
    trainer.lr_spin.setValue(0.0005)
    train(qtbot, trainer)
    (run,) = trainer.curves.history.runs
    assert run.label == (
        f"run 1: tiny · adam lr {lr:g} · batch 64 → tiny · adam lr 0.0005 · batch 64"
    )
    x = run.column("x")
    assert np.all(np.diff(x) > 0)  # never doubles back
    assert x[-1] == pytest.approx(4.0)
    np.testing.assert_array_equal(run.column("step"), np.arange(1, len(x) + 1))


# ------------------------------------------------------------ exports


def test_curve_exports_are_valid_png_and_svg(qtbot, trainer, tmp_path):
    trainer.tabs.setCurrentIndex(1)
    curves = trainer.curves
    _fake_run(curves, "earlier")
    train(qtbot, trainer)
    messages = Messages(trainer)
    png, svg = tmp_path / "curves.png", tmp_path / "curves.svg"
    assert trainer.exports.export_curves(png) == ""
    assert trainer.exports.export_curves(svg) == ""
    with Image.open(png) as image:
        image.load()
        assert image.format == "PNG"
        assert image.size[0] == 1600
        pixels = np.asarray(image.convert("RGB"))
    # the curves are there: pixels of the open run's colour (not only background)
    colour = np.array(curves.history.current.colour)
    assert np.any(np.all(np.abs(pixels.astype(int) - colour) < 8, axis=-1))
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    # the exported legend names each run by its label
    for run in curves.history.runs:
        assert run.label.replace(" ", "") in texts.replace(" ", "")
    assert not any(
        p.get("d") == "" for p in root.iter("{http://www.w3.org/2000/svg}path")
    )
    assert any(f"Saved the curves to {svg}" in t for t in messages.texts)
    assert curves.note.text() == "saved curves.svg"
    # after the export the on-screen legend is back to its three entries
    assert len(curves.loss_plot.legend.items) == 3
    assert sorted(os.listdir(tmp_path)) == ["curves.png", "curves.svg"]


def test_a_failed_export_says_why_and_leaves_the_old_file(
    qtbot, trainer, tmp_path, monkeypatch
):
    train(qtbot, trainer)
    messages = Messages(trainer)
    old = tmp_path / "curves.png"
    old.write_bytes(b"old picture")
    # root ignores permissions: the read-only folder is injected at os.access
    monkeypatch.setattr(_files.os, "access", lambda path, mode: False)
    for export, path in (
        (trainer.exports.export_curves, old),
        (trainer.exports.export_curves, tmp_path / "c.csv"),
        (trainer.exports.export_confusion, tmp_path / "m.png"),
        (trainer.exports.export_galleries, tmp_path / "g.png"),
    ):
        error = export(path)
        assert "no permission to write in" in error
        assert error in messages.texts
    assert trainer.curves.note.text().startswith("not saved: Cannot save")
    assert trainer.results.export_note.text().startswith("not saved: Cannot save")
    monkeypatch.undo()
    assert old.read_bytes() == b"old picture"
    assert sorted(os.listdir(tmp_path)) == ["curves.png"]
    error = trainer.exports.export_curves(tmp_path / "curves.jpg")
    assert "must end in one of .png, .svg, .csv" in error


@pytest.mark.parametrize("name", ["curves.csv", "curves.png", "curves.svg"])
def test_an_export_cut_short_leaves_the_old_file_whole(
    qtbot, trainer, tmp_path, monkeypatch, name
):
    train(qtbot, trainer)
    path = tmp_path / name
    path.write_bytes(b"old content")
    real_fdopen = os.fdopen
    written = []

    def disk_full_fdopen(fd, mode="r", *args, **kwargs):
        handle = real_fdopen(fd, mode, *args, **kwargs)
        real_write = handle.write

        def write(data):  # half the bytes land, then the disk is full
            real_write(data[: len(data) // 2])
            written.append(len(data))
            raise OSError(28, "No space left on device")

        handle.write = write
        return handle

    monkeypatch.setattr(_files.os, "fdopen", disk_full_fdopen)
    error = trainer.exports.export_curves(path)
    monkeypatch.undo()
    assert written  # the export really began writing
    assert "No space left on device" in error
    assert path.read_bytes() == b"old content"
    assert sorted(os.listdir(tmp_path)) == [name]  # no temporary left behind


def test_confusion_and_gallery_exports_are_png_of_what_is_shown(
    qtbot, trainer, tmp_path
):
    train(qtbot, trainer)
    trainer.tabs.setCurrentIndex(3)
    qtbot.waitExposed(trainer.results)
    matrix_png, gallery_png = tmp_path / "matrix.png", tmp_path / "galleries.png"
    assert trainer.exports.export_confusion(matrix_png) == ""
    assert trainer.exports.export_galleries(gallery_png) == ""
    with Image.open(matrix_png) as image:
        image.load()
        view = trainer.confusion
        assert image.size == (2 * view.width(), 2 * view.height())
    with Image.open(gallery_png) as image:
        image.load()
        full = image.size
    # every gallery image, not only those scrolled into view: fewer rows, less height
    n_examples = trainer.examples.list.count()
    assert n_examples == min(24, 60)
    trainer.examples.set_digits(np.zeros((0, 28, 28), np.uint8), [])
    assert trainer.exports.export_galleries(gallery_png) == ""
    with Image.open(gallery_png) as image:
        image.load()
        smaller = image.size
    rows = math.ceil(n_examples / 8)
    assert full[1] - smaller[1] == rows * (
        trainer.examples.list.gridSize().height() + 6
    )


# ------------------------------------------------------------ rough edges


def test_progress_bar_forgets_the_last_run_after_reset_weights(qtbot, trainer):
    trainer.epochs_spin.setValue(2)
    train(qtbot, trainer)
    assert trainer.progress.text().startswith("epoch 2 of 2")
    trainer.reset_model()
    assert trainer.progress.value() == 0
    assert "epoch" not in trainer.progress.text()
    assert trainer.progress.text() == "0%"


@pytest.mark.parametrize("size", [(1024, 768), (1280, 720)])
def test_confusion_axis_labels_fit_in_the_view(qtbot, trainer, size):
    window_w, window_h = size
    trainer.resize(window_w - 16, window_h - 60)  # the main window's frame and bars
    train(qtbot, trainer)
    trainer.tabs.setCurrentIndex(3)
    view = trainer.confusion
    qtbot.waitExposed(view.graphics)
    qtbot.wait(50)  # let the plot lay out its axes
    visible = view.graphics.viewport().rect()
    for side in ("bottom", "left"):
        label = view.plot.getAxis(side).label
        assert label.isVisible()
        rect: QRect = view.graphics.mapFromScene(
            label.sceneBoundingRect()
        ).boundingRect()
        assert visible.contains(rect), (side, rect, visible)


def test_probability_bars_have_no_title_before_a_prediction(qtbot, trainer):
    bars = trainer.draw_panel.bars
    title = bars.getPlotItem().titleLabel
    assert not title.isVisible() or title.text == ""
    probs = np.full(10, 0.1, np.float32)
    probs[3] = 0.5
    bars.set_probabilities(probs)
    assert title.isVisible()
    assert title.text.startswith("The model says 3 (50%)")
    bars.set_probabilities(None)  # the canvas was cleared
    assert not title.isVisible() or title.text == ""
    # the Training tab's bars: the caption beside the image names the answer
    train(qtbot, trainer)
    qtbot.waitUntil(
        lambda: trainer.training_tab.test_bars.probs.sum() > 0.99, timeout=10_000
    )
    test_title = trainer.training_tab.test_bars.getPlotItem().titleLabel
    assert not test_title.isVisible() or test_title.text == ""
    assert "The model says" in trainer.training_tab.test_caption.text()


def test_confusion_matrix_follows_the_class_count_and_names(qtbot):
    from convlab.gui.trainer.confusion import ConfusionView, confusion_matrix

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 6, 200), rng.integers(0, 6, 200)
    m = confusion_matrix(y_true, y_pred, 6)
    for t in range(6):  # counted one pair at a time
        for p in range(6):
            assert m[t, p] == sum(
                1 for a, b in zip(y_true, y_pred, strict=True) if (a, b) == (t, p)
            )
    view = ConfusionView()
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    names = ["cat", "dog", "elephant", "horse", "lion", "zebra"]
    view.set_matrix(m, epoch=3, what="animals", class_names=names)
    assert len(view.texts) == 36
    assert view.texts[2 * 6 + 4].toPlainText() == str(m[2, 4] or "")
    rows = view.plot.getAxis("left")._tickLevels[0]
    assert [label for _, label in rows] == names
    # the columns' names are elided to the column's width when they do not fit
    view.resize(420, 480)
    qtbot.wait(50)
    cols = [label for _, label in view.plot.getAxis("bottom")._tickLevels[0]]
    assert cols[:2] == ["cat", "dog"]
    assert cols[2].endswith("…")
    assert "elephant".startswith(cols[2][:-1])
    assert view.plot.getAxis("bottom").labelText == "predicted class"
    assert "of animals after epoch 3" in view.title.text()
    view.set_matrix(np.eye(10, dtype=np.int64))  # back to ten digits
    assert len(view.texts) == 100
    assert view.plot.getAxis("left").labelText == "true digit"
    with pytest.raises(ValueError, match=r"Received: shape=\(2, 3\)"):
        view.set_matrix(np.zeros((2, 3)))


def test_export_shortcut_is_unique_in_the_main_window_and_fires(qtbot, monkeypatch):
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from convlab.gui.app import configure_pyqtgraph
    from convlab.gui.main_window import MainWindow
    from convlab.gui.trainer import exports

    configure_pyqtgraph()
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.select_tab("trainer")
    trainer = window.trainer
    mine = trainer.exports.curves_action.shortcut()
    assert mine == QKeySequence("Ctrl+Shift+X")
    # another action on the same keys would make Qt call the shortcut ambiguous
    same = [a for a in window.findChildren(QAction) if a.shortcut() == mine]
    assert same == [trainer.exports.curves_action]
    asked = []
    monkeypatch.setattr(
        exports.QFileDialog,
        "getSaveFileName",
        lambda *args, **kwargs: (asked.append(args[1]) or "", ""),
    )
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    target = QApplication.focusWidget() or window
    keys = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    QTest.keyClick(target, Qt.Key.Key_X, keys)
    assert asked == ["Export the curves"]
    trainer.shutdown()

"""The training window, driven as a user would: train, stop, save, reload, draw,
close."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from convlab.data.mnist import MnistData, load_mnist  # noqa: E402
from convlab.gui.app import configure_pyqtgraph  # noqa: E402
from convlab.gui.trainer import TrainerWidget  # noqa: E402
from convlab.gui.trainer.model_editor import _ERROR_BG  # noqa: E402
from convlab.gui.trainer.specs import check_stack  # noqa: E402


@pytest.fixture(scope="module")
def bundled():
    return load_mnist("bundled")


def _subset(data, n_train, n_test):
    return MnistData(
        data.x_train[:n_train],
        data.y_train[:n_train],
        data.x_test[:n_test],
        data.y_test[:n_test],
        source="bundled",
    )


class Messages:
    def __init__(self, widget):
        self.texts: list[str] = []
        widget.status_message.connect(self.on_message)

    def on_message(self, text, _timeout):  # same thread (emitted by the widget)
        self.texts.append(text)


@pytest.fixture
def trainer(qtbot, bundled):
    configure_pyqtgraph()
    widget = TrainerWidget(load_data=False)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.show()
    widget.set_data(_subset(bundled, 1200, 300))
    widget.seed_spin.setValue(0)
    yield widget
    widget.shutdown()


def _train(qtbot, widget, timeout=120_000):
    with qtbot.waitSignal(widget.training_finished, timeout=timeout) as blocker:
        widget.start_training()
    return blocker.args[0]


def test_short_run_adds_points_to_the_curves(qtbot, trainer):
    assert trainer.state == "ready"
    assert (
        trainer.curves.raw_item.getData()[0] is None
        or len(trainer.curves.raw_item.getData()[0]) == 0
    )
    trainer.batch_spin.setValue(32)
    trainer.epochs_spin.setValue(2)
    stopped = _train(qtbot, trainer)
    assert stopped is False
    steps = 2 * int(np.ceil(1200 * 0.9 / 32))  # 10% held out for validation
    x, y = trainer.curves.raw_item.getData()
    assert len(x) == steps
    assert np.all(np.isfinite(y))
    assert np.all(np.diff(x) > 0)
    assert x[-1] == pytest.approx(2.0)
    xs, ys = trainer.curves.smooth_item.getData()
    assert len(xs) == steps
    ax, ay = trainer.curves.train_acc_item.getData()
    np.testing.assert_allclose(ax, [1.0, 2.0])
    assert np.all((ay >= 0) & (ay <= 1))
    assert len(trainer.curves.val_acc_item.getData()[0]) == 2
    # the loss fell: last smoothed value below the first raw one (ln 10 = 2.30 at start)
    assert ys[-1] < y[0]
    # after each epoch: a confusion matrix over the 300 test images
    assert trainer.confusion.matrix.sum() == 300
    assert len(trainer.examples.captions) == 24
    # the filters view shows the first layer's current weights
    conv = trainer.model.layers[0]
    np.testing.assert_array_equal(trainer.filters.weight, conv.weight)
    assert trainer.progress.value() == 1000
    assert trainer.state == "ready"


def test_confusion_cell_click_shows_those_digits(qtbot, trainer):
    trainer.batch_spin.setValue(64)
    _train(qtbot, trainer)
    trainer.tabs.setCurrentIndex(3)
    view = trainer.confusion
    qtbot.waitExposed(view.graphics)
    matrix = view.matrix
    true, pred = 3, 3
    scene_pos = view.plot.vb.mapViewToScene(QPointF(pred + 0.5, true + 0.5))
    pos = view.graphics.mapFromScene(scene_pos)
    with qtbot.waitSignal(view.cell_clicked, timeout=2000) as blocker:
        QTest.mouseClick(
            view.graphics.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            pos,
        )
    assert blocker.args == [true, pred]
    expected = min(int(matrix[true, pred]), 48)
    assert trainer.cell_gallery.list.count() == expected
    assert f"Test images of a {true}" in trainer.cell_gallery.title.text()


def test_stop_mid_epoch_returns_at_once_and_model_still_predicts(
    qtbot, trainer, bundled
):
    trainer.set_data(_subset(bundled, 10000, 300))
    trainer.batch_spin.setValue(16)
    trainer.epochs_spin.setValue(3)
    trainer.start_training()
    qtbot.waitUntil(lambda: trainer.curves.loss_raw.n >= 5, timeout=60_000)
    worker = trainer._worker
    t0 = time.perf_counter()
    with qtbot.waitSignal(trainer.training_finished, timeout=5000) as blocker:
        trainer.stop_training()
    elapsed = time.perf_counter() - t0
    assert blocker.args == [True]
    assert elapsed < 2.0
    assert not worker.is_running()
    assert trainer.curves.loss_raw.n < 3 * 10000 * 0.9 / 16  # really stopped early
    probs = trainer.model.predict(bundled.x_test[:20])
    assert probs.shape == (20, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert trainer.state == "ready"


def test_pause_resume_and_learning_rate_change(qtbot, trainer, bundled):
    trainer.set_data(_subset(bundled, 6000, 100))
    trainer.batch_spin.setValue(16)
    trainer.start_training()
    qtbot.waitUntil(lambda: trainer.curves.loss_raw.n >= 3, timeout=60_000)
    trainer.toggle_pause()
    assert trainer.state == "paused"
    qtbot.wait(300)
    n = trainer.curves.loss_raw.n
    qtbot.wait(300)
    assert trainer.curves.loss_raw.n == n  # nothing moves while paused
    trainer.lr_spin.setValue(0.0005)
    assert trainer.model.optimizer.learning_rate == pytest.approx(0.0005)
    trainer.toggle_pause()
    qtbot.waitUntil(lambda: trainer.curves.loss_raw.n > n + 2, timeout=30_000)
    with qtbot.waitSignal(trainer.training_finished, timeout=5000):
        trainer.stop_training()


def test_saved_and_reloaded_model_predicts_identically(
    qtbot, trainer, bundled, tmp_path
):
    _train(qtbot, trainer)
    path = tmp_path / "tiny.npz"
    assert trainer.save_model(path)
    before = trainer.model.predict(bundled.x_test[:50])
    trainer.reset_model()  # fresh weights: different predictions
    assert not np.array_equal(trainer.model.predict(bundled.x_test[:50]), before)
    assert trainer.load_model(path)
    np.testing.assert_array_equal(trainer.model.predict(bundled.x_test[:50]), before)
    assert [s["type"] for s in trainer.editor.specs()] == [
        type(layer).__name__ for layer in trainer.model.layers
    ]
    # and the file is the engine's format: convlab.nn opens it too
    from convlab.nn import load_model

    np.testing.assert_array_equal(load_model(path).predict(bundled.x_test[:50]), before)


@pytest.mark.parametrize("content", ["garbage", "truncated"])
def test_corrupt_model_file_gives_a_message_and_changes_nothing(
    qtbot, trainer, bundled, tmp_path, content
):
    bad = tmp_path / "bad.npz"
    if content == "truncated":
        good = tmp_path / "good.npz"
        trainer.model.save(good)
        bad.write_bytes(good.read_bytes()[:-200])
    else:
        bad.write_bytes(b"this is not a model at all" * 10)
    messages = Messages(trainer)
    model = trainer.model
    specs = trainer.editor.specs()
    before = model.predict(bundled.x_test[:10])
    assert trainer.load_model(bad) is False
    assert trainer.model is model
    assert trainer.editor.specs() == specs
    np.testing.assert_array_equal(trainer.model.predict(bundled.x_test[:10]), before)
    assert any("Could not open bad.npz" in t for t in messages.texts)
    assert trainer.load_model(tmp_path / "missing.npz") is False
    assert trainer.model is model


def test_drawing_strokes_produces_a_prediction(qtbot, trainer):
    _train(qtbot, trainer)
    trainer.tabs.setCurrentWidget(trainer.draw_panel)
    canvas = trainer.draw_panel.canvas
    qtbot.waitExposed(canvas)
    w, h = canvas.width(), canvas.height()
    cx, cy = w // 2, h // 2
    side = min(w, h)
    points = [(cx, cy - side // 3), (cx + 2, cy), (cx + 4, cy + side // 3)]  # a "1"
    QTest.mousePress(
        canvas,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QPoint(*points[0]),
    )
    for x, y in points[1:]:
        QTest.mouseMove(canvas, QPoint(x, y))
    QTest.mouseRelease(
        canvas,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QPoint(*points[-1]),
    )
    bars = trainer.draw_panel.bars
    qtbot.waitUntil(lambda: bars.probs.sum() > 0.99, timeout=10_000)
    digit = trainer.draw_panel.digit
    assert digit is not None
    assert digit.shape == (28, 28)
    expected = trainer.model.predict(digit.reshape(1, 1, 28, 28))[0]
    np.testing.assert_allclose(bars.probs, expected, rtol=1e-5, atol=1e-6)
    # every layer's output for the drawn digit, after the input itself
    names = trainer.draw_panel.activations.names
    assert names == ["input"] + [layer.name for layer in trainer.model.layers]
    assert "The model says" in bars.getPlotItem().titleLabel.text


def test_closing_mid_training_leaves_no_thread_running(qtbot, trainer, bundled):
    trainer.set_data(_subset(bundled, 10000, 100))
    trainer.batch_spin.setValue(16)
    trainer.start_training()
    qtbot.waitUntil(lambda: trainer.curves.loss_raw.n >= 3, timeout=60_000)
    worker = trainer._worker
    thread = worker._thread
    t0 = time.perf_counter()
    trainer.close()
    assert time.perf_counter() - t0 < 2.0
    assert thread.isFinished()
    assert not worker.is_running()


def test_invalid_stack_is_explained_at_the_breaking_row(trainer):
    editor = trainer.editor
    # a Dense straight after a convolution: Flatten is missing
    flatten = next(i for i, s in enumerate(editor.specs()) if s["type"] == "Flatten")
    editor.remove_layer(flatten)
    assert not editor.check.ok
    assert editor.check.error_index == flatten
    assert "Dense needs a flat vector" in editor.message.text()
    assert editor.message.isVisibleTo(trainer)
    item = editor.table.item(flatten, 0)
    assert item.background().color() == QColor(_ERROR_BG)
    assert not trainer.start_button.isEnabled()
    editor.add_layer("Flatten", at=flatten)
    assert editor.check.ok
    assert not editor.message.isVisibleTo(trainer)
    assert trainer.start_button.isEnabled()


def test_summary_matches_the_engine_for_every_preset(trainer):
    for index in range(trainer.editor.preset_combo.count() - 1):
        trainer.editor.preset_combo.setCurrentIndex(index)
        trainer.editor.preset_combo.activated.emit(index)
        rows = trainer.model.summary_rows()
        table = trainer.editor.table
        assert table.rowCount() == len(rows)
        for i, row in enumerate(rows):
            assert table.item(i, 2).text() == f"{row.params:,}"
            assert table.item(i, 1).text() == str(row.output_shape)
        total = trainer.model.count_params()
        assert f"Total params: {total:,}" in trainer.editor.totals.text()


def test_editing_a_layer_updates_the_summary(trainer):
    editor = trainer.editor
    editor.table.selectRow(0)
    spin = next(w for w in editor._form_widgets if w.property("param") == "filters")
    spin.setValue(4)  # tiny's first conv: 8 -> 4 filters of 3x3x1 (+bias)
    assert editor.table.item(0, 2).text() == "40"
    assert editor.check.total_params == check_stack(editor.specs()).total_params
    assert trainer.model.layers[0].weight.shape == (4, 1, 3, 3)
    assert editor.preset_combo.currentData() == "custom"


def test_send_filters_to_the_explorer(qtbot, trainer):
    with qtbot.waitSignal(trainer.filters_exported, timeout=1000) as blocker:
        trainer.export_filters()
    bank = blocker.args[0]
    weight = trainer.model.layers[0].weight
    assert len(bank) == weight.shape[0]
    name, kernel = bank[2]
    assert kernel.dtype == np.float32
    np.testing.assert_array_equal(kernel, weight[2, 0])


def test_menu_interface(trainer):
    assert trainer.menu.title() in ("&Training", "&Model")
    texts = [a.text() for a in trainer.menu.actions()]
    for wanted in ("&Save model...", "&Open model...", "&Start training", "S&top"):
        assert wanted in texts
    assert trainer.start_action.shortcut().toString() == "F5"

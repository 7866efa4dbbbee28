"""The training window, driven as a user would: train, stop, save, reload, draw,
close."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from qt_input import stroke  # noqa: E402
from trainer_helpers import (  # noqa: E402
    Messages,  # noqa: E402
    open_trainer,
    train,
)
from trainer_helpers import subset as _subset  # noqa: E402

from convlab.data.mnist import load_mnist  # noqa: E402
from convlab.gui.trainer.model_editor import _ERROR_BG  # noqa: E402
from convlab.train.specs import check_stack  # noqa: E402


@pytest.fixture(scope="module")
def bundled():
    return load_mnist("bundled")


@pytest.fixture
def trainer(qtbot, bundled):
    widget = open_trainer(qtbot, _subset(bundled, 1200, 300))
    yield widget
    widget.shutdown()


def test_short_run_adds_points_to_the_curves(qtbot, trainer):
    assert trainer.state == "ready"
    assert (
        trainer.curves.raw_item.getData()[0] is None
        or len(trainer.curves.raw_item.getData()[0]) == 0
    )
    trainer.batch_spin.setValue(32)
    trainer.epochs_spin.setValue(2)
    stopped = train(qtbot, trainer)
    assert stopped is False
    steps = 2 * int(np.ceil(1200 * 0.9 / 32))  # 10% held out for validation
    x, y = trainer.curves.raw_item.getData()
    assert len(x) == steps
    assert np.all(np.isfinite(y))
    assert np.all(np.diff(x) > 0)
    assert x[-1] == pytest.approx(2.0)
    xs, ys = trainer.curves.smooth_item.getData()
    assert len(xs) == steps
    # accuracy per step too (smoothed), validation at each epoch's end
    ax, ay = trainer.curves.train_acc_item.getData()
    np.testing.assert_array_equal(ax, x)
    assert np.all((ay >= 0) & (ay <= 1))
    np.testing.assert_allclose(trainer.curves.val_acc_item.getData()[0], [1.0, 2.0])
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
    train(qtbot, trainer)
    trainer.tabs.setCurrentIndex(3)
    view = trainer.confusion
    qtbot.waitExposed(view.graphics)
    matrix = view.matrix
    true, pred = 3, 3
    assert _click_cell(qtbot, view, true, pred) == [true, pred]
    expected = min(int(matrix[true, pred]), 48)
    assert trainer.cell_gallery.list.count() == expected
    title = trainer.cell_gallery.title.text()
    assert (
        f"{int(matrix[true, pred])} test images of a true 3 that the model recognised"
        in title
    )
    # an off-diagonal cell: the mistakes, named as such
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    true, pred = (int(v) for v in np.unravel_index(int(np.argmax(off)), off.shape))
    _click_cell(qtbot, view, true, pred)
    assert trainer.cell_gallery.list.count() == min(int(matrix[true, pred]), 48)
    assert f"of a true {true} that the model called {pred}" in (
        trainer.cell_gallery.title.text()
    )


def _click_cell(qtbot, view, true, pred):
    """Click the confusion matrix's cell (true, pred) as a user would; its signal's
    arguments."""
    scene_pos = view.plot.vb.mapViewToScene(QPointF(pred + 0.5, true + 0.5))
    pos = view.graphics.mapFromScene(scene_pos)
    with qtbot.waitSignal(view.cell_clicked, timeout=2000) as blocker:
        QTest.mouseClick(
            view.graphics.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            pos,
        )
    return blocker.args


def test_stop_mid_epoch_returns_at_once_and_model_still_predicts(
    qtbot, trainer, bundled
):
    trainer.set_data(_subset(bundled, 10000, 300))
    trainer.batch_spin.setValue(16)
    trainer.epochs_spin.setValue(3)
    trainer.start_training()
    qtbot.waitUntil(lambda: trainer.curves.loss_raw.n >= 5, timeout=60_000)
    assert trainer.is_training()
    # Stop ends the run between two steps, not at the end of the epoch
    with qtbot.waitSignal(trainer.training_finished, timeout=5000) as blocker:
        trainer.stop_training()
    assert blocker.args == [True]
    assert not trainer.is_training()
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
    # the worker says when the pause has taken effect; every step before it was
    # already posted to the GUI thread, so delivering the posted events shows them all
    qtbot.waitUntil(trainer.is_held, timeout=30_000)
    QApplication.processEvents()
    n = trainer.curves.loss_raw.n
    QApplication.processEvents()
    assert trainer.is_held()  # nothing moves while paused
    assert trainer.curves.loss_raw.n == n
    trainer.lr_spin.setValue(0.0005)
    assert trainer.model.optimizer.learning_rate == pytest.approx(0.0005)
    trainer.toggle_pause()
    qtbot.waitUntil(lambda: trainer.curves.loss_raw.n > n + 2, timeout=30_000)
    with qtbot.waitSignal(trainer.training_finished, timeout=5000):
        trainer.stop_training()


def test_saved_and_reloaded_model_predicts_identically(
    qtbot, trainer, bundled, tmp_path
):
    train(qtbot, trainer)
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


def test_opening_a_model_is_refused_while_training(qtbot, trainer, bundled, tmp_path):
    """Open model while training runs: refused with a message, and a model file
    still being read when Start is pressed is not used either; the training model
    is untouched both times and opens fine once stopped."""
    path = tmp_path / "saved.npz"
    trainer.model.save(path)
    trainer.set_data(_subset(bundled, 10000, 300))
    trainer.batch_spin.setValue(16)
    trainer.epochs_spin.setValue(3)
    messages = Messages(trainer)
    # the file is read on the thread pool; Start while it is read
    assert trainer.open_model_file(path)
    trainer.start_training()
    qtbot.waitUntil(lambda: not trainer.model_loading(), timeout=30_000)
    training_model = trainer.model
    assert any("stop training first" in t for t in messages.texts)
    qtbot.waitUntil(lambda: trainer.curves.loss_raw.n >= 2, timeout=60_000)
    assert trainer.is_training()
    assert trainer.open_model_file(path) is False
    assert trainer.load_model(path) is False
    assert any("Stop training before opening a model" in t for t in messages.texts)
    assert trainer.model is training_model
    with qtbot.waitSignal(trainer.training_finished, timeout=10_000):
        trainer.stop_training()
    assert trainer.load_model(path)
    assert trainer.model is not training_model


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
    train(qtbot, trainer)
    trainer.tabs.setCurrentWidget(trainer.draw_panel)
    canvas = trainer.draw_panel.canvas
    qtbot.waitExposed(canvas)
    w, h = canvas.width(), canvas.height()
    cx, cy = w // 2, h // 2
    side = min(w, h)
    points = [(cx, cy - side // 3), (cx + 2, cy), (cx + 4, cy + side // 3)]  # a "1"
    stroke(canvas, points)
    bars = trainer.draw_panel.bars

    def settled() -> bool:
        # every mouse event starts an asynchronous prediction: wait for the one of the
        # finished stroke, not an earlier partial stroke's
        digit = trainer.draw_panel.digit
        if digit is None or bars.probs.sum() <= 0.99:
            return False
        latest = trainer.model.predict(digit.reshape(1, 1, 28, 28))[0]
        return bool(np.allclose(bars.probs, latest, rtol=1e-5, atol=1e-6))

    qtbot.waitUntil(settled, timeout=10_000)
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
    assert trainer.is_training()
    trainer.close()  # waits for the worker thread
    assert not trainer.is_training()


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
        if trainer.model is None:  # AlexNet, VGG16 on 28x28: tests/test_trainer_tarch
            continue
        if trainer.editor.showing_native():  # the animal CNN: its 100x100x3 first
            trainer.editor.input_combo.setCurrentIndex(0)
            trainer.editor.input_combo.activated.emit(0)
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
    spin = editor.param_widget("filters")
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


def _hover(qtbot, graphics, scene_pos, until):
    """Move the mouse over a pyqtgraph view to ``scene_pos()``, as a user would, and
    wait until the read-out ``until()`` holds.

    The position is mapped again and the move sent again (from one pixel aside, so
    Qt sees a move) on every poll: under load the plot's layout and view range can
    still settle after the first move, which then pointed at another spot."""

    def moved_and_read() -> bool:
        pos = graphics.mapFromScene(scene_pos())
        QTest.mouseMove(graphics.viewport(), pos + QPoint(1, 0))
        QTest.mouseMove(graphics.viewport(), pos)
        return until()

    qtbot.waitUntil(moved_and_read, timeout=15_000)


def test_curve_hover_reads_out_the_nearest_step(qtbot, trainer):
    trainer.tabs.setCurrentIndex(1)
    curves = trainer.curves
    qtbot.waitExposed(curves.graphics)
    losses = [2.0, 1.5, 1.0, 0.8]
    xs = [0.25, 0.5, 0.75, 1.0]
    accs = [0.5, 0.6, 0.7, 0.75]
    for x, loss, a in zip(xs, losses, accs, strict=True):
        curves.add_step(x, loss, a)
    curves.add_epoch(1.0, 0.75, 0.8, 0.9)
    curves.set_epoch_span(1)
    curves.refresh()
    # smoothed by hand: TensorBoard's debiased moving average, weight 0.6
    w = curves.smoothing
    assert w == 0.6
    ema = [(1 - w) * losses[0] / (1 - w), ((1 - w) * (w * losses[0] + losses[1]))]
    ema[1] /= 1 - w**2
    hover, acc = curves.hovers
    # nearest step to x = 0.55 is the second one (x = 0.5); the validation point
    # nearest to it is the epoch's, at x = 1
    expected = (
        f"epoch 0.50 · step 2\nloss: {losses[1]:.4f}\nsmoothed: {ema[1]:.4f}"
        "\nvalidation: 0.9000"
    )
    _hover(
        qtbot,
        curves.graphics,
        lambda: curves.loss_plot.vb.mapViewToScene(QPointF(0.55, 1)),
        lambda: hover.text.toPlainText() == expected,
    )
    assert hover.text.isVisible()
    assert hover.line.value() == pytest.approx(0.5)
    last, n = 0.0, 0
    for a in accs:
        last, n = w * last + (1 - w) * a, n + 1
    expected = (
        f"epoch 1.00 · step 4\ntraining: 75.00%\nsmoothed: {last / (1 - w**n):.2%}"
        "\nvalidation: 80.00%"
    )
    _hover(
        qtbot,
        curves.graphics,
        lambda: curves.acc_plot.vb.mapViewToScene(QPointF(0.9, 0.5)),
        lambda: acc.text.toPlainText() == expected,
    )
    assert not hover.text.isVisible()  # the mouse left the loss plot


def test_filter_hover_reads_out_the_weight(qtbot, trainer):
    trainer.tabs.setCurrentIndex(1)
    view = trainer.filters
    qtbot.waitExposed(view.graphics)
    # the start-up prediction task shows the model's filters too: let it finish first
    qtbot.waitUntil(lambda: not trainer.probe_pending(), timeout=10_000)
    weight = np.arange(8 * 9, dtype=np.float32).reshape(8, 1, 3, 3) / 10 - 3
    view.set_weight(weight, "conv2d")
    # 8 filters of 3x3 are laid out 4 to a row with a 1-pixel gap: filter 5 is in the
    # second row, second column, so its (row 2, column 0) weight is mosaic pixel (6, 4)
    expected = f"filter 5, row 2, column 0: weight {weight[5, 0, 2, 0]:+.4f}"
    _hover(
        qtbot,
        view.graphics,
        lambda: view.image.mapToScene(QPointF(4.5, 6.5)),
        lambda: view.readout.text() == expected,
    )
    # a gap between filters keeps the last read-out (the move is delivered at once:
    # QTest.mouseMove sends the event synchronously)
    QTest.mouseMove(
        view.graphics.viewport(),
        view.graphics.mapFromScene(view.image.mapToScene(QPointF(3.5, 1.5))),
    )
    assert view.readout.text() == expected


def test_editor_shape_check_counts_dilation(trainer):
    from convlab.train import engine

    editor = trainer.editor
    editor.table.selectRow(0)
    assert editor.form_box.title() == "Layer 1: Conv2D"  # numbered as the table's rows
    spin = editor.param_widget("dilation_rate")
    spin.setValue(2)
    # a 3x3 kernel with dilation 2 spans 5x5: 28 - 5 + 1 = 24 (by hand)
    assert editor.table.item(0, 1).text() == "(None, 8, 24, 24)"
    # and the engine, which really convolves, agrees row by row
    rows = engine.build_model(editor.specs()).summary_rows()
    for i, row in enumerate(rows):
        assert editor.table.item(i, 1).text() == str(row.output_shape)
    assert trainer.model.layers[0].dilation_rate == (2, 2)
    # the second Conv2D (table row 3) gets 12x12 maps; with dilation 6 its 3x3 kernel
    # spans 13 pixels, so that row breaks, and the message numbers it as the table does
    editor.table.selectRow(2)
    assert editor.form_box.title() == "Layer 3: Conv2D"
    spin = editor.param_widget("dilation_rate")
    spin.setValue(6)
    assert editor.check.error_index == 2
    assert editor.message.text().startswith("Layer 3 (Conv2D(16, 3x3, dilation 6")
    assert "input 12x12, kernel 3x3" in editor.table.item(2, 0).toolTip()
    assert "dilation 6" in editor.table.item(2, 0).toolTip()
    with pytest.raises(ValueError, match="Output would be empty"):
        engine.build_model(editor.specs())


def test_loaded_model_keeps_its_dilation(trainer, tmp_path):
    from convlab.nn import Conv2D, Dense, Flatten, Sequential
    from convlab.train import engine

    model = Sequential(
        [Conv2D(4, 3, dilation_rate=3), Flatten(), Dense(10, activation="softmax")]
    )
    model.build((1, 28, 28))
    path = tmp_path / "dilated.npz"
    model.save(path)
    assert trainer.load_model(path)
    spec = trainer.editor.specs()[0]
    assert spec["dilation_rate"] == 3
    assert "dilation 3" in trainer.editor.table.item(0, 0).text()
    # 28 - (3 * 2 + 1) + 1 = 22
    assert trainer.editor.table.item(0, 1).text() == "(None, 4, 22, 22)"
    assert engine.build_model(trainer.editor.specs()).layers[0].dilation_rate == (3, 3)


@pytest.mark.parametrize("width", [1200, 1440, 900])
def test_activations_fit_the_width_without_sideways_scrolling(qtbot, trainer, width):
    trainer.resize(width, 800)
    trainer.tabs.setCurrentIndex(4)
    view = trainer.draw_panel.activations
    qtbot.waitExposed(view)
    rng = np.random.default_rng(0)
    digit = rng.random((28, 28)).astype(np.float32)
    layers = trainer.model.activations(digit.reshape(1, 1, 28, 28))
    trainer.draw_panel.digit = digit
    view.set_activations(layers, image=digit)

    def fitted() -> bool:  # the re-fit after a resize waits for the size to settle
        viewport = view.viewport().width()
        _cols, col_width = view.column_layout()
        return view.widget().width() <= viewport and all(
            p.pixmap().width() <= col_width and p.geometry().right() <= viewport
            for p in view.pictures()
        )

    qtbot.waitUntil(fitted, timeout=5000)
    assert not view.horizontalScrollBar().isVisible()
    assert len(view.pictures()) == len(layers) + 1
    assert view.names[0] == "input"
    assert len(view.names) == len(layers) + 1

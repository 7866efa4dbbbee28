"""The explorer's editing bugs of the lecture issue, driven as a user types and clicks:
sizes and geometry apply on commit, kernels stay centred, a new image with invalid
settings shows no stale maps, undo survives filter selection and covers geometry."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from convlab.data import filters as filter_data  # noqa: E402
from convlab.gui.app import configure_pyqtgraph  # noqa: E402
from convlab.gui.explorer.kernel_editor import KernelEditor, resize_centred  # noqa: E402

TIMEOUT = 60_000
SOBEL_X = filter_data.get_preset("Sobel x").kernel


def centred_reference(kernel, rows, cols):
    """Slow and obvious: the centre of the old kernel at the centre of the new one,
    the odd cell of a difference at the bottom/right."""
    out = np.zeros((rows, cols), np.float32)
    kh, kw = kernel.shape
    for r in range(kh):
        for c in range(kw):
            nr = r + (rows - kh) // 2 if rows >= kh else r - (kh - rows) // 2
            nc = c + (cols - kw) // 2 if cols >= kw else c - (kw - cols) // 2
            if 0 <= nr < rows and 0 <= nc < cols:
                out[nr, nc] = kernel[r, c]
    return out


@pytest.fixture
def window(qtbot):
    configure_pyqtgraph()
    from convlab.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(win.explorer.is_up_to_date, timeout=TIMEOUT)
    yield win
    win.close()


def settle(qtbot, explorer):
    qtbot.waitUntil(explorer.is_up_to_date, timeout=TIMEOUT)


def type_into(qtbot, box, text):
    """Select all, type ``text`` key by key, then Enter (a user committing)."""
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)


# ------------------------------------------------------------------ kernel size
@pytest.mark.parametrize(
    ("shape", "rows", "cols"),
    [((3, 3), 5, 5), ((3, 3), 4, 6), ((5, 5), 3, 2), ((2, 4), 7, 1), ((4, 4), 4, 4)],
)
def test_resize_centred_matches_the_reference(shape, rows, cols):
    kernel = np.arange(1, np.prod(shape) + 1, dtype=np.float32).reshape(shape)
    np.testing.assert_array_equal(
        resize_centred(kernel, rows, cols), centred_reference(kernel, rows, cols)
    )


def test_resize_centred_names_the_bad_size():
    with pytest.raises(ValueError, match=r"Received: rows=0"):
        resize_centred(np.ones((3, 3)), 0, 3)


def test_typing_a_kernel_size_applies_on_enter_not_per_keystroke(qtbot):
    editor = KernelEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.set_kernel(SOBEL_X)
    seen = []
    editor.kernel_edited.connect(seen.append)
    type_into(qtbot, editor.rows, "15")
    type_into(qtbot, editor.cols, "15")
    # typed "1" first used to crop Sobel x to one zero cell, then grow zeros
    assert [k.shape for k in seen] == [(15, 3), (15, 15)]
    np.testing.assert_array_equal(editor.kernel(), centred_reference(SOBEL_X, 15, 15))


def test_growing_with_the_arrows_keeps_the_kernel_centred(qtbot):
    editor = KernelEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.set_kernel(SOBEL_X)
    for _ in range(4):  # 3 -> 7, one arrow step at a time
        editor.rows.stepUp()
        editor.cols.stepUp()
    np.testing.assert_array_equal(editor.kernel(), centred_reference(SOBEL_X, 7, 7))
    for _ in range(4):  # and back: the very kernel again
        editor.rows.stepDown()
        editor.cols.stepDown()
    np.testing.assert_array_equal(editor.kernel(), SOBEL_X)
    assert "bottom/right" in editor.rows.toolTip()


# ------------------------------------------------------------------ geometry
def test_typing_a_geometry_value_computes_only_the_committed_value(window, qtbot):
    explorer = window.explorer
    geometry = explorer.geometry
    seen = []
    geometry.changed.connect(lambda name: seen.append(geometry.values()["pool_size"]))
    type_into(qtbot, geometry.pool_h, "16")
    settle(qtbot, explorer)
    # a pool of 1 (the "1" typed first) was never applied
    assert seen == [(16, 2)]
    assert explorer.result().settings.pool_size == (16, 2)


# ------------------------------------------------------------------ stale maps
def test_new_image_with_invalid_settings_clears_the_old_maps(window, qtbot):
    explorer = window.explorer
    explorer.geometry.stride_h.setValue(1)
    geometry = explorer.geometry
    geometry.padding.setCurrentIndex(geometry.padding.findData("valid"))
    settle(qtbot, explorer)
    assert explorer.result() is not None
    tiny = np.zeros((2, 2), np.float32)
    assert explorer.load_array(tiny, "tiny")  # 3x3 kernels do not fit a 2x2 image
    assert explorer.result() is None
    assert explorer.maps_cleared()
    assert explorer.grid.isHidden()
    assert not explorer.problem_label.isHidden()
    assert "Output would be empty" in explorer.problem_label.text()
    assert "Output would be empty" in explorer.shapes.text()
    assert "2x2" in window.statusBar().currentMessage()
    # a valid setting brings maps of the new image back
    geometry.padding.setCurrentIndex(geometry.padding.findData("same"))
    settle(qtbot, explorer)
    assert not explorer.maps_cleared()
    assert explorer.result().image.shape == (1, 2, 2)


# ------------------------------------------------------------------ undo
def test_undo_history_survives_selecting_another_filter(window, qtbot):
    explorer = window.explorer
    bank = explorer.bank
    bank.set_current(0)
    first = explorer.editor.kernel()
    explorer.editor.zero()
    bank.set_current(1)
    second = explorer.editor.kernel()
    explorer.editor.set_cell(0, 0, 7.0)
    bank.set_current(0)
    settle(qtbot, explorer)
    window.explorer.actions_by_name["undo"].trigger()  # the cell edit of filter 2
    assert bank.current_index() == 1
    np.testing.assert_array_equal(bank.entries()[1].kernel, second)
    window.explorer.actions_by_name["undo"].trigger()  # the zeroing of filter 1
    assert bank.current_index() == 0
    settle(qtbot, explorer)
    np.testing.assert_array_equal(explorer.result().settings.filters[0].kernel, first)
    np.testing.assert_array_equal(explorer.editor.kernel(), first)
    window.explorer.actions_by_name["redo"].trigger()
    settle(qtbot, explorer)
    assert not explorer.result().settings.filters[0].kernel.any()


def test_geometry_edits_undo_and_redo_with_the_keys(window, qtbot):
    explorer = window.explorer
    geometry = explorer.geometry
    before = explorer.settings()
    geometry.stride_h.setValue(2)
    geometry.activation.setCurrentIndex(geometry.activation.findData("tanh"))
    geometry.pool.setCurrentIndex(geometry.pool.findData("avg"))
    settle(qtbot, explorer)
    assert explorer.result().settings.pool == "avg"
    for _ in range(3):
        QTest.keySequence(window, "Ctrl+Z")
    settle(qtbot, explorer)
    after = explorer.result().settings
    assert (after.stride, after.activation, after.pool) == (
        before.stride,
        before.activation,
        before.pool,
    )
    assert geometry.values()["stride"] == before.stride
    QTest.keySequence(window, "Ctrl+Shift+Z")
    settle(qtbot, explorer)
    assert explorer.result().settings.stride == (2, 1)
    assert geometry.stride_h.value() == 2
